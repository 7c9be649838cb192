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

The checks that can be judged on the files' distinct values run in the backend before
the insert (each text column: does a value need trimming; ``event_id``: are the ids clean
and distinct), so the insert copies clean columns as they are and the proof inside the
transaction is a count of bad rows. Cost (``bench/README.md``, "ingest of Parquet").

>>> import datetime as dt
>>> segments("Asia/Shanghai", dt.datetime(2024, 1, 1), dt.datetime(2024, 6, 1))
[(None, 28800)]
>>> [(str(s)[:16] if s else s, o) for s, o in segments("Europe/Paris", dt.datetime(2024, 3, 1), dt.datetime(2024, 4, 1))]
[(None, 3600), ('2024-03-31 01:00', 7200)]
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import ibis
import pyarrow as pa
import pyarrow.parquet as pq

from aips.ingest.dedupe import key_counts
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


def _wall_clock_with_dst(group: Group) -> bool:
    """True when ``ts`` is a wall-clock time (no zone) in a zone whose UTC offset changes
    within the group's dates (folds and gaps need the row-by-row checks)."""
    typ = group.schema.field(group.plan.sources["ts"]).type
    if typ.tz is not None or group.plan.zone in _UTC:
        return False
    local = segments(group.plan.zone, group.lo - dt.timedelta(days=1), group.hi + dt.timedelta(days=1))
    return len(local) > 1


def _local_date(utc: ibis.Value, segs: list[tuple[dt.datetime | None, int]]) -> ibis.Value:
    """The calendar day of naive UTC instants in a zone given by its offset segments."""

    def shifted(seconds: int) -> ibis.Value:
        return (utc + ibis.interval(seconds=seconds)).date() if seconds else utc.date()

    if len(segs) == 1:
        return shifted(segs[0][1])
    branches = [(utc < ibis.literal(start), shifted(prev)) for (_, prev), (start, _) in zip(segs, segs[1:], strict=False)]
    return ibis.cases(*branches, else_=shifted(segs[-1][1]))


