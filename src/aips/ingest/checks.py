"""The row checks of :mod:`aips.ingest.validate` as Ibis expressions, run by the backend.

:func:`aips.ingest.validate.validate` sorts rows with pyarrow in the Python process;
this module builds the same sorting as one Ibis expression over rows the backend reads
itself (a Parquet dataset, a catalog table, or CSV / Parquet files read by Spark's
readers), so ``aips source`` and an ingest into a Spark store never pull events through
the driver. :func:`checked_events` maps a raw table onto the ``events`` columns and adds,
per row:

* ``_reason``: the first quarantine reason that applies, in :mod:`~aips.ingest.validate`'s
  order (``missing user_id``, ``missing brand``, ``missing event_type``, ``missing ts``,
  ``unknown event type``, ``unparseable timestamp``, ``ambiguous timestamp``,
  ``nonexistent local time``, ``future timestamp``, ``timestamp before min_date``, then
  ``non-numeric`` / ``non-finite`` / ``negative`` / ``out of range`` per number column),
  null when none does; ``_column``: the source column it names;
* ``_ignored``: the raw event type is in the mapping's ``ignore`` list (wins over a reason);
* ``_key``: the text the derived ``event_id`` is hashed from (:mod:`aips.ingest.dedupe`),
  null where the source has an id, and ``event_id`` already filled.

Timestamps in text are read with the forms of :mod:`aips.ingest.timestamps` (its
regular expressions, evaluated by the backend): ``Y-M-D`` (``/``, ``.``, ``年月日``) with
an optional time, fraction, ``AM``/``PM`` and zone (``Z``, ``UTC``, ``+08:00``...),
``YYYYMMDD[HHMMSS]``, and ``D/M/Y`` or ``M/D/Y`` (``ambiguous timestamp`` when both
readings are valid dates and differ); epoch numbers with ``timestamp.unit``; typed
timestamps and dates. Wall times without an offset are converted with the source zone's
UTC offsets as literals, daylight-saving folds and gaps included (``ambiguous timestamp``,
``nonexistent local time``).

What stays with the Python path (:func:`unsupported` says why): other tables than
``events``; a ``timestamp.format`` (``--date-format``); text or number columns of other
types than text, numbers, timestamps or dates. Derived event ids equal the Python path's
for values written in plain decimals (whole numbers up to 10^15, ``289.52``); numbers
that pyarrow writes with an exponent (``1e+16``) hash to other ids, which changes no
count (duplicates are still exactly the equal rows).

>>> import ibis, datetime as dt
>>> from aips.ingest.validate import Plan
>>> raw = ibis.memtable({"ts": ["2024-01-02 08:00", "2024-02-30 08:00", "2024-01-02T00:00Z"],
...                      "user_id": ["u1", "u2", " "], "brand": ["b", "b", "b"],
...                      "event_type": ["read", "read", "read"]})
>>> plan = Plan("events", {c: c for c in raw.columns}, {}, {}, [], {"read": "read"}, [],
...             "Asia/Shanghai", "Asia/Shanghai", None, None, 0, "f", "L")
>>> t = checked_events(raw, plan)
>>> t.select("ts", "_reason").to_pyarrow().to_pylist()  # doctest: +NORMALIZE_WHITESPACE
[{'ts': datetime.datetime(2024, 1, 2, 0, 0), '_reason': None},
 {'ts': None, '_reason': 'unparseable timestamp'},
 {'ts': datetime.datetime(2024, 1, 2, 0, 0), '_reason': 'missing user_id'}]
"""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

import ibis

from aips.ingest import timestamps as tsmod
from aips.ingest.dedupe import ID_DIGITS, SEPARATOR, VERSION_2
from aips.ingest.validate import FUTURE, KEY_FIELDS, SPECS, TOO_EARLY, UNKNOWN_EVENT_TYPE, Plan
from aips.store.tables import SCHEMAS

_SPACE = r"^[ \t\n\r\x0B\f]+|[ \t\n\r\x0B\f]+$"
"""Leading and trailing ASCII whitespace (what pyarrow's ``ascii_trim_whitespace`` removes)."""
_NUMBER = r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$"
_EPOCH = r"^[+-]?(\d+(\.\d*)?|\.\d+)$"
_FAST = r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}:\d{2}( UTC|Z)?)?$"
"""``2024-01-02``, ``2024-01-02 08:00:00``, ``2024-01-02T08:00:00Z``, ``... UTC``: read by position."""
_US = {"s": 1_000_000, "ms": 1_000, "us": 1}
_WHOLE_MAX = 1e15
"""Whole numbers below this are written as integers in a derived id's key (as pyarrow does)."""
_UTC_ZONES = ("UTC", "Etc/UTC", "GMT", "Etc/GMT")
_FIRST_YEAR, _LAST_YEAR = 1970, 2100
"""Daylight-saving transitions considered when no time window bounds the data."""


