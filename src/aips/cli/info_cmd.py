"""``aips info``: what the store holds (tables, rows, dates, brands, categories, loads, quarantine)."""

from __future__ import annotations

from pathlib import Path

from aips.cli.common import (
    ConfigOpt,
    FormatOpt,
    Lang,
    LangOpt,
    OutputFormat,
    StoreOpt,
    emit,
    open_ws,
    print_json,
)
from aips.config.labels import t


def info_command(
    store: StoreOpt = None,
    config: ConfigOpt = None,
    fmt: FormatOpt = OutputFormat.table,
    lang: LangOpt = Lang.en,
) -> None:
    """What the store holds: rows per table, the events' date range, brands and categories
    (counts and the top names), the loads, the quarantined rows by reason, and the store's
    memory limit, threads and spill folder in force (and where each came from)."""
    with open_ws(store, config, read_only=True) as ws:
        info = ws.info()
    if OutputFormat(fmt) is OutputFormat.json:
        print_json(info)
        return
    emit([{"table": name, "rows": n} for name, n in info["tables"].items()], fmt, title=t("cli.title.tables", lang),
         lang=lang)
    if OutputFormat(fmt) is OutputFormat.csv:
        return  # one table per CSV output: --format json has the rest
    first_last = info["date_range"]
    none = t("cli.info.no_events", lang)
    emit([{"what": "events from", "value": first_last[0] if first_last else none},
          {"what": "events to", "value": first_last[1] if first_last else none},
          *({"what": key, "value": info[key]["count"]} for key in ("brands", "categories") if info[key])],
         fmt, title=t("cli.title.events", lang), lang=lang)
    for key in ("brands", "categories"):
        if info[key]:
            emit(info[key]["top"], fmt, title=t(f"cli.title.top_{key}", lang), lang=lang)
    if info["loads"]:
        emit([{"file": Path(r["source_file"]).name, "table": r["table_name"], "read": r["rows_read"],
               "loaded": r["loaded"], "duplicates": r["duplicates"], "ignored": r["ignored"],
               "quarantined": r["quarantined"], "days": f"{r['min_date']} .. {r['max_date']}" if r["min_date"] else ""}
              for r in info["loads"]], fmt, title=t("cli.title.loads", lang), lang=lang)
    emit(info["quarantine"] or [{"table_name": "", "reason": t("cli.info.no_quarantine", lang), "rows": 0}], fmt,
         title=t("cli.title.quarantine", lang), lang=lang)
    if info.get("settings"):
        emit([_setting_row(r, lang) for r in info["settings"]], fmt,
             title=t("cli.title.store_settings", lang), lang=lang)


def _setting_row(row: dict, lang: str) -> dict:
    """A row of the settings table with its source (and a true/false value) in ``lang``."""
    if lang == "en":
        return row
    source, value = row["source"], row["value"]
    if source == "default":
        source = t("cli.info.source.default", lang)
    elif source.startswith("model file "):
        source = t("cli.info.source.model", lang, key=source.removeprefix("model file "))
    if value in ("true", "false"):
        value = t(f"cli.{'yes' if value == 'true' else 'no'}", lang)
    return {**row, "source": source, "value": value}
