"""Terminal tables for people: the one place the CLI formats numbers and lays out columns.

Used by :func:`aips.cli.common.emit` for ``--format table`` only; ``--format csv|json``
stay raw. What a cell looks like is decided by its column's name (and, in a table of
``metric`` rows, by the metric's name), never per command:

* shares and rates (``*_rate``, ``*_share``, ``penetration``, ``gap``): percentages;
* durations in seconds (``*_time``, ``*_s``, ``*_seconds``): ``3d 5h``, ``2h 10m``, ``45s``;
* flags (``leaking``, ``is_*``, ``has_*``): yes/no (是/否 in zh);
* p-values: ``< 0.001`` or three decimals;
* other numbers: thousands separators, about four significant digits;
* rows with stage columns (``stage``, ``from_stage``, ``to_stage``) in stage order
  (A, I, TI, P, S), not alphabetically.

Tables wider than the terminal are folded: the leading text columns are repeated and the
other columns continue in a further table, so no header is ever cut.

>>> format_cell("conversion_rate", 0.30619)
'30.6%'
>>> format_cell("avg_conversion_time", 278330.0)
'3d 5h'
>>> format_cell("leaking", 1, lang="zh")
'是'
>>> format_cell("value", 0.0002786)
'0.000279'
"""

from __future__ import annotations

import datetime as dt
import math
import re
from typing import Any

from aips.config.labels import t
from aips.config.model import STAGE_ORDER, STAGE_RANK

STAGE_COLUMNS = ("stage", "from_stage", "to_stage")
_PERCENT_WORDS = {"rate", "share", "penetration", "gap", "shares", "rates"}
_DURATION_WORDS = {"time", "s", "seconds", "sec", "duration"}
_FLAG_NAMES = {"leaking", "leak", "leaks", "significant"}
_ID_WORDS = {"id", "ids", "index", "year", "rank", "step"}


def _words(name: str) -> list[str]:
    return [w for w in re.split(r"[^0-9a-z]+", str(name).lower()) if w]


def column_kind(name: str) -> str:
    """``percent``, ``duration``, ``flag``, ``pvalue``, ``id`` or ``number`` for a column name.

    >>> [column_kind(c) for c in ("ti_share", "median_conversion_time", "leaking", "p_value", "user_id", "users")]
    ['percent', 'duration', 'flag', 'pvalue', 'id', 'number']
    >>> [column_kind(s) for s in ("P", "S", "TI")]  # stage rows count people
    ['number', 'number', 'number']
    """
    words = _words(name)
    if not words or str(name) in STAGE_ORDER:
        return "number"
    lowered = str(name).lower()
    if lowered in ("p", "p_value", "pvalue"):
        return "pvalue"
    if lowered in _FLAG_NAMES or words[0] in ("is", "has"):
        return "flag"
    if words[-1] in _ID_WORDS:
        return "id"
    if words[-1] in _DURATION_WORDS:
        return "duration"
    if any(w in _PERCENT_WORDS for w in words):
        return "percent"
    return "number"