def _ts_range(schema: pa.Schema, meta: pq.FileMetaData, column: str) -> tuple[Any, Any] | None:
    """(min, max) of ``column`` from the file's Parquet statistics, or None when missing."""
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
    footers: list[pq.FileMetaData] = field(default_factory=list)
    """Each file's Parquet footer (row groups and their column statistics)."""
    clean_text: set[str] = field(default_factory=set)
    """The text columns copied as they are (no value to trim, none empty: :func:`_clean_text`)."""
    types_known: bool = False
    """Every event type present is known to the mapping (set with the types read)."""
    footers_clean: bool = False
    """True when the footers' statistics prove that no row is bad (set by
    :meth:`DirectLoad.assume_clean`; :func:`_no_bad_rows`)."""
    ids_unique: bool = False
    """True when the event ids of the group's good rows are provably unique."""
    ids_complete: bool = False
    """True when every row of the files has an event id (set with :attr:`ids_clean`)."""
    ids_clean: bool = False
    """True when no source event id needs trimming or is empty (set by
    :meth:`DirectLoad.assume_clean`): the insert then copies the ids as they are."""
    table: ibis.Table | None = None
    distinct: dict[Any, Any] = field(default_factory=dict)
    """What the backend said of the source columns (the event types present, whether a
    text column needs trimming), asked once per group."""
    ignoring: bool = False
    """Some rows may be ignored (an event type the mapping ignores is present)."""


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
        meta = pq.ParquetFile(path).metadata
        rng = _ts_range(schema, meta, plan.sources["ts"])
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
        group.rows.append(meta.num_rows)
        group.footers.append(meta)
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
            if _wall_clock_with_dst(group):  # folds and gaps need the row-by-row checks
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

    def assume_clean(self) -> dict[int, FileCheck] | None:
        """The counts of every offered file if all its rows load (its footer's row count,
        nothing ignored or bad), without reading a row; None when that cannot be assumed
        (a wall-clock ``ts`` with daylight saving in range, or an event type present that
        the mapping ignores): then :meth:`check` first.

        The caller inserts on that assumption and has :meth:`inserted_problems` prove it
        inside the same transaction (the check then costs a pass over the stored rows, not
        a second read and mapping of the files: ~5 CPU s less on 12M rows); a row that
        would have been quarantined or deduplicated undoes the insert, and the files go
        through :meth:`check` after all.
        """
        out: dict[int, FileCheck] = {}
        for group in self.groups.values():
            if _wall_clock_with_dst(group):
                return None
            self._mapped(group)  # reads the event types present (and judges the text columns)
            if group.ignoring:
                return None
        for group in self.groups.values():
            self._prove_ids(group)
            group.footers_clean = _no_bad_rows(group, self.latest, self.earliest)
        for group in self.groups.values():
            group.clean = list(group.indexes)
            out.update({i: FileCheck(n, 0, 0, 0) for i, n in zip(group.indexes, group.rows, strict=True)})
        return out

    def _prove_ids(self, group: Group) -> None:
        """Whether the group's source event ids are clean (none to trim, none empty) and
        distinct: one aggregate over the files' id column.

        Proven here, on the files, the ids need no trim in the insert and no distinct count
        over the inserted rows: DuckDB counts 12M distinct ids of a Parquet column in ~1.6 s
        but ~3.2 s over the rows an open transaction just inserted, and a trim of every id
        costs the insert ~1.5 s (measured, small world). An id is "dirty" when its first or
        last character is a control character or a blank (code <= 32) or it is empty: a
        superset of what a trim changes (a control character is then trimmed for nothing),
        ~0.3 s, where comparing each id with its trim costs ~1.3 s.
        """
        col = store_files.read_parquet_files(self.store, group.paths)[group.plan.sources["event_id"]]
        t = col.name("v").as_table()
        got = key_counts(t, "v", memory_limit=self._memory_limit(), rows=sum(group.rows),
                         dirty=lambda v: (v.ascii_str() <= 32) | (v.right(1).ascii_str() <= 32))  # '' has code 0
        group.ids_clean = got["dirty"] == 0
        group.ids_unique = group.ids_clean and got["keyed"] == got["distinct"]
        group.ids_complete = got["rows"] == got["keyed"]

    def _memory_limit(self) -> int | None:
        return getattr(getattr(self.store, "settings", None), "memory_limit", None)

    def inserted_problems(self, target: ibis.Table, load_ids: list[str]) -> dict[str, int]:
        """Among the rows of ``load_ids`` in ``target`` (just inserted on
        :meth:`assume_clean`'s word): ``bad`` rows the checks would have quarantined (a
        required value missing, an unknown event type, a number out of range, a timestamp
        outside the window), rows without an event id (``no_id``) and ids stored twice
        (``repeated``; not counted again when :meth:`assume_clean` proved the files' ids
        distinct). All zero: the assumption held."""
        mine = target.filter(target.load_id.isin(load_ids))
        spec = SPECS["events"]
        bad = [mine[c].isnull() for c in spec.required]
        for name, (low, high, _) in spec.numbers.items():
            x = mine[name]
            out = x.isinf() | (x < low) if low is not None else x.isinf()
            if high is not None:
                out = out | (x > high)
            bad.append(out.fill_null(False))
        if self.latest is not None:
            bad.append((mine.ts > ibis.literal(self.latest)).fill_null(False))
        if self.earliest is not None:
            bad.append((mine.ts < ibis.literal(self.earliest)).fill_null(False))
        counts = {"n": mine.count(), "bad": mine.count(where=ibis.or_(*bad)),
                  "no_id": mine.count(where=mine.event_id.isnull())}
        got = mine.aggregate(**counts).to_pyarrow().to_pylist()[0]
        if not self.ids_unique:
            got["distinct"] = key_counts(mine, "event_id", memory_limit=self._memory_limit(),
                                         rows=got["n"])["distinct"]
        ids = got["n"] - got["no_id"]
        return {"bad": got["bad"], "no_id": got["no_id"], "repeated": ids - got.get("distinct", ids)}

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
    def proven_clean(self) -> bool:
        """True when :meth:`assume_clean`'s word is already proven without reading the
        inserted rows: ids clean, distinct and present on the files, and no bad row by the
        files' statistics. Then :meth:`inserted_problems` has nothing to find."""
        return self.ids_unique and all(g.footers_clean and g.ids_complete for g in self.groups.values() if g.clean)

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
                clean = group.ids_clean if name == "event_id" else _clean_text(col, group.distinct)
                cols[name] = col if clean else col.strip().nullif("")
                if clean:
                    group.clean_text.add(name)
        event_type, ignored, unknown, group.ignoring, group.types_known = _event_types(raw, plan, group.distinct)
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
            utc = store_files.naive_utc(self.store, ts)
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


