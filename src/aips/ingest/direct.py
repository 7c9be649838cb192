"""Parquet files loaded straight from the backend: one checking query, one insert.

Reading a Parquet file chunk by chunk into Python, validating it with pyarrow and
staging it again costs about 1.7x ``CREATE TABLE AS SELECT * FROM read_parquet(...)``
(issue 13). Most Parquet files need none of that: their columns are already typed and
no row is bad. For those this module

1. reads the files with their own schema through the backend (:mod:`aips.store.files`),
   all files of one schema as one table;
2. maps them onto the ``events`` schema with Ibis expressions that mirror
   :func:`aips.ingest.validate.validate` (trim, empty -> null, lower-case and map the event
   type, NaN -> null, the model's local date) and flags each row that would be ignored or
   quarantined;
3. counts, in **one** aggregate query per schema, the rows per file that would be
   quarantined (``bad``) or lack a source ``event_id``; and
4. hands the rows of the files with no such row to :func:`aips.ingest.publish.publish` as
   an Ibis table, where dedupe and the insert run as one ``INSERT ... SELECT`` from the
   files.

Files with a bad row (or without event ids, which are hashed from the row in Python: see
:mod:`aips.ingest.dedupe`) take the row-by-row path of :mod:`aips.ingest.load`, which
quarantines with reasons and stops early on a wrongly mapped file. So results never
depend on the path: the same rows load, with the same values (``tests/ingest/
test_ingest_scale.py`` loads the same files both ways and compares).

A group of files goes the row-by-row way as a whole when (:func:`ineligible`): the table
is not ``events``; the backend cannot read files itself; a mapped column has another type
than the canonical one wants (text for strings; a timestamp for ``ts``;
numbers for ``dwell_s``, ``completion``, ``amount``); or ``ts`` is a wall-clock time (no
zone) in a zone whose UTC offset changes within the files' dates (daylight saving: folds
and gaps need the row-by-row checks). The files' ``ts`` range comes from their Parquet
statistics (no row is read for it).

Cost (``bench/README.md``): about 1.5x CTAS in CPU on the small world, 1.7x on a 20M-row
file. Ideas not done yet: convert the zoned ``ts`` without DuckDB's calendar cast (Ibis's
epoch functions cast first); judge high-cardinality text columns (``user_id``) without a
full distinct count; cache the file -> load id join as a column of the file list.

>>> import datetime as dt
>>> segments("Asia/Shanghai", dt.datetime(2024, 1, 1), dt.datetime(2024, 6, 1))
[(None, 28800)]
>>> [(str(s)[:16] if s else s, o) for s, o in segments("Europe/Paris", dt.datetime(2024, 3, 1), dt.datetime(2024, 4, 1))]
[(None, 3600), ('2024-03-31 01:00', 7200)]
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import ibis
import pyarrow as pa
import pyarrow.parquet as pq

from aips.ingest.validate import LINE_BITS, SPECS, Plan, staging_schema
from aips.store import files as store_files
from aips.store.tables import SCHEMAS

_TEXT = ("event_id", "user_id", "brand", "spu", "category", "event_type", "channel", "campaign_id",
         "creator_id", "note_id", "content_format", "keyword")  # fmt: skip
_WHITESPACE = " \t\n\r\x0b\x0c"
"""What pyarrow's ``ascii_trim_whitespace`` (and Ibis' ``strip``) removes."""
_UTC = ("UTC", "Etc/UTC", "GMT", "Etc/GMT", "Z")


def segments(zone: str, lo: dt.datetime, hi: dt.datetime) -> list[tuple[dt.datetime | None, int]]:
    """The UTC offsets (seconds) of ``zone`` between the naive UTC instants ``lo`` and ``hi``:
    ``[(None, offset), (start, offset), ...]``, each from its naive UTC ``start`` on."""
    tz = ZoneInfo(zone)

    def offset(t: dt.datetime) -> int:
        return int(t.replace(tzinfo=dt.UTC).astimezone(tz).utcoffset().total_seconds())

    out: list[tuple[dt.datetime | None, int]] = [(None, offset(lo))]
    t = lo
    while t < hi:
        step = min(t + dt.timedelta(days=1), hi)
        if offset(step) != out[-1][1]:
            a, b = t, step  # bisect to the second the offset changes
            while b - a > dt.timedelta(seconds=1):
                mid = a + (b - a) / 2
                a, b = (mid, b) if offset(mid) == out[-1][1] else (a, mid)
            out.append((b.replace(microsecond=0), offset(b)))
        t = step
    return out


def _local_date(utc: ibis.Value, segs: list[tuple[dt.datetime | None, int]]) -> ibis.Value:
    """The calendar day of naive UTC instants in a zone given by its offset segments."""

    def shifted(seconds: int) -> ibis.Value:
        return (utc + ibis.interval(seconds=seconds)).date() if seconds else utc.date()

    if len(segs) == 1:
        return shifted(segs[0][1])
    branches = [(utc < ibis.literal(start), shifted(prev)) for (_, prev), (start, _) in zip(segs, segs[1:], strict=False)]
    return ibis.cases(*branches, else_=shifted(segs[-1][1]))


def _ts_range(schema: pa.Schema, path: Path, column: str) -> tuple[Any, Any] | None:
    """(min, max) of ``column`` from the file's Parquet statistics, or None when missing."""
    meta = pq.ParquetFile(path).metadata
    index = schema.get_field_index(column)
    lo = hi = None
    for i in range(meta.num_row_groups):
        stats = meta.row_group(i).column(index).statistics
        if stats is None or not stats.has_min_max:
            if meta.row_group(i).num_rows:
                return None
            continue
        lo = stats.min if lo is None else min(lo, stats.min)
        hi = stats.max if hi is None else max(hi, stats.max)
    return (lo, hi) if lo is not None else None


