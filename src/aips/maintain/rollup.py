"""The stored daily rollup ``counters_daily``, kept current incrementally.

:func:`aips.engine.counters.daily_counters` says what the rollup is; this module stores it.
A full build is published atomically (:func:`~aips.maintain.publish.publish`); a new load
only recomputes the local dates it touched (:func:`~aips.maintain.publish.replace_rows`,
one transaction where the backend has them). The state (``counters_state``) is written
last: a crash before it makes the next refresh redo the same (idempotent) work.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aips.buckets import buckets_for
from aips.config.labels import t
from aips.config.model import Model
from aips.dates import as_date
from aips.engine.counters import daily_counters
from aips.engine.paths import user_bucket
from aips.maintain.publish import publish, replace_rows
from aips.maintain.state import (
    dates_of_loads,
    day_counts,
    event_loads,
    events_between,
    fingerprint,
    read_state,
    write_state,
)
from aips.store.staging import read_staged, stage  # noqa: F401 - kept importable from here

COUNTERS_TABLE = "counters_daily"
LEVELS = ("brand", "spu")


@dataclass
class RefreshResult:
    """What :func:`refresh_counters` did: ``mode`` is ``full``, ``incremental`` or ``none``."""

    mode: str
    dates: list[dt.date] = field(default_factory=list)
    """Local dates recomputed (empty for ``full`` and ``none``)."""
    min_date: dt.date | None = None
    """Earliest local date whose counters changed (for ``full``: the first day)."""

    def asdict(self) -> dict:
        return {"mode": self.mode, "dates": [d.isoformat() for d in self.dates],
                "min_date": self.min_date.isoformat() if self.min_date else None}

    def __str__(self) -> str:
        return self.describe()

    def describe(self, lang: str = "en") -> str:
        """What was done, in ``lang``.

        >>> RefreshResult("full").describe(), RefreshResult("none").describe("zh")
        ('counters_daily: rebuilt', '每日计数表：已是最新')
        """
        if self.mode == "incremental":
            return t("maintain.rollup.incremental", lang, n=len(self.dates), start=self.min_date)
        return t("maintain.rollup.full" if self.mode == "full" else "maintain.rollup.current", lang)


def _count(table) -> int:
    return int(table.count().to_pyarrow().as_py())


def rollup_is_current(store, model: Model) -> bool:
    """True when ``counters_daily`` exists, matches the model and has every load rolled up."""
    if not store.has(COUNTERS_TABLE):
        return False
    state = read_state(store)
    if state.get("fingerprint") != [fingerprint(model)]:
        return False
    loads = event_loads(store)
    if loads is not None:
        return set(loads) <= set(state.get("load", []))
    return state.get("events_rows") == [str(_count(store.table("events")))]


@dataclass
class CountersPlan:
    """A refresh of ``counters_daily`` computed but (on a read-only store) not yet written.

    On a store opened read-only the new rows are streamed to a Parquet file in a scratch
    folder (:func:`scratch`) and :meth:`apply`, run under :meth:`Store.writing`, reads
    them back inside the write; elsewhere the rows are written at once (as before).
    """

    result: RefreshResult
    rows: Any = None
    """The new rows: an expression, or the Parquet file they were staged to."""
    where: dict | None = None
    """``None``: the rows replace the whole table; else the rows they replace."""
    state: dict | None = None
    """The upkeep state to write after the rows."""
    written: bool = False
    buckets: int | None = None
    """A full build staged in day parts: how many :data:`BUCKET` partitions its files have
    (the rows carry the column until they are written)."""

    def rollup(self, store) -> Any:
        """``counters_daily`` as it will be once this plan is applied."""
        if self.written or self.state is None:
            return store.table(COUNTERS_TABLE)
        new = read_staged(store, self.rows)
        if self.where is None:
            return new
        old = store.table(COUNTERS_TABLE)
        kept = old.filter(~old.local_date.isin(self.where["local_date"]))
        return kept.union(new.select(*old.columns).cast(old.schema()))

    def apply(self, store) -> None:
        """Write the rows (if not yet) and then the state; run inside ``store.writing()``."""
        if self.state is None:
            return
        if not self.written:
            self._write_rows(store)
        write_state(store, self.state)
        self.state = None

    def _write_rows(self, store) -> None:
        rows = read_staged(store, self.rows) if isinstance(self.rows, Path) else self.rows
        if BUCKET in rows.columns:
            rows = rows.drop(BUCKET)
        if self.where is None:
            publish(store, COUNTERS_TABLE, rows)
        else:
            replace_rows(store, COUNTERS_TABLE, self.where, rows)
        self.written = True


@contextlib.contextmanager
def scratch(store) -> Iterator[Path | None]:
    """A temporary folder beside a read-only store's file for staged rows (None otherwise)."""
    if not getattr(store, "read_only", False):
        yield None
        return
    parent = Path(store.location).expanduser().resolve().parent
    with tempfile.TemporaryDirectory(prefix=".aips-maintain-", dir=parent) as folder:
        yield Path(folder)


