"""Vectorised timestamp parsing: text, epoch numbers or typed columns -> UTC instants.

All work is done with pyarrow compute and numpy over whole chunks; there is no per-row
Python. The result is a naive ``timestamp[us]`` meaning UTC, plus a per-row reason
(``None`` when the row parsed) from this vocabulary:

``unparseable timestamp``
    the text matches none of the accepted forms, or names an impossible date or time
    (2023-02-29, 24:00, 10:61, month 13, ...).
``ambiguous timestamp``
    a day-first/month-first date whose two readings are both valid and differ
    (``01/02/2024``), or a wall time that occurs twice when daylight saving ends.
``nonexistent local time``
    a wall time skipped when daylight saving starts (02:30 on a spring-forward night).

The rules:

* Text with an offset (``Z``, ``UTC``, ``GMT``, ``+08:00``, ``+0800``, ``+08``,
  ``UTC+8``) is an instant and is converted to UTC.
* Text without one is a wall-clock time in the source zone (``--tz``, else the mapping's
  ``timestamp.timezone``, else the model's zone).
* Accepted without a format: ``Y-M-D``, ``Y/M/D``, ``Y.M.D`` and ``Y年M月D日``, each
  optionally followed (after ``T`` or spaces) by ``H:M``, ``H:M:S`` or ``H:M:S.fraction``
  and ``AM``/``PM``; ``YYYYMMDD`` and ``YYYYMMDDHHMMSS``; and ``D/M/Y`` or ``M/D/Y``
  (also with ``-`` or ``.``) with a four-digit year. For the last, when only one reading
  is a valid date it is used (``13/02/2024`` is 13 February); when both are valid and
  differ the row is ``ambiguous timestamp``: give ``timestamp.format`` or
  ``--date-format`` (e.g. ``%d/%m/%Y``) to load such files.
* With a format (strftime-style: ``%Y %y %m %d %H %I %M %S %f %p %z %b %B %%``; a space
  matches any run of spaces) only that format is accepted.
* Numbers with ``timestamp.unit`` (``s``, ``ms``, ``us``) are seconds (...) since the Unix
  epoch: UTC instants, whatever the zone.
* Typed columns (Parquet, JSON, Excel): zone-aware timestamps are instants, naive ones are
  wall times in the source zone, dates are local midnight.

Fractions beyond microseconds are truncated.

>>> import pyarrow as pa
>>> ts, why = parse_timestamps(pa.array(["2024-01-02 08:00", "01/02/2024", "2024-01-02T00:00Z"]), "Asia/Shanghai")
>>> [str(v) if v is not None else None for v in ts.to_pylist()], why.to_pylist()
(['2024-01-02 00:00:00', None, '2024-01-02 00:00:00'], [None, 'ambiguous timestamp', None])
"""

from __future__ import annotations

import functools
import re

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from aips.exceptions import ConfigError

UNPARSEABLE = "unparseable timestamp"
AMBIGUOUS = "ambiguous timestamp"
NONEXISTENT = "nonexistent local time"

TS = pa.timestamp("us")
_US = {"s": 1_000_000, "ms": 1_000, "us": 1}

_TIME = (
    r"(?:(?:T|\s+)(?P<H>\d{1,2}):(?P<M>\d{2})(?::(?P<S>\d{2})(?:[.,](?P<f>\d{1,9}))?)?"
    r"(?:\s*(?P<p>[AaPp])\.?[Mm]\.?)?)?"
)
_ZONE = (
    r"(?:\s*(?:(?P<z>Z|z|UTC|GMT)|(?:UTC|GMT)?(?P<zs>[+-])(?P<zh>\d{1,2})(?::?(?P<zm>\d{2}))?))?"
)
_PATTERNS = (
    r"^(?P<Y>\d{4})\s*[-/.年]\s*(?P<m>\d{1,2})\s*[-/.月]\s*(?P<d>\d{1,2})日?" + _TIME + _ZONE + "$",
    r"^(?P<Y>\d{4})(?P<m>\d{2})(?P<d>\d{2})(?:T?(?P<H>\d{2})(?P<M>\d{2})(?P<S>\d{2}))?"
    + _ZONE
    + "$",
)
_DAY_OR_MONTH_FIRST = r"^(?P<a>\d{1,2})[-/.](?P<b>\d{1,2})[-/.](?P<Y>\d{4})" + _TIME + _ZONE + "$"

_MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
_DIRECTIVES = {
    "Y": r"(?P<Y>\d{4})",
    "y": r"(?P<y>\d{2})",
    "m": r"(?P<m>\d{1,2})",
    "d": r"(?P<d>\d{1,2})",
    "H": r"(?P<H>\d{1,2})",
    "I": r"(?P<H>\d{1,2})",
    "M": r"(?P<M>\d{1,2})",
    "S": r"(?P<S>\d{1,2})",
    "f": r"(?P<f>\d{1,9})",
    "p": r"(?P<p>[AaPp])\.?[Mm]\.?",
    "z": r"(?:(?P<z>Z|z|UTC|GMT)|(?P<zs>[+-])(?P<zh>\d{2}):?(?P<zm>\d{2})?)",
    "b": r"(?P<b>[A-Za-z]{3,9})",
    "B": r"(?P<b>[A-Za-z]{3,9})",
}


@functools.lru_cache(maxsize=32)
def compile_format(fmt: str) -> str:
    """A strftime-style format as an RE2 pattern with named groups.

    >>> compile_format("%d/%m/%Y")
    '^\\\\s*(?P<d>\\\\d{1,2})/(?P<m>\\\\d{1,2})/(?P<Y>\\\\d{4})\\\\s*$'
    """
    out, seen, i = [], set(), 0
    while i < len(fmt):
        ch = fmt[i]
        if ch == "%":
            if i + 1 >= len(fmt):
                raise ConfigError(f"timestamp format {fmt!r} ends with a lone %")
            code = fmt[i + 1]
            i += 2
            if code == "%":
                out.append("%")
                continue
            if code == "T":
                if seen & {"H", "M", "S"}:
                    raise ConfigError(f"timestamp format {fmt!r} sets the time twice")
                out.append(_DIRECTIVES["H"] + ":" + _DIRECTIVES["M"] + ":" + _DIRECTIVES["S"])
                seen.update("HMS")
                continue
            if code not in _DIRECTIVES:
                raise ConfigError(
                    f"timestamp format {fmt!r}: %{code} is not supported "
                    f"(use %Y %y %m %d %H %I %M %S %f %p %z %b %B %T %%)"
                )
            group = {"I": "H", "B": "b"}.get(code, code)
            if group in seen:
                raise ConfigError(f"timestamp format {fmt!r} sets {code!r} twice")
            seen.add(group)
            out.append(_DIRECTIVES[code])
        elif ch.isspace():
            out.append(r"\s+")
            i += 1
        else:
            out.append(re.escape(ch))
            i += 1
    if not ({"Y", "y"} & seen and {"m", "b"} & seen and "d" in seen):
        raise ConfigError(
            f"timestamp format {fmt!r} needs a year (%Y or %y), a month (%m or %b) and a day (%d)"
        )
    return r"^\s*" + "".join(out) + r"\s*$"


def parse_timestamps(
    values: pa.Array | pa.ChunkedArray,
    zone: str,
    *,
    unit: str | None = None,
    fmt: str | None = None,
) -> tuple[pa.Array, pa.Array]:
    """UTC instants and per-row reasons for one column; nulls stay null without a reason.

    Args:
        values: strings, numbers, timestamps or dates.
        zone: the IANA zone of wall-clock times without an offset.
        unit: ``s``/``ms``/``us`` when the values are epoch numbers.
        fmt: a strftime-style format (see the module docstring).
    """
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    n = len(values)
    typ = values.type
    if pa.types.is_timestamp(typ):
        if typ.tz is not None:
            return pc.cast(pc.cast(values, pa.timestamp("us", "UTC")), TS), _no_reasons(n)
        return _localize(pc.cast(values, TS), zone)
    if pa.types.is_date(typ):
        return _localize(pc.cast(pc.cast(values, pa.date32()), TS), zone)
    if pa.types.is_null(typ):
        return pa.nulls(n, TS), _no_reasons(n)
    if unit is not None:
        return _from_epoch(values, unit)
    if pa.types.is_integer(typ) or pa.types.is_floating(typ):
        reason = pc.if_else(
            pc.is_valid(values), pa.scalar(UNPARSEABLE), pa.scalar(None, pa.string())
        )
        return pa.nulls(n, TS), reason
    text = pc.utf8_trim_whitespace(pc.cast(values, pa.string()))
    if fmt is None:
        fast = _fast_path(text, zone)
        if fast is not None:
            return fast
        return _parse_text(text, zone, [*_PATTERNS, _DAY_OR_MONTH_FIRST])
    return _parse_text(text, zone, [compile_format(fmt)])


def local_dates(utc: pa.Array, zone: str) -> pa.Array:
    """The calendar day of each UTC instant in ``zone``."""
    aware = pc.cast(pc.assume_timezone(utc, "UTC"), pa.timestamp("us", zone))
    return pc.cast(pc.local_timestamp(aware), pa.date32())


def parse_dates(values: pa.Array) -> tuple[pa.Array, pa.Array]:
    """Calendar dates (no zone) and a boolean 'bad' mask (unparseable or with a time of day)."""
    ts, why = parse_timestamps(values, "UTC")
    has_time = pc.not_equal(pc.cast(ts, pa.date32()).cast(TS), ts)
    bad = pc.or_kleene(pc.is_valid(why), pc.fill_null(has_time, False))
    return pc.cast(ts, pa.date32()), pc.fill_null(bad, False)