def unsupported(plan: Plan, types: dict[str, ibis.DataType]) -> str | None:
    """Why rows mapped by ``plan`` cannot be checked by the backend (None: they can).

    ``types``: the source columns' Ibis types.

    >>> from aips.ingest.validate import Plan
    >>> p = Plan("events", {"ts": "t"}, {}, {}, [], {}, [], "UTC", "UTC", None, "%d/%m/%Y", 0, "f", "L")
    >>> unsupported(p, {"t": ibis.dtype("string")})
    'a timestamp format (--date-format %d/%m/%Y) is read by the Python reader'
    """
    if plan.table != "events":
        return f"the {plan.table} table is read by the Python reader"
    if plan.fmt:
        return f"a timestamp format (--date-format {plan.fmt}) is read by the Python reader"
    for name, source in plan.sources.items():
        if source is None:
            continue
        typ = types.get(source)
        if typ is None:
            return f"no column {source!r} for {name}"
        ok = typ.is_string() or typ.is_numeric() or typ.is_boolean() or typ.is_null()
        if name == "ts":
            ok = ok or typ.is_timestamp() or typ.is_date()
        if not ok:
            return f"{name} column {source!r} is {typ}, which the Python reader converts"
    return None


DERIVED_IDS = "_derived_ids"
"""The :func:`cleanable` name of "some row has no event id of its own" (its id is derived)."""


def cleanable(raw: ibis.Table, plan: Plan) -> tuple[str, ...]:
    """The ``events`` text columns mapped from a text column of ``raw`` (each value
    trimmed, empty as null, ``event_type`` lower-cased), then :data:`DERIVED_IDS` when the
    source has an event id column: what :func:`checked_events` can take as it is
    (``clean``) once ``dirty`` found no row that needs it.

    >>> from aips.ingest.validate import Plan
    >>> raw = ibis.table({"id": "string", "u": "string", "n": "int64"}, name="raw")
    >>> plan = Plan("events", {"event_id": "id", "user_id": "u", "brand": "n"}, {}, {}, [], {}, [],
    ...             "UTC", "UTC", None, None, 0, "f", "L")
    >>> cleanable(raw, plan)
    ('event_id', 'user_id', '_derived_ids')
    """
    numbers = SPECS["events"].numbers
    names = tuple(name for name in SCHEMAS["events"].names
                  if name not in ("local_date", "load_id", "ts") and name not in numbers
                  and plan.sources.get(name) is not None and raw[plan.sources[name]].type().is_string())
    return (*names, DERIVED_IDS) if plan.sources.get("event_id") is not None else names