SWEEP_ROW_BYTES = 40
"""Working memory of the full sweep per rollup row and piece (a row's delta at its day and
at the end of each window: about 2 nonzero per rollup row), in bytes. Measured on the
12M-event world's 21.3M delta rows, DuckDB 1.5, a 300 MiB limit (in memory + the largest
spill): 40.6 bytes a row with the sort key of a user's entity and day
(:data:`~aips.engine.timelines.KEY_STRIDE`), 53 with the brand's text and the day before it."""
SWEEP_MEMORY_SHARE = 0.6
"""Share of the store's memory limit one bucket's sweep may use (the window's sort is the
only large operator of the query)."""
MAX_SWEEP_BUCKETS = 256


def sweep_buckets(rollup_rows: int, memory_limit: int | None) -> int:
    """How many buckets of users a full sweep is split into: one bucket's delta rows
    (about 2 per rollup row) fit in :data:`SWEEP_MEMORY_SHARE` of ``memory_limit`` bytes, so
    the window's sort does not spill (at a billion events it would spill ~70 GB), and each
    bucket is staged to its own file. Measured on the 12M-event world: 1, 2 and 4 buckets
    cost the same within 5 % (10.0, 9.6 and 10.5-10.9 s), with peak RSS 1.74, 1.06 and 0.72 GiB;
    with the keyed sort, 1 and 2 buckets 7.8-8.1 and 9.9 s, 1.44-1.49 and 0.92 GiB.

    >>> sweep_buckets(10_641_628, int(1.5 * 2**30)), sweep_buckets(10**9, 6 * 2**30), sweep_buckets(10**9, None)
    (1, 21, 1)
    """
    return buckets_for(2 * int(rollup_rows), SWEEP_ROW_BYTES, memory_limit, share=SWEEP_MEMORY_SHARE,
                       most=MAX_SWEEP_BUCKETS)


BUCKET = "_bucket"
"""Column of a staged full rollup built in day parts: the user's sweep bucket
(:func:`~aips.engine.paths.user_bucket` among :func:`sweep_buckets`), by which its files are
partitioned (``_bucket=K`` folders). The sweep of bucket K then reads those files only: with
a filter on a hash of ``user_id`` instead, each of the 28 buckets of the 1B-event world read
and hashed all 928M staged rows (about 60 % of each bucket's time)."""


EVENT_BYTES = 80
"""Memory budgeted per event for the full rollup's aggregate. DuckDB's hash aggregate of the
rollup, written to Parquet, needs about 10-16 bytes per event and does not always spill in
time (measured: the 12M-event store fails at 110 MiB and passes at 150 MiB; the 100M-event
store failed at 1.5 GiB), so a full build larger than the limit / EVENT_BYTES is staged in
parts of consecutive days (:func:`day_parts`)."""


def _memory_limit(store) -> int | None:
    settings = getattr(store, "settings", None)
    return getattr(settings, "memory_limit", None)


