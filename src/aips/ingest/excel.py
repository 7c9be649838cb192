"""Excel worksheets (.xlsx, .xlsm, .xls) through python-calamine, as text columns.

Cells become text the way a person reads them: whole numbers without ``.0`` (so an id
stored as a number stays ``1000001``), dates and times in ISO 8601, booleans as
``true``/``false``. Excel files hold at most ~1M rows, so the sheet is read whole.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from aips.exceptions import IngestError


def read_sheet(
    path: Path, sheet: str | int | None, header: bool = True
) -> tuple[list[str], list[list[Any]], int]:
    """Column names, data rows (as text or None) and the sheet row number of the first data row.

    Rows are padded to the header's width; a row with filled cells beyond it is longer
    (the reader quarantines it as a ragged row). A workbook with several non-empty sheets needs ``sheet``: nothing is guessed.
    """
    from python_calamine import CalamineWorkbook

    try:
        book = CalamineWorkbook.from_path(str(path))
    except Exception as err:  # calamine raises its own error types for zip/xml problems
        raise IngestError(f"{path}: not a readable Excel workbook: {err}") from None
    names = list(book.sheet_names)
    if sheet is None:
        filled = [n for n in names if _rows(book, n)]
        if len(filled) > 1:
            raise IngestError(
                f"{path}: the workbook has {len(filled)} sheets with data ({', '.join(filled)}); "
                "choose one with --sheet NAME (or `sheet:` in the mapping)"
            )
        sheet = filled[0] if filled else names[0]
    if isinstance(sheet, int):
        if not 0 <= sheet < len(names):
            raise IngestError(f"{path}: no sheet number {sheet} (sheets: {', '.join(names)})")
        sheet = names[sheet]
    if sheet not in names:
        raise IngestError(f"{path}: no sheet named {sheet!r} (sheets: {', '.join(names)})")
    rows = _rows(book, sheet)
    first = 0
    while first < len(rows) and all(v in (None, "") for v in rows[first]):
        first += 1
    rows = [[_text(v) for v in row] for row in rows]
    if header:
        if first >= len(rows):
            raise IngestError(f"{path}: sheet {sheet!r} is empty (no header row)")
        head = list(rows[first])
        while head and head[-1] is None:
            head.pop()
        cols = [(c or f"column_{i + 1}").strip() for i, c in enumerate(head)]
        data, first_line = rows[first + 1 :], first + 2
    else:
        width = max(
            (
                len(r) - next((i for i, v in enumerate(reversed(r)) if v is not None), len(r))
                for r in rows
            ),
            default=0,
        )
        cols = [f"column_{i + 1}" for i in range(width)]
        data, first_line = rows[first:], first + 1
    width = len(cols)
    data = [r + [None] * (width - len(r)) if len(r) < width else r for r in data]
    return cols, data, first_line


def _rows(book, name: str) -> list[list[Any]]:
    try:
        return book.get_sheet_by_name(name).to_python(skip_empty_area=False)
    except Exception as err:
        raise IngestError(f"sheet {name!r}: cannot be read: {err}") from None


def _text(value: Any) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 2**53 else repr(value)
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return str(value.total_seconds())
    return str(value)
