"""What the planner learns from: daily stage advances and daily spend, per brand.

Per-event work stays in the backend: :func:`daily_advances` builds the first day each
(user, brand) reached I, TI and P from the stage timelines, and counts them per brand, day
and holdout group; :func:`daily_impressions` counts paid impressions per campaign and day
(tables whose size grows with days, brands and campaigns, not with users or events).
Campaign spend is spread evenly over each campaign's flight (:func:`daily_spend`).

>>> import pandas as pd
>>> camps = pd.DataFrame({"brand": ["b"], "channel": ["feed_ad"], "spend": [300.0],
...     "start_date": [pd.Timestamp("2024-01-01")], "end_date": [pd.Timestamp("2024-01-03")]})
>>> daily_spend(camps)["spend"].tolist()
[100.0, 100.0, 100.0]
"""

from __future__ import annotations

import datetime as dt

import ibis
import pandas as pd

from aips.engine.timelines import first_reached
from aips.exceptions import ConfigError
from aips.view import View

ADVANCES = ("I", "TI", "P")
"""Stages whose first day counts as an advance into them (A->I, I->TI, TI->P)."""
TRANSITIONS = ("A->I", "I->TI", "TI->P")
"""The transitions the planner models, in :data:`ADVANCES` order."""


def daily_advances(view: View, brands: list[str]) -> pd.DataFrame:
    """Pairs first reaching I, TI and P per ``brand, date, holdout, stage`` (column ``users``),
    for ``brands``; ``holdout`` is False everywhere when the store has no ``users`` table."""
    tl = view.timelines(level="brand")
    tl = tl.filter(tl.brand.isin(brands))
    parts = []
    for stage in ADVANCES:
        first = first_reached(tl, stage)
        parts.append(first.mutate(stage=ibis.literal(stage)))
    firsts = ibis.union(*parts)
    users = view.optional("users")
    if users is not None and "holdout" in users.columns:
        hold = users.select("user_id", holdout=users.holdout.fill_null(False))
        firsts = firsts.left_join(hold, "user_id").select(
            "brand", "stage", date=firsts.first_date, holdout=ibis._.holdout.fill_null(False))
    else:
        firsts = firsts.select("brand", "stage", date=firsts.first_date, holdout=ibis.literal(False))
    agg = firsts.group_by(["brand", "date", "holdout", "stage"]).aggregate(users=firsts.count())
    return agg.to_pandas()


def daily_impressions(view: View, brands: list[str]) -> pd.DataFrame:
    """Paid impressions per ``brand, channel, campaign_id, date`` (column ``impressions``):
    what each campaign delivered each day, for ``brands``."""
    ev = view.events
    imp = ev.filter((ev.event_type == "impression") & ev.campaign_id.notnull() & ev.brand.isin(brands))
    agg = imp.group_by(["brand", "channel", "campaign_id", imp.local_date.name("date")]).aggregate(
        impressions=imp.count())
    return agg.order_by(["brand", "campaign_id", "date"]).to_pandas()


def group_sizes(view: View) -> tuple[int, int]:
    """Users outside and inside the holdout (``users`` table); (0, 0) without one."""
    users = view.optional("users")
    if users is None or "holdout" not in users.columns:
        return 0, 0
    row = users.aggregate(n=users.count(), h=users.holdout.fill_null(False).cast("int64").sum()).to_pandas()
    n, h = int(row.n.iloc[0]), int(row.h.iloc[0] or 0)
    return n - h, h


def campaigns(view: View, brands: list[str] | None = None) -> pd.DataFrame:
    """The ``campaigns`` table (one row per campaign: small), optionally for some brands."""
    camps = view.optional("campaigns")
    if camps is None:
        raise ConfigError("the planner needs a campaigns table (campaign_id, brand, channel, "
                          "start_date, end_date, spend); ingest campaigns.csv first")
    if brands is not None:
        camps = camps.filter(camps.brand.isin(brands))
    return camps.select("campaign_id", "brand", "category", "channel", "start_date", "end_date", "spend").to_pandas()


def daily_spend(camps: pd.DataFrame) -> pd.DataFrame:
    """Spend per ``brand, channel, date``, each campaign's spread evenly over its flight."""
    rows = []
    for c in camps.itertuples(index=False):
        start, end = pd.Timestamp(c.start_date).date(), pd.Timestamp(c.end_date).date()
        days = (end - start).days + 1
        if days <= 0 or not c.spend:
            continue
        for i in range(days):
            rows.append((c.brand, c.channel, start + dt.timedelta(days=i), float(c.spend) / days))
    out = pd.DataFrame(rows, columns=["brand", "channel", "date", "spend"])
    return out.groupby(["brand", "channel", "date"], as_index=False)["spend"].sum()