def ineligible(schema: pa.Schema, plan: Plan) -> str | None:
    """Why the files of ``schema`` mapped by ``plan`` cannot load directly (None: they can)."""
    if plan.table != "events":
        return f"the {plan.table} table loads row by row"
    if {store_files.FILE, store_files.ROW, "file_row_number"} & set(schema.names):
        return "a column name the backend uses for the file and row"
    if plan.sources.get("event_id") is None:
        return "no event_id column (ids are derived from the rows)"
    numbers = SPECS["events"].numbers
    for name, source in plan.sources.items():
        if source is None:
            continue
        typ = schema.field(source).type
        if name == "ts":
            if not pa.types.is_timestamp(typ):
                return f"ts column {source!r} is {typ}, not a timestamp"
        elif name in numbers:
            if not (pa.types.is_integer(typ) or pa.types.is_floating(typ) or pa.types.is_null(typ)):
                return f"{name} column {source!r} is {typ}, not a number"
        elif not (pa.types.is_string(typ) or pa.types.is_large_string(typ)):
            return f"{name} column {source!r} is {typ}, not text"
    return None


@dataclass
class Group:
    """Parquet files of one schema that may load directly."""

    schema: pa.Schema
    plan: Plan
    indexes: list[int] = field(default_factory=list)
    paths: list[Path] = field(default_factory=list)
    load_ids: list[str] = field(default_factory=list)
    lo: Any = None
    hi: Any = None
    clean: list[int] = field(default_factory=list)
    """File indexes whose rows all load or are ignored (set by :meth:`DirectLoad.check`)."""
    rows: list[int] = field(default_factory=list)
    """Rows of each file, from its Parquet footer."""
    ids_unique: bool = False
    """True when the event ids of the group's good rows are provably unique."""
    table: ibis.Table | None = None
    distinct: dict[str, list] = field(default_factory=dict)
    """Distinct values of the low-cardinality columns, read by the check."""


@dataclass
class FileCheck:
    """What the checking query found in one file."""

    rows: int
    ignored: int
    bad: int
    no_id: int


