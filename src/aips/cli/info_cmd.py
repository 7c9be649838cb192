"""``aips info``: what the store holds (tables, rows, dates, brands, categories, loads, quarantine)."""

from __future__ import annotations

from pathlib import Path

from aips.cli.common import ConfigOpt, FormatOpt, OutputFormat, StoreOpt, emit, open_ws, print_json


def info_command(
    store: StoreOpt = None,
    config: ConfigOpt = None,
    fmt: FormatOpt = OutputFormat.table,
) -> None:
    """What the store holds: rows per table, the events' date range, brands and categories
    (counts and the top names), the loads, the quarantined rows by reason, and the store's
    memory limit, threads and spill folder in force (and where each came from)."""
    with open_ws(store, config, read_only=True) as ws:
        info = ws.info()
    if OutputFormat(fmt) is OutputFormat.json:
        print_json(info)
        return
    emit([{"table": t, "rows": n} for t, n in info["tables"].items()], fmt, title="tables")
    if OutputFormat(fmt) is OutputFormat.csv:
        return  # one table per CSV output: --format json has the rest
    first_last = info["date_range"]
    emit([{"what": "events from", "value": first_last[0] if first_last else "(no events)"},
          {"what": "events to", "value": first_last[1] if first_last else "(no events)"},
          *({"what": key, "value": info[key]["count"]} for key in ("brands", "categories") if info[key])],
         fmt, title="events")
    for key in ("brands", "categories"):
        if info[key]:
            emit(info[key]["top"], fmt, title=f"top {key} (by events)")
    if info["loads"]:
        emit([{"file": Path(r["source_file"]).name, "table": r["table_name"], "read": r["rows_read"],
               "loaded": r["loaded"], "duplicates": r["duplicates"], "ignored": r["ignored"],
               "quarantined": r["quarantined"], "days": f"{r['min_date']} .. {r['max_date']}"}
              for r in info["loads"]], fmt, title="loads")
    emit(info["quarantine"] or [{"table_name": "", "reason": "(nothing quarantined)", "rows": 0}], fmt,
         title="quarantine by reason")
    if info.get("settings"):
        emit(info["settings"], fmt, title="store settings (DuckDB)")
