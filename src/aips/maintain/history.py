"""The stored asset series ``asset_history``: extended daily, recomputed by range.

``asset_history`` holds the nonzero counts per (day, level, entity, stage) and
``asset_history_days`` the days (per level) it covers. Both are built from the stored
rollup (refreshed first) by the pure builders of :mod:`aips.engine.series`, and written
with :func:`~aips.maintain.publish.replace_many`: on DuckDB the rows and the covered days
change in one transaction; on Spark each table is rebuilt and swapped in, the covered days
last, so an interrupted write is at worst redone, never read as covered.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import ibis
import pyarrow as pa

from aips.config.labels import t, word
from aips.config.model import Model
from aips.dates import as_date
from aips.engine.series import (
    asset_series,
    check_range,
    days_between,
    history_rows,
    series_from_history,
    series_from_timelines,
)
from aips.engine.snapshot import assets, snapshot
from aips.engine.stages import resolve_level
from aips.maintain.publish import publish, replace_many
from aips.maintain.rollup import (
    COUNTERS_TABLE,
    CountersPlan,
    RefreshResult,
    plan_counters,
    rollup_is_current,
    scratch,
)
from aips.maintain.state import clear_pending, pending_since, read_state
from aips.maintain.timelines import TimelinesPlan, plan_timelines

HISTORY_TABLE = "asset_history"
HISTORY_DAYS_TABLE = "asset_history_days"
HISTORY_SCHEMA = ibis.schema(
    {"date": "date", "level": "string", "brand": "string", "spu": "string",
     "stage": "string", "users": "int64"}
)
"""``asset_history``: nonzero counts per day; at brand level ``spu`` is null."""
DAYS_SCHEMA = ibis.schema({"date": "date", "level": "string"})
"""``asset_history_days``: the days (per level) ``asset_history`` covers."""
APPEND_BY_SNAPSHOT_MAX_DAYS = 7
"""An update appending more days than this runs one sweep instead of a snapshot per day."""


@dataclass
class HistoryResult:
    """What an update or backfill of ``asset_history`` did."""

    level: str
    appended: list[dt.date] = field(default_factory=list)
    recomputed: tuple[dt.date, dt.date] | None = None
    counters: str = ""
    rollup: RefreshResult | None = None
    """The rollup refresh this run did (its text is ``counters``)."""
    timelines: str = ""
    """What happened to the stored stage timelines: ``full``, ``pairs``, ``none`` ("" at SPU
    level, where none are stored)."""
    timeline_pairs: int | None = None
    """With ``timelines == "pairs"``: how many (user, brand) pairs were rebuilt."""

    def asdict(self) -> dict:
        return {
            "level": self.level,
            "appended": [d.isoformat() for d in self.appended],
            "recomputed": [d.isoformat() for d in self.recomputed] if self.recomputed else None,
            "counters": self.counters,
            "timelines": self.timelines or None,
            "timeline_pairs": self.timeline_pairs,
        }

    def __str__(self) -> str:
        return self.describe()

    def describe(self, lang: str = "en") -> str:
        """What was done, in ``lang`` (the catalogue's ``maintain.*`` words).

        >>> HistoryResult("brand", appended=[dt.date(2024, 1, 2)]).describe("zh")
        '资产历史（品牌）：追加了 1 天，2024-01-02..2024-01-02'
        """
        level = word("dash.level", self.level, lang)
        parts = [self.rollup.describe(lang) if self.rollup else self.counters] if self.counters else []
        if self.recomputed:
            parts.append(t("maintain.history.recomputed", lang, level=level,
                           start=self.recomputed[0], end=self.recomputed[1]))
        if self.appended:
            parts.append(t("maintain.history.appended", lang, level=level, n=len(self.appended),
                           start=self.appended[0], end=self.appended[-1]))
        if not self.recomputed and not self.appended:
            parts.append(t("maintain.history.current", lang, level=level))
        if self.timelines:
            parts.append(t(f"maintain.timelines.{self.timelines}", lang, n=self.timeline_pairs))
        return t("maintain.join", lang).join(parts)


def _store_history(store, level: str, lo: dt.date, hi: dt.date, rows: Any) -> None:
    """Replace the rows of ``[lo, hi]`` at ``level``, then record the days as covered.

    ``rows``: an expression, or the rows already materialised as an Arrow table.
    """
    if not store.has(HISTORY_TABLE):
        publish(store, HISTORY_TABLE, schema=HISTORY_SCHEMA)
    # History is aggregate-sized: materialise the new rows before touching the table.
    data = _materialised(rows)
    where = {"level": [level], "date": (lo, hi)}
    days = days_between(lo, hi)
    covered = ibis.memtable({"date": days, "level": [level] * len(days)}, schema=DAYS_SCHEMA)
    replace_many(store, [(HISTORY_TABLE, where, ibis.memtable(data)),
                         (HISTORY_DAYS_TABLE, where, covered)])


def _materialised(rows: Any) -> pa.Table:
    data = rows if isinstance(rows, pa.Table) else rows.to_pyarrow()
    return data.cast(HISTORY_SCHEMA.to_pyarrow())


def covered_days(store, level: str) -> tuple[dt.date | None, dt.date | None]:
    """First and last day ``asset_history`` holds for ``level`` (None, None when empty)."""
    if not store.has(HISTORY_DAYS_TABLE):
        return None, None
    d = store.table(HISTORY_DAYS_TABLE)
    d = d.filter(d.level == level)
    row = d.aggregate(lo=d.date.min(), hi=d.date.max()).to_pyarrow().to_pylist()[0]
    return row["lo"], row["hi"]


def _categories(store) -> ibis.Table | None:
    return store.table("categories") if store.has("categories") else None


def backfill_history(
    store, model: Model, start: Any, end: Any, *, level: str | None = None,
    refresh: bool = True,
) -> HistoryResult:
    """Recompute ``asset_history`` for ``[start, end]`` (dates or ISO text) with one sweep.

    On a store opened read-only everything is computed holding the read lock only; the
    write lock is taken (:meth:`Store.writing`) for the final writes.
    """
    start, end = as_date(start, "start"), as_date(end, "end")
    level = resolve_level(model, level)
    with scratch(store) as folder:
        plan = plan_counters(store, model, folder=folder) if refresh else CountersPlan(RefreshResult("none"))
        rollup = plan.rollup(store)
        tplan = _plan_timelines(store, model, rollup, plan, level, folder) if refresh else None
        tl = tplan.timelines(store) if tplan is not None else None
        rows = _sweep(store, rollup, model, start, end, level, tl)
        with store.writing():
            plan.apply(store)
            if tplan is not None:
                tplan.apply(store)
            _store_history(store, level, start, end, rows)
    result = HistoryResult(level, recomputed=(start, end), counters=str(plan.result) if refresh else "",
                           rollup=plan.result if refresh else None)
    _note_timelines(result, tplan)
    return result


def _sweep(store, rollup, model: Model, start: dt.date, end: dt.date, level: str,
           timeline: ibis.Table | None = None) -> pa.Table:
    """The history rows of ``[start, end]``: counted off ``timeline`` (the stored brand
    timelines) when given, else from one sweep of ``rollup``."""
    if timeline is not None:
        series = series_from_timelines(timeline, level, start, end)
    else:
        series = asset_series(rollup, model, start, end, level=level, categories=_categories(store))
    return _materialised(history_rows(series, level))


def _plan_timelines(store, model: Model, rollup, plan: CountersPlan, level: str,
                    folder) -> TimelinesPlan | None:
    """At brand level, the refresh of the stored timelines the history is counted off."""
    if level != "brand":
        return None
    state = plan.state if plan.state is not None else read_state(store)
    return plan_timelines(store, model, rollup, state, folder=folder, buckets=plan.buckets)


def _note_timelines(result: HistoryResult, tplan: TimelinesPlan | None) -> None:
    if tplan is not None:
        result.timelines, result.timeline_pairs = tplan.mode, tplan.pairs


def _day(store, rollup, model: Model, day: dt.date, level: str,
         timeline: ibis.Table | None = None) -> pa.Table:
    """The history rows of one day: counted off ``timeline`` when given, else from one
    snapshot of ``rollup``."""
    if timeline is not None:
        return _sweep(store, rollup, model, day, day, level, timeline)
    snap = snapshot(rollup, model, day, level=level, categories=_categories(store))
    counts = assets(snap, level).mutate(date=ibis.literal(day))
    return _materialised(history_rows(counts, level))


def update_history(store, model: Model, *, level: str | None = None) -> HistoryResult:
    """Extend ``asset_history`` to the last local date with counted events.

    Refreshes ``counters_daily`` first. Stored days whose counters changed since the last
    update (a late load, a changed model) are recomputed from the first changed day with
    one sweep; each new day costs one snapshot of the rollup (more than
    :data:`APPEND_BY_SNAPSHOT_MAX_DAYS` new days: one sweep). Re-running with nothing new
    changes nothing. On a store opened read-only everything is computed holding the read
    lock only (the refreshed rollup staged to Parquet beside the store, the history rows
    in memory); the write lock is taken (:meth:`Store.writing`) for the final writes.
    """
    level = resolve_level(model, level)
    with scratch(store) as folder:
        plan = plan_counters(store, model, folder=folder)
        result = HistoryResult(level, counters=str(plan.result), rollup=plan.result)
        rollup = plan.rollup(store)
        span = rollup.aggregate(lo=rollup.local_date.min(), hi=rollup.local_date.max())
        span = span.to_pyarrow().to_pylist()[0]
        if span["hi"] is None:
            with store.writing():
                plan.apply(store)
            return result
        first, last = span["lo"], span["hi"]
        tplan = _plan_timelines(store, model, rollup, plan, level, folder)
        _note_timelines(result, tplan)
        tl = tplan.timelines(store) if tplan is not None else None
        lo, hi = covered_days(store, level)
        state = plan.state if plan.state is not None else read_state(store)
        pending = state.get(f"pending:{level}")
        pending = dt.date.fromisoformat(pending[0]) if pending else None
        writes: list[tuple[dt.date, dt.date, pa.Table]] = []
        if hi is None:
            writes.append((first, last, _sweep(store, rollup, model, first, last, level, tl)))
            result.recomputed = (first, last)
        else:
            if pending is not None and pending <= hi:
                redo = max(pending, lo)
                writes.append((redo, hi, _sweep(store, rollup, model, redo, hi, level, tl)))
                result.recomputed = (redo, hi)
            new_days = days_between(hi + dt.timedelta(days=1), last) if last > hi else []
            if len(new_days) > APPEND_BY_SNAPSHOT_MAX_DAYS or (tl is not None and new_days):
                writes.append((new_days[0], new_days[-1],
                               _sweep(store, rollup, model, new_days[0], new_days[-1], level, tl)))
            else:
                writes += [(day, day, _day(store, rollup, model, day, level)) for day in new_days]
            result.appended = new_days
        with store.writing():  # the write lock for the final writes only
            plan.apply(store)
            if tplan is not None:
                tplan.apply(store)
            for start, end, rows in writes:
                _store_history(store, level, start, end, rows)
            clear_pending(store, level)
    return result


def history_is_current(store, model: Model, level: str | None = None) -> bool:
    """True when no load or model change happened since ``asset_history`` was updated."""
    level = resolve_level(model, level)
    return rollup_is_current(store, model) and pending_since(store, level) is None


def append_day(store, model: Model, day: dt.date, *, level: str | None = None) -> None:
    """Store one day of history from one snapshot of the rollup (no refresh)."""
    level = resolve_level(model, level)
    rows = _day(store, store.table(COUNTERS_TABLE), model, day, level)
    with store.writing():
        _store_history(store, level, day, day, rows)


def read_history(
    store, model: Model, start: dt.date, end: dt.date, freq: str = "day", *,
    level: str | None = None,
) -> ibis.Table | None:
    """The stored series for ``[start, end]``, or None when ``asset_history`` does not cover it.

    Same columns and zeros as :func:`~aips.engine.series.asset_series`.
    """
    level = resolve_level(model, level)
    check_range(start, end, freq)
    lo, hi = covered_days(store, level)
    if lo is None or start < lo or end > hi or not store.has(HISTORY_TABLE):
        return None
    return series_from_history(store.table(HISTORY_TABLE), level, start, end, freq)
