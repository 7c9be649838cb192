"""``aips source events TABLE_OR_PATH``: register events where they already are.

A Parquet dataset (a folder, hive-partitioned or not, a file or a glob) or a table of the
store's catalog becomes the store's ``events`` as a view: the mapping (``--map`` /
``--preset``) is applied by the view, nothing is copied. Validation runs in the backend
and prints ingest's balance line (``rows read = loaded + duplicates + ignored +
quarantined``; ``--format json`` gives ingest's keys); the quarantined rows go to the
table ``quarantine_events``. Running it again replaces the registration. See
:mod:`aips.ingest.source` for what a source costs compared with an ingest.
"""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from typing import Annotated

import typer

from aips.cli.common import (
    ConfigOpt,
    Lang,
    LangOpt,
    LockTimeoutOpt,
    MapOpt,
    MaxFutureOpt,
    MinDateOpt,
    PresetOpt,
    StoreOpt,
    TzOpt,
    open_ws,
)


class What(StrEnum):
    events = "events"


class ReportFormat(StrEnum):
    table = "table"
    json = "json"


def source_command(
    what: Annotated[What, typer.Argument(help="What the source holds: events.")],
    location: Annotated[str, typer.Argument(
        metavar="TABLE_OR_PATH",
        help="A table of the store's catalog (name or database.name), or a Parquet folder "
             "(hive-partitioned or not), file or glob.")],
    preset: PresetOpt = None,
    map_file: MapOpt = None,
    tz: TzOpt = None,
    max_future: MaxFutureOpt = None,
    min_date: MinDateOpt = None,
    fmt: Annotated[ReportFormat, typer.Option("--format", help="table or json.")] = ReportFormat.table,
    store: StoreOpt = None,
    config: ConfigOpt = None,
    lock_timeout: LockTimeoutOpt = None,
    lang: LangOpt = Lang.en,
) -> None:
    """Register a Parquet dataset or a catalog table as the events (a view: no copy)."""
    from aips.config.labels import t

    with open_ws(store, config, lock_timeout=lock_timeout) as ws:
        report = ws.source(
            location, preset=preset, mapping=map_file, tz=tz,
            **{k: v for k, v in (("max_future", max_future), ("min_date", min_date)) if v is not None},
        )
        from aips.ingest.source import QUARANTINE_TABLE, describe

        dedupe = (describe(ws.store) or {}).get("dedupe") == "true"
    if fmt is ReportFormat.json:
        sys.stdout.write(json.dumps(report.asdict(), ensure_ascii=False, indent=1) + "\n")
        return
    lines = [report.render(lang=lang)]
    lang_code = str(getattr(lang, "value", lang))
    if report.quarantined:
        lines.append(t("source.quarantine_table", lang_code, table=QUARANTINE_TABLE))
    lines.append(t("source.view_dedupe" if dedupe else "source.view", lang_code, location=location,
                   files=f"{len(report.files):,}"))
    typer.echo("\n".join(lines))