def checked_events(raw: ibis.Table, plan: Plan, *, window: tuple[dt.datetime | None, dt.datetime | None] | None = None,
                   keep: tuple[str, ...] = (), forms: frozenset[int] | None = None,
                   checked: bool = False, clean: frozenset[str] = frozenset(),
                   dirty: bool = False) -> ibis.Table:
    """``raw`` mapped onto the ``events`` columns with ``_reason``, ``_column``,
    ``_ignored``, ``_key`` and ``_form`` (see the module docstring); ``keep``: raw columns
    carried along (the file and row columns). ``window``: (latest, earliest) accepted
    instants, naive UTC (default: the plan's). ``forms``: the text timestamp forms to try
    (the ``_form`` values a first pass found; default: all of them). ``checked``: the rows
    passed these checks before (a view over rows kept by file and row): the columns are
    mapped without the checks, and ``_reason`` and ``_column`` are null. Filters on ``ts``
    or ``local_date`` then stay small (Spark copies a column's whole expression into each
    filter on it; a timestamp that is also checked is many times larger).
    ``clean``: :func:`cleanable` names whose values need no mapping (no value with
    surrounding blanks, none empty, ``event_type`` already lower case; with
    :data:`DERIVED_IDS`, every row has its own event id): those columns are taken as they
    are and no id is derived. On a view read many times that is most of its cost (at 12M
    events a read of the mapped files took 7x the raw files' CPU: every value of every text
    column went through a regular expression, and deriving ids needs every column).
    ``dirty``: add ``_dirty``, a bit mask of the :func:`cleanable` names (bit ``i`` for the
    ``i``-th) that this row's values do need.

    The expression is a chain of projections, each naming what the next one uses, so the
    SQL stays linear in the number of checks (an expression used twice is not inlined twice).
    """
    latest, earliest = window if window is not None else (plan.latest, plan.earliest)
    spec = SPECS["events"]
    cols: dict[str, ibis.Value] = {}
    for name in SCHEMAS["events"].names:
        if name not in ("local_date", "load_id", "ts"):
            cols[name] = raw[plan.sources[name]] if name in clean else _column(raw, plan, name)
    extra = {"_dirty": _dirty_mask(raw, plan, cols)} if dirty else {}
    t = raw.select(**cols, _ts_in=_ts_input(raw, plan), **{k: raw[k] for k in keep}, **extra)
    t = parse_ts(t, "_ts_in", plan, latest=latest, earliest=earliest, forms=forms, checked=checked)
    raw_type = t.event_type
    mapped = raw_type.substitute(plan.event_map, else_=ibis.null("string")) if plan.event_map \
        else ibis.null("string")
    t = t.mutate(event_type=mapped, _raw_type=raw_type)
    cols = {name: t[name] for name in cols}
    for name, kept in plan.only_for.items():
        keep_value = t.event_type.isin(kept).fill_null(False)
        cols[name] = ibis.ifelse(keep_value, cols[name], ibis.null(cols[name].type()))
    flags: dict[str, ibis.Value] = {}
    for name in spec.numbers:
        cols[name], flags[f"_nn_{name}"], flags[f"_nf_{name}"] = _number(plan, name, cols[name])
    t = t.mutate(**cols, **flags)
    checks: list[tuple[str, str, ibis.Value]] = []
    ts_source = plan.sources.get("ts") or "ts"
    for name in spec.required:
        value = t._raw_type if name == "event_type" else (t._ts_in if name == "ts" else t[name])
        checks.append((f"missing {name}", plan.sources.get(name) or name, value.isnull()))
    checks.append((UNKNOWN_EVENT_TYPE, plan.sources.get("event_type") or "event_type",
                   t._raw_type.notnull() & t.event_type.isnull()))
    for reason in (tsmod.UNPARSEABLE, tsmod.AMBIGUOUS, tsmod.NONEXISTENT):
        checks.append((reason, ts_source, (t._ts_reason == reason).fill_null(False)))
    if latest is not None:
        checks.append((FUTURE, ts_source, (t._utc > ibis.literal(latest)).fill_null(False)))
    if earliest is not None:
        checks.append((TOO_EARLY, ts_source, (t._utc < ibis.literal(earliest)).fill_null(False)))
    for name, (lo, hi, below) in spec.numbers.items():
        where = plan.sources.get(name) or name
        checks.append((f"non-numeric {name}", where, t[f"_nn_{name}"]))
        checks.append((f"non-finite {name}", where, t[f"_nf_{name}"]))
        out = (t[name] < lo) if lo is not None else ibis.literal(False)
        if hi is not None:
            out = out | (t[name] > hi)
        label = f"negative {name}" if below == "negative" else f"{name} out of range"
        checks.append((label, where, out.fill_null(False)))
    ignored = t._raw_type.isin(plan.ignore).fill_null(False) if plan.ignore else ibis.literal(False)
    if checked:
        checks = []
    t = t.mutate(
        _reason=ibis.cases(*[(mask, ibis.literal(text)) for text, _, mask in checks], else_=ibis.null("string"))
        if checks else ibis.null("string"),
        _column=ibis.cases(*[(mask, ibis.literal(col)) for _, col, mask in checks], else_=ibis.null("string"))
        if checks else ibis.null("string"),
        _ignored=ignored, ts=t._utc, local_date=local_date(t._utc, plan.model_zone, earliest, latest),
    )
    if DERIVED_IDS in clean:  # every row has its id: no key, so unused columns are not read
        t = t.mutate(_key=ibis.null("string"))
    else:
        t = t.mutate(_key=ibis.ifelse(t.event_id.isnull(), _key_text(t), ibis.null("string")))
        t = t.mutate(event_id=t.event_id.coalesce(t._key.hexdigest("sha256").substr(0, ID_DIGITS)))
    names = [n for n in SCHEMAS["events"].names if n != "load_id"]
    return t.select(*names, "_reason", "_column", "_ignored", "_key", "_form", *keep, *extra)


def _dirty_mask(raw: ibis.Table, plan: Plan, mapped: dict[str, ibis.Value]) -> ibis.Value:
    """Bit ``i``: the row's value of the ``i``-th :func:`cleanable` name is not its mapped
    value (surrounding blanks, empty, upper case), or for :data:`DERIVED_IDS` it has no id."""
    bits = []
    for i, name in enumerate(cleanable(raw, plan)):
        if name == DERIVED_IDS:
            needs = mapped["event_id"].isnull()
        else:
            value = raw[plan.sources[name]]
            needs = value.notnull() & (mapped[name].isnull() | (mapped[name] != value)).fill_null(True)
        bits.append(ibis.ifelse(needs, ibis.literal(1 << i, "int64"), ibis.literal(0, "int64")))
    return sum(bits[1:], bits[0]) if bits else ibis.literal(0, "int64")


def text_forms(raw: ibis.Table, plan: Plan) -> frozenset[int] | None:
    """The text timestamp forms ``raw``'s rows use (``_form`` values: :data:`FAST_FORM` or
    indices in :data:`TEXT_FORMS`), by one cheap query (a pattern match a row, no parsing);
    None when ``plan`` reads no text timestamps. :func:`checked_events` with these
    ``forms`` checks every row as with all forms, from a smaller expression.

    >>> from aips.ingest.validate import Plan
    >>> raw = ibis.memtable({"ts": ["2024-01-02 08:00:00", "02/01/2024", None]})
    >>> plan = Plan("events", {"ts": "ts"}, {}, {}, [], {}, [], "UTC", "UTC", None, None, 0, "f", "L")
    >>> sorted(text_forms(raw, plan))
    [-1, 2]
    """
    value = _ts_input(raw, plan)
    if not value.type().is_string() or plan.unit is not None:
        return None
    form = ibis.cases((value.re_search(_FAST), FAST_FORM),
                      *((value.re_search(re.sub(r"\(\?P<\w+>", "(?:", p)), i) for i, p in enumerate(TEXT_FORMS)),
                      else_=ibis.null("int64"))
    found = raw.select(_form=form.cast("int64")).distinct().to_pyarrow()["_form"].to_pylist()
    return frozenset(f for f in found if f is not None)


