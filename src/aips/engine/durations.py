"""Durations and per-campaign sums in the backend: the small tables outcomes are fitted on.

**Decision-cycle durations** (:func:`cycle_durations`). For one category, per (user, brand)
with an event of that category: ``start`` is the local date of the pair's first event of
the category (``first_touch``) or a given start day per pair (the first TI day, from the
stage engine); ``end`` is the local date of the pair's first purchase of the category on or
after ``start``. The duration is ``end - start`` in whole local days (0 = bought on the
day of the start); a pair with no such purchase is **censored** at the last local day in
the store (its duration is ``last_day - start``). :func:`km_table` counts pairs per
distinct duration: ``(duration, purchases, censored)``, the input of
:class:`aips.analytics.decision_cycle.DecisionCycleFitter`.

**Campaign sums** (:func:`campaign_touches`, :func:`campaign_revenue_by_day`,
:func:`holdout_groups`). Touched users of a campaign are users with any event carrying its
``campaign_id``; their first touch is the earliest such event. Attributed revenue counts the
touched users' purchases of the campaign's brand on local dates ``T .. T + x`` (both
included) made at or after their first touch (``ts`` compared). The holdout comparison
sums revenue (and a pre-launch covariate) per user by group (see :func:`holdout_groups`).

Day differences use the portable ``date.delta(date, unit="day")`` (ENGINE-NOTES #2).
Nothing executes here.

>>> import datetime as dt, ibis
>>> ev = ibis.memtable({"user_id": ["u", "u", "v"], "brand": ["b", "b", "b"],
...     "category": ["c"] * 3, "event_type": ["read", "purchase", "read"],
...     "local_date": [dt.date(2024, 1, 1), dt.date(2024, 1, 4), dt.date(2024, 1, 2)]})
>>> km_table(cycle_durations(ev, "c")).order_by("duration").to_pyarrow().to_pylist()
[{'duration': 2, 'purchases': 0, 'censored': 1}, {'duration': 3, 'purchases': 1, 'censored': 0}]
"""

from __future__ import annotations

import datetime as dt

import ibis

from aips.config.model import NO_CATEGORY, PURCHASE_EVENT


def last_local_day(events: ibis.Table) -> ibis.Scalar:
    """The last local day with any event in the store (the censoring day)."""
    return events.local_date.max()


def category_is(column: ibis.Column, category: str | None) -> ibis.BooleanColumn:
    """``column == category``; the null category when ``category`` is None or
    :data:`~aips.config.model.NO_CATEGORY` (events without a category are one category)."""
    if category is None or category == NO_CATEGORY:
        return column.isnull()
    return column == category


def cycle_durations(
    events: ibis.Table,
    category: str,
    *,
    starts: ibis.Table | None = None,
    brand: str | None = None,
    last_day: dt.date | ibis.Scalar | None = None,
    purchase_event: str = PURCHASE_EVENT,
) -> ibis.Table:
    """Per (user, brand) of a category: start, end, duration in days and whether bought.

    Args:
        events: the ``events`` table.
        category: the category (events' ``category``).
        starts: ``(user_id, brand, start_date)`` to use instead of the first event (e.g. the
            first TI day); pairs absent from it are left out.
        brand: only this brand.
        last_day: the censoring day (default: the last local day of ``events``).
        purchase_event: the event type of a purchase (the model's ``purchase_event``).

    Returns:
        ``user_id``, ``brand``, ``start_date``, ``end_date`` (first purchase on or after the
        start, null when none), ``duration`` (int64 days), ``purchased`` (bool).
    """
    ev = events.filter(category_is(events.category, category))
    if brand is not None:
        ev = ev.filter(ev.brand == brand)
    if last_day is None:
        last_day = last_local_day(events)
    elif isinstance(last_day, dt.date):
        last_day = ibis.literal(last_day)
    if starts is None:
        pairs = ev.group_by(["user_id", "brand"]).aggregate(start_date=ev.local_date.min())
    else:
        pairs = starts.select("user_id", "brand", start_date=starts.start_date.cast("date"))
        seen = ev.select(_u=ev.user_id, _b=ev.brand).distinct()
        pairs = pairs.semi_join(seen, [pairs.user_id == seen._u, pairs.brand == seen._b])
    return _to_first_purchase(ev, pairs, ["user_id", "brand"], last_day, purchase_event)