def duration(seconds: float, lang: str = "en") -> str:
    """Seconds as days/hours/minutes, the two largest units (their names from the catalogue).

    >>> duration(278330), duration(7800), duration(45), duration(90061), duration(7800, "zh")
    ('3d 5h', '2h 10m', '45s', '1d 1h', '2小时 10分')
    """
    d, h, m, s_ = (t(f"cli.unit.{u}", lang) for u in "dhms")
    sign = "-" if seconds < 0 else ""
    s = int(round(abs(seconds)))
    days, rest = divmod(s, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{sign}{days}{d} {hours}{h}"
    if hours:
        return f"{sign}{hours}{h} {minutes}{m}"
    if minutes:
        return f"{sign}{minutes}{m} {secs}{s_}"
    return f"{sign}{secs}{s_}"


def number(value: float | int) -> str:
    """A number for people: thousands separators, about four significant digits.

    >>> number(2652), number(2564.5), number(38.5), number(-0.61194), number(0.0002786)
    ('2,652', '2,564', '38.5', '-0.612', '0.000279')
    """
    if isinstance(value, int):
        return f"{value:,}"
    if value == 0:
        return "0"
    size = abs(value)
    if size >= 1000:
        return f"{value:,.0f}"
    if size >= 1:
        return f"{value:,.2f}".rstrip("0").rstrip(".")
    return f"{value:.3g}"


def percent(value: float) -> str:
    """A share or rate (a fraction) as a percentage.

    >>> percent(0.1266), percent(1), percent(-0.4935), percent(0.000123)
    ('12.7%', '100.0%', '-49.4%', '0.01%')
    """
    pct = value * 100
    if pct != 0 and abs(pct) < 0.1:
        return f"{pct:.2f}%"
    return f"{pct:,.1f}%"


def format_cell(column: str, value: Any, lang: str = "en", kind: str | None = None) -> str:
    """One cell as shown in a terminal table (``""`` for a missing value)."""
    if value is None:
        return ""
    kind = kind or column_kind(column)
    if isinstance(value, bool) or (kind == "flag" and value in (0, 1)):
        return t("cli.yes" if value else "cli.no", lang)
    if isinstance(value, float) and not math.isfinite(value):
        return ""
    if isinstance(value, (int, float)):
        if kind == "id":
            return str(value)
        if kind == "percent":
            return percent(value)
        if kind == "duration":
            return duration(value, lang)
        if kind == "pvalue":
            return "< 0.001" if value < 0.001 else f"{value:.3f}"
        return number(value)
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        items = [format_cell(column, v, lang, kind) for v in value]
        numeric = all(isinstance(v, (int, float)) or v is None for v in value)
        return f"[{', '.join(items)}]" if numeric and items else ", ".join(items)
    if isinstance(value, dict):
        return ", ".join(f"{k}={format_cell(str(k), v, lang)}" for k, v in value.items())
    return str(value)


_ROW_KEYS = ("metric", "measure")
_COUNT_COLUMNS = {"n", "x"}


def _row_kind(row: dict[str, Any], column: str) -> str | None:
    """In a table of ``metric`` or ``measure`` rows (one quantity a row), the row's name
    decides how its plain value columns look (``converted_share`` a percentage, ``A->I
    advance rate`` a rate, ``complete`` yes/no); count columns (``n``, ``x``) stay counts."""
    key = next((row[k] for k in _ROW_KEYS if k in row), None)
    if not isinstance(key, str) or column in _ROW_KEYS or column in _COUNT_COLUMNS:
        return None
    if column_kind(column) != "number":
        return None
    kind = column_kind(key)
    return None if kind in ("number", "id") else kind


def stage_sorted(rows: list[dict[str, Any]], columns: list[str]) -> list[dict[str, Any]]:
    """Rows in stage order: sorted by the leading text columns up to the last stage column,
    stage values by their rank (A, I, TI, P, S; other values such as ``none`` last).

    >>> rows = [{"from_stage": "A", "to_stage": t} for t in ("I", "P", "S", "TI", "none")]
    >>> [r["to_stage"] for r in stage_sorted(rows, ["from_stage", "to_stage"])]
    ['I', 'TI', 'P', 'S', 'none']
    """
    stage_cols = [c for c in columns if c in STAGE_COLUMNS]
    if not rows or not stage_cols:
        return rows
    last = max(columns.index(c) for c in stage_cols)
    keys = []
    for col in columns[: last + 1]:
        values = [r[col] for r in rows if r[col] is not None]
        if col in STAGE_COLUMNS:
            keys.append(col)
        elif values and all(isinstance(v, (str, dt.date)) for v in values):
            keys.append(col)
        else:
            break

    def key(row):
        out = []
        for col in keys:
            value = row[col]
            if col in STAGE_COLUMNS:
                out.append((STAGE_RANK.get(str(value), len(STAGE_RANK) + 1), str(value)))
            else:
                out.append((value is None, "" if value is None else str(value)))
        return out

    return sorted(rows, key=key)


def render_table(rows: list[dict[str, Any]], columns: list[str], title: str | None = None,
                 lang: str = "en", console=None, headers: dict[str, str] | None = None,
                 names: dict[str, Any] | None = None) -> None:
    """Print rows as one or more rich tables that fit the console without cutting headers.

    ``headers`` names columns for people (``{"metric": "指标"}``); ``names`` maps a text
    column to a function giving its values' display text (``{"metric": metric_label}``):
    the raw names still decide how each cell is formatted."""
    from rich.cells import cell_len
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    console = console or Console()
    rows = stage_sorted(rows, columns)
    cells = [
        {c: format_cell(c, row[c], lang, _row_kind(row, c)) for c in columns} for row in rows
    ]
    for c, name in (names or {}).items():
        for row, cell in zip(rows, cells, strict=True):
            if c in row and isinstance(row[c], str):
                cell[c] = name(row[c])
    header = {c: (headers or {}).get(c, c) for c in columns}
    numeric = {  # right-aligned: columns of numbers only
        c: any(r[c] is not None for r in rows)
        and all(r[c] is None or (isinstance(r[c], (int, float)) and not isinstance(r[c], bool)) for r in rows)
        for c in columns
    }
    natural = {c: max([cell_len(header[c]), *(cell_len(r[c]) for r in cells)]) for c in columns}
    # The leading text columns (the row's keys) are repeated in every folded part.
    lead: list[str] = []
    for c in columns:
        if numeric[c] or len(lead) == 2 or natural[c] > 24:
            break
        lead.append(c)
    rest = [c for c in columns if c not in lead]
    width = console.width

    def cost(cols):  # a column's width plus its padding and border
        return sum(min(natural[c], 40) + 3 for c in cols) + 1

    groups: list[list[str]] = []
    current: list[str] = []
    for c in rest:
        if current and cost(lead + current + [c]) > width:
            groups.append(current)
            current = []
        current.append(c)
    groups.append(current)
    for i, group in enumerate(groups):
        part = lead + group if group or not i else lead
        table = Table(title=title if i == 0 else None)
        for c in part:
            table.add_column(
                header[c],
                justify="right" if numeric[c] else "left",
                min_width=min(cell_len(header[c]), max(8, width // max(len(part), 1) - 3)),
                overflow="fold",
            )
        for r in cells:
            table.add_row(*(Text(r[c]) for c in part))  # data, never rich markup
        console.print(table)