def _no_bad_rows(group: Group, latest: Any, earliest: Any) -> bool:
    """True when the Parquet statistics of every row group prove that no row of the group
    would be quarantined (False: not proven, the inserted rows are checked instead).

    A row is bad when a required value is missing, its event type is unknown, a number is
    infinite or out of range, or ``ts`` lies outside the window (:meth:`DirectLoad._mapped`).
    Text columns are proven clean first (a clean value is never empty), and the event types
    present are known, so: each required source column has a null count of 0, each number
    column's min and max (writers leave NaN out of them) are finite and within its range,
    and the files' ``ts`` range lies inside the window (a day inside, for wall-clock times). A column without statistics proves
    nothing (the simulator writes them for ``ts`` only).
    """
    plan, spec = group.plan, SPECS["events"]
    if not group.types_known:
        return False
    # a wall-clock ``ts`` (no zone) has wall-clock statistics: UTC is within a day of them
    aware = group.schema.field(plan.sources["ts"]).type.tz is not None or plan.zone in _UTC
    margin = dt.timedelta(0) if aware else dt.timedelta(days=1)
    if latest is not None and group.hi is not None and group.hi + margin > _naive_utc(latest):
        return False
    if earliest is not None and group.lo is not None and group.lo - margin < _naive_utc(earliest):
        return False
    required = []
    for name in spec.required:
        source = plan.sources.get(name)
        if source is None:
            if plan.constants.get(name) is None:
                return False
            continue
        if name not in ("ts", "event_type") and name not in group.clean_text:
            return False  # trimmed in the insert: a blank value would become null
        required.append(group.schema.get_field_index(source))
    numbers = {group.schema.get_field_index(plan.sources[n]): (low, high)
               for n, (low, high, _) in spec.numbers.items() if plan.sources.get(n) is not None}
    for meta in group.footers:
        for r in range(meta.num_row_groups):
            rg = meta.row_group(r)
            if rg.num_rows == 0:
                continue
            for i in required:
                stats = rg.column(i).statistics
                if stats is None or not stats.has_null_count or stats.null_count:
                    return False
            for i, (low, high) in numbers.items():
                stats = rg.column(i).statistics
                if stats is None or not stats.has_null_count:
                    return False
                if not stats.has_min_max:
                    if stats.null_count < rg.num_rows:  # values but no min/max: unknown
                        return False
                    continue
                lo, hi = float(stats.min), float(stats.max)
                if not (math.isfinite(lo) and math.isfinite(hi)):  # also NaN: proves nothing
                    return False
                if (low is not None and lo < low) or (high is not None and hi > high):
                    return False
    return True


def _distinct(col: ibis.Value, limit: int, memo: dict[str, list]) -> list:
    """Up to ``limit + 1`` distinct values of ``col``, read once per group of files (the
    table is built again on the connection that inserts: :meth:`Store.writing`)."""
    name = col.get_name()
    if name not in memo:
        memo[name] = col.name("v").as_table().distinct().limit(limit + 1).to_pyarrow().column("v").to_pylist()
    return memo[name]


def _clean_text(col: ibis.Value, memo: dict[str, Any]) -> bool:
    """True when no value of ``col`` needs trimming or is empty, judged on its distinct
    values in the backend (one aggregate over one column, whatever its cardinality: the
    20M-row bench file's 2M ``user_id`` values need no trim row by row in the insert)."""
    key = ("clean", col.get_name())
    if key not in memo:
        v = col.name("v").as_table().distinct()
        memo[key] = v.count(where=(v.v.strip() != v.v) | (v.v == "")).to_pyarrow().as_py() == 0
    return memo[key]


EVENT_TYPES_MAX = 10_000
"""More distinct raw event types than this are mapped row by row in the backend."""


def _event_types(raw: ibis.Table, plan: Plan, memo: dict[str, list]) -> tuple[ibis.Value, ibis.Value, ibis.Value, bool, bool]:
    """(canonical event type, ignored, missing or unknown) of each row, whether any row
    may be ignored, and whether every type present is known (then only a null is bad).

    The raw types present are few: they are read first (one cheap aggregate over one
    column) and mapped here, so each row needs at most one lookup among the types present,
    and none when every raw type is already canonical (as in aips's own Parquet).
    """
    source = plan.sources.get("event_type")
    if source is None:
        value = plan.constants.get("event_type")
        canonical = plan.event_map.get(str(value).strip().lower()) if value is not None else None
        return (ibis.literal(canonical, "string"), ibis.literal(False), ibis.literal(canonical is None), False,
                canonical is not None)
    col = raw[source]
    present = _distinct(col, EVENT_TYPES_MAX, memo)
    if len(present) > EVENT_TYPES_MAX:  # pragma: no cover - garbage in the column: map per row
        text = col.strip().nullif("").lower()
        mapped = text.substitute(plan.event_map, else_=ibis.null("string"))
        ignored = text.isin(plan.ignore).fill_null(False) if plan.ignore else ibis.literal(False)
        return mapped, ignored, mapped.isnull(), bool(plan.ignore), False
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
    return mapped, ignored, bad, bool(ignore), not unknown


def _col(t: ibis.Table, f: pa.Field) -> ibis.Value:
    return t[f.name].cast(ibis.dtype(f.type)).name(f.name)


def _naive_utc(value: Any) -> dt.datetime:
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        return value.astimezone(dt.UTC).replace(tzinfo=None)
    return value