def cycle_durations_by_category(
    events: ibis.Table,
    categories: list[str],
    *,
    last_day: dt.date | ibis.Scalar | None = None,
    purchase_event: str = PURCHASE_EVENT,
) -> ibis.Table:
    """:func:`cycle_durations` (``first_touch``, every brand) of several categories in one
    pass over ``events``, with a ``category`` column first: the rows of each category are
    that category's durations (a pair's start and first purchase are its category's).

    >>> import datetime as dt, ibis
    >>> ev = ibis.memtable({"user_id": ["u", "u", "v"], "brand": ["b"] * 3,
    ...     "category": ["c", "c", "d"], "event_type": ["read", "purchase", "read"],
    ...     "local_date": [dt.date(2024, 1, 1), dt.date(2024, 1, 4), dt.date(2024, 1, 2)]})
    >>> t = km_table_by_category(cycle_durations_by_category(ev, ["c", "d"]))
    >>> t.order_by("category").to_pyarrow().to_pylist()  # doctest: +NORMALIZE_WHITESPACE
    [{'category': 'c', 'duration': 3, 'purchases': 1, 'censored': 0},
     {'category': 'd', 'duration': 2, 'purchases': 0, 'censored': 1}]
    """
    if last_day is None:
        last_day = last_local_day(events)
    elif isinstance(last_day, dt.date):
        last_day = ibis.literal(last_day)
    ev = events.filter(events.category.isin(list(categories)))
    keys = ["category", "user_id", "brand"]
    pairs = ev.group_by(keys).aggregate(start_date=ev.local_date.min())
    return _to_first_purchase(ev, pairs, keys, last_day, purchase_event)


def _to_first_purchase(ev: ibis.Table, pairs: ibis.Table, keys: list[str], last_day,
                       purchase_event: str) -> ibis.Table:
    """``pairs`` (``keys``, ``start_date``) with their first purchase in ``ev`` on or after
    the start, the duration to it (or to ``last_day``: censored) and ``purchased``."""
    buys = ev.filter(ev.event_type == purchase_event).select(
        **{f"_{k}": ev[k] for k in keys}, _d=ev.local_date
    )
    j = pairs.left_join(
        buys, [*(pairs[k] == buys[f"_{k}"] for k in keys), buys._d >= pairs.start_date]
    )
    firsts = j.group_by([*keys, "start_date"]).aggregate(end_date=j._d.min())
    end = ibis.coalesce(firsts.end_date, last_day)
    return firsts.select(
        *keys,
        "start_date",
        "end_date",
        duration=end.delta(firsts.start_date, unit="day").cast("int64"),
        purchased=firsts.end_date.notnull(),
    ).filter(lambda t: t.duration >= 0)


def km_table(durations: ibis.Table) -> ibis.Table:
    """Pairs per distinct duration: ``duration``, ``purchases``, ``censored`` (int64)."""
    return km_table_by_category(durations, by=[])


def km_table_by_category(durations: ibis.Table, by: list[str] | None = None) -> ibis.Table:
    """:func:`km_table` per ``by`` (default ``category``): ``category``, ``duration``,
    ``purchases``, ``censored``."""
    by = ["category"] if by is None else by
    return durations.group_by([*by, "duration"]).aggregate(
        purchases=durations.count(where=durations.purchased).cast("int64"),
        censored=durations.count(where=~durations.purchased).cast("int64"),
    )


# --- campaigns ---------------------------------------------------------------------------------


def campaign_touches(events: ibis.Table, campaign_id: str) -> ibis.Table:
    """Touched users of a campaign: ``user_id``, ``first_touch_ts``, ``first_touch_date``."""
    return campaigns_touches(events, [campaign_id]).drop("campaign_id")