# --- columns ---------------------------------------------------------------------------------


def _text(col: ibis.Value) -> ibis.Value:
    """A column as trimmed text, null when empty (a whole-number float as its integer text)."""
    typ = col.type()
    if typ.is_floating():
        whole = (col.floor() == col) & (col.abs() < 2.0**63)
        col = ibis.ifelse(whole.fill_null(False), col.cast("int64").cast("string"), col.cast("string"))
    elif not typ.is_string():
        col = col.cast("string")
    return col.re_replace(_SPACE, "").nullif("")


def _column(raw: ibis.Table, plan: Plan, name: str) -> ibis.Value:
    source = plan.sources.get(name)
    numbers = SPECS["events"].numbers
    if source is None:
        value = plan.constants.get(name)
        text = None if value is None else (str(value).lower() if isinstance(value, bool) else str(value))
        if name == "event_type" and text is not None:
            text = text.strip().lower()
        return ibis.literal(text, "string")
    col = raw[source]
    if name in numbers and col.type().is_numeric():
        return col
    text = _text(col)
    return text.lower() if name == "event_type" else text


def _number(plan: Plan, name: str, col: ibis.Value):
    """(float64 values, 'non-numeric' mask, 'non-finite' mask) as validate's ``_number``."""
    no = ibis.literal(False)
    typ = col.type()
    if typ.is_numeric():
        x = col.cast("float64")
        if typ.is_floating():
            x = ibis.ifelse(x.isnan(), ibis.null("float64"), x)  # NaN is "no value"
            bad = x.isinf().fill_null(False)
            return ibis.ifelse(bad, ibis.null("float64"), x), bad, no
        return x, no, no
    if plan.sources.get(name) is None and plan.constants.get(name) is None:
        return ibis.null("float64"), no, no
    ok = col.re_search(_NUMBER)
    bad = (~ok).fill_null(False) & col.notnull()
    x = ibis.ifelse(ok.fill_null(False), col, ibis.null("string")).try_cast("float64")
    overflow = (ok.fill_null(False) & (x.isnull() | x.isinf())).fill_null(False)
    return ibis.ifelse(overflow, ibis.null("float64"), x), bad, overflow


# --- timestamps --------------------------------------------------------------------------------


def _ts_input(raw: ibis.Table, plan: Plan) -> ibis.Value:
    source = plan.sources.get("ts")
    if source is None:
        value = plan.constants.get("ts")
        return ibis.literal(None if value is None else str(value), "string")
    col = raw["ts" if source is None else source]
    typ = col.type()
    if typ.is_timestamp() or typ.is_date() or (typ.is_numeric() and plan.unit):
        return col
    if typ.is_numeric():
        return col  # numbers without a unit: unparseable (below)
    return _text(col)


def from_micros(micros: ibis.Value) -> ibis.Value:
    """Naive UTC timestamps from integer microseconds since the epoch (both backends: an
    interval added to the epoch; DuckDB's ``to_timestamp`` would give a zoned value)."""
    seconds = (micros / 1_000_000).floor().cast("int64")
    rest = micros - seconds * 1_000_000
    return ibis.literal(dt.datetime(1970, 1, 1)) + seconds.as_interval("s") + rest.as_interval("us")


def _naive_utc(value: ibis.Value) -> ibis.Value:
    """A zoned timestamp as naive UTC (:func:`aips.store.files.naive_utc`: on DuckDB without
    its calendar, which costs a Parquet source's view ~0.2 us a row on every read)."""
    from types import SimpleNamespace

    from aips.store.files import naive_utc

    try:
        kind = ibis.get_backend(value).name
    except Exception:  # noqa: BLE001 - an unbound expression: the portable cast
        kind = None
    return naive_utc(SimpleNamespace(kind=kind), value)


def epoch_micros(ts: ibis.Value) -> ibis.Value:
    """Integer microseconds since the epoch of naive timestamps (both backends)."""
    whole = ts.truncate("s")
    return whole.epoch_seconds().cast("int64") * 1_000_000 + ts.delta(whole, unit="microsecond").cast("int64")


