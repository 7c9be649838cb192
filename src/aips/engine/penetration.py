"""Penetration and the competitor ranking within each category.

* A brand's **category** is the category most of its events carry within the audience
  window (ties: the alphabetically first), so a brand is compared with its own market.
* The **category audience** at day d: distinct users with any event of the category (any
  brand) on local dates d-W+1..d, W the longest of the A, I and TI windows (30 days by
  default; a ``cycle`` window counts as the model's default cycle).
* **Penetration** of a brand: its AIPS users (any stage at d) / its category audience.
  P and S windows are longer than W, so a brand can keep buyers who left the audience
  window; penetration can then exceed what the audience alone would allow. It is
  reported as is, with both counts beside it.
* **Competitors**: per category, brands ranked by TI users and by I+TI users (rank 1 is the
  largest; ties share a rank), with ``ti_share`` = brand TI / the sum of TI over the
  category's brands (shares sum to 1, like a market share) and ``ti_reach`` = brand TI /
  distinct users at TI of any brand of the category.

All functions build Ibis expressions; nothing executes here.
"""

from __future__ import annotations

import datetime as dt

import ibis

from aips.config.model import Model


def audience_window_days(model: Model) -> int:
    """W: the longest of the A, I and TI windows (``cycle`` counts as the default cycle)."""
    days = []
    for stage in ("A", "I", "TI"):
        for counter in model.rules[stage].names:
            window = model.stage_window(stage, counter)
            days.append(model.default_cycle_days if window == "cycle" else int(window))
    return max(days) if days else 30


def _window(events: ibis.Table, at: dt.date, days: int) -> ibis.Table:
    start = at - dt.timedelta(days=days - 1)
    return events.filter(events.local_date.between(start, at))


def brand_categories(events: ibis.Table, model: Model, at: dt.date) -> ibis.Table:
    """Each brand's main category within the audience window: ``brand``, ``category``.

    >>> import datetime as dt, ibis
    >>> from aips.config.model import default_model
    >>> ev = ibis.memtable({"brand": ["a", "a", "a", "b"], "category": ["x", "x", "y", None],
    ...                     "local_date": [dt.date(2024, 1, 1)] * 4})
    >>> brand_categories(ev, default_model(), dt.date(2024, 1, 1)).order_by("brand").to_pyarrow().to_pylist()
    [{'brand': 'a', 'category': 'x'}, {'brand': 'b', 'category': None}]
    """
    win = _window(events, at, audience_window_days(model))
    counts = win.group_by(["brand", "category"]).aggregate(n=win.count())
    ranked = counts.mutate(
        r=ibis.row_number().over(
            group_by=counts.brand,
            order_by=[ibis.desc(counts.n), counts.category.isnull(), counts.category],
        )
    )
    return ranked.filter(ranked.r == 0).select("brand", "category")


def category_audience(events: ibis.Table, model: Model, at: dt.date) -> ibis.Table:
    """Distinct users with any event of each category in the window: ``category``, ``audience``."""
    win = _window(events, at, audience_window_days(model))
    return win.group_by("category").aggregate(audience=win.user_id.nunique())


def penetration(events: ibis.Table, snapshot: ibis.Table, model: Model, at: dt.date) -> ibis.Table:
    """Per brand: ``brand``, ``category``, ``aips_users``, ``ti_users``, ``category_audience``,
    ``penetration`` (aips_users / category_audience) and ``ti_penetration``.

    Args:
        events: the canonical events.
        snapshot: the brand-level snapshot at ``at`` (``user_id``, ``brand``, ``stage``).
        model: the model (for the audience window).
        at: the local date.
    """
    per_brand = snapshot.group_by("brand").aggregate(
        aips_users=snapshot.count(), ti_users=snapshot.count(where=snapshot.stage == "TI")
    )
    cats = brand_categories(events, model, at)
    aud = category_audience(events, model, at)
    out = per_brand.left_join(cats, "brand").drop("brand_right")
    out = out.left_join(aud, out.category.identical_to(aud.category)).drop("category_right")
    out = out.mutate(category_audience=out.audience.fill_null(0)).drop("audience")
    denom = ibis.ifelse(out.category_audience > 0, out.category_audience, ibis.null()).cast("float64")
    return out.mutate(
        penetration=out.aips_users / denom,
        ti_penetration=out.ti_users / denom,
    ).order_by([out.category, ibis.desc(out.aips_users), out.brand])


def competitors(
    events: ibis.Table,
    snapshot: ibis.Table,
    model: Model,
    at: dt.date,
    category: str | None = None,
) -> ibis.Table:
    """The category ranking of brands by TI and by I+TI.

    Returns ``category``, ``brand``, ``aips_users``, ``i_users``, ``ti_users``,
    ``i_ti_users``, ``ti_rank``, ``i_ti_rank``, ``ti_share``, ``ti_reach``,
    ``category_ti_users``; only ``category`` when given.
    """
    cats = brand_categories(events, model, at)
    snap = snapshot.inner_join(cats, "brand")
    if category is not None:
        snap = snap.filter(snap.category == category)
    per_brand = snap.group_by(["category", "brand"]).aggregate(
        aips_users=snap.count(),
        i_users=snap.count(where=snap.stage == "I"),
        ti_users=snap.count(where=snap.stage == "TI"),
    )
    per_brand = per_brand.mutate(i_ti_users=per_brand.i_users + per_brand.ti_users)
    ti = snap.filter(snap.stage == "TI")
    distinct_ti = ti.group_by("category").aggregate(category_ti_users=ti.user_id.nunique())
    win = ibis.window(group_by=per_brand.category)
    per_brand = per_brand.mutate(
        ti_rank=ibis.rank().over(group_by=per_brand.category, order_by=ibis.desc(per_brand.ti_users)) + 1,
        i_ti_rank=ibis.rank().over(
            group_by=per_brand.category, order_by=ibis.desc(per_brand.i_ti_users)
        )
        + 1,
        _ti_total=per_brand.ti_users.sum().over(win),
    )
    out = per_brand.left_join(distinct_ti, per_brand.category.identical_to(distinct_ti.category))
    out = out.drop("category_right")
    out = out.mutate(category_ti_users=out.category_ti_users.fill_null(0))
    total = ibis.ifelse(out._ti_total > 0, out._ti_total, ibis.null()).cast("float64")
    reach_den = ibis.ifelse(out.category_ti_users > 0, out.category_ti_users, ibis.null()).cast("float64")
    return (
        out.mutate(ti_share=out.ti_users / total, ti_reach=out.ti_users / reach_den)
        .drop("_ti_total")
        .order_by([out.category, "ti_rank", "brand"])
    )