# --- internals -------------------------------------------------------------------------


def _no_reasons(n: int) -> pa.Array:
    return pa.nulls(n, pa.string())


def _fast_path(text: pa.Array, zone: str) -> tuple[pa.Array, pa.Array] | None:
    """Whole-chunk casts for the common ISO forms; None when any row needs the slow path."""
    try:
        return _localize(pc.cast(text, TS), zone)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        pass
    try:
        return pc.cast(pc.cast(text, pa.timestamp("us", "UTC")), TS), _no_reasons(len(text))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None


def _from_epoch(values: pa.Array, unit: str) -> tuple[pa.Array, pa.Array]:
    typ = values.type
    if pa.types.is_integer(typ) or pa.types.is_floating(typ):
        numbers = pc.cast(values, pa.float64())
        bad = pc.is_nan(numbers) if pa.types.is_floating(typ) else pc.is_null(numbers)
    else:
        text = pc.utf8_trim_whitespace(pc.cast(values, pa.string()))
        ok = pc.match_substring_regex(text, r"^[+-]?(\d+(\.\d*)?|\.\d+)$")
        numbers = pc.cast(pc.if_else(ok, text, pa.scalar(None, pa.string())), pa.float64())
        bad = pc.invert(ok)
    micros = pc.multiply(numbers, float(_US[unit]))
    in_range = pc.and_(pc.greater(micros, -6.2e16), pc.less(micros, 2.5e17))  # years 0001..9900
    bad = pc.or_(pc.fill_null(bad, False), pc.invert(pc.fill_null(in_range, True)))
    micros = pc.if_else(bad, pa.scalar(None, pa.float64()), micros)
    ts = pc.cast(pc.cast(pc.floor(micros), pa.int64()), TS)
    reason = pc.if_else(
        pc.and_(bad, pc.is_valid(values)), pa.scalar(UNPARSEABLE), pa.scalar(None, pa.string())
    )
    return ts, reason


def _localize(naive: pa.Array, zone: str) -> tuple[pa.Array, pa.Array]:
    """Wall-clock times in ``zone`` -> UTC, flagging DST folds and gaps."""
    n = len(naive)
    if zone in ("UTC", "Etc/UTC", "GMT"):
        return naive, _no_reasons(n)
    try:
        aware = pc.assume_timezone(naive, zone, ambiguous="raise", nonexistent="raise")
        return pc.cast(aware, TS), _no_reasons(n)
    except pa.ArrowInvalid:
        pass
    early = pc.assume_timezone(naive, zone, ambiguous="earliest", nonexistent="earliest")
    late = pc.assume_timezone(naive, zone, ambiguous="latest", nonexistent="latest")
    mixed = pc.assume_timezone(naive, zone, ambiguous="earliest", nonexistent="latest")
    differ = pc.fill_null(pc.not_equal(early, late), False)
    gap = pc.fill_null(pc.not_equal(early, mixed), False)
    reason = pc.if_else(
        differ,
        pc.if_else(gap, pa.scalar(NONEXISTENT), pa.scalar(AMBIGUOUS)),
        pa.scalar(None, pa.string()),
    )
    utc = pc.if_else(differ, pa.scalar(None, TS), pc.cast(early, TS))
    return utc, reason


def _has(parts: pa.StructArray, name: str) -> bool:
    return parts.type.get_field_index(name) >= 0


def _num(parts: pa.StructArray, name: str, default: int) -> np.ndarray:
    if not _has(parts, name):
        return np.full(len(parts), default, dtype=np.int64)
    field = pc.struct_field(parts, name)
    field = pc.if_else(pc.equal(field, ""), pa.scalar(str(default)), field)
    return pc.fill_null(pc.cast(field, pa.int64()), default).to_numpy(zero_copy_only=False)


def _text(parts: pa.StructArray, name: str) -> pa.Array:
    if not _has(parts, name):
        return pa.array(np.full(len(parts), "", dtype=object), pa.string())
    return pc.fill_null(pc.struct_field(parts, name), "")


def _days_from_civil(y: np.ndarray, m: np.ndarray, d: np.ndarray) -> np.ndarray:
    """Days since 1970-01-01 of proleptic Gregorian dates (H. Hinnant's algorithm)."""
    y = y - (m <= 2)
    era = y // 400
    yoe = y - era * 400
    doy = (153 * (m + np.where(m > 2, -3, 9)) + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def _valid_date(y: np.ndarray, m: np.ndarray, d: np.ndarray) -> np.ndarray:
    leap = ((y % 4 == 0) & (y % 100 != 0)) | (y % 400 == 0)
    mdays = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])[np.clip(m, 0, 12)] + (
        leap & (m == 2)
    )
    return (y >= 1) & (m >= 1) & (m <= 12) & (d >= 1) & (d <= mdays)