class DirectLoad:
    """The Parquet files of one load that go straight from the backend into the store.

    Call :meth:`offer` for each file (False: read it row by row), then :meth:`check` once
    (returns the indexes of offered files that turned out to have bad rows: read those row
    by row too), then :meth:`staged` at publication.
    """

    def __init__(self, store: Any, model_zone: str, window: tuple[Any, Any]):
        self.store = store
        self.model_zone = model_zone
        self.latest, self.earliest = window
        self.groups: dict[pa.Schema, Group] = {}
        self.enabled = store_files.can_read_parquet(store)

    def offer(self, path: Path, index: int, load_id: str, schema: pa.Schema, plan: Plan) -> bool:
        """Take the file when it may load directly (False: the caller reads it row by row)."""
        if not self.enabled or ineligible(schema, plan) is not None:
            return False
        rng = _ts_range(schema, path, plan.sources["ts"])
        if rng is None:
            return False
        group = self.groups.get(schema)
        if group is None:
            group = self.groups[schema] = Group(schema, plan)
        elif group.plan.zone != plan.zone:
            return False
        group.indexes.append(index)
        # absolute: DuckDB's filename column must equal the path this side joins on (a
        # relative path given on the command line loaded nothing: every row "duplicate")
        group.paths.append(Path(path).resolve())
        group.load_ids.append(load_id)
        group.rows.append(pq.ParquetFile(path).metadata.num_rows)
        lo, hi = (_naive_utc(v) for v in rng)
        group.lo = lo if group.lo is None else min(group.lo, lo)
        group.hi = hi if group.hi is None else max(group.hi, hi)
        return True

    def check(self) -> tuple[dict[int, FileCheck], list[int]]:
        """Run the checking query of each group: per file index its counts, and the file
        indexes that must be read row by row after all (a bad row, a missing event id)."""
        checks: dict[int, FileCheck] = {}
        back: list[int] = []
        for group in list(self.groups.values()):
            typ = group.schema.field(group.plan.sources["ts"]).type
            if typ.tz is None and group.plan.zone not in _UTC:
                local = segments(group.plan.zone, group.lo - dt.timedelta(days=1), group.hi + dt.timedelta(days=1))
                if len(local) > 1:  # DST in range: folds and gaps need the row-by-row checks
                    back += group.indexes
                    del self.groups[group.schema]
                    continue
            group.table = t = self._mapped(group)
            counts = {"rows": t.count(), "ignored": t.count(where=t._ignored),
                      "bad": t.count(where=t._bad & ~t._ignored),
                      "no_id": t.count(where=~t._ignored & ~t._bad & t.event_id.isnull())}
            # one pass over all files: the counts, and whether the good rows' ids are unique
            # (a global distinct count: a per-file one costs DuckDB ~3x more)
            good = ~t._ignored & ~t._bad & t.event_id.notnull()
            total = t.aggregate(**counts, ids=t.count(where=good),
                                unique=t.event_id.nunique(where=good)).to_pyarrow().to_pylist()[0]
            group.ids_unique = total["ids"] == total["unique"]
            if total["rows"] == sum(group.rows) and not (total["ignored"] or total["bad"] or total["no_id"]):
                found = {i: FileCheck(n, 0, 0, 0) for i, n in zip(group.indexes, group.rows, strict=True)}
            else:  # which files have the bad rows: a second, cheap pass
                stats = t.group_by(store_files.FILE).aggregate(**counts).to_pyarrow().to_pylist()
                index_of = {str(p): i for p, i in zip(group.paths, group.indexes, strict=True)}
                found = {index_of[r.pop(store_files.FILE)]: FileCheck(**r) for r in stats}
            for index in group.indexes:
                c = found.get(index, FileCheck(0, 0, 0, 0))
                checks[index] = c
                if c.bad or c.no_id:
                    back.append(index)
                else:
                    group.clean.append(index)
        return checks, sorted(back)

    def staged(self) -> list[ibis.Table]:
        """The rows to load of the clean files, one table per group, in the staging schema
        (``_key`` null: every row has its source event id)."""
        out = []
        for group in self.groups.values():
            if not group.clean:
                continue
            t = self._mapped(group)  # on the store's current connection (it may have reopened)
            clean = set(group.clean)
            files = ibis.memtable(
                {store_files.FILE: [str(p) for p, i in zip(group.paths, group.indexes, strict=True) if i in clean],
                 "_file": group.clean, "load_id": [g for g, i in zip(group.load_ids, group.indexes, strict=True)
                                                   if i in clean]},
                schema={store_files.FILE: "string", "_file": "int32", "load_id": "string"},
            )  # a join of the big table with one row per file: the file's load id and index
            rows = t.filter(~t._ignored).inner_join(files, store_files.FILE)
            rows = rows.mutate(
                _pos=rows._file.cast("int64") * (1 << LINE_BITS) + rows[store_files.ROW].cast("int64") + 1)
            out.append(rows.select(*[_col(rows, f) for f in staging_schema("events")]))
        return out

    @property
    def ids_unique(self) -> bool:
        """True when the event ids of every row to load directly are provably unique (one
        group of files, whose ids were all distinct)."""
        groups = [g for g in self.groups.values() if g.clean]
        return len(groups) == 1 and groups[0].ids_unique

    # --- the mapping as Ibis expressions (mirrors aips.ingest.validate.validate) ----------

    def _mapped(self, group: Group) -> ibis.Table:
        plan = group.plan
        raw = store_files.read_parquet_files(self.store, group.paths)
        cols: dict[str, ibis.Value] = {}
        for name in SCHEMAS["events"].names:
            if name in ("local_date", "load_id", "ts"):
                continue
            source = plan.sources.get(name)
            if source is None:
                value = plan.constants.get(name)
                text = None if value is None else (str(value).lower() if isinstance(value, bool) else str(value))
                cols[name] = ibis.literal(text, "string") if name not in SPECS["events"].numbers \
                    else ibis.literal(None, "float64")
                continue
            col = raw[source]
            if name in SPECS["events"].numbers:
                x = col.cast("float64")
                cols[name] = ibis.ifelse(x.isnan(), ibis.null("float64"), x) if col.type().is_floating() else x
            elif name != "event_type":
                clean = name != "event_id" and _clean_text(col, group.distinct)  # ids: all distinct, checking costs a trim
                cols[name] = col if clean else col.strip().nullif("")
        event_type, ignored, unknown = _event_types(raw, plan, group.distinct)
        cols["event_type"] = event_type
        for name, kept in plan.only_for.items():
            keep = event_type.isin(kept).fill_null(False)
            cols[name] = ibis.ifelse(keep, cols[name], ibis.null(cols[name].type()))
        ts = raw[plan.sources["ts"]]
        # checks compare the source column as it is: DuckDB casts a zoned timestamp through
        # its calendar (ICU, ~0.2 us a row), so the cast is done once, for the stored value
        aware = ts.type().timezone is not None
        checked, instant = (ts, lambda v: ibis.literal(v.replace(tzinfo=dt.UTC), ts.type())) if aware \
            else (None, ibis.literal)
        if aware:
            utc = ts.cast("timestamp")
        else:
            offset = segments(plan.zone, group.lo, group.hi)[0][1] if plan.zone not in _UTC else 0
            utc = ts.cast("timestamp") - ibis.interval(seconds=offset) if offset else ts.cast("timestamp")
        lo = (group.lo or dt.datetime(1970, 1, 1)) - dt.timedelta(days=1)
        hi = (group.hi or dt.datetime(1970, 1, 1)) + dt.timedelta(days=1)
        cols["ts"] = utc
        cols["local_date"] = _local_date(utc, segments(self.model_zone, lo, hi))
        checked = utc if checked is None else checked
        bad = [(checked if c == "ts" else cols[c]).isnull() for c in SPECS["events"].required if c != "event_type"]
        bad.append(unknown)  # a missing or unknown event type
        for name, (low, high, _) in SPECS["events"].numbers.items():
            source = plan.sources.get(name)
            if source is None:
                continue
            x = cols[name]  # NaN already null: DuckDB orders NaN above every number
            out = x.isinf() | (x < low) if low is not None else x.isinf()
            if high is not None:
                out = out | (x > high)
            bad.append(out.fill_null(False))
        if self.latest is not None:
            bad.append((checked > instant(self.latest)).fill_null(False))  # future timestamp
        if self.earliest is not None:
            bad.append((checked < instant(self.earliest)).fill_null(False))  # before min_date
        return raw.select(
            **cols, _key=ibis.null("string"), _ignored=ignored, _bad=ibis.or_(*bad),
            **{store_files.FILE: raw[store_files.FILE], store_files.ROW: raw[store_files.ROW]},
        )  # fmt: skip


