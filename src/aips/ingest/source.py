"""``aips source events``: events where they already are, registered as a view (no copy).

:func:`source_events` registers a Parquet dataset (a folder, hive-partitioned or not, a
file or a glob) or a table of the store's catalog as the store's ``events``:

1. the dataset (or table) becomes the view ``_aips_source_raw``, with each row's file and
   row number (:mod:`aips.store.files`);
2. the mapping and every row check of :mod:`aips.ingest.validate` run as Ibis expressions
   (:mod:`aips.ingest.checks`) **once**, by the backend, into the scratch table
   :data:`CHECKED_TABLE` (each row's event id, time, reason, file and row; the text of the
   quarantined rows); every later step reads that table, never the big expression again
   (Spark's optimizer inlines a projection's columns into each filter above it: a filter
   over the checks took it minutes to plan and a 14 MiB task to run);
3. aggregates of the scratch table count per file the rows read, ignored and quarantined
   (by reason), the duplicate event ids, and which timestamp forms the data uses;
4. the quarantined rows, with their file, row, column, reason and text, are written to the
   table ``quarantine_events`` (replaced on every run);
5. ``events`` becomes a view: the mapped rows of the registered files (mapped with only
   the timestamp forms and the time window the data has, so the view's expression stays
   small), without the quarantined, ignored and duplicate ones. A Parquet dataset's rows
   have a file and a row number: the rows not loaded are kept by file and row in
   :data:`SKIP_TABLE` and the view leaves them out by an anti-join (no check runs again:
   a filter over the checks is what Spark cannot plan). A table's rows have no number:
   its view checks each row again, and removes duplicates (**only when step 3 found
   some**) by a window over every event, paid by every query. One ``loads`` row per file
   records its counts. The scratch table is dropped.

The balance is ingest's: ``rows read = loaded + duplicates + ignored + quarantined``.
Files added to the folder later are not seen until ``aips source`` runs again (the view
reads the files registered, so the stored rollup and series stay true to it). Running it
again replaces the registration; with the same files it changes nothing (same load ids,
so ``counters_daily`` and ``asset_history`` stay current); new files add loads that
``aips series --update`` rolls up incrementally; a file gone or changed drops the stored
rollup and series, which described the old events.

**What a source costs.** Nothing is copied, so every query reads (and maps) the files
again; the view maps only the text columns some row needs mapped (the check records them:
:func:`aips.ingest.checks.cleanable`), the others are read as they are. An ``aips assets``
on a sourced store costs a scan of the whole dataset, where an ingested store reads its
compressed table. ``aips series --update`` stores the daily
rollup (``counters_daily``) and the series; commands that read them are then as fast as on
an ingested store. Source when the data is large and already in Parquet or a catalog table
(a cluster's log); ingest when it fits and is queried often.

>>> import aips, tempfile, pathlib, pyarrow as pa, pyarrow.parquet as pq, datetime as dt
>>> d = pathlib.Path(tempfile.mkdtemp())
>>> pq.write_table(pa.table({"ts": [dt.datetime(2024, 1, 2, 10)] * 3, "user_id": ["u1", "u2", None],
...     "brand": ["b"] * 3, "event_type": ["read", "read", "read"]}), d / "part-0.parquet")
>>> ws = aips.open(str(d / "aips.duckdb"))
>>> r = ws.source(str(d))
>>> r.rows_read, r.loaded, r.quarantined, r.reasons
(3, 2, 1, {'missing user_id': 1})
>>> ws.events.count().execute(), ws.store.table("quarantine_events").count().execute()
(2, 1)
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import ibis
import pyarrow as pa

from aips.config.model import Model
from aips.exceptions import IngestError, StoreError
from aips.ingest import checks
from aips.ingest.dedupe import key_counts
from aips.ingest.mapping import Mapping
from aips.ingest.report import FileReport, IngestReport
from aips.store import files as store_files
from aips.store.connect import Store, connect
from aips.store.tables import EVENTS, LOADS, QUARANTINE

RAW_VIEW = "_aips_source_raw"
"""The dataset or table as registered, with each row's file and row."""
FILES_TABLE = "aips_source_files"
"""The registered files: path, order and load id (the ``events`` view reads only these).
Stored tables get no leading ``_``: Spark takes a folder named so for a hidden one."""
INFO_TABLE = store_files.SOURCE_INFO_TABLE
"""What was registered: location, kind, mapping, whether the view removes duplicates."""
QUARANTINE_TABLE = "quarantine_events"
"""The quarantined rows of the source, with file, row, column, reason and text."""
CHECKED_TABLE = "aips_source_checked"
"""Scratch: every row of the source checked once (dropped at the end of :func:`source_events`)."""
STAGED_COLUMNS = (store_files.FILE, store_files.ROW, "event_id", "ts", "local_date", "_reason", "_column",
                  "_ignored", "_form", "_dirty")
