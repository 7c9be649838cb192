"""``aips ingest``: load files into the store, losing no row.

A directory (or several files) is one load: one progress bar on stderr (when it is a
terminal; ``--quiet`` turns it off), one transaction, and one summary line over all files
(``--verbose``: a line per file too). Prints
``rows read = loaded + duplicates + ignored + quarantined`` (or, with
``--format json``, ``{"rows_read": N, "loaded": N, "duplicates": N, "ignored": N,
"quarantined": N, "reasons": {...}, "quarantine_file": PATH, ...}``). Quarantined rows
do not make the command fail; a file that cannot be read at all does (exit 1, nothing
loaded, the message names the file and what is wrong), and so does a file whose first
100,000 rows are all quarantined for one reason (a column mapped wrong; see
``--max-bad-fraction``).
"""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from pathlib import Path
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
    store_exists,
)


class ReportFormat(StrEnum):
    table = "table"
    json = "json"


class Table(StrEnum):
    events = "events"
    campaigns = "campaigns"
    categories = "categories"
    creators = "creators"
    users = "users"
    campaign_holdouts = "campaign_holdouts"


def ingest_command(
    paths: Annotated[
        list[Path], typer.Argument(help="CSV/TSV, JSON Lines, Parquet or Excel files (.gz too).")
    ],
    preset: PresetOpt = None,
    map_file: MapOpt = None,
    tz: TzOpt = None,
    encoding: Annotated[
        str | None, typer.Option("--encoding", help="Text encoding (default: detected).")
    ] = None,
    table: Annotated[
        Table | None, typer.Option("--table", help="Target table (default: events).")
    ] = None,
    date_format: Annotated[
        str | None, typer.Option("--date-format", help="Timestamp format, e.g. '%d/%m/%Y %H:%M'.")
    ] = None,
    sheet: Annotated[
        str | None, typer.Option("--sheet", help="Excel worksheet name (or 0-based index).")
    ] = None,
    quarantine_dir: Annotated[
        Path | None,
        typer.Option(
            "--quarantine-dir", help="Where the quarantine CSV goes (default: beside the store)."
        ),
    ] = None,
    max_future: MaxFutureOpt = None,
    min_date: MinDateOpt = None,
    max_bad_fraction: Annotated[
        float | None,
        typer.Option(
            "--max-bad-fraction", min=0, max=1,
            help="Stop (load nothing) when more than this share of a file's first 100,000 rows is "
            "quarantined (default: only when all are, for one reason; 1: never).",
        ),
    ] = None,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="One summary line per file too.")
    ] = False,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="No progress bar.")
    ] = False,
    fmt: Annotated[
        ReportFormat, typer.Option("--format", help="table or json.")
    ] = ReportFormat.table,
    store: StoreOpt = None,
    config: ConfigOpt = None,
    lock_timeout: LockTimeoutOpt = None,
    lang: LangOpt = Lang.en,
) -> None:
    """Load files into the store: every row is loaded, a duplicate, ignored or quarantined with a reason."""
    sheet_arg: str | int | None = int(sheet) if sheet is not None and sheet.isdigit() else sheet
    # An existing store is read only while the files are read and staged: the write lock is
    # taken for the final transaction (other commands and the dashboard read meanwhile).
    with open_ws(store, config, read_only=store_exists(store), lock_timeout=lock_timeout) as ws:
        report = ws.ingest(
            *paths,
            table=table.value if table else None,
            preset=preset,
            mapping=map_file,
            tz=tz,
            encoding=encoding,
            date_format=date_format,
            sheet=sheet_arg,
            quarantine_dir=quarantine_dir,
            **{k: v for k, v in (("max_future", max_future), ("min_date", min_date)) if v is not None},
            max_bad_fraction=max_bad_fraction,
            progress=fmt is ReportFormat.table and not quiet and sys.stderr.isatty(),
        )
    if fmt is ReportFormat.json:
        sys.stdout.write(json.dumps(report.asdict(), ensure_ascii=False, indent=1) + "\n")
    else:
        typer.echo(report.render(verbose=verbose, lang=lang))