DISTINCT_MAX = 1_000_000
"""A text column with at most this many distinct values is checked value by value here."""


def _distinct(col: ibis.Value, limit: int, memo: dict[str, list]) -> list:
    """Up to ``limit + 1`` distinct values of ``col``, read once per group of files (the
    table is built again on the connection that inserts: :meth:`Store.writing`)."""
    name = col.get_name()
    if name not in memo:
        memo[name] = col.name("v").as_table().distinct().limit(limit + 1).to_pyarrow().column("v").to_pylist()
    return memo[name]


def _clean_text(col: ibis.Value, memo: dict[str, list]) -> bool:
    """True when no value of ``col`` needs trimming or is empty, judged from its distinct
    values (one cheap aggregate over one column); False when it has too many to read."""
    values = _distinct(col, DISTINCT_MAX, memo)
    if len(values) > DISTINCT_MAX:
        return False
    return all(v is None or (v and v.strip(_WHITESPACE) == v) for v in values)


EVENT_TYPES_MAX = 10_000
"""More distinct raw event types than this are mapped row by row in the backend."""


def _event_types(raw: ibis.Table, plan: Plan, memo: dict[str, list]) -> tuple[ibis.Value, ibis.Value, ibis.Value]:
    """(canonical event type, ignored, missing or unknown) of each row.

    The raw types present are few: they are read first (one cheap aggregate over one
    column) and mapped here, so each row needs at most one lookup among the types present,
    and none when every raw type is already canonical (as in aips's own Parquet).
    """
    source = plan.sources.get("event_type")
    if source is None:
        value = plan.constants.get("event_type")
        canonical = plan.event_map.get(str(value).strip().lower()) if value is not None else None
        return ibis.literal(canonical, "string"), ibis.literal(False), ibis.literal(canonical is None)
    col = raw[source]
    present = _distinct(col, EVENT_TYPES_MAX, memo)
    if len(present) > EVENT_TYPES_MAX:  # pragma: no cover - garbage in the column: map per row
        text = col.strip().nullif("").lower()
        mapped = text.substitute(plan.event_map, else_=ibis.null("string"))
        ignored = text.isin(plan.ignore).fill_null(False) if plan.ignore else ibis.literal(False)
        return mapped, ignored, mapped.isnull()
    lookup: dict[str, str] = {}
    unknown, ignore = [], []
    for value in (v for v in present if v is not None):
        key = value.strip(_WHITESPACE).lower()  # as validate's trim and lower-case
        if key in plan.ignore:
            ignore.append(value)
        if key in plan.event_map:
            lookup[value] = plan.event_map[key]
        else:
            unknown.append(value)
    if all(k == v for k, v in lookup.items()):
        mapped = col if not unknown else ibis.ifelse(col.isin(unknown), ibis.null("string"), col)
    else:
        mapped = col.substitute(lookup, else_=ibis.null("string"))
    ignored = col.isin(ignore).fill_null(False) if ignore else ibis.literal(False)
    bad = col.isnull() | col.isin(unknown) if unknown else col.isnull()
    return mapped, ignored, bad


def _col(t: ibis.Table, f: pa.Field) -> ibis.Value:
    return t[f.name].cast(ibis.dtype(f.type)).name(f.name)


def _naive_utc(value: Any) -> dt.datetime:
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        return value.astimezone(dt.UTC).replace(tzinfo=None)
    return value