"""The columns of :data:`CHECKED_TABLE` besides ``_raw``: what the counts, the duplicates
and the quarantine read (the ``events`` view maps the files again)."""
SKIP_TABLE = "aips_source_skip"
"""The file and row of each row of a Parquet source that is not loaded (quarantined,
ignored or a duplicate): the ``events`` view leaves them out."""
_NEXT = "_aips_source_next"
DERIVED = ("counters_daily", "counters_state", "asset_history", "asset_history_days")
"""Tables computed from ``events``: dropped when the registered events change otherwise
than by new files."""


def is_sourced(store: Store) -> bool:
    """True when the store's ``events`` is a registered source (``aips source``)."""
    return store.has(FILES_TABLE)


def source_events(
    store: Any,
    model: Model,
    location: str,
    *,
    preset: str | None = None,
    mapping: Mapping | dict | str | Path | None = None,
    tz: str | None = None,
    max_future: str | dt.timedelta | None = "1d",
    min_date: str | dt.date | None = "2000-01-01",
) -> IngestReport:
    """Register a Parquet dataset or a catalog table as the store's ``events`` (a view).

    Args:
        store: a :class:`~aips.store.connect.Store` (or anything :func:`aips.store.connect` takes).
        model: the model (time zone of ``local_date``, taxonomy).
        location: a catalog table (``name`` or ``database.name``) or a Parquet folder
            (hive-partitioned or not), file or glob; a table of that name wins.
        preset, mapping, tz: as :func:`aips.ingest.load.ingest_files`.
        max_future, min_date: the accepted time window, as for ingest.

    Returns:
        An :class:`~aips.ingest.report.IngestReport` (``quarantine_file`` is None: the
        quarantined rows are in the table :data:`QUARANTINE_TABLE`).

    Raises:
        IngestError: nothing at ``location``, no rows, a mapping the backend cannot apply
            (:func:`aips.ingest.checks.unsupported`), or a store whose ``events`` were
            loaded by ``aips ingest``.
    """
    from aips.ingest.load import _options, _plan, time_window

    started = time.perf_counter()
    store = connect(store)
    mapping, zone, _ = _options(model, "events", preset, mapping, tz, None, None)
    if mapping.table != "events":
        raise IngestError(f"aips source registers events; the mapping is for the {mapping.table} table")
    window = time_window(max_future, min_date)
    if store.has("events") and not is_sourced(store):
        n = store.table("events").count().to_pyarrow().as_py()
        raise IngestError(
            f"the store {store.location} holds {n:,} events loaded by aips ingest; aips source would "
            "replace them with a view: register the source in another store (--store)")
    kind, raw = _register(store, _NEXT, location)
    columns = [c for c in raw.columns if c not in (store_files.FILE, store_files.ROW)]
    fake = SimpleNamespace(columns=columns, format="parquet", path=location)
    plan = _plan(fake, mapping, model, zone, 0, "", [])
    plan.latest, plan.earliest = window
    why = checks.unsupported(plan, dict(raw.schema().items()))
    if why:
        store.backend.drop_view(_NEXT, force=True)
        raise IngestError(f"{location}: {why}; load the files with aips ingest instead")
    try:
        staged = _stage(store, raw, plan, columns)
        files, reasons, seen = _validate(staged, location, checks.cleanable(raw, plan))
        fingerprint = _fingerprint(location, mapping, plan)
        for f in files:
            f.load_id = "src-" + _digest([fingerprint, f.source_file, f.rows_read, f.loaded, f.ignored,
                                          f.quarantined, f.reasons, str(f.min_date), str(f.max_date)])
        order = pa.table({store_files.FILE: [f.source_file for f in files],
                          "_fidx": pa.array(range(len(files)), pa.int64()),
                          "load_id": [f.load_id for f in files]})
        with store.transaction():
            store.write(FILES_TABLE, order, overwrite=True)
            staged = store.backend.table(CHECKED_TABLE).inner_join(store.backend.table(FILES_TABLE),
                                                                   store_files.FILE)
            dupes = _duplicates(store, staged, files, keep_rows=kind == "parquet")
            by_rows = kind == "parquet"
            kind_raw = _register(store, RAW_VIEW, location)[1]
            store.backend.drop_view(_NEXT, force=True)
            _write_quarantine(store, staged)
            view_plan = _view_plan(plan, seen)
            store_files.create_view(store, "events", _events_view(
                _ordered(store, kind_raw), view_plan, seen.forms, dedupe=bool(dupes), by_rows=by_rows,
                clean=seen.clean))
            _write_loads(store, files, model)
            store.write(INFO_TABLE, pa.table({
                "key": ["location", "kind", "dedupe", "registered_at"],
                "value": [location, kind, str(bool(dupes)).lower(), dt.datetime.now(dt.UTC).isoformat()]}),
                overwrite=True)
    finally:
        store.drop(CHECKED_TABLE)
        store.backend.drop_view(_NEXT, force=True)
    report = IngestReport(table="events", timezone=model.timezone, files=files)
    for f in files:
        report.rows_read += f.rows_read
        report.loaded += f.loaded
        report.duplicates += f.duplicates
        report.ignored += f.ignored
        report.quarantined += f.quarantined
    report.reasons = dict(sorted(reasons.items()))
    report.seconds = time.perf_counter() - started
    return report