def day_parts(store, events, limit: int | None = None) -> list[tuple[dt.date, dt.date]] | None:
    """Consecutive local-date ranges with at most ``limit / EVENT_BYTES`` events each (the
    store's memory limit by default), or None when all events fit in one (or the store has
    no memory limit). ``local_date`` is a key of the rollup, so the parts' rows are disjoint.
    The first part starts on the first possible date and the last ends on the last one.

    >>> import ibis, datetime as dt
    >>> ev = ibis.memtable({"local_date": [dt.date(2024, 1, d) for d in (1, 1, 2, 3, 3, 3)]})
    >>> day_parts(None, ev, limit=3 * EVENT_BYTES)
    [(datetime.date(1, 1, 1), datetime.date(2024, 1, 2)), (datetime.date(2024, 1, 3), datetime.date(9999, 12, 31))]
    >>> day_parts(None, ev, limit=10 * EVENT_BYTES) is None
    True
    """
    if limit is None:
        limit = _memory_limit(store)
    if not limit:
        return None
    most = max(1, int(limit) // EVENT_BYTES)
    rows = day_counts(store, events)
    if sum(n for _, n in rows) <= most:
        return None
    parts: list[list] = []  # [first day, last day, events]
    for day, n in rows:
        if parts and parts[-1][2] + n <= most:
            parts[-1][1:] = [day, parts[-1][2] + n]
        else:
            parts.append([day, day, n])
    # open ends: the counts of a view may come from ``loads`` (:func:`day_counts`), and a
    # catalog table's view shows rows added after it was registered, on any day
    parts[0][0], parts[-1][1] = dt.date.min, dt.date.max
    return [(a, b) for a, b, _ in parts]


def refresh_counters(store, model: Model, dates: Iterable[Any] | None = None) -> RefreshResult:
    """Build or incrementally refresh the stored ``counters_daily`` rollup.

    Args:
        store: a :class:`~aips.store.Store` with an ``events`` table. Opened read-only, the
            rollup is computed holding the read lock only and written under
            :meth:`Store.writing`.
        model: the model (a change of its counters forces a full rebuild).
        dates: local dates (dates or ISO text) to recompute. ``None``: the dates touched by loads not yet
            rolled up (from the ``loads`` table); without a ``loads`` table, a full rebuild
            when the number of events changed.

    Returns:
        A :class:`RefreshResult`. Re-running with nothing new changes nothing.
    """
    with scratch(store) as folder:
        plan = plan_counters(store, model, dates, folder=folder)
        if plan.state is not None:
            with store.writing():
                plan.apply(store)
    return plan.result


def plan_counters(store, model: Model, dates: Iterable[Any] | None = None, *,
                  folder: Path | None = None) -> CountersPlan:
    """Compute a refresh of ``counters_daily`` (see :func:`refresh_counters`).

    With ``folder`` (a read-only store's :func:`scratch`) the new rows are staged there and
    nothing is written: :meth:`CountersPlan.apply` writes them. Without it the rows are
    written at once and only the state is left to :meth:`CountersPlan.apply`.
    """
    dates = None if dates is None else [as_date(d, "dates") for d in dates]
    events = store.table("events")
    state = read_state(store)
    fp = fingerprint(model)
    loads = event_loads(store)
    fresh = store.has(COUNTERS_TABLE) and state.get("fingerprint") == [fp]
    n_events = None

    if fresh and dates is None:
        if loads is not None:
            new = sorted(set(loads) - set(state.get("load", [])))
            if not new:
                return CountersPlan(RefreshResult("none"))
            dates = dates_of_loads(store, new)
        else:
            n_events = _count(events)
            if state.get("events_rows") == [str(n_events)]:
                return CountersPlan(RefreshResult("none"))
            fresh = False

    if not fresh:
        plan = CountersPlan(RefreshResult("full"), daily_counters(events, model))
    else:
        days = sorted(set(dates or []))
        if not days:
            return CountersPlan(RefreshResult("none"))
        touched = events_between(store, events, days[0], days[-1])
        touched = touched.filter(touched.local_date.isin(days))
        plan = CountersPlan(RefreshResult("incremental", days), daily_counters(touched, model),
                            {"local_date": days})
    if folder is not None:  # computed now, written under the write lock
        ranges = day_parts(store, events) if not fresh else None
        parts = None if ranges is None else [
            daily_counters(events_between(store, events, a, b), model) for a, b in ranges]
        if parts is not None:
            # too big for one aggregate: the sweep will need buckets of users too, so the
            # parts are filed by bucket (the rollup has at most one row per event)
            if n_events is None:
                n_events = _count(events)
            plan.buckets = sweep_buckets(n_events, _memory_limit(store))
            if plan.buckets > 1:
                parts = [p.mutate(**{BUCKET: user_bucket(p.user_id, plan.buckets)}) for p in parts]
            else:
                plan.buckets = None
        plan.rows = stage(plan.rows, folder, COUNTERS_TABLE, parts,
                          partition_by=BUCKET if plan.buckets else None)
    else:
        plan._write_rows(store)
    if not fresh:
        first = read_staged(store, plan.rows) if folder is not None else store.table(COUNTERS_TABLE)
        first = first.local_date.min().to_pyarrow().as_py()
    else:
        first = plan.result.dates[0]
    plan.result.min_date = first

    if n_events is None:
        n_events = _count(events)
    new_state = {"fingerprint": [fp], "events_rows": [str(n_events)], "load": loads or []}
    if "timelines" in state:  # the stored timelines' fingerprint (aips.maintain.timelines)
        new_state["timelines"] = state["timelines"]
    if first is not None:  # every stored series, and the timelines, are stale from ``first`` on
        for key in (*LEVELS, "timelines"):
            old = state.get(f"pending:{key}") if fresh else None
            new_state[f"pending:{key}"] = [min([first.isoformat(), *(old or [])])]
    else:
        new_state.update({k: v for k, v in state.items() if k.startswith("pending:")})
    plan.state = new_state
    return plan
