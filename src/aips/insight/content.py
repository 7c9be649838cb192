"""The content that moves each stage: advance rates per note, format, creator and keyword.

For a stage advance X -> Y of a brand (``A->I``, ``I->TI``, ``TI->P``, ``P->S``; any X
below Y works) and a dimension (``note``, ``format``, ``creator``, ``keyword``, ``channel``,
``campaign``), with each user's levels read off the engine's stage timelines:

* the **cohort**: users who reach X (X or above) for the first time on a day ``e`` in
  ``start .. end``; ``end`` defaults to the last day with events minus the horizon, so every
  cohort member is followed for the whole horizon;
* a cohort member **advances** when they first reach Y (or above) on a day ``a`` in
  ``e .. e + horizon_days`` (the same day counts: a read and a collect on one day pass
  through I). One outcome per user;
* each member has **one touch window** of ``within_days`` (k) days before their anchor day
  and the anchor day itself: the anchor is the advance day ``a`` for advancers, and
  ``e + g`` for the others, g = the median days to advance among the cohort's advancers
  (when they would typically have advanced). Only days on or after ``e`` count (the user
  was at X or above), so a touch is "followed by an advance within k days";
* a **touch** is an event of the brand carrying the value (keywords: ``search`` events;
  trimmed, lower case) on a day of the member's window;
* per value, counting distinct users: ``touched`` = members touched in their window,
  ``advanced`` = those who advanced, ``rate`` = advanced / touched; the brand's average
  (``brand_touched``, ``brand_advanced``, ``brand_rate``) is the same over members touched
  by any value of the dimension; ``lift`` = rate / brand_rate;
* ``rate_low`` / ``rate_high``: the Wilson score interval (level 1 - alpha); ``lift_low`` /
  ``lift_high`` divide it by the brand rate (taken as known: it rests on more users);
  ``supported`` = touched >= ``min_support``; ``significant`` = supported and the interval
  excludes the brand rate.

Why one window per user, anchored at the advance: counting every touch while a user sits
at X favours content that slow users see (a user who is not moved stays at X and piles up
touches; one who is moved leaves fast), which can reverse the order of what truly works.
With one equal window per user, every member gets the same chance to be touched. Rates
still credit reach, not cause: a value seen together with strong content shares its credit.

Counting runs in the backend (one query for every advance and dimension asked for); the
intervals are computed in Python on the small result. The content-strategy table
(:func:`strategy_frame`) is the same counts for the four adjacent advances.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from functools import reduce
from typing import Any

import ibis
import pandas as pd

from aips.config.model import STAGE_RANK
from aips.crowd import as_list
from aips.dates import as_date
from aips.engine.flows import stage_rank
from aips.exceptions import ConfigError
from aips.insight.content_stats import COLUMNS as COLUMNS  # the content table's columns
from aips.insight.content_stats import insight_frame, strategy_frame
from aips.insight.frames import cache, memtable
from aips.view import View

DIMENSIONS: dict[str, str] = {
    "note": "note_id",
    "format": "content_format",
    "creator": "creator_id",
    "keyword": "keyword",
    "channel": "channel",
    "campaign": "campaign_id",
}
"""Content dimensions and the event column each reads."""

ADVANCES: tuple[tuple[str, str], ...] = (("A", "I"), ("I", "TI"), ("TI", "P"), ("P", "S"))
"""The four adjacent stage advances, in journey order."""

def parse_advance(text: str) -> tuple[str, str]:
    """``"I->TI"``, ``"I-TI"``, ``"i>ti"`` or ``"I TI"`` -> ``("I", "TI")``.

    >>> parse_advance("I-TI"), parse_advance("ti->p")
    (('I', 'TI'), ('TI', 'P'))
    """
    from aips.exceptions import ConfigError

    parts = [p for p in re.split(r"\s*(?:->|→|>|-|\s)\s*", str(text).strip().upper()) if p]
    if len(parts) != 2 or any(p not in STAGE_RANK for p in parts) or STAGE_RANK[parts[0]] >= STAGE_RANK[parts[1]]:
        raise ConfigError(
            f"not a stage advance: {text!r} (expected FROM->TO with stages A, I, TI, P, S and FROM "
            "below TO, e.g. I->TI)"
        )
    return parts[0], parts[1]


def check_dimensions(dims: Sequence[str]) -> list[str]:
    from aips.exceptions import ConfigError

    dims = list(dims)
    for d in dims:
        if d not in DIMENSIONS:
            raise ConfigError(f"unknown content dimension {d!r} (one of {', '.join(DIMENSIONS)})")
    return dims


def touches(events: ibis.Table, brand: str, dims: Sequence[str], start: dt.date | None = None,
            end: dt.date | None = None) -> ibis.Table:
    """Distinct touches of a brand: ``dimension``, ``value``, ``user_id``, ``day``."""
    ev = events.filter(events.brand == brand)
    if start is not None:
        ev = ev.filter(ev.local_date >= start)
    if end is not None:
        ev = ev.filter(ev.local_date <= end)
    parts = []
    for dim in check_dimensions(dims):
        col = DIMENSIONS[dim]
        if dim == "keyword":
            rows = ev.filter((ev.event_type == "search") & ev.keyword.notnull())
            value = rows.keyword.strip().lower()
        else:
            rows = ev.filter(ev[col].notnull())
            value = rows[col].cast("string")
        parts.append(rows.select(dimension=ibis.literal(dim), value=value, user_id=rows.user_id, day=rows.local_date))
    out = reduce(lambda a, b: a.union(b, distinct=False), parts)
    return out.filter(out.value != "").distinct()


def _first_day(tl: ibis.Table, stage: str, name: str) -> ibis.Table:
    hit = tl.filter(stage_rank(tl.stage) >= STAGE_RANK[stage])
    return hit.group_by("user_id").aggregate(**{name: hit.start_date.min()})


def cohort(
    timeline: ibis.Table,
    brand: str,
    from_stage: str,
    to_stage: str,
    *,
    horizon_days: int = 30,
    within_days: int = 7,
    start: dt.date | None = None,
    end: dt.date | None = None,
) -> ibis.Table:
    """The members of an advance's cohort and their touch windows.

    Returns ``user_id``, ``entered`` (e), ``adv`` (1 if advanced within the horizon, else
    0), ``win_start``, ``win_end`` (the touch window, inclusive), ``typical_days`` (g).
    """
    tl = timeline.filter(timeline.brand == brand).select("user_id", "start_date", "stage")
    entry = _first_day(tl, from_stage, "entered")
    reach = _first_day(tl, to_stage, "reached")
    c = entry.left_join(reach, "user_id").select("user_id", "entered", "reached")
    if start is not None:
        c = c.filter(c.entered >= start)
    if end is not None:
        c = c.filter(c.entered <= end)
    c = c.filter(c.reached.isnull() | (c.reached >= c.entered))
    horizon = c.entered + ibis.interval(days=int(horizon_days))
    c = c.mutate(adv=ibis.ifelse(c.reached.notnull() & (c.reached <= horizon), 1, 0))
    c = c.mutate(gap=ibis.ifelse(c.adv == 1, c.reached.delta(c.entered, unit="day"), ibis.null()))
    typical = c.aggregate(typical_days=c.gap.quantile(0.5).round().cast("int64"))
    c = c.cross_join(typical)
    typical_days = c.typical_days.fill_null(0)
    anchor = ibis.ifelse(c.adv == 1, c.reached, c.entered + typical_days.as_interval("D"))
    lo = anchor - ibis.interval(days=int(within_days))
    win_start = ibis.ifelse(lo > c.entered, lo, c.entered)
    return c.select("user_id", "entered", "adv", win_start=win_start, win_end=anchor, typical_days=typical_days)


def advance_counts(
    events: ibis.Table,
    timeline: ibis.Table,
    brand: str,
    dims: Sequence[str],
    advances: Sequence[tuple[str, str]],
    *,
    within_days: int = 7,
    horizon_days: int = 30,
    start: dt.date | None = None,
    end: dt.date | None = None,
    cotouch: bool = False,
    min_support: int = 30,
) -> ibis.Table:
    """Touched and advancing cohort members per (advance, dimension, value), and per (advance,
    dimension) over every value (the brand's average, ``value`` null).

    Args:
        events: the canonical events.
        timeline: brand-level stage timelines (``user_id``, ``brand``, ``start_date``,
            ``end_date``, ``stage``); only the brand's rows are used.
        brand: the brand.
        dims: content dimensions (:data:`DIMENSIONS`).
        advances: (from, to) stage pairs.
        within_days: k, the touch window before the (typical) advance day.
        horizon_days: days after entering the from-stage within which the advance counts.
        start, end: the days of entry into the from-stage (inclusive; None: unbounded).

        cotouch: also count members touched by both of two values (``value2`` set), for
            the values with at least ``min_support`` touched members: the input of
            :func:`incremental_effects`.

    Returns:
        ``from_stage``, ``to_stage``, ``dimension``, ``value``, ``touched``, ``advanced``,
        ``typical_days``, ``cohort`` (users entering the from-stage), ``cohort_advanced``,
        ``value2`` (null except on co-touch rows).
    """
    per_user = member_touches(events, timeline, brand, dims, advances, within_days=within_days,
                              horizon_days=horizon_days, start=start, end=end)
    return member_counts(per_user, cotouch=cotouch, min_support=min_support)


def member_counts(per_user: ibis.Table, *, cotouch: bool = False, min_support: int = 30) -> ibis.Table:
    """:func:`advance_counts` from the :func:`member_touches` rows (read several times:
    materialise them first where the backend inlines a shared subquery, as Spark does).

    A member touched by two values counts once in the total (``value`` null):

    >>> rows = ibis.memtable({"from_stage": ["I"] * 3, "to_stage": ["TI"] * 3, "dimension": ["topic"] * 3,
    ...                       "value": ["serum", "mask", "serum"], "user_id": ["u1", "u1", "u2"],
    ...                       "adv": [1, 1, 0], "typical_days": [4, 4, 4], "cohort": [5, 5, 5],
    ...                       "cohort_advanced": [2, 2, 2]})
    >>> out = member_counts(rows).to_pandas().sort_values("value", na_position="last")
    >>> [(v, n, a) for v, n, a in zip(out.value.fillna("(all)"), out.touched, out.advanced)]
    [('mask', 1, 1), ('serum', 2, 1), ('(all)', 2, 1)]
    """
    keys = ["from_stage", "to_stage", "dimension"]
    by_value = per_user.group_by([*keys, "value"]).aggregate(
        touched=per_user.count(), advanced=per_user.adv.sum(), typical_days=per_user.typical_days.max(),
        cohort=per_user.cohort.max(), cohort_advanced=per_user.cohort_advanced.max(),
    )
    any_user = per_user.group_by([*keys, "user_id"]).aggregate(
        adv=per_user.adv.max(), g=per_user.typical_days.max(), n=per_user.cohort.max(), na=per_user.cohort_advanced.max()
    )
    totals = any_user.group_by(keys).aggregate(
        touched=any_user.count(), advanced=any_user.adv.sum(), typical_days=any_user.g.max(),
        cohort=any_user.n.max(), cohort_advanced=any_user.na.max(),
    ).mutate(value=ibis.null().cast("string"))
    out = by_value.union(totals.select(*by_value.columns), distinct=False).mutate(value2=ibis.null().cast("string"))
    if not cotouch:
        return out
    return out.union(_cotouch(per_user, keys, min_support).select(*out.columns), distinct=False)


def _cotouch(per_user: ibis.Table, keys: list[str], min_support: int) -> ibis.Table:
    """Members touched by both v and w, per (advance, dimension, v, w), for values with at
    least ``min_support`` touched members (rows with ``value2`` set)."""
    support = per_user.group_by([*keys, "value"]).aggregate(_n=per_user.count())
    support = support.filter(support._n >= min_support).drop("_n")
    kept = per_user.semi_join(support, [*keys, "value"]).select(*keys, "value", "user_id", "adv")
    other = kept.select(*[kept[k].name(f"_{k}") for k in keys], _user=kept.user_id, value2=kept.value)
    j = kept.inner_join(other, [*(kept[k] == other[f"_{k}"] for k in keys), kept.user_id == other._user])
    out = j.group_by([*keys, "value", "value2"]).aggregate(touched=j.count(), advanced=j.adv.sum())
    return out.mutate(typical_days=ibis.null().cast("int64"), cohort=ibis.null().cast("int64"),
                      cohort_advanced=ibis.null().cast("int64"))


def member_touches(
    events: ibis.Table,
    timeline: ibis.Table,
    brand: str,
    dims: Sequence[str],
    advances: Sequence[tuple[str, str]],
    *,
    within_days: int = 7,
    horizon_days: int = 30,
    start: dt.date | None = None,
    end: dt.date | None = None,
) -> ibis.Table:
    """One row per (advance, dimension, value, cohort member touched by it in their window).

    Columns ``from_stage``, ``to_stage``, ``dimension``, ``value``, ``user_id``, ``adv``
    (1: advanced), ``typical_days``, ``cohort``, ``cohort_advanced``. Arguments as for
    :func:`advance_counts`.
    """
    t = touches(events, brand, dims)
    parts = []
    for from_stage, to_stage in advances:
        c = cohort(timeline, brand, from_stage, to_stage, horizon_days=horizon_days, within_days=within_days,
                   start=start, end=end)
        size = c.aggregate(cohort=c.count(), cohort_advanced=c.adv.sum().fill_null(0))
        j = t.inner_join(c, [t.user_id == c.user_id, t.day >= c.win_start, t.day <= c.win_end])
        per_user = j.group_by(["dimension", "value", t.user_id]).aggregate(adv=j.adv.max(), typical_days=j.typical_days.max())
        per_user = per_user.cross_join(size).mutate(from_stage=ibis.literal(from_stage), to_stage=ibis.literal(to_stage))
        parts.append(per_user.select("from_stage", "to_stage", "dimension", "value", "user_id", "adv",
                                     "typical_days", "cohort", "cohort_advanced"))
    return reduce(lambda a, b: a.union(b, distinct=False), parts)


# --- over a view ------------------------------------------------------------------------------

_CONTENT_TYPES = {
    "touched": "int64", "advanced": "int64", "brand_touched": "int64", "brand_advanced": "int64",
    "rank": "int64", "rate": "float64", "rate_low": "float64", "rate_high": "float64",
    "brand_rate": "float64", "lift": "float64", "lift_low": "float64", "lift_high": "float64",
    "supported": "boolean", "significant": "boolean", "cohort": "int64", "cohort_advanced": "int64",
    "typical_days": "int64", "incremental": "float64", "incremental_low": "float64",
    "incremental_high": "float64",
}
"""Types of the content tables' columns (text unless listed)."""


def _table(df: pd.DataFrame) -> ibis.Table:
    return memtable(df, {c: _CONTENT_TYPES.get(str(c), "string") for c in df.columns})


def _content_frame(view: View, brand, advances, dims, within_days, horizon_days, start, end,
                   min_support, alpha, adjusted=True) -> pd.DataFrame:
    within_days, horizon_days = int(within_days), int(horizon_days)
    if within_days < 0 or horizon_days < 0:
        raise ConfigError(f"within_days and horizon_days must be >= 0, got {within_days}, {horizon_days}")
    start = as_date(start, "start") if start is not None else None
    end = as_date(end, "end") if end is not None else view.last_day() - dt.timedelta(days=horizon_days)
    tl = view.timelines(level="brand")
    # the brand's timelines are read by every advance's cohort, the members' touches by every
    # count (the values, the totals, the co-touches): each computed once (Spark inlines a
    # shared subquery: on the REES46 sample the section took 64 s on local[2], 19 s cached)
    with cache(tl.filter(tl.brand == brand)) as cached, \
            cache(member_touches(view.events, cached, brand, dims, advances, within_days=within_days,
                                 horizon_days=horizon_days, start=start, end=end)) as per_user:
        counts = member_counts(per_user, cotouch=adjusted, min_support=min_support).to_pandas()
    df = insight_frame(counts, brand, min_support=min_support, alpha=alpha, order=dims)
    if "note" in dims:
        df = _with_note_details(view, df, brand)
    return df


def _with_note_details(view: View, df: pd.DataFrame, brand: str) -> pd.DataFrame:
    ev = view.events
    ev = ev.filter((ev.brand == brand) & ev.note_id.notnull())
    notes = ev.group_by(ev.note_id).aggregate(
        content_format=ev.content_format.max(), creator_id=ev.creator_id.max(), channel=ev.channel.max()
    ).to_pandas()
    notes = notes.rename(columns={"note_id": "value"}).assign(dimension="note")
    return df.merge(notes, on=["dimension", "value"], how="left").replace({float("nan"): None})


def content_insight(
    view: View,
    brand: str,
    advance: str = "I->TI",
    by: str | Sequence[str] = "format",
    within_days: int = 7,
    *,
    horizon_days: int = 30,
    start: Any = None,
    end: Any = None,
    min_support: int = 30,
    alpha: float = 0.05,
    adjusted: bool = True,
) -> ibis.Table:
    """Per note, format, creator or keyword: users touched at the advance's from-stage,
    users advancing within ``within_days`` after a touch, the rate with its Wilson
    interval, and its lift over the brand's average.

    Args:
        view: the store as the model reads it.
        brand: the brand.
        advance: ``A->I``, ``I->TI``, ``TI->P``, ``P->S`` (``I-TI`` works too), several
            (a list or comma-separated text), or ``all`` (the four adjacent advances).
        by: ``note``, ``format``, ``creator``, ``keyword``, ``channel``, ``campaign``
            (or several, as a list or comma-separated text).
        within_days: k: touches on the advance day or the k days before count.
        horizon_days: days after reaching the from-stage within which an advance counts.
        start, end: days users first reach the from-stage (default: all, up to the last
            day with events minus the horizon, so everyone is followed for the horizon).
        min_support: touched users a value needs to be ``supported`` (rank first).
        alpha: level of the intervals.
        adjusted: also estimate each supported value's ``incremental`` advance
            probability with the other values' touches held fixed
            (:func:`aips.insight.content_stats.incremental_effects`): one query either way.

    Returns:
        The columns of :data:`COLUMNS`, then ``incremental``, ``incremental_low``,
        ``incremental_high`` when adjusted (plus ``content_format``, ``creator_id``,
        ``channel`` for notes), ordered by advance, dimension and rank (supported first,
        then lift). Semantics: the module docstring.
    """
    dims = check_dimensions(as_list(by) or [])
    if not dims:
        raise ConfigError("content_insight needs at least one dimension (by=)")
    if isinstance(advance, str) and advance.strip().lower() == "all":
        advances = list(ADVANCES)
    else:
        advances = [parse_advance(a) for a in as_list(advance) or []]
    df = _content_frame(view, brand, advances, dims, within_days, horizon_days, start, end,
                        min_support, alpha, adjusted)
    return _table(df)


def content_strategy(
    view: View,
    brand: str,
    by: str | Sequence[str] = ("format", "keyword"),
    within_days: int = 7,
    *,
    top: int = 5,
    horizon_days: int = 30,
    start: Any = None,
    end: Any = None,
    min_support: int = 30,
    alpha: float = 0.05,
) -> ibis.Table:
    """The content-strategy table: per stage (A, I, TI, P: the stage users move out of)
    and dimension, the ``top`` values whose touches are followed by the next advance
    more often than the brand's average (supported, lift > 1, best first).

    S is the last stage: there is nothing to advance to, so it has no row.
    """
    dims = check_dimensions(as_list(by) or [])
    df = _content_frame(view, brand, list(ADVANCES), dims, within_days, horizon_days, start, end,
                        min_support, alpha)
    return _table(strategy_frame(df, top=top))


def search_share(view: View, brand: str | None = None, start: Any = None, end: Any = None,
                 category: str | None = None) -> ibis.Table:
    """Search share of voice: each brand's searches among its category's searches.

    Defaults: the 30 days (the audience window) up to the last day with events; all
    brands (only ``brand``'s category when given, or ``category``). Columns: see
    :func:`aips.insight.search.search_share_table`.
    """
    from aips.engine.penetration import audience_window_days, brand_categories
    from aips.insight.search import search_share_table

    end = as_date(end, "end") if end is not None else view.last_day()
    start = (as_date(start, "start") if start is not None
             else end - dt.timedelta(days=audience_window_days(view.model) - 1))
    cats = brand_categories(view.audience_events(end), view.model, end)
    if brand is not None and category is None:
        found = cats.filter(cats.brand == brand).category.to_pyarrow().to_pylist()
        category = found[0] if found else None
        if category is None:
            raise ConfigError(f"brand {brand!r} has no category up to {end}")
    if category is not None:
        cats = cats.filter(cats.category == category)
    return search_share_table(view.events_between(start, end), cats, start, end)