# --- steps ---------------------------------------------------------------------------------------


def _register(store: Store, name: str, location: str) -> tuple[str, ibis.Table]:
    """('table' | 'parquet', the view ``name`` over ``location``)."""
    table = store_files.catalog_table(store, location)
    if table is not None:
        if store_files.FILE in table.columns or store_files.ROW in table.columns:
            raise IngestError(f"{location}: a column named {store_files.FILE} or {store_files.ROW} "
                              "(aips uses these names)")
        view = table.mutate(**{store_files.FILE: ibis.literal(location), store_files.ROW: ibis.literal(0, "int64")})
        return "table", store_files.create_view(store, name, view)
    local = Path(location).expanduser()
    if "://" not in location and not local.exists() and not any(ch in location for ch in "*?["):
        tables = [t for t in store.backend.list_tables() if not t.startswith("_")]
        raise IngestError(f"{location}: no such table or Parquet dataset (tables in the store: "
                          f"{', '.join(sorted(tables)) or 'none'}; a path must exist)")
    try:
        return "parquet", store_files.register_parquet(store, name, location)
    except Exception as err:  # noqa: BLE001 - the backend names what it could not read
        text = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise IngestError(f"{location}: cannot be read as Parquet: {text[:300]}") from None


def _stage(store: Store, raw: ibis.Table, plan, columns: list[str]) -> ibis.Table:
    """Check every row once, by the backend, into :data:`CHECKED_TABLE`: the
    :data:`STAGED_COLUMNS` and ``_raw``: the row's text (its columns joined by ``,``), built
    for quarantined rows only.
    Text timestamps are parsed with only the forms the rows use (one cheap query first:
    the full parser is a large expression, and its size is what a backend pays to plan)."""
    # the raw columns ride along under their own names; the text is built from them for the
    # quarantined rows only (a CASE branch: not for every row, 15 % of this query at 12M)
    carried = {f"_c{i}": raw[c] for i, c in enumerate(columns)}
    checked = checks.checked_events(raw.mutate(**carried), plan,
                                    keep=(store_files.FILE, store_files.ROW, *carried),
                                    forms=checks.text_forms(raw, plan), dirty=True)
    bad = checked._reason.notnull() & ~checked._ignored
    text = ibis.literal(",").join([checked[c].cast("string").fill_null("") for c in carried])
    # only what the later steps read (counts, duplicates, quarantine): the view maps the
    # files again, so the other mapped columns are not written (half the write at 12M)
    return store.write(CHECKED_TABLE, checked.select(*STAGED_COLUMNS, _raw=ibis.ifelse(bad, text, ibis.null("string"))),
                       overwrite=True)


@dataclass
class _Seen:
    """What the data holds, for the ``events`` view: the timestamp forms its text uses, and
    the first and last instant of its loaded rows (naive UTC; None when none loads), and
    the text columns no row needs mapped (:func:`aips.ingest.checks.cleanable`)."""

    forms: frozenset[int] = frozenset()
    first: dt.datetime | None = None
    last: dt.datetime | None = None
    clean: frozenset[str] = frozenset()