def _parse_text(text: pa.Array, zone: str, patterns: list[str]) -> tuple[pa.Array, pa.Array]:
    n = len(text)
    present = pc.fill_null(pc.not_equal(text, ""), False).to_numpy(zero_copy_only=False)
    micros = np.zeros(
        n, dtype=np.int64
    )  # wall-clock (naive rows) or UTC-before-offset (aware rows)
    offset = np.zeros(n, dtype=np.int64)  # minutes east of UTC, for aware rows
    aware = np.zeros(n, dtype=bool)
    matched_any = np.zeros(n, dtype=bool)
    good = np.zeros(n, dtype=bool)
    ambiguous = np.zeros(n, dtype=bool)
    for pattern in patterns:
        parts = pc.extract_regex(text, pattern)
        matched = (
            pc.fill_null(pc.is_valid(parts), False).to_numpy(zero_copy_only=False) & ~matched_any
        )
        if not matched.any():
            continue
        matched_any |= matched
        y, m, d, amb = _date_parts(parts)
        hh, mi, ss = _num(parts, "H", 0), _num(parts, "M", 0), _num(parts, "S", 0)
        frac = pc.utf8_rpad(pc.utf8_slice_codeunits(_text(parts, "f"), 0, 6), 6, "0")
        us = pc.cast(frac, pa.int64()).to_numpy(zero_copy_only=False)
        ampm = pc.utf8_lower(_text(parts, "p")).to_numpy(zero_copy_only=False)
        has_p = ampm != ""
        ok = _valid_date(y, m, d) & (mi <= 59) & (ss <= 59)
        ok &= np.where(has_p, (hh >= 1) & (hh <= 12), hh <= 23)
        hh = np.where(has_p, hh % 12 + np.where(ampm == "p", 12, 0), hh)
        zh, zm = _num(parts, "zh", 0), _num(parts, "zm", 0)
        zs = _text(parts, "zs").to_numpy(zero_copy_only=False)
        named = _text(parts, "z").to_numpy(zero_copy_only=False) != ""
        ok &= (zh <= 14) & (zm <= 59)
        take = matched & ok & ~amb
        ambiguous |= matched & ok & amb
        days = _days_from_civil(y, np.clip(m, 1, 12), np.clip(d, 1, 31))
        wall = (((days * 24 + hh) * 60 + mi) * 60 + ss) * 1_000_000 + us
        micros = np.where(take, wall, micros)
        offset = np.where(take, np.where(zs == "-", -1, 1) * (zh * 60 + zm), offset)
        aware = np.where(take, named | (zs != ""), aware)
        good |= take
    naive = pa.array(np.where(good & ~aware, micros, 0), TS)
    local_utc, local_reason = _localize(naive, zone)
    aware_utc = pa.array(micros - offset * 60_000_000, TS)
    utc = pc.if_else(pa.array(aware), aware_utc, local_utc)
    reason = pc.if_else(pa.array(good & ~aware), local_reason, pa.scalar(None, pa.string()))
    reason = pc.if_else(pa.array(present & ~good & ~ambiguous), pa.scalar(UNPARSEABLE), reason)
    reason = pc.if_else(pa.array(ambiguous), pa.scalar(AMBIGUOUS), reason)
    utc = pc.if_else(pc.or_(pc.is_valid(reason), pa.array(~good)), pa.scalar(None, TS), utc)
    return utc, reason


def _date_parts(parts: pa.StructArray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Year, month, day and an 'ambiguous' flag (day-first vs month-first) per row."""
    n = len(parts)
    y = _num(parts, "Y", 1970)
    if _has(parts, "y"):
        y2 = _num(parts, "y", 0)
        y = np.where(y2 < 69, 2000 + y2, 1900 + y2)
    if _has(parts, "a"):
        a, b = _num(parts, "a", 1), _num(parts, "b", 1)
        day_first, month_first = _valid_date(y, b, a), _valid_date(y, a, b)
        return (
            y,
            np.where(day_first, b, a),
            np.where(day_first, a, b),
            day_first & month_first & (a != b),
        )
    m, d = _num(parts, "m", 1), _num(parts, "d", 1)
    if _has(parts, "b"):
        names = pc.utf8_slice_codeunits(pc.utf8_lower(_text(parts, "b")), 0, 3)
        idx = pc.fill_null(pc.index_in(names, pa.array(_MONTHS)), -1).to_numpy(zero_copy_only=False)
        m = idx.astype(np.int64) + 1  # unknown names give month 0: invalid
    return y, m, d, np.zeros(n, dtype=bool)
