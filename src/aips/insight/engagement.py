"""Engagement depth with a brand's content: dwell, deep reads and interactions, per stage.

For the brand's events on the local dates ``start .. end``, grouped by period (``day``,
``week`` starting on Monday, ``month``, or ``total``) and by the reader's stage:

* the **stage** of an event is the user's level for the brand at the start of the event's
  day (the level on the day before, from the stage timelines; ``none`` without a level), so
  a deep read that lifts a reader to TI counts as engagement of an I reader. Each period
  also has a ``stage = all`` row over every user;
* ``readers``: distinct users with a ``read``; ``reads``;
* ``deep_reads``: reads passing the model's ``deep_read`` counter (by default dwell >= 5 s
  or completion >= 0.5); ``deep_read_rate`` = deep_reads / reads;
* ``dwell_s``: total read dwell (seconds); ``dwell_per_reader`` = dwell_s / readers (the
  stay time per reader); ``dwell_per_read`` = mean dwell over reads that report one;
  ``avg_completion`` = mean completion over reads that report one (videos);
* ``interactions``: like, collect, comment, share and follow events (configurable), by
  readers or not; ``interactors``; ``interactions_per_reader`` = interactions / readers.

Everything is one Ibis expression (per-event work stays in the backend).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import ibis

from aips.config.model import STAGES, Model
from aips.dates import as_date
from aips.view import View

INTERACTIONS: tuple[str, ...] = ("like", "collect", "comment", "share", "follow")
"""Event types counted as interactions."""

FREQS = {"day": None, "week": "W", "month": "M", "total": None}

NONE = "none"
ALL = "all"


def deep_read_condition(events: ibis.Table, model: Model) -> ibis.Value:
    """The model's ``deep_read`` counter filter on ``events`` (default: read with dwell >= 5 s
    or completion >= 0.5 when the model has no such counter)."""
    from aips.engine.counters import counter_measures

    if "deep_read" in model.counters:
        return counter_measures(events, model)["deep_read"][0]
    return (events.event_type == "read") & (
        (events.dwell_s.fill_null(0) >= 5) | (events.completion.fill_null(0) >= 0.5)
    )


def _period(day: ibis.Value, freq: str, start: dt.date) -> ibis.Value:
    if freq == "day":
        return day
    if freq == "total":
        return ibis.literal(start)
    return day.truncate(FREQS[freq])


def engagement_table(
    events: ibis.Table,
    timeline: ibis.Table,
    model: Model,
    brand: str,
    start: dt.date,
    end: dt.date,
    *,
    freq: str = "week",
    interactions: Sequence[str] = INTERACTIONS,
) -> ibis.Table:
    """Engagement per period and reader stage (see the module docstring).

    Args:
        events: the canonical events.
        timeline: brand-level stage timelines (``user_id``, ``brand``, ``start_date``,
            ``end_date``, ``stage``).
        model: the model (the ``deep_read`` filter).
        brand: the brand.
        start, end: local dates, inclusive.
        freq: ``day``, ``week``, ``month`` or ``total`` (one period, dated ``start``).
        interactions: event types counted as interactions.

    Returns:
        ``brand``, ``period``, ``stage``, ``readers``, ``reads``, ``deep_reads``,
        ``deep_read_rate``, ``dwell_s``, ``dwell_per_reader``, ``dwell_per_read``,
        ``avg_completion``, ``interactions``, ``interactors``, ``interactions_per_reader``.
    """
    from aips.exceptions import ConfigError

    if freq not in FREQS:
        raise ConfigError(f"unknown period {freq!r} (one of {', '.join(FREQS)})")
    types = sorted({"read", *interactions})
    ev = events.filter((events.brand == brand) & events.local_date.between(start, end)
                       & events.event_type.isin(types))
    ev = ev.select("user_id", "local_date", "event_type", "dwell_s", "completion", "amount",
                   _deep=deep_read_condition(ev, model))
    tl = timeline.filter(timeline.brand == brand).select("user_id", "start_date", "end_date", "stage")
    before = ev.local_date - ibis.interval(days=1)
    j = ev.left_join(tl, [ev.user_id == tl.user_id, tl.start_date <= before, tl.end_date >= before])
    j = j.select("user_id", "event_type", "dwell_s", "completion", "_deep",
                 period=_period(j.local_date, freq, start), stage=j.stage.fill_null(NONE))
    is_read = j.event_type == "read"
    is_int = j.event_type.isin(list(interactions))
    metrics = dict(
        readers=j.user_id.nunique(where=is_read),
        reads=j.count(where=is_read),
        deep_reads=j.count(where=is_read & j._deep),
        dwell_s=j.dwell_s.sum(where=is_read).fill_null(0.0),
        _dwell_n=j.dwell_s.count(where=is_read),
        avg_completion=j.completion.mean(where=is_read),
        interactions=j.count(where=is_int),
        interactors=j.user_id.nunique(where=is_int),
    )
    by_stage = j.group_by(["period", "stage"]).aggregate(**metrics)
    overall = j.group_by("period").aggregate(**metrics).mutate(stage=ibis.literal(ALL))
    out = by_stage.union(overall.select(*by_stage.columns), distinct=False)

    def per(num, den):
        return num.cast("float64") / ibis.ifelse(den > 0, den, ibis.null()).cast("float64")

    out = out.select(
        brand=ibis.literal(brand),
        period=out.period.cast("date"),
        stage=out.stage,
        readers=out.readers,
        reads=out.reads,
        deep_reads=out.deep_reads,
        deep_read_rate=per(out.deep_reads, out.reads),
        dwell_s=out.dwell_s,
        dwell_per_reader=per(out.dwell_s, out.readers),
        dwell_per_read=per(out.dwell_s, out._dwell_n),
        avg_completion=out.avg_completion,
        interactions=out.interactions,
        interactors=out.interactors,
        interactions_per_reader=per(out.interactions, out.readers),
    )
    order = ibis.cases(*((out.stage == s, i) for i, s in enumerate(reversed(STAGES))), (out.stage == NONE, -1),
                       else_=99)
    return out.order_by([out.period, order])


def engagement(
    view: View,
    brand: str,
    start: Any,
    end: Any,
    *,
    freq: str = "week",
    interactions: Sequence[str] = INTERACTIONS,
) -> ibis.Table:
    """Dwell, deep-read rate and interactions per reader of ``brand``'s content, per
    period (``day``, ``week``, ``month``, ``total``) and reader stage (plus ``all``).

    See the module docstring for the definitions.
    """
    return engagement_table(
        view.events, view.timelines(level="brand"), view.model, brand,
        as_date(start, "start"), as_date(end, "end"), freq=freq, interactions=interactions,
    )