def parse_ts(t: ibis.Table, column: str, plan: Plan, *, latest=None, earliest=None,
             forms: frozenset[int] | None = None, checked: bool = False) -> ibis.Table:
    """``t`` with ``_utc`` (naive UTC instants), ``_ts_reason`` and ``_form`` of its
    timestamp column ``column``, as :func:`aips.ingest.timestamps.parse_timestamps` reads
    it. ``_form``: the text form a value matched (:data:`FAST_FORM`, else the index of
    its pattern in :data:`TEXT_FORMS`), null for other values; ``forms``: the forms to
    try (default: all). ``checked``: as :func:`checked_events` (``_utc`` without the
    checks of text; ``_ts_reason`` null)."""
    value = t[column]
    typ = value.type()
    if typ.is_string() and plan.unit is None:
        return _parse_text(t, column, plan, latest, earliest, forms, checked)
    return _parse_value(t, value, plan, latest, earliest).mutate(_form=ibis.null("int64"))


def _parse_value(t: ibis.Table, value: ibis.Value, plan: Plan, latest, earliest) -> ibis.Table:
    """:func:`parse_ts` of typed timestamps and dates, and of epoch numbers (or text)."""
    typ = value.type()
    null_reason = ibis.null("string")
    if typ.is_timestamp() and typ.timezone is not None:
        return t.mutate(_utc=_naive_utc(value), _ts_reason=null_reason)
    if typ.is_timestamp() or typ.is_date():
        t = t.mutate(_wall=epoch_micros(value.cast("timestamp")))
        return localize(t, "_wall", plan.zone, earliest, latest).drop("_wall")
    if plan.unit is not None:
        if typ.is_numeric():
            numbers = value.cast("float64")
            bad = numbers.isnan().fill_null(False) if typ.is_floating() else ibis.literal(False)
        else:
            ok = value.re_search(_EPOCH).fill_null(False)
            numbers = ibis.ifelse(ok, value, ibis.null("string")).try_cast("float64")
            bad = ~ok
        t = t.mutate(_micros=numbers * float(_US[plan.unit]), _bad=bad)
        bad = t._bad | ~((t._micros > -6.2e16) & (t._micros < 2.5e17)).fill_null(True)
        t = t.mutate(_bad=bad)
        utc = ibis.ifelse(t._bad, ibis.null("timestamp"), from_micros(t._micros.floor().cast("int64")))
        reason = ibis.ifelse(t._bad & value.notnull(), ibis.literal(tsmod.UNPARSEABLE), null_reason)
        return t.mutate(_utc=utc, _ts_reason=reason).drop("_micros", "_bad")
    return t.mutate(_utc=ibis.null("timestamp"),  # numbers without a unit
                    _ts_reason=ibis.ifelse(value.notnull(), ibis.literal(tsmod.UNPARSEABLE), null_reason))


def _only(pattern: str, name: str) -> str | None:
    """``pattern`` with the named group ``name`` as its only capturing group (group 1), or
    None when it has no such group (DuckDB extracts groups 0..9 only; the patterns have more)."""
    if f"(?P<{name}>" not in pattern:
        return None
    return re.sub(r"\(\?P<\w+>", "(?:", pattern.replace(f"(?P<{name}>", "(", 1))


def _group(i: int, name: str) -> str:
    """The column of pattern ``i``'s group ``name`` (names differ in case only: ``m``, ``M``;
    column names do not, in DuckDB)."""
    return f"_g{i}_{name.lower()}{'_' if name.isupper() else ''}"


def _valid_date(y, m, d) -> ibis.Value:
    leap = ((y % 4 == 0) & (y % 100 != 0)) | (y % 400 == 0)
    mdays = m.cases(*((i, n) for i, n in enumerate([31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], 1)),
                    else_=0) + ibis.ifelse(leap & (m == 2), 1, 0)
    return (y >= 1) & (m >= 1) & (m <= 12) & (d >= 1) & (d <= mdays)


def _days_from_civil(y, m, d) -> ibis.Value:
    """Days since 1970-01-01 (H. Hinnant's algorithm, as :mod:`aips.ingest.timestamps`)."""
    y = y - ibis.ifelse(m <= 2, 1, 0)
    era = (y / 400).floor().cast("int64")
    yoe = y - era * 400
    doy = ((153 * (m + ibis.ifelse(m > 2, -3, 9)) + 2) / 5).floor().cast("int64") + d - 1
    doe = yoe * 365 + (yoe / 4).floor().cast("int64") - (yoe / 100).floor().cast("int64") + doy
    return era * 146097 + doe - 719468


TEXT_FORMS = (*tsmod._PATTERNS, tsmod._DAY_OR_MONTH_FIRST)
"""The text timestamp forms of :mod:`aips.ingest.timestamps`, in the order tried."""
FAST_FORM = -1
"""``_form`` of the common ISO forms (``_FAST``), cut by position."""


