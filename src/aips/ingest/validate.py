"""Map a chunk of source rows onto a canonical table and sort every row into loaded,
ignored or quarantined (with a reason), all with vectorised pyarrow compute.

Quarantine reasons form a fixed vocabulary, :data:`REASONS` (a row gets the first that
applies, in this order). ``X`` below is a column of the target table.

==============================  ===========================================================
reason                          meaning
==============================  ===========================================================
``ragged row``                  a delimited row with more or fewer fields than the header
``malformed json``              a JSON Lines line that is not a JSON object
``undecodable text``            bytes that are not valid in the file's encoding
``missing X``                   a required column is empty (events: user_id, brand,
                                event_type, ts; campaigns: campaign_id, brand, start_date;
                                categories: category, decision_cycle_days; creators:
                                creator_id; users: user_id)
``unknown event type``          the raw type is in neither the mapping's ``event_types``,
                                the model's taxonomy, nor the canonical types
``unparseable timestamp``       see :mod:`aips.ingest.timestamps`
``ambiguous timestamp``         ``01/02/2024`` (day or month first?), or a DST fold
``nonexistent local time``      a wall time skipped by a DST jump
``future timestamp``            later than the load time plus ``max_future`` (default 1 day)
``timestamp before min_date``   earlier than ``min_date`` (default 2000-01-01)
``unparseable X``               a date column (start_date, end_date) or boolean (holdout)
                                that cannot be read
``non-numeric X``               a number column (amount, dwell_s, completion, spend,
                                followers, fee, decision_cycle_days) that is not a number
                                (``inf`` included, and the text ``nan``; a NaN in a typed
                                float column, as numpy writes a missing value, is null)
``non-finite X``                a number too large for a float (``1e309``, 400 digits):
                                never stored as infinity
``negative X``                  a number below zero where that makes no sense
``X out of range``              completion outside 0..1; decision_cycle_days < 1;
                                a whole-number column with a fraction
``end_date before start_date``  a campaign that ends before it starts
==============================  ===========================================================

Rows whose raw event type is in the mapping's ``ignore`` list are counted as ignored
(after ``undecodable text``, before every other check).

>>> len(REASONS), REASONS["missing brand"]
(46, 'the required column brand is empty')
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from aips.ingest import timestamps
from aips.ingest.chunk import MALFORMED_JSON, RAGGED, UNDECODABLE, Chunk
from aips.store.tables import QUARANTINE, SCHEMAS

UNKNOWN_EVENT_TYPE = "unknown event type"
FUTURE = "future timestamp"
TOO_EARLY = "timestamp before min_date"
LINE_BITS = 40
"""``_pos`` = file index << 40 | line: the order in which duplicates are resolved (first wins)."""

KEY_FIELDS = (
    "ts", "user_id", "brand", "spu", "category", "event_type", "channel", "campaign_id",
    "creator_id", "note_id", "content_format", "keyword", "dwell_s", "completion", "amount",
)  # fmt: skip
"""Fields of the derived event id, in this order (see :mod:`aips.ingest.dedupe`)."""


@dataclass(frozen=True)
class Spec:
    """What the validator checks for one table."""

    key: str | tuple[str, ...]
    required: tuple[str, ...]
    numbers: dict[str, tuple[float | None, float | None, str]] = field(default_factory=dict)
    """column -> (min, max, reason below min) ; reason is 'negative' or 'out of range'."""
    dates: tuple[str, ...] = ()
    bools: tuple[str, ...] = ()


SPECS: dict[str, Spec] = {
    "events": Spec(
        "event_id",
        ("user_id", "brand", "event_type", "ts"),
        {
            "amount": (0, None, "negative"),
            "dwell_s": (0, None, "negative"),
            "completion": (0, 1, "out of range"),
        },
    ),
    "campaigns": Spec(
        "campaign_id",
        ("campaign_id", "brand", "start_date"),
        {"spend": (0, None, "negative")},
        dates=("start_date", "end_date"),
    ),  # fmt: skip
    "categories": Spec(
        "category",
        ("category", "decision_cycle_days"),
        {"decision_cycle_days": (1, None, "out of range")},
    ),
    "creators": Spec(
        "creator_id",
        ("creator_id",),
        {"followers": (0, None, "negative"), "fee": (0, None, "negative")},
    ),
    "users": Spec("user_id", ("user_id",), bools=("holdout",)),
    "campaign_holdouts": Spec(
        ("campaign_id", "user_id"), ("campaign_id", "user_id", "holdout"),
        dates=("first_date",), bools=("holdout",),
    ),
}


def _vocabulary() -> dict[str, str]:
    out = {
        RAGGED: "a delimited row with more or fewer fields than the header",
        MALFORMED_JSON: "a JSON Lines line that is not a JSON object",
        UNDECODABLE: "bytes that are not valid in the file's encoding",
    }
    for spec in SPECS.values():
        for col in spec.required:
            out[f"missing {col}"] = f"the required column {col} is empty"
    out[UNKNOWN_EVENT_TYPE] = (
        "an event type in neither the mapping, the taxonomy nor the canonical types"
    )
    out[timestamps.UNPARSEABLE] = "a timestamp in no accepted form, or an impossible date or time"
    out[timestamps.AMBIGUOUS] = "a day/month-first date with two valid readings, or a DST fold"
    out[timestamps.NONEXISTENT] = "a wall time skipped by a daylight-saving jump"
    out[FUTURE] = "a timestamp later than the load time plus the tolerance (--max-future)"
    out[TOO_EARLY] = "a timestamp before the earliest date accepted (--min-date)"
    for spec in SPECS.values():
        for col in (*spec.dates, *spec.bools):
            out[f"unparseable {col}"] = f"{col} cannot be read"
        for col, (_lo, _hi, below) in spec.numbers.items():
            out[f"non-numeric {col}"] = f"{col} is not a number"
            out[f"non-finite {col}"] = f"{col} overflows a float (1e309, a 400-digit number)"
            out[f"{below} {col}" if below == "negative" else f"{col} out of range"] = (
                f"{col} outside its range"
            )
    out["completion out of range"] = "completion outside 0..1"
    out["decision_cycle_days out of range"] = "decision_cycle_days below 1 or not a whole number"
    out["followers out of range"] = "followers not a whole number"
    out["end_date before start_date"] = "a campaign that ends before it starts"
    return out


REASONS: dict[str, str] = _vocabulary()
"""The quarantine reason vocabulary: reason -> meaning."""

INT_COLUMNS = {"decision_cycle_days", "followers"}
_NUMBER = r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$"
_TRUE = ["true", "t", "yes", "y", "1", "是"]
_FALSE = ["false", "f", "no", "n", "0", "否"]


@dataclass
class Plan:
    """Everything the validator needs for one file (built by :mod:`aips.ingest.load`)."""

    table: str
    sources: dict[str, str | None]  # canonical column -> source column (None: not in the file)
    constants: dict[str, object]
    only_for: dict[str, list[str]]  # canonical column -> canonical event types that keep it
    extras: list[str]  # users: extra source columns kept as they come
    event_map: dict[str, str]  # raw (lower) -> canonical event type
    ignore: list[str]
    zone: str  # zone of naive source timestamps
    model_zone: str  # zone of local_date
    unit: str | None
    fmt: str | None
    file_index: int
    source_file: str
    load_id: str
    delimiter: str = ","
    latest: dt.datetime | None = None
    """Timestamps after this (UTC, naive) are quarantined as ``future timestamp``."""
    earliest: dt.datetime | None = None
    """Timestamps before this (UTC, naive) are quarantined as ``timestamp before min_date``."""


@dataclass
class Validated:
    """One chunk sorted: rows to stage, rows to quarantine, counts."""

    good: pa.Table
    quarantine: pa.Table
    rows: int
    ignored: int
    reasons: Counter


def staging_schema(table: str, extras: list[str] = ()) -> pa.Schema:
    """The schema of staged rows: the canonical columns plus ``_key``, ``_pos``, ``_file``."""
    fields = list(SCHEMAS[table].to_pyarrow())
    fields += [pa.field(name, pa.string()) for name in extras]
    if table == "events":
        fields.append(pa.field("_key", pa.string()))
    return pa.schema([*fields, pa.field("_pos", pa.int64()), pa.field("_file", pa.int32())])


def validate(chunk: Chunk, plan: Plan) -> Validated:
    """Sort one chunk (see the module docstring)."""
    data, n = chunk.data, chunk.data.num_rows
    spec = SPECS[plan.table]
    cols: dict[str, pa.Array] = {}
    checks: list[tuple[str, str, pa.Array]] = []  # (reason, column, mask) in priority order
    if chunk.undecodable is not None:
        checks.append((UNDECODABLE, "", pa.array(chunk.undecodable)))
    target = SCHEMAS[plan.table]
    for name in [*target.names, *plan.extras]:
        if name not in ("local_date", "load_id"):
            cols[name] = _column(data, plan, name, n)
    ignored = _false(n)
    if plan.table == "events":
        raw = cols["event_type"]
        cols["event_type"] = _lookup(raw, plan.event_map)
        if plan.ignore:
            ignored = pc.fill_null(pc.is_in(raw, pa.array(plan.ignore, pa.string())), False)
        for name, kept in plan.only_for.items():
            keep = pc.fill_null(pc.is_in(cols["event_type"], pa.array(kept, pa.string())), False)
            cols[name] = pc.if_else(keep, cols[name], pa.scalar(None, cols[name].type))
    for name in spec.required:
        value = raw if name == "event_type" else cols[name]
        checks.append((f"missing {name}", plan.sources.get(name) or name, pc.is_null(value)))
    if plan.table == "events":
        unknown = pc.and_(pc.is_valid(raw), pc.is_null(cols["event_type"]))
        checks.append((UNKNOWN_EVENT_TYPE, plan.sources.get("event_type") or "event_type", unknown))
        utc, why = timestamps.parse_timestamps(cols["ts"], plan.zone, unit=plan.unit, fmt=plan.fmt)
        for reason in (timestamps.UNPARSEABLE, timestamps.AMBIGUOUS, timestamps.NONEXISTENT):
            checks.append(
                (reason, plan.sources.get("ts") or "ts", pc.fill_null(pc.equal(why, reason), False))
            )
        where = plan.sources.get("ts") or "ts"
        if plan.latest is not None:
            late = pc.greater(utc, pa.scalar(plan.latest, utc.type))
            checks.append((FUTURE, where, pc.fill_null(late, False)))
        if plan.earliest is not None:
            early = pc.less(utc, pa.scalar(plan.earliest, utc.type))
            checks.append((TOO_EARLY, where, pc.fill_null(early, False)))
        cols["ts"] = utc
        cols["local_date"] = timestamps.local_dates(
            pc.fill_null(utc, pa.scalar(0, timestamps.TS)), plan.model_zone
        )
    for name in spec.dates:
        dates, bad = timestamps.parse_dates(cols[name])
        checks.append((f"unparseable {name}", plan.sources.get(name) or name, bad))
        cols[name] = dates
    if plan.table == "campaigns":
        before = pc.fill_null(pc.less(cols["end_date"], cols["start_date"]), False)
        checks.append(
            ("end_date before start_date", plan.sources.get("end_date") or "end_date", before)
        )
    for name in spec.bools:
        values, bad = _boolean(cols[name])
        checks.append((f"unparseable {name}", plan.sources.get(name) or name, bad))
        cols[name] = values
    for name, (lo, hi, below) in spec.numbers.items():
        values, bad, overflow = _number(cols[name])
        where = plan.sources.get(name) or name
        checks.append((f"non-numeric {name}", where, bad))
        checks.append((f"non-finite {name}", where, overflow))
        out = pc.less(values, lo) if lo is not None else _false(n)
        if hi is not None:
            out = pc.or_(out, pc.greater(values, hi))
        out = pc.fill_null(out, False)
        label = f"negative {name}" if below == "negative" else f"{name} out of range"
        checks.append((label, where, out))
        if name in INT_COLUMNS:
            fraction = pc.fill_null(pc.not_equal(pc.floor(values), values), False)
            checks.append((f"{name} out of range", where, fraction))
            out = pc.or_(out, fraction)
            values = pc.cast(pc.if_else(out, pa.scalar(None, pa.float64()), values), pa.int64())
        cols[name] = values
    reason, column = _first_reason(checks, n)
    undecodable = pc.fill_null(pc.equal(reason, UNDECODABLE), False)
    ignored = pc.and_(ignored, pc.invert(undecodable))  # ignoring needs a readable type
    quarantined = pc.and_(pc.is_valid(reason), pc.invert(ignored))
    keep = pc.invert(pc.or_(quarantined, ignored))
    lines = pa.array(chunk.lines, pa.int64())
    good = _good_table(cols, plan, keep, lines)
    bad = _quarantine_table(data, plan, quarantined, reason, column, lines, chunk)
    counts = Counter(
        {row["values"]: row["counts"] for row in pc.value_counts(bad.column("reason")).to_pylist()}
    )
    return Validated(good, bad, n + len(chunk.rejects), int(pc.sum(ignored).as_py() or 0), counts)


# --- helpers ---------------------------------------------------------------------------------


def _false(n: int) -> pa.Array:
    return pa.array(np.zeros(n, dtype=bool))


def _column(data: pa.Table, plan: Plan, name: str, n: int) -> pa.Array:
    """A canonical column as trimmed text (null when empty), or typed numbers/timestamps as they are."""
    source = plan.sources.get(name)
    if source is None:
        value = plan.constants.get(name)
        if value is None:
            return pa.nulls(n, pa.string())
        return pa.repeat(
            pa.scalar(str(value).lower() if isinstance(value, bool) else str(value)), n
        )
    col = data.column(source) if source in data.column_names else pa.nulls(n, pa.string())
    col = col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col
    typ = col.type
    if pa.types.is_floating(typ):
        col = nan_as_null(col)
    if name in ("ts",) and (
        pa.types.is_timestamp(typ)
        or pa.types.is_date(typ)
        or pa.types.is_integer(typ)
        or pa.types.is_floating(typ)
    ):
        return col
    if name in SPECS[plan.table].numbers and (
        pa.types.is_integer(typ) or pa.types.is_floating(typ)
    ):
        return col
    if pa.types.is_boolean(typ):
        return col if name in SPECS[plan.table].bools else pc.cast(col, pa.string())
    if not (pa.types.is_string(typ) or pa.types.is_large_string(typ)):
        col = text_of(col)
    text = pc.ascii_trim_whitespace(col)
    empty = pc.equal(text, "")
    if pc.any(empty).as_py():
        text = pc.if_else(empty, pa.scalar(None, pa.string()), text)
    if name == "event_type":
        text = pc.utf8_lower(text)
    return text


def nan_as_null(col: pa.Array) -> pa.Array:
    """A float column with NaN read as missing: numpy and pandas write a missing value as
    NaN, so ``amount`` NaN is "no amount", not a non-numeric amount (issue 13).

    >>> nan_as_null(pa.array([1.5, float("nan"), None])).to_pylist()
    [1.5, None, None]
    """
    nan = pc.fill_null(pc.is_nan(col), False)
    if not pc.any(nan).as_py():
        return col
    return pc.if_else(nan, pa.scalar(None, col.type), col)


def text_of(col: pa.Array) -> pa.Array:
    """A typed column as text; a whole-number float as its integer text (``1.0`` -> ``1``,
    ``1e16`` -> ``10000000000000000``) so an id reads the same whether it came as ``1`` or
    ``1.0``, through pyarrow's JSON reader or the per-line path.

    >>> text_of(pa.array([1.0, 2.5, 1e16, None])).to_pylist()
    ['1', '2.5', '10000000000000000', None]
    """
    if not pa.types.is_floating(col.type):
        return pc.cast(col, pa.string())
    col = pc.cast(col, pa.float64())
    whole = pc.fill_null(
        pc.and_(pc.equal(pc.floor(col), col), pc.less(pc.abs(col), 2.0**63)), False
    )
    if not pc.any(whole).as_py():
        return pc.cast(col, pa.string())
    as_int = pc.cast(pc.cast(pc.if_else(whole, col, 0.0), pa.int64()), pa.string())
    return pc.if_else(whole, as_int, pc.cast(col, pa.string()))


def _lookup(raw: pa.Array, table: dict[str, str]) -> pa.Array:
    keys = pa.array(list(table), pa.string())
    values = pa.array(list(table.values()), pa.string())
    return pc.take(values, pc.index_in(raw, value_set=keys))


def _number(col: pa.Array) -> tuple[pa.Array, pa.Array, pa.Array]:
    """float64 values, a 'non-numeric' mask and a 'non-finite' mask (a number written in
    digits that overflows a float: ``1e309``; never stored as infinity)."""
    n = len(col)
    if pa.types.is_integer(col.type) or pa.types.is_floating(col.type):
        values = pc.cast(col, pa.float64())
        bad = pc.fill_null(pc.invert(pc.is_finite(values)), False)
        return pc.if_else(bad, pa.scalar(None, pa.float64()), values), bad, _false(n)
    if pa.types.is_null(col.type):
        return pa.nulls(n, pa.float64()), _false(n), _false(n)
    try:  # fast path: every value is a plain number
        values = pc.cast(col, pa.float64())
        if pc.all(pc.fill_null(pc.is_finite(values), True)).as_py():
            return values, _false(n), _false(n)
    except pa.ArrowInvalid:
        pass
    ok = pc.match_substring_regex(col, _NUMBER)
    bad = pc.fill_null(pc.invert(ok), False)
    values = pc.cast(pc.if_else(bad, pa.scalar(None, pa.string()), col), pa.float64())
    overflow = pc.fill_null(pc.invert(pc.is_finite(values)), False)
    values = pc.if_else(overflow, pa.scalar(None, pa.float64()), values)
    return values, bad, overflow


def _boolean(col: pa.Array) -> tuple[pa.Array, pa.Array]:
    if pa.types.is_boolean(col.type):
        return col, _false(len(col))
    low = pc.utf8_lower(pc.cast(col, pa.string()))
    is_true = pc.is_in(low, pa.array(_TRUE))
    is_false = pc.is_in(low, pa.array(_FALSE))
    bad = pc.and_(pc.is_valid(low), pc.invert(pc.or_(is_true, is_false)))
    values = pc.if_else(is_true, True, pc.if_else(is_false, False, pa.scalar(None, pa.bool_())))
    return values, pc.fill_null(bad, False)


def _first_reason(checks: list[tuple[str, str, pa.Array]], n: int) -> tuple[pa.Array, pa.Array]:
    reason = pa.nulls(n, pa.string())
    column = pa.nulls(n, pa.string())
    checks = [(text, col, pc.fill_null(mask, False)) for text, col, mask in checks]
    checks = [(text, col, mask) for text, col, mask in checks if pc.any(mask).as_py()]
    for text, col, mask in reversed(checks):
        reason = pc.if_else(mask, pa.scalar(text), reason)
        column = pc.if_else(mask, pa.scalar(col), column)
    return reason, column


def _good_table(cols: dict[str, pa.Array], plan: Plan, keep: pa.Array, lines: pa.Array) -> pa.Table:
    schema = staging_schema(plan.table, plan.extras)
    out = {}
    n = int(pc.sum(keep).as_py() or 0)
    everything = n == len(keep)

    def kept(values: pa.Array) -> pa.Array:
        return values if everything else pc.filter(values, keep)

    for f in schema:
        if f.name == "load_id":
            out[f.name] = pa.repeat(pa.scalar(plan.load_id), n)
        elif f.name == "_pos":
            out[f.name] = pc.add(kept(lines), plan.file_index << LINE_BITS)
        elif f.name == "_file":
            out[f.name] = pa.repeat(pa.scalar(plan.file_index, pa.int32()), n)
        elif f.name == "_key":
            out[f.name] = None  # filled below
        else:
            out[f.name] = pc.cast(kept(cols[f.name]), f.type)
    if plan.table == "events":
        from aips.ingest.dedupe import key_text

        out["_key"] = key_text(out)
    return pa.table([out[f.name] for f in schema], schema=schema)


def _quarantine_table(data, plan: Plan, mask, reason, column, lines, chunk: Chunk) -> pa.Table:
    rows = data.filter(mask).combine_chunks()
    texts = (
        [pc.cast(c.combine_chunks(), pa.string()) for c in rows.columns] if rows.num_columns else []
    )
    if texts:
        raw = pc.binary_join_element_wise(
            *texts, plan.delimiter, null_handling="replace", null_replacement=""
        )
    else:
        raw = pa.array([""] * rows.num_rows, pa.string())
    m = rows.num_rows + len(chunk.rejects)
    rejects = chunk.rejects
    table = {
        "load_id": pa.repeat(pa.scalar(plan.load_id), m),
        "table_name": pa.repeat(pa.scalar(plan.table), m),
        "source_file": pa.repeat(pa.scalar(plan.source_file), m),
        "source_line": pa.concat_arrays(
            [pc.filter(lines, mask), pa.array([r.line for r in rejects], pa.int64())]
        ),
        "column_name": pa.concat_arrays(
            [pc.filter(column, mask), pa.array([""] * len(rejects), pa.string())]
        ),
        "reason": pa.concat_arrays(
            [pc.filter(reason, mask), pa.array([r.reason for r in rejects], pa.string())]
        ),
        "raw": pa.concat_arrays(
            [raw.cast(pa.string()), pa.array([r.raw for r in rejects], pa.string())]
        ),
    }
    return pa.table(table, schema=QUARANTINE.to_pyarrow()).sort_by("source_line")
