"""Asset series: users per entity x stage for every day (or week) of a range.

Derived from timelines, not from a snapshot per day: each interval ``[start, end]`` of a
pair at stage s adds +1 to (entity, s) on its first day in the range and -1 on the day
after it ends; a running sum per (entity, stage) over a small calendar gives every day.
The result equals per-day snapshots exactly (tests check it on random logs).

Output: ``date``, the entity keys (``brand``; at SPU level ``spu``, ``brand``), ``stage``,
``users``. Every entity with a level somewhere in the range gets a row for **each of the
five stages on every day**, with ``users = 0`` where nobody is at that stage. With
``freq="week"`` only the last day of each ISO week (Mon-Sun) inside the range is kept,
dated by that day: the Sundays, plus ``end`` when the range ends mid-week.

Production keeps the series in the store (``asset_history``) and extends it daily
(:func:`update_history`, about one snapshot per new day) or recomputes a range
(:func:`backfill_history`, one sweep).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import ibis
import pyarrow as pa

from aips.config.model import STAGES, Model
from aips.engine.counters import (
    COUNTERS_TABLE,
    clear_pending,
    pending_since,
    refresh_counters,
    rollup_is_current,
)
from aips.engine.snapshot import assets, snapshot
from aips.engine.stages import entity_keys, resolve_level
from aips.engine.timelines import EPOCH, segment_numbers
from aips.exceptions import ConfigError

FREQS = ("day", "week")
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


def _days(start: dt.date, end: dt.date) -> list[dt.date]:
    return [start + dt.timedelta(days=i) for i in range((end - start).days + 1)]


def _check_range(start: dt.date, end: dt.date, freq: str) -> None:
    if end < start:
        raise ConfigError(f"empty range: {start} is after {end}")
    if freq not in FREQS:
        raise ConfigError(f"unknown freq {freq!r} (expected day or week)")


def calendar(start: dt.date, end: dt.date, freq: str = "day") -> ibis.Table:
    """The days of ``[start, end]`` (``week``: each ISO week's last day in the range).

    Columns ``day`` (date) and ``_dn`` (its day number).
    """
    days = _days(start, end)
    if freq == "week":
        days = [d for d in days if d.isoweekday() == 7 or d == end]
    return ibis.memtable({"day": days, "_dn": [(d - EPOCH).days for d in days]},
                         schema={"day": "date", "_dn": "int64"})


def series_from_intervals(
    intervals: ibis.Table,
    by: tuple[str, ...],
    start: dt.date,
    end: dt.date,
    freq: str = "day",
    *,
    day_numbers: bool = False,
) -> ibis.Table:
    """Count intervals per (date, entity, stage) over ``[start, end]``.

    Args:
        intervals: rows ``(*by, day, next_day, stage)``: the pair is at ``stage`` on days
            ``day <= t < next_day`` (``next_day`` null: open). A pair's intervals do not
            overlap; rows with a null stage or ``next_day == day`` are ignored.
        by: entity columns.
        day_numbers: ``day``/``next_day`` are day numbers since 1970-01-01, not dates.
    """
    _check_range(start, end, freq)
    if day_numbers:
        lo, hi = ibis.literal((start - EPOCH).days), ibis.literal((end - EPOCH).days)
    else:
        lo, hi = ibis.literal(start), ibis.literal(end)
    iv = intervals.filter(
        intervals.stage.notnull()
        & (intervals.day <= hi)
        & (intervals.next_day.isnull() | ((intervals.next_day > lo) & (intervals.next_day > intervals.day)))
    )
    # +1 on the first day in the range, -1 on the day after the end (one pass: the input
    # plan is referenced once, which matters on Spark, where shared subplans are recomputed)
    signs = ibis.memtable({"_sign": [1, -1]}, schema={"_sign": "int64"})
    x = iv.cross_join(signs)
    x = x.filter((x._sign == 1) | (x.next_day.notnull() & (x.next_day <= hi)))
    x = x.select(*by, "stage", "_sign",
                 date=ibis.ifelse(x._sign == 1, ibis.greatest(x.day, lo), x.next_day))
    deltas = x.group_by([*by, "stage", "date"]).aggregate(delta=x._sign.sum())
    return _expand(deltas, by, start, end, freq, lo, hi, day_numbers)


def _expand(deltas: ibis.Table, by: tuple[str, ...], start: dt.date, end: dt.date,
            freq: str, lo, hi, day_numbers: bool) -> ibis.Table:
    """Sparse ``(*by, stage, date, delta)`` -> ``users`` on every calendar day (zeros too).

    Each delta row also seeds a 0 at ``start`` for all five stages of its entity, so every
    stage of every entity present gets a row on every day; a running sum per (entity, stage)
    and a range join with the calendar fill the days between changes.
    """
    stages = ibis.memtable(
        {"_stage": [s for s in STAGES for _ in (0, 1)], "_seed": [True, False] * len(STAGES)},
        schema={"_stage": "string", "_seed": "boolean"},
    )
    x = deltas.cross_join(stages)
    x = x.filter(x._seed | (x.stage == x._stage))
    x = x.select(*by, stage=x._stage, date=ibis.ifelse(x._seed, lo, x.date),
                 delta=ibis.ifelse(x._seed, 0, x.delta))
    x = x.group_by([*by, "stage", "date"]).aggregate(delta=x.delta.sum())
    order = ibis.window(group_by=[*by, "stage"], order_by="date")
    x = x.select(*by, "stage", "date",
                 users=x.delta.sum().over(ibis.window(group_by=[*by, "stage"], order_by="date", rows=(None, 0))),
                 until=x.date.lead().over(order))
    cal = calendar(start, end, freq)
    key = cal._dn if day_numbers else cal.day
    until = x.until.fill_null(hi + 1 if day_numbers else ibis.literal(end + dt.timedelta(days=1)))
    out = x.join(cal, (key >= x.date) & (key < until))
    return out.select(date=out.day, **{c: out[c] for c in by}, stage=out.stage,
                      users=out.users.cast("int64"))


def asset_series(
    source: ibis.Table,
    model: Model,
    start: dt.date,
    end: dt.date,
    freq: str = "day",
    *,
    level: str | None = None,
    categories: ibis.Table | None = None,
) -> ibis.Table:
    """Users per entity x stage for each day (or week) of ``[start, end]``, from timelines.

    Args:
        source: ``events`` or the ``counters_daily`` rollup.
        start, end: local dates, inclusive.
        freq: ``day`` or ``week`` (each ISO week's last day in the range).

    Returns:
        ``date``, entity keys, ``stage``, ``users`` (zeros included; see the module doc).
    """
    level = resolve_level(model, level)
    _check_range(start, end, freq)
    seg = segment_numbers(source, model, level=level, categories=categories, start=start, end=end)
    return series_from_intervals(seg, entity_keys(level), start, end, freq, day_numbers=True)


def series_from_timelines(
    timeline: ibis.Table, level: str, start: dt.date, end: dt.date, freq: str = "day"
) -> ibis.Table:
    """The asset series of :func:`~aips.engine.timelines.timelines` output."""
    iv = timeline.select(
        *[c for c in timeline.columns if c not in ("start_date", "end_date", "stage")],
        day=timeline.start_date,
        next_day=(timeline.end_date + ibis.interval(days=1)).cast("date"),
        stage=timeline.stage,
    )
    return series_from_intervals(iv, entity_keys(level), start, end, freq)


# --- asset_history -----------------------------------------------------------------------------


@dataclass
class HistoryResult:
    """What an update or backfill of ``asset_history`` did."""

    level: str
    appended: list[dt.date] = field(default_factory=list)
    recomputed: tuple[dt.date, dt.date] | None = None
    counters: str = ""

    def asdict(self) -> dict:
        return {
            "level": self.level,
            "appended": [d.isoformat() for d in self.appended],
            "recomputed": [d.isoformat() for d in self.recomputed] if self.recomputed else None,
            "counters": self.counters,
        }

    def __str__(self) -> str:
        parts = [self.counters] if self.counters else []
        if self.recomputed:
            parts.append(f"asset_history ({self.level}): recomputed {self.recomputed[0]}..{self.recomputed[1]}")
        if self.appended:
            parts.append(f"asset_history ({self.level}): appended {len(self.appended)} day(s) "
                         f"{self.appended[0]}..{self.appended[-1]}")
        if not self.recomputed and not self.appended:
            parts.append(f"asset_history ({self.level}): up to date")
        return "; ".join(parts)


def _to_history(series: ibis.Table, level: str) -> ibis.Table:
    """Series rows -> history rows (nonzero only)."""
    s = series.filter(series.users != 0)
    spu = s.spu if level == "spu" else ibis.null("string")
    return s.select(date=s.date, level=ibis.literal(level), brand=s.brand, spu=spu,
                    stage=s.stage, users=s.users.cast("int64"))


def _write_days(store, level: str, lo: dt.date, hi: dt.date) -> None:
    from aips.engine.counters import replace_rows

    days = pa.table({"date": pa.array(_days(lo, hi), pa.date32()),
                     "level": pa.array([level] * ((hi - lo).days + 1), pa.string())})
    if not store.has(HISTORY_DAYS_TABLE):
        store.write(HISTORY_DAYS_TABLE, days)
        return
    replace_rows(store, HISTORY_DAYS_TABLE, {"level": [level], "date": (lo, hi)}, ibis.memtable(days))


def _store_history(store, level: str, lo: dt.date, hi: dt.date, rows: ibis.Table) -> None:
    from aips.engine.counters import replace_rows

    if not store.has(HISTORY_TABLE):
        store.backend.create_table(HISTORY_TABLE, schema=HISTORY_SCHEMA)
    # History is aggregate-sized: materialise the new rows before touching the table.
    data = rows.to_pyarrow().cast(HISTORY_SCHEMA.to_pyarrow())
    replace_rows(store, HISTORY_TABLE, {"level": [level], "date": (lo, hi)}, ibis.memtable(data))
    _write_days(store, level, lo, hi)


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
    store, model: Model, start: dt.date, end: dt.date, *, level: str | None = None,
    refresh: bool = True,
) -> HistoryResult:
    """Recompute ``asset_history`` for ``[start, end]`` with one sweep over the rollup."""
    level = resolve_level(model, level)
    counters = str(refresh_counters(store, model)) if refresh else ""
    series = asset_series(store.table(COUNTERS_TABLE), model, start, end, level=level,
                          categories=_categories(store))
    _store_history(store, level, start, end, _to_history(series, level))
    return HistoryResult(level, recomputed=(start, end), counters=counters)


def update_history(store, model: Model, *, level: str | None = None) -> HistoryResult:
    """Extend ``asset_history`` to the last local date with counted events.

    Refreshes ``counters_daily`` first. Stored days whose counters changed since the last
    update (a late load, a changed model) are recomputed from the first changed day with
    one sweep; each new day costs one snapshot of the rollup (more than
    :data:`APPEND_BY_SNAPSHOT_MAX_DAYS` new days: one sweep). Re-running with nothing new
    changes nothing.
    """
    level = resolve_level(model, level)
    refreshed = refresh_counters(store, model)
    result = HistoryResult(level, counters=str(refreshed))
    rollup = store.table(COUNTERS_TABLE)
    span = rollup.aggregate(lo=rollup.local_date.min(), hi=rollup.local_date.max())
    span = span.to_pyarrow().to_pylist()[0]
    if span["hi"] is None:
        return result
    first, last = span["lo"], span["hi"]
    lo, hi = covered_days(store, level)
    pending = pending_since(store, level)
    if hi is None:
        backfill_history(store, model, first, last, level=level, refresh=False)
        result.recomputed = (first, last)
    else:
        if pending is not None and pending <= hi:
            redo = max(pending, lo)
            backfill_history(store, model, redo, hi, level=level, refresh=False)
            result.recomputed = (redo, hi)
        new_days = _days(hi + dt.timedelta(days=1), last) if last > hi else []
        if len(new_days) > APPEND_BY_SNAPSHOT_MAX_DAYS:
            backfill_history(store, model, new_days[0], new_days[-1], level=level, refresh=False)
        else:
            for day in new_days:
                append_day(store, model, day, level=level)
        result.appended = new_days
    clear_pending(store, level)
    return result


def history_is_current(store, model: Model, level: str | None = None) -> bool:
    """True when no load or model change happened since ``asset_history`` was updated."""
    level = resolve_level(model, level)
    return rollup_is_current(store, model) and pending_since(store, level) is None


def append_day(store, model: Model, day: dt.date, *, level: str | None = None) -> None:
    """Store one day of history from one snapshot of the rollup (no refresh)."""
    level = resolve_level(model, level)
    snap = snapshot(store.table(COUNTERS_TABLE), model, day, level=level,
                    categories=_categories(store))
    counts = assets(snap, level).mutate(date=ibis.literal(day))
    _store_history(store, level, day, day, _to_history(counts, level))


def read_history(
    store, model: Model, start: dt.date, end: dt.date, freq: str = "day", *,
    level: str | None = None,
) -> ibis.Table | None:
    """The stored series for ``[start, end]``, or None when ``asset_history`` does not cover it.

    Same columns and zeros as :func:`asset_series`.
    """
    level = resolve_level(model, level)
    _check_range(start, end, freq)
    lo, hi = covered_days(store, level)
    if lo is None or start < lo or end > hi or not store.has(HISTORY_TABLE):
        return None
    by = entity_keys(level)
    h = store.table(HISTORY_TABLE)
    h = h.filter((h.level == level) & h.date.between(ibis.literal(start), ibis.literal(end)))
    entities = h.select(*by).distinct()
    stages = ibis.memtable({"stage": list(STAGES)}, schema={"stage": "string"})
    cal = calendar(start, end, freq).select(date="day")
    grid = cal.cross_join(entities).cross_join(stages)
    keys = ["date", *by, "stage"]
    out = grid.left_join(h, keys).select(*[grid[k] for k in keys], users=h.users.fill_null(0))
    return out