def campaigns_touches(events: ibis.Table, campaign_ids: list[str]) -> ibis.Table:
    """:func:`campaign_touches` of several campaigns from one pass over ``events``:
    ``campaign_id``, ``user_id``, ``first_touch_ts``, ``first_touch_date``.

    >>> import datetime as dt, ibis
    >>> ev = ibis.memtable({"user_id": ["u", "u", "v"], "campaign_id": ["c", "d", "c"],
    ...     "ts": [dt.datetime(2024, 1, d) for d in (3, 1, 2)],
    ...     "local_date": [dt.date(2024, 1, d) for d in (3, 1, 2)]})
    >>> t = campaigns_touches(ev, ["c", "d"]).order_by(["campaign_id", "user_id"])
    >>> [(r["campaign_id"], r["user_id"], r["first_touch_date"].day) for r in t.to_pyarrow().to_pylist()]
    [('c', 'u', 3), ('c', 'v', 2), ('d', 'u', 1)]
    """
    ev = events.filter(events.campaign_id.isin(list(campaign_ids)))
    return ev.group_by(["campaign_id", "user_id"]).aggregate(
        first_touch_ts=ev.ts.min(), first_touch_date=ev.local_date.min()
    )


def attributed_purchases(
    events: ibis.Table, touches: ibis.Table, brand: str, T: dt.date, last: dt.date,
    purchase_event: str = PURCHASE_EVENT,
) -> ibis.Table:
    """Touched users' purchases (``purchase_event`` rows) of ``brand`` on local dates
    ``T .. last``, at or after their first touch: ``user_id``, ``offset`` (days since T),
    ``amount`` (null as 0)."""
    buys = events.filter(
        (events.event_type == purchase_event)
        & (events.brand == brand)
        & events.local_date.between(T, last)
    )
    j = buys.join(touches, buys.user_id == touches.user_id)
    j = j.filter(j.ts >= j.first_touch_ts)
    return j.select(
        user_id=j.user_id,
        offset=j.local_date.delta(ibis.literal(T), unit="day").cast("int64"),
        amount=j.amount.fill_null(0.0).cast("float64"),
    )


def campaign_revenue_by_day(purchases: ibis.Table) -> ibis.Table:
    """Per day offset: ``offset``, ``revenue``, ``orders`` and ``new_purchasers`` (users
    whose first attributed purchase falls on that day), from :func:`attributed_purchases`."""
    firsts = purchases.group_by("user_id").aggregate(first=purchases.offset.min())
    newp = firsts.group_by(offset=firsts.first).aggregate(new_purchasers=firsts.count())
    days = purchases.group_by("offset").aggregate(
        revenue=purchases.amount.sum(), orders=purchases.count()
    )
    j = days.left_join(newp, days.offset == newp.offset)
    return j.select(
        offset=days.offset,
        revenue=j.revenue,
        orders=j.orders.cast("int64"),
        new_purchasers=j.new_purchasers.fill_null(0).cast("int64"),
    )


def first_reached_in_window(
    firsts: ibis.Table, touches: ibis.Table, brand: str, T: dt.date, last: dt.date
) -> ibis.Scalar:
    """Touched users whose ``first_date`` (for ``brand``) is in ``T .. last`` and on or after
    their first-touch day: the count of "new" users of a stage."""
    f = firsts.filter((firsts.brand == brand) & firsts.first_date.between(T, last))
    j = f.join(touches, f.user_id == touches.user_id)
    j = j.filter(j.first_date >= j.first_touch_date)
    return j.user_id.nunique()


def holdout_population(
    events: ibis.Table,
    users: ibis.Table,
    category: str | None,
    T: dt.date,
    lookback_days: int | None,
) -> ibis.Table:
    """Every user of the ``users`` table with a known ``holdout``, and a pre-launch covariate.

    Returns ``user_id``, ``holdout``, ``x``: the user's number of events of ``category`` (any
    brand) on local dates ``T - lookback_days .. T - 1`` (0 without a category or lookback), a
    covariate for the contrast. The campaign cannot have caused it, but earlier paid
    campaigns can (the holdout never sees any), so it is a fair covariate only when none ran
    in the lookback.
    """
    u = users.filter(users.holdout.notnull()).select("user_id", holdout=users.holdout.cast("boolean"))
    if not lookback_days or category is None:
        return u.mutate(x=ibis.literal(0.0))
    lo = T - dt.timedelta(days=int(lookback_days))
    pre = events.filter(
        (events.category == category) & events.local_date.between(lo, T - dt.timedelta(days=1))
    )
    act = pre.group_by(_u=pre.user_id).aggregate(_n=pre.count())
    j = u.left_join(act, u.user_id == act._u)
    return j.select("user_id", "holdout", x=j._n.fill_null(0).cast("float64"))


