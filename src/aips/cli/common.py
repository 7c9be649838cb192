"""Options and output shared by every command.

Commands take ``--store`` (or ``$AIPS_STORE``), ``--config`` and, when they print a
table, ``--format table|csv|json``; JSON is a list of records.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import math
import sys
from enum import Enum
from typing import Annotated, Any

import typer

StoreOpt = Annotated[
    str | None,
    typer.Option("--store", envvar="AIPS_STORE", help="DuckDB file (default ./aips.duckdb) or spark://local[2]."),
]
ConfigOpt = Annotated[
    str | None, typer.Option("--config", help="Model YAML (default ./aips.yaml, else the shipped model).")
]


class OutputFormat(str, Enum):
    table = "table"
    csv = "csv"
    json = "json"


FormatOpt = Annotated[OutputFormat, typer.Option("--format", help="Output format.")]


def open_ws(store: str | None, config: str | None):
    """Open the workspace for a command."""
    from aips.workspace import open_workspace

    return open_workspace(store, config)


def _plain(value: Any) -> Any:
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if hasattr(value, "item"):  # numpy scalars
        return _plain(value.item())
    return value


def records_of(data: Any) -> list[dict[str, Any]]:
    """Plain records from an Ibis table, a pyarrow table, a pandas frame or a list of dicts."""
    if hasattr(data, "to_pyarrow"):
        data = data.to_pyarrow()
    if hasattr(data, "to_pylist"):
        rows = data.to_pylist()
    elif hasattr(data, "to_dict"):
        rows = data.to_dict(orient="records")
    else:
        rows = list(data)
    return [{k: _plain(v) for k, v in row.items()} for row in rows]


def emit(data: Any, fmt: OutputFormat | str = OutputFormat.table, title: str | None = None) -> None:
    """Print results as a rich table, CSV or JSON (a list of records)."""
    fmt = OutputFormat(fmt)
    rows = records_of(data)
    if fmt is OutputFormat.json:
        sys.stdout.write(json.dumps(rows, ensure_ascii=False, indent=1) + "\n")
        return
    columns = list(rows[0]) if rows else _columns_of(data)
    if fmt is OutputFormat.csv:
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        sys.stdout.write(buf.getvalue())
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title)
    for col in columns:
        table.add_column(col, justify="right" if rows and isinstance(rows[0][col], (int, float)) else "left")
    for row in rows:
        table.add_row(*("" if row[c] is None else _fmt_cell(row[c]) for c in columns))
    Console().print(table)


def _fmt_cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.4g}" if abs(value) < 1e4 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _columns_of(data: Any) -> list[str]:
    for attr in ("columns", "column_names"):
        if hasattr(data, attr):
            return list(getattr(data, attr))
    return []