def _validate(checked: ibis.Table, location: str,
              cleanable: tuple[str, ...] = ()) -> tuple[list[FileReport], Counter, _Seen]:
    """The validation query (over the checked rows): counts per file, reason, ignored flag
    and timestamp form, and which of the ``cleanable`` columns some row needs mapped."""
    good = checked._reason.isnull() & ~checked._ignored
    bits = {f"_d{i}": ((checked._dirty // (1 << i)) % 2).max() for i in range(len(cleanable))}
    stats = (checked.group_by([store_files.FILE, "_reason", "_ignored", "_form"])
             .aggregate(n=checked.count(), lo=checked.local_date.min(where=good),
                        hi=checked.local_date.max(where=good), first=checked.ts.min(where=good),
                        last=checked.ts.max(where=good), **bits)
             .to_pyarrow().to_pylist())
    if not stats:
        raise IngestError(f"{location}: no rows to register")
    by_file: dict[str, FileReport] = {}
    reasons: Counter = Counter()
    dirty = {name for i, name in enumerate(cleanable) if any(r[f"_d{i}"] for r in stats)}
    seen = _Seen(frozenset(r["_form"] for r in stats if r["_form"] is not None),
                 clean=frozenset(cleanable) - dirty)
    for row in stats:
        if row["first"] is not None:
            seen.first = row["first"] if seen.first is None else min(seen.first, row["first"])
            seen.last = row["last"] if seen.last is None else max(seen.last, row["last"])
        f = by_file.setdefault(row[store_files.FILE], FileReport(row[store_files.FILE], "", format="parquet"))
        f.rows_read += row["n"]
        if row["_ignored"]:
            f.ignored += row["n"]
        elif row["_reason"] is not None:
            f.quarantined += row["n"]
            f.reasons[row["_reason"]] = f.reasons.get(row["_reason"], 0) + row["n"]
            reasons[row["_reason"]] += row["n"]
        else:
            f.loaded += row["n"]
            if row["lo"] is not None:
                f.min_date = row["lo"] if f.min_date is None else min(f.min_date, row["lo"])
                f.max_date = row["hi"] if f.max_date is None else max(f.max_date, row["hi"])
    return [by_file[k] for k in sorted(by_file)], reasons, seen


def _view_plan(plan, seen: _Seen):
    """``plan`` with the time window narrowed to the loaded rows' first and last instant:
    the same rows pass, and the view converts time zones with only the daylight-saving
    changes of that span (each one is a branch of its expression)."""
    if seen.first is None:
        return plan
    return dataclasses.replace(plan, latest=seen.last, earliest=seen.first)


def _ordered(store: Store, raw: ibis.Table) -> ibis.Table:
    """``raw`` with the registered files' order and load id (only their rows)."""
    files = store.backend.table(FILES_TABLE)
    return raw.inner_join(files, store_files.FILE)


def _good(checked: ibis.Table) -> ibis.Table:
    return checked.filter(checked._reason.isnull() & ~checked._ignored)


def _duplicates(store: Store, staged: ibis.Table, files: list[FileReport], *, keep_rows: bool) -> int:
    """Count the duplicate event ids of the checked rows (0: the view needs no dedupe);
    when there are some, move each file's from ``loaded`` to ``duplicates`` (the earlier
    file, then row, wins). ``keep_rows``: store the file and row of every row not loaded
    (quarantined, ignored, duplicate) in :data:`SKIP_TABLE` (empty: no such table)."""
    store.drop(SKIP_TABLE)
    good = _good(staged)
    total = key_counts(good, "event_id", memory_limit=getattr(store.settings, "memory_limit", None),
                       rows=sum(f.loaded for f in files))
    dupes = total["rows"] - total["distinct"]
    keys = [store_files.FILE, store_files.ROW]
    skipped = staged.filter(staged._reason.notnull() | staged._ignored).select(*keys)
    if dupes:
        ranked = _first_only(good, keep=False)
        skipped = skipped.union(ranked.select(*keys))
    if keep_rows and (dupes or any(f.quarantined or f.ignored for f in files)):
        store.write(SKIP_TABLE, skipped, overwrite=True)
    if not dupes:
        return 0
    per_file = ranked.group_by(store_files.FILE).aggregate(n=ranked.count()).to_pyarrow().to_pylist()
    by_name = {f.source_file: f for f in files}
    for row in per_file:
        f = by_name[row[store_files.FILE]]
        f.duplicates += row["n"]
        f.loaded -= row["n"]
    return dupes


def _first_only(good: ibis.Table, keep: bool = True) -> ibis.Table:
    """The first row of each event id (earlier file, then row) or, ``keep=False``, the others."""
    w = ibis.window(group_by="event_id", order_by=["_fidx", store_files.ROW])
    ranked = good.mutate(_rank=ibis.row_number().over(w))
    return ranked.filter(ranked._rank == 0 if keep else ranked._rank > 0)


def _events_view(ordered: ibis.Table, plan, forms: frozenset[int], *, dedupe: bool, by_rows: bool,
                 clean: frozenset[str] = frozenset()) -> ibis.Table:
    """The loaded rows of ``ordered`` (the registered files' rows), mapped with only the
    timestamp ``forms`` the data uses: ``by_rows``, all but the rows of :data:`SKIP_TABLE`
    (when it exists), with the ``clean`` columns as they are in the files (their rows were
    checked, and a file that changes is seen by the next ``aips source``); else the rows
    that pass the checks, without duplicates (``dedupe``): a table's rows can change after
    registration, so the view maps and checks every row again."""
    keep = (store_files.FILE, store_files.ROW, "_fidx", "load_id")
    backend = ibis.get_backend(ordered)
    if by_rows:
        # the skipped rows go before the mapping: it converts without the checks, and a
        # quarantined value (a 2024-02-30) would fail the query that reads the view
        kept = ordered
        if SKIP_TABLE in backend.list_tables():
            kept = ordered.anti_join(backend.table(SKIP_TABLE), [store_files.FILE, store_files.ROW])
        good = checks.checked_events(kept, plan, keep=keep, forms=forms, checked=True, clean=clean)
    else:
        good = _good(checks.checked_events(ordered, plan, keep=keep, forms=forms))
        if dedupe:
            good = _first_only(good)
    return good.select(*[good[name].cast(typ).name(name) for name, typ in EVENTS.items()])


def _write_quarantine(store: Store, staged: ibis.Table) -> None:
    """``quarantine_events``: the quarantined rows with file, 1-based row, column, reason, text."""
    bad = staged.filter(staged._reason.notnull() & ~staged._ignored)
    rows = bad.select(load_id=bad.load_id, table_name=ibis.literal("events"), source_file=bad[store_files.FILE],
                      source_line=(bad[store_files.ROW] + 1).cast("int64"), column_name=bad._column,
                      reason=bad._reason, raw=bad._raw)
    store.write(QUARANTINE_TABLE, rows.cast(QUARANTINE), overwrite=True)


def _write_loads(store: Store, files: list[FileReport], model: Model) -> None:
    """One ``loads`` row per registered file, replacing the earlier registration's; the
    derived tables are dropped unless the new loads only add to the old ones."""
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    rows = [{"load_id": f.load_id, "table_name": "events", "source_file": f.source_file, "file_sha256": None,
             "loaded_at": now, "timezone": model.timezone, "rows_read": f.rows_read, "loaded": f.loaded,
             "duplicates": f.duplicates, "ignored": f.ignored, "quarantined": f.quarantined,
             "min_date": f.min_date, "max_date": f.max_date} for f in files]
    new = pa.Table.from_pylist(rows, schema=LOADS.to_pyarrow())
    old_ids: set[str] = set()
    if store.has("loads"):
        loads = store.table("loads").to_pyarrow()  # one row per file: small
        old_ids = {r["load_id"] for r in loads.to_pylist() if r["table_name"] == "events"}
        others = loads.filter(pa.compute.not_equal(loads.column("table_name"), "events"))
        new = pa.concat_tables([others.cast(new.schema), new])
    store.write("loads", new, overwrite=True)
    if not old_ids <= {f.load_id for f in files}:
        for name in DERIVED:
            store.drop(name)


def _fingerprint(location: str, mapping: Mapping, plan) -> str:
    """What decides how rows map (the time window is not in it: it moves with the clock,
    and what it changes shows in the counts, which are in each file's load id)."""
    return _digest([location, mapping.model_dump(mode="json"), plan.zone, plan.model_zone,
                    sorted(plan.event_map.items()), sorted(plan.ignore)])


def _digest(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()[:20]


def describe(store: Store) -> dict[str, str] | None:
    """What ``aips source`` registered (location, kind, dedupe, registered_at), or None."""
    if not store.has(INFO_TABLE):
        return None
    return {r["key"]: r["value"] for r in store.table(INFO_TABLE).to_pyarrow().to_pylist()}


def refuse_ingest(store: Store) -> None:
    """A :class:`~aips.exceptions.StoreError` when ``events`` is a registered source: its
    rows are the source's, nothing can be inserted into the view."""
    if is_sourced(store):
        info = describe(store) or {}
        raise StoreError(
            f"the store {store.location}'s events are a view over {info.get('location', 'a source')} "
            "(aips source); run aips source again to take new data, or ingest into another store (--store)")