def holdout_groups(
    events: ibis.Table, population: ibis.Table, brand: str, T: dt.date, last: dt.date,
    purchase_event: str = PURCHASE_EVENT,
) -> ibis.Table:
    """Per group (``holdout``): ``n`` and the sums ``sum_y``, ``sum_y2``, ``sum_x``, ``sum_x2``,
    ``sum_xy`` of revenue y and covariate x over the users of :func:`holdout_population`.

    y is the user's revenue from ``brand`` on local dates ``T .. last`` (0 when they bought
    nothing), whoever touched them; so group means are revenue per user.
    """
    buys = events.filter(
        (events.event_type == purchase_event) & (events.brand == brand)
        & events.local_date.between(T, last)
    )
    per = buys.group_by(_u=buys.user_id).aggregate(rev=buys.amount.fill_null(0.0).sum())
    j = population.left_join(per, population.user_id == per._u)
    j = j.select(holdout=j.holdout, y=j.rev.fill_null(0.0).cast("float64"), x=j.x.cast("float64"))
    return j.group_by("holdout").aggregate(
        n=j.count().cast("int64"),
        sum_y=j.y.sum(),
        sum_y2=(j.y * j.y).sum(),
        sum_x=j.x.sum(),
        sum_x2=(j.x * j.x).sum(),
        sum_xy=(j.x * j.y).sum(),
    )


def campaign_holdout_groups(
    events: ibis.Table, holdouts: ibis.Table, campaign: str, brand: str, T: dt.date,
    last: dt.date, purchase_event: str = PURCHASE_EVENT,
) -> ibis.Table:
    """Per group (``holdout``) of a campaign's per-campaign holdout: ``n``, ``sum_y``,
    ``sum_y2`` (and zero covariate sums, the shape of :func:`holdout_groups`).

    The population is the users the ``campaign_holdouts`` table lists for ``campaign`` with
    a first (would-be) exposure on or before ``last``; y is a user's revenue from ``brand``
    on local dates ``max(T, first_date) .. last`` (0 when none). Whether and when a user is
    first targeted is settled before the campaign can act on them, so both groups are
    alike but for this campaign, and purchases before the first exposure (noise, the same
    in both groups) are left out.

    >>> import datetime as dt, ibis
    >>> ev = ibis.memtable({"user_id": ["e", "e", "h"], "brand": ["b"] * 3,
    ...     "event_type": ["purchase"] * 3, "amount": [5.0, 30.0, 10.0],
    ...     "local_date": [dt.date(2024, 1, 1), dt.date(2024, 1, 3), dt.date(2024, 1, 3)]})
    >>> h = ibis.memtable({"campaign_id": ["c"] * 3, "user_id": ["e", "h", "f"],
    ...     "holdout": [False, True, False], "first_date": [dt.date(2024, 1, 2)] * 3})
    >>> g = campaign_holdout_groups(ev, h, "c", "b", dt.date(2024, 1, 1), dt.date(2024, 1, 10))
    >>> sorted((r["holdout"], r["n"], r["sum_y"]) for r in g.to_pyarrow().to_pylist())
    [(False, 2, 30.0), (True, 1, 10.0)]
    """
    h = holdouts
    pop = h.filter((h.campaign_id == campaign) & h.holdout.notnull()
                   & (h.first_date.isnull() | (h.first_date <= last)))
    pop = pop.select("user_id", holdout=pop.holdout.cast("boolean"),
                     since=ibis.greatest(pop.first_date.fill_null(T), ibis.literal(T)))
    buys = events.filter(
        (events.event_type == purchase_event) & (events.brand == brand)
        & events.local_date.between(T, last)
    )
    jb = buys.join(pop, buys.user_id == pop.user_id)
    jb = jb.filter(jb.local_date >= jb.since)
    per = jb.group_by(_u=jb.user_id).aggregate(rev=jb.amount.fill_null(0.0).sum())
    j = pop.left_join(per, pop.user_id == per._u)
    j = j.select(holdout=j.holdout, y=j.rev.fill_null(0.0).cast("float64"))
    zero = ibis.literal(0.0)
    return j.group_by("holdout").aggregate(
        n=j.count().cast("int64"), sum_y=j.y.sum(), sum_y2=(j.y * j.y).sum(),
        sum_x=zero, sum_x2=zero, sum_xy=zero,
    )
