"""The stored stage timelines ``stage_timelines``: one sweep, then kept current pair by pair.

A stage timeline (:func:`aips.engine.timelines.timelines`) costs one sweep over the rollup:
about 8x a snapshot on the 12M-event ``small`` world unpacked, about 4x (CPU) with the
packed sweep a full build here uses (``bench/README.md``). The diagnosis,
the creators' seeding rates, loyalty's TI -> P cohort, flows-based crowds and the report all
read timelines; built on demand, each of those commands paid that sweep again. So
:func:`aips.maintain.update_history` (``aips series --update``) keeps them in the store, at
brand level, beside the rollup it refreshes:

* the first update (or one after a change of the rules, the cycles or the ``categories``
  table: the :func:`timelines_fingerprint`) builds them whole, and the asset series is
  counted off them (so a first update still costs one sweep, as before);
* a later update rebuilds only the pairs with a rollup row on or after the first day a load
  changed (state key ``pending:timelines``, set by the rollup refresh): a pair's timeline
  depends only on its own rows, so the other pairs' intervals stand. The day appended to
  ``asset_history`` is then counted off the timelines instead of a snapshot.

Readers take the stored table only while it is current (:func:`stored_timelines`: same
fingerprint, rollup current, nothing pending); otherwise they build timelines as before, so
a stale table can make a command slower, never wrong.

>>> from aips.store import connect
>>> from aips.config.model import default_model
>>> stored_timelines(connect(":memory:"), default_model()) is None
True
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ibis

from aips.config.model import Model
from aips.engine.packing import Bounds, bounds_query
from aips.engine.paths import user_bucket
from aips.engine.timelines import timelines
from aips.maintain.publish import publish
from aips.maintain.rollup import (  # noqa: F401 - the sweep's sizing, kept importable from here
    BUCKET,
    MAX_SWEEP_BUCKETS,
    SWEEP_MEMORY_SHARE,
    SWEEP_ROW_BYTES,
    read_staged,
    rollup_is_current,
    stage,
    sweep_buckets,
)
from aips.maintain.state import State, read_state, write_state

TIMELINES_TABLE = "stage_timelines"
TIMELINES_VERSION = "1"
KEYS = ("user_id", "brand")
PENDING = "pending:timelines"
"""State key: the first local date whose rollup rows changed since the timelines were stored."""
STATE_KEY = "timelines"
"""State key: the :func:`timelines_fingerprint` the stored timelines were built with."""
SCHEMA = ibis.schema({"user_id": "string", "brand": "string", "start_date": "date",
                      "end_date": "date", "stage": "string"})


def timelines_fingerprint(store, model: Model) -> str:
    """Identifies what the timelines depend on besides the rollup's rows: the counters, the
    stage rules, the cycles (the model's and the store's ``categories`` table).

    >>> from aips.store import connect
    >>> from aips.config.model import default_model
    >>> len(timelines_fingerprint(connect(":memory:"), default_model()))
    16
    """
    spec = {
        "counters": {n: c.model_dump() for n, c in sorted(model.counters.items())},
        "stages": {n: s.model_dump() for n, s in sorted(model.stages.items())},
        "cycle": [model.cycle, model.default_cycle_days, sorted(model.categories.items())],
        "timezone": model.timezone,
        "taxonomy": sorted(model.taxonomy.items()),
        "categories": _categories_rows(store),
    }
    text = json.dumps([TIMELINES_VERSION, spec], sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _categories_rows(store) -> list:
    if not store.has("categories"):
        return []
    c = store.table("categories")
    if "decision_cycle_days" not in c.columns:
        return []
    rows = c.select("category", "decision_cycle_days").distinct().to_pyarrow().to_pylist()
    return sorted((str(r["category"]), str(r["decision_cycle_days"])) for r in rows)


def _categories(store) -> ibis.Table | None:
    return store.table("categories") if store.has("categories") else None


def stored_timelines(store, model: Model) -> ibis.Table | None:
    """``stage_timelines`` (brand level, uncut) when it is current, else None.

    Current: built with today's :func:`timelines_fingerprint` from a rollup that has every
    load (:func:`~aips.maintain.rollup.rollup_is_current`), with no change pending since.
    """
    if not store.has(TIMELINES_TABLE):
        return None
    state = read_state(store)
    if PENDING in state or state.get(STATE_KEY) != [timelines_fingerprint(store, model)]:
        return None
    if not rollup_is_current(store, model):
        return None
    return store.table(TIMELINES_TABLE).select(*SCHEMA.names)


@dataclass
class TimelinesPlan:
    """A refresh of ``stage_timelines``: ``mode`` is ``full``, ``pairs`` or ``none``.

    Like :class:`~aips.maintain.rollup.CountersPlan`: on a read-only store the new rows are
    staged to Parquet and written by :meth:`apply` under the write lock; elsewhere they are
    written at once and only the state is left to :meth:`apply`.
    """

    mode: str
    fingerprint: str
    rows: Any = None
    """The rebuilt intervals (all of them, or the touched pairs'): expression or staged file."""
    touched: Any = None
    """``pairs``: the (user_id, brand) pairs whose intervals ``rows`` replace."""
    written: bool = False
    pairs: int | None = None
    """``pairs``: how many pairs were rebuilt."""

    def timelines(self, store) -> ibis.Table:
        """``stage_timelines`` as it will be once this plan is applied."""
        if self.mode == "none" or self.written:
            return store.table(TIMELINES_TABLE).select(*SCHEMA.names)
        rows = _read(store, self.rows)
        if self.mode == "full":
            return rows
        old = store.table(TIMELINES_TABLE).select(*SCHEMA.names)
        kept = old.anti_join(_read(store, self.touched), list(KEYS))
        return kept.union(rows.select(*SCHEMA.names).cast(SCHEMA))

    def apply(self, store) -> None:
        """Write the rows (if not yet), then the state; run inside ``store.writing()`` after
        the rollup's :meth:`~aips.maintain.rollup.CountersPlan.apply`."""
        if self.mode == "none":
            return
        if not self.written:
            _write(store, self)
        state = read_state(store)
        state.pop(PENDING, None)
        state[STATE_KEY] = [self.fingerprint]
        write_state(store, state)
        self.mode = "none"


def stitched(old: ibis.Table, new: ibis.Table, since: dt.date) -> ibis.Table:
    """Some pairs' intervals: ``old`` up to the day before ``since``, ``new`` (cut at
    ``since``: :func:`~aips.engine.timelines.timelines` with ``start``) from then on, an
    interval that runs through the seam merged into one.

    A changed day only changes a pair's levels from that day on, so only the rows that can
    still count then are swept (a 30-day window reads a month, not the pair's history).

    >>> import datetime as dt
    >>> d = dt.date
    >>> old = ibis.memtable({"user_id": ["u", "u"], "brand": ["b", "b"],
    ...     "start_date": [d(2024, 1, 1), d(2024, 1, 5)], "end_date": [d(2024, 1, 4), d(2024, 2, 3)],
    ...     "stage": ["A", "I"]})
    >>> new = ibis.memtable({"user_id": ["u", "u"], "brand": ["b", "b"],
    ...     "start_date": [d(2024, 1, 10), d(2024, 1, 12)], "end_date": [d(2024, 1, 11), d(2024, 2, 10)],
    ...     "stage": ["I", "TI"]})
    >>> rows = stitched(old, new, d(2024, 1, 10)).order_by("start_date").to_pyarrow().to_pylist()
    >>> [(r["start_date"].day, r["end_date"].isoformat(), r["stage"]) for r in rows]
    [(1, '2024-01-04', 'A'), (5, '2024-01-11', 'I'), (12, '2024-02-10', 'TI')]
    """
    cut = ibis.literal(since)
    before = old.filter(old.start_date < cut)
    before = before.mutate(end_date=ibis.least(before.end_date, ibis.literal(since - dt.timedelta(days=1))))
    both = before.union(new.select(*SCHEMA.names).cast(SCHEMA))
    w = ibis.window(group_by=list(KEYS), order_by="start_date")
    prev_end = both.end_date.lag().over(w)
    joins = (both.stage == both.stage.lag().over(w)) & (both.start_date == (prev_end + ibis.interval(days=1)).cast("date"))
    both = both.mutate(_new=ibis.ifelse(joins.fill_null(False), 0, 1))
    both = both.mutate(_run=both._new.sum().over(ibis.window(group_by=list(KEYS), order_by="start_date",
                                                              rows=(None, 0))))
    out = both.group_by([*KEYS, "_run", "stage"]).aggregate(start_date=both.start_date.min(),
                                                          end_date=both.end_date.max())
    return out.select(*SCHEMA.names)


def _memory_limit(store) -> int | None:
    settings = getattr(store, "settings", None)
    return getattr(settings, "memory_limit", None)


def _count(table: ibis.Table) -> int:
    return int(table.count().to_pyarrow().as_py())


def _read(store, rows: Any) -> ibis.Table:
    return read_staged(store, rows) if isinstance(rows, Path) else rows


def plan_timelines(store, model: Model, rollup: ibis.Table, state: State, *,
                   folder: Path | None = None, buckets: int | None = None) -> TimelinesPlan:
    """Compute a refresh of ``stage_timelines`` from ``rollup`` (the refreshed
    ``counters_daily``, written or not) and the upkeep ``state`` it comes with.

    Full when the table is missing or was built with another fingerprint; the touched pairs
    only when a load changed days since (``pending:timelines``); nothing otherwise.
    ``buckets``: the rollup was staged in that many :data:`BUCKET` partitions
    (:attr:`~aips.maintain.rollup.CountersPlan.buckets`); a full sweep in buckets reads one
    partition a bucket.
    """
    fp = timelines_fingerprint(store, model)
    cats = _categories(store)
    parts = None
    if not store.has(TIMELINES_TABLE) or state.get(STATE_KEY) != [fp]:
        # the rollup's bounds (one small aggregate) let the sweep sum packed capped atoms
        span = bounds_query(rollup, "brand", model, cats).to_pyarrow().to_pylist()[0]
        bounds = Bounds.of_row(span)

        def sweep(rows: ibis.Table) -> ibis.Table:
            return timelines(rows, model, level="brand", categories=cats, bounds=bounds,
                             islands=store.capabilities.sweep_islands)

        plan = TimelinesPlan("full", fp, sweep(rollup))
        need = sweep_buckets(_count(rollup), _memory_limit(store)) if folder is not None else 1
        if buckets and BUCKET in rollup.columns and 1 < need <= buckets:
            # filed by bucket when staged: each part reads its own files
            parts = [sweep(rollup.filter(rollup[BUCKET] == b)) for b in range(buckets)]
        elif need > 1:  # a pair's rows are in one bucket: the parts' union is the sweep
            filed = _filed_by_bucket(store, rollup, folder, need, span["first"], span["last"])
            parts = [sweep(filed.filter(filed[BUCKET] == b)) for b in range(need)]
    elif PENDING not in state:
        return TimelinesPlan("none", fp)
    else:
        since = dt.date.fromisoformat(state[PENDING][0])
        touched = rollup.filter(rollup.local_date >= ibis.literal(since)).select(*KEYS).distinct()
        if folder is not None:
            touched = read_staged(store, stage(touched, folder, "touched_pairs"))
        source = rollup.semi_join(touched, list(KEYS))
        new = timelines(source, model, level="brand", categories=cats, start=since)
        old = store.table(TIMELINES_TABLE).select(*SCHEMA.names).semi_join(touched, list(KEYS))
        plan = TimelinesPlan("pairs", fp, stitched(old, new, since), touched=touched)
        plan.pairs = int(touched.count().to_pyarrow().as_py())
    if folder is not None:
        plan.rows = stage(plan.rows, folder, TIMELINES_TABLE, parts)
    else:  # a writable store: write the table now (the history is counted off it)
        _write(store, plan)
        plan.rows = None
    return plan


def _filed_by_bucket(store, rollup: ibis.Table, folder: Path, buckets: int, first: dt.date,
                     last: dt.date) -> ibis.Table:
    """``rollup`` staged to Parquet filed by sweep bucket (``_bucket=K`` folders, as a full
    rollup built in day parts is): the sweep of bucket K then reads its own files. Filtered
    by a hash of ``user_id`` instead, each bucket read and hashed every row of the stored
    rollup, once per scan (the sweep scans it twice: the flag atoms' islands and the other
    atoms' rows): at 1B events, 928M rows and ~3 minutes a bucket, 20 buckets. Written in
    ``buckets`` parts of consecutive days, so that no one write holds the whole rollup."""
    days = (last - first).days + 1
    step = -(-days // buckets)
    parts = []
    for i in range(0, days, step):
        a, b = first + dt.timedelta(days=i), min(last, first + dt.timedelta(days=i + step - 1))
        part = rollup.filter(rollup.local_date.between(a, b))
        parts.append(part.mutate(**{BUCKET: user_bucket(part.user_id, buckets)}))
    return read_staged(store, stage(None, folder, "counters_by_bucket", parts, partition_by=BUCKET))


def _write(store, plan: TimelinesPlan) -> None:
    """Write ``plan``: the touched pairs' rows replaced in place where the backend deletes
    rows (one transaction; the new rows are computed first, as they read the old ones), else
    the whole table rebuilt and published."""
    if plan.mode == "pairs" and store.capabilities.delete_rows:
        scratch = TIMELINES_TABLE + "__aips_new"
        store.drop(scratch)
        try:
            new = store.backend.create_table(scratch, _read(store, plan.rows).select(*SCHEMA.names).cast(SCHEMA))
            with store.transaction():
                store.delete_matching(TIMELINES_TABLE, _read(store, plan.touched), list(KEYS))
                store.backend.insert(TIMELINES_TABLE, new)
        finally:
            store.drop(scratch)
    else:
        publish(store, TIMELINES_TABLE, plan.timelines(store).cast(SCHEMA))
    plan.written = True