def _parse_text(t: ibis.Table, column: str, plan: Plan, latest, earliest, forms=None,
                checked: bool = False) -> ibis.Table:
    """Text in the forms accepted without a format: the patterns of
    :mod:`aips.ingest.timestamps`, tried in order, each a regular expression of the backend.

    ``forms``: only these patterns (indices in :data:`TEXT_FORMS`) are tried: a view over
    data already checked needs only the forms the data uses, and each pattern adds a dozen
    columns to the expression (Spark's optimizer inlines them into every filter above)."""
    text = t[column]
    if checked and forms is not None and forms <= {FAST_FORM}:
        return _parse_iso(t, column, plan, latest, earliest)
    kept = [i for i in range(len(TEXT_FORMS)) if forms is None or i in forms]
    # the common ISO forms are cut by position (one regular expression a row); only the
    # other rows pay for the patterns' groups (CASE evaluates a branch for its rows only)
    t = t.mutate(_fast=text.re_search(_FAST).fill_null(False))
    fast = t._fast
    found: dict[str, ibis.Value] = {}
    names: dict[int, set[str]] = {}
    for i in kept:
        pattern = TEXT_FORMS[i]
        groups = set(re.findall(r"\(\?P<(\w+)>", pattern))
        names[i] = groups
        found[f"_m{i}"] = ~fast & text.re_search(re.sub(r"\(\?P<\w+>", "(?:", pattern)).fill_null(False)
        for name in sorted(groups):
            found[_group(i, name)] = ibis.ifelse(fast, ibis.literal("", "string"),
                                                 text.re_extract(_only(pattern, name), 1))
    t = t.mutate(**found)

    def cut(start: int, length: int) -> ibis.Value:
        return text.substr(start, length).cast("int64")

    timed = text.length() >= 19
    parts: dict[str, ibis.Value] = {
        "_mf": fast, "_yf": ibis.ifelse(fast, cut(0, 4), 1970), "_af": ibis.ifelse(fast, cut(5, 2), 1),
        "_bf": ibis.ifelse(fast, cut(8, 2), 1), "_hhf": ibis.ifelse(fast & timed, cut(11, 2), 0),
        "_mif": ibis.ifelse(fast & timed, cut(14, 2), 0), "_ssf": ibis.ifelse(fast & timed, cut(17, 2), 0),
        "_zhf": ibis.literal(0, "int64"), "_zmf": ibis.literal(0, "int64"), "_ff": ibis.literal("", "string"),
        "_pf": ibis.literal("", "string"), "_zsf": ibis.literal("", "string"),
        "_zf": ibis.ifelse(text.length() > 19, "Z", ""),
    }
    for i, groups in names.items():
        def num(name: str, default: int, i=i, groups=groups) -> ibis.Value:
            if name not in groups:
                return ibis.literal(default, "int64")
            g = t[_group(i, name)]
            return ibis.ifelse(g == "", default, g.try_cast("int64")).fill_null(default).cast("int64")

        def text_of(name: str, i=i, groups=groups) -> ibis.Value:
            return t[_group(i, name)] if name in groups else ibis.literal("", "string")

        parts.update({f"_y{i}": num("Y", 1970), f"_a{i}": num("a" if "a" in groups else "m", 1),
                      f"_b{i}": num("b" if "b" in groups else "d", 1), f"_hh{i}": num("H", 0),
                      f"_mi{i}": num("M", 0), f"_ss{i}": num("S", 0), f"_zh{i}": num("zh", 0),
                      f"_zm{i}": num("zm", 0), f"_f{i}": text_of("f").rpad(6, "0").substr(0, 6),
                      f"_p{i}": text_of("p").lower(), f"_zs{i}": text_of("zs"), f"_z{i}": text_of("z")})
    t = t.mutate(**parts).drop(*[k for k in found if k.startswith("_g")], "_fast")
    patterns = ("f", *kept)
    names = [set(), *names.values()]
    dates: dict[str, ibis.Value] = {}
    for i, groups in zip(patterns, names, strict=True):
        y, a, b = t[f"_y{i}"], t[f"_a{i}"], t[f"_b{i}"]
        if "a" in groups:  # day or month first: a valid reading wins; two that differ: ambiguous
            day_first, month_first = _valid_date(y, b, a), _valid_date(y, a, b)
            dates[f"_mo{i}"] = ibis.ifelse(day_first, b, a)
            dates[f"_dd{i}"] = ibis.ifelse(day_first, a, b)
            dates[f"_amb{i}"] = day_first & month_first & (a != b)
        else:
            dates.update({f"_mo{i}": a, f"_dd{i}": b, f"_amb{i}": ibis.literal(False)})
    t = t.mutate(**dates)
    rows: dict[str, ibis.Value] = {}
    for i in patterns:
        y, m, d = t[f"_y{i}"], t[f"_mo{i}"], t[f"_dd{i}"]
        hh, mi, ss, ampm = t[f"_hh{i}"], t[f"_mi{i}"], t[f"_ss{i}"], t[f"_p{i}"]
        has_p = ampm != ""
        ok = _valid_date(y, m, d) & (mi <= 59) & (ss <= 59) & (t[f"_zh{i}"] <= 14) & (t[f"_zm{i}"] <= 59)
        ok = ok & ibis.ifelse(has_p, (hh >= 1) & (hh <= 12), hh <= 23)
        hour = ibis.ifelse(has_p, hh % 12 + ibis.ifelse(ampm == "p", 12, 0), hh)
        us = ibis.ifelse(t[f"_f{i}"] == "", ibis.literal(0, "int64"),
                         t[f"_f{i}"].try_cast("int64").fill_null(0))
        days = _days_from_civil(y, m.clip(1, 12), d.clip(1, 31))
        rows[f"_ok{i}"] = ok
        rows[f"_wall{i}"] = (((days * 24 + hour) * 60 + mi) * 60 + ss) * 1_000_000 + us
        rows[f"_aware{i}"] = (t[f"_z{i}"] != "") | (t[f"_zs{i}"] != "")
        rows[f"_off{i}"] = ibis.ifelse(t[f"_zs{i}"] == "-", -1, 1) * (t[f"_zh{i}"] * 60 + t[f"_zm{i}"])
    t = t.mutate(**rows)

    def first(prefix: str) -> ibis.Value:
        return ibis.cases(*((t[f"_m{i}"], t[f"{prefix}{i}"]) for i in patterns), else_=None)

    form = ibis.cases(*((t[f"_m{i}"], FAST_FORM if i == "f" else i) for i in patterns), else_=ibis.null("int64"))
    t = t.mutate(_matched=ibis.or_(*(t[f"_m{i}"] for i in patterns)), _ok=first("_ok"),
                 _amb=first("_amb"), _wall=first("_wall"), _aware=first("_aware"), _off=first("_off"),
                 _form=form.cast("int64"))
    t = t.select(*[c for c in t.columns
                   if not re.match(r"^_(m|g|y|a|b|hh|mi|ss|zh|zm|f|p|zs|z|mo|dd|amb|ok|wall|aware|off)(\d|f$)", c)])
    t = t.mutate(_good=t._matched & t._ok.fill_null(False) & ~t._amb.fill_null(False),
                 _amb=t._matched & t._ok.fill_null(False) & t._amb.fill_null(False),
                 _aware=t._aware.fill_null(False))
    aware = from_micros(t._wall - t._off * ibis.literal(60_000_000, "int64"))
    if checked:  # rows that parsed: no validity to check
        t = localize(t, "_wall", plan.zone, earliest, latest, checked=True)
        t = t.mutate(_utc=ibis.ifelse(t._aware, aware, t._utc), _ts_reason=ibis.null("string"))
        return t.drop("_matched", "_ok", "_amb", "_wall", "_aware", "_off", "_good")
    t = localize(t, "_wall", plan.zone, earliest, latest)  # _utc, _ts_reason of wall times
    reason = ibis.cases(
        (text.isnull(), ibis.null("string")),
        (t._amb, ibis.literal(tsmod.AMBIGUOUS)),
        (~t._good, ibis.literal(tsmod.UNPARSEABLE)),
        (~t._aware, t._ts_reason),
        else_=ibis.null("string"),
    )
    t = t.mutate(_ts_reason=reason, _utc=ibis.ifelse(t._aware, aware, t._utc))
    t = t.mutate(_utc=ibis.ifelse(t._good & t._ts_reason.isnull(), t._utc, ibis.null("timestamp")))
    return t.drop("_matched", "_ok", "_amb", "_wall", "_aware", "_off", "_good")


