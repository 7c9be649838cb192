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

Production keeps the series in the store (``asset_history``): :mod:`aips.maintain.history`
extends it daily (about one snapshot per new day) or recomputes a range (one sweep).
"""

from __future__ import annotations

import datetime as dt

import ibis

from aips.config.model import STAGES, Model
from aips.engine.stages import entity_keys, resolve_level
from aips.engine.timelines import EPOCH, segment_numbers
from aips.exceptions import ConfigError

FREQS = ("day", "week")


def days_between(start: dt.date, end: dt.date) -> list[dt.date]:
    """Every day of ``[start, end]``.

    >>> days_between(dt.date(2024, 1, 30), dt.date(2024, 2, 1))[-1]
    datetime.date(2024, 2, 1)
    """
    return [start + dt.timedelta(days=i) for i in range((end - start).days + 1)]


def check_range(start: dt.date, end: dt.date, freq: str) -> None:
    """Raise :class:`~aips.exceptions.ConfigError` for an empty range or an unknown ``freq``."""
    if end < start:
        raise ConfigError(f"empty range: {start} is after {end}")
    if freq not in FREQS:
        raise ConfigError(f"unknown freq {freq!r} (expected day or week)")


def calendar(start: dt.date, end: dt.date, freq: str = "day") -> ibis.Table:
    """The days of ``[start, end]`` (``week``: each ISO week's last day in the range).

    Columns ``day`` (date) and ``_dn`` (its day number).
    """
    days = days_between(start, end)
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
    check_range(start, end, freq)
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
    check_range(start, end, freq)
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


def history_rows(series: ibis.Table, level: str) -> ibis.Table:
    """Series rows -> the sparse rows stored in ``asset_history`` (nonzero counts only).

    Columns ``date``, ``level``, ``brand``, ``spu`` (null at brand level), ``stage``, ``users``.
    """
    s = series.filter(series.users != 0)
    spu = s.spu if level == "spu" else ibis.null("string")
    return s.select(date=s.date, level=ibis.literal(level), brand=s.brand, spu=spu,
                    stage=s.stage, users=s.users.cast("int64"))


def series_from_history(
    history: ibis.Table, level: str, start: dt.date, end: dt.date, freq: str = "day"
) -> ibis.Table:
    """The inverse of :func:`history_rows` on ``[start, end]``: same columns and zeros as
    :func:`asset_series` (every stage of every entity present in the range, every day)."""
    check_range(start, end, freq)
    by = entity_keys(level)
    h = history.filter((history.level == level)
                       & history.date.between(ibis.literal(start), ibis.literal(end)))
    entities = h.select(*by).distinct()
    stages = ibis.memtable({"stage": list(STAGES)}, schema={"stage": "string"})
    cal = calendar(start, end, freq).select(date="day")
    grid = cal.cross_join(entities).cross_join(stages)
    keys = ["date", *by, "stage"]
    return grid.left_join(h, keys).select(*[grid[k] for k in keys], users=h.users.fill_null(0))