def _parse_iso(t: ibis.Table, column: str, plan: Plan, latest, earliest) -> ibis.Table:
    """:func:`_parse_text` of checked rows whose text is all in the ISO forms of ``_FAST``
    (``2024-01-02``, ``2024-01-02 08:00:00``, ``2024-01-02T08:00:00Z``, ``... UTC``): the
    backend's own cast reads them (valid dates and times: they passed the checks), a few
    nodes where the general parser's date arithmetic is hundreds."""
    text = t[column]
    wall = text.substr(0, 19).cast("timestamp")
    aware = text.length() > 19  # ``Z`` or `` UTC``
    first, changes = transitions(plan.zone, *_bounds(earliest, latest)) if plan.zone not in _UTC_ZONES \
        else (0, [])
    if not changes:
        t = t.mutate(_utc=ibis.ifelse(aware, wall, wall - ibis.interval(seconds=first)) if first else wall)
    else:
        t = localize(t.mutate(_wall=epoch_micros(wall)), "_wall", plan.zone, earliest, latest, checked=True)
        t = t.mutate(_utc=ibis.ifelse(aware, wall, t._utc)).drop("_wall")
    form = ibis.ifelse(text.notnull(), ibis.literal(FAST_FORM, "int64"), ibis.null("int64"))
    return t.mutate(_ts_reason=ibis.null("string"), _form=form)


# --- time zones --------------------------------------------------------------------------------


def transitions(zone: str, lo: dt.datetime, hi: dt.datetime) -> tuple[int, list[tuple[dt.datetime, int, int]]]:
    """The UTC offset (seconds) of ``zone`` at ``lo`` and its changes until ``hi``:
    ``(offset, [(naive UTC instant, offset before, offset after), ...])``.

    >>> transitions("Asia/Shanghai", dt.datetime(2000, 1, 1), dt.datetime(2030, 1, 1))
    (28800, [])
    >>> off, ch = transitions("Europe/Paris", dt.datetime(2024, 1, 1), dt.datetime(2025, 1, 1))
    >>> off, [(str(t), a, b) for t, a, b in ch]
    (3600, [('2024-03-31 01:00:00', 3600, 7200), ('2024-10-27 01:00:00', 7200, 3600)])
    """
    tz = ZoneInfo(zone)

    def offset(t: dt.datetime) -> int:
        return int(t.replace(tzinfo=dt.UTC).astimezone(tz).utcoffset().total_seconds())

    first = offset(lo)
    out: list[tuple[dt.datetime, int, int]] = []
    t, current = lo, first
    while t < hi:
        step = min(t + dt.timedelta(days=7), hi)
        if offset(step) != current:
            a, b = t, step
            while b - a > dt.timedelta(seconds=1):
                mid = a + (b - a) / 2
                a, b = (mid, b) if offset(mid) == current else (a, mid)
            b = b.replace(microsecond=0)
            out.append((b, current, offset(b)))
            current = offset(b)
        t = step
    return first, out


def _bounds(earliest, latest) -> tuple[dt.datetime, dt.datetime]:
    lo = (earliest or dt.datetime(_FIRST_YEAR, 1, 1)) - dt.timedelta(days=2)
    hi = (latest or dt.datetime(_LAST_YEAR, 1, 1)) + dt.timedelta(days=2)
    return lo, hi


def localize(t: ibis.Table, column: str, zone: str, earliest=None, latest=None, *,
             checked: bool = False) -> ibis.Table:
    """``t`` with ``_utc`` and ``_ts_reason`` of its wall-clock microseconds ``column`` in
    ``zone``: each daylight-saving change of the window (``earliest``..``latest``, default
    1970..2100) is a literal; a wall time in a fold is ``ambiguous timestamp``, in a gap
    ``nonexistent local time`` (``checked``: rows known to be in neither; ``_utc`` without
    that check)."""
    wall = t[column]
    if zone in _UTC_ZONES:
        return t.mutate(_utc=from_micros(wall), _ts_reason=ibis.null("string"))
    first, changes = transitions(zone, *_bounds(earliest, latest))
    epoch = dt.datetime(1970, 1, 1)
    us = lambda when, seconds: (int((when - epoch).total_seconds()) + seconds) * 1_000_000  # noqa: E731
    offset_cases, reason_cases = [], []
    for when, before, after in reversed(changes):  # the latest change first
        hi, lo = us(when, max(before, after)), us(when, min(before, after))
        offset_cases.append((wall >= hi, ibis.literal(after * 1_000_000, "int64")))
        offset_cases.append((wall >= lo, ibis.null("int64")))
        why = tsmod.NONEXISTENT if after > before else tsmod.AMBIGUOUS
        reason_cases.append(((wall >= lo) & (wall < hi), ibis.literal(why)))
    # offsets in microseconds: a literal 28800 * 1000000 would overflow DuckDB's INT32
    offset = ibis.cases(*offset_cases, else_=ibis.literal(first * 1_000_000, "int64")) if offset_cases \
        else ibis.literal(first * 1_000_000, "int64")
    reason = ibis.cases(*reason_cases, else_=ibis.null("string")) if reason_cases else ibis.null("string")
    t = t.mutate(_offset=offset, _ts_reason=reason)
    utc = from_micros(t[column] - t._offset)
    if not checked:
        utc = ibis.ifelse(t._ts_reason.isnull(), utc, ibis.null("timestamp"))
    return t.mutate(_utc=utc).drop("_offset")


def local_date(utc: ibis.Value, zone: str, earliest=None, latest=None) -> ibis.Value:
    """The calendar day of naive UTC instants in ``zone`` (offsets as literals)."""
    if zone in _UTC_ZONES:
        return utc.date()
    first, changes = transitions(zone, *_bounds(earliest, latest))
    cases = [(utc >= ibis.literal(when), (utc + ibis.interval(seconds=after)).date())
             for when, _, after in reversed(changes)]
    default = (utc + ibis.interval(seconds=first)).date()
    return ibis.cases(*cases, else_=default) if cases else default


# --- derived event ids --------------------------------------------------------------------------


def _key_part(value: ibis.Value) -> ibis.Value:
    typ = value.type()
    if typ.is_floating():
        whole = ((value.floor() == value) & (value.abs() < _WHOLE_MAX)).fill_null(False)
        return ibis.ifelse(whole, value.cast("int64").cast("string"), value.cast("string"))
    return value.cast("string")


def _key_text(t: ibis.Table) -> ibis.Value:
    """The id key of :func:`aips.ingest.dedupe.key_text`, built by the backend."""
    parts = [epoch_micros(t.ts).cast("string") if name == "ts" else _key_part(t[name])
             for name in KEY_FIELDS]
    filled = [p.fill_null("") for p in parts]
    plain = ibis.literal(SEPARATOR).join(filled)
    holds = ibis.or_(*(p.contains(SEPARATOR) for p in filled))
    prefixed = ibis.literal(VERSION_2) + ibis.literal(SEPARATOR).join(
        [p.length().cast("string") + ":" + p for p in filled])
    return ibis.ifelse(holds, prefixed, plain)
