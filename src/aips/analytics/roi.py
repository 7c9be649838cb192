r"""ROI(T+x) of a campaign, attributed and incremental, from small per-campaign sums.

**Attributed ROI(T+x)** (what platforms report as ROI(T+x)). T is the campaign's launch
day (``start_date``) and x the decision cycle of its category (configured, or estimated
with ``cycle: estimate``). Touched users are users with any event carrying the campaign's
id; revenue is the amount of their purchases of the campaign's brand on local dates
T .. T+x (both included) made at or after their first touch; ROI = revenue / spend. It
credits the campaign with everything its audience bought, including what they would have
bought anyway: it is **not causal**. ``curve_`` gives it for every x from 0 to 2 x the
cycle (cumulative revenue, purchasers and ROI by day).

**Incremental ROI** (where ``users.holdout`` exists: users never shown paid ads). An
intent-to-treat comparison over every user of the ``users`` table: the holdout is drawn at
random, so non-holdout users (E) and holdout users (H) are alike but for the ads. For each
user y = their revenue from the brand on T .. T+x (0 if none), whoever touched them; the
lift per user is the difference in means, and

.. math:: \Delta = \bar y_E - \bar y_H, \qquad
          \text{incremental revenue} = \Delta \cdot n_E, \qquad
          \text{iROI} = \Delta \, n_E / \text{spend}

Scaling the per-user lift to all non-holdout users is the same as scaling the effect on
the users actually touched (the lift divided by the share touched) to them. The interval
is analytic (Welch, normal): se(Δ) = sqrt(s²_E/n_E + s²_H/n_H), from the backend's
per-group n, sum and sum of squares of y (no per-user data leave the backend); the
interval of iROI is (Δ ± z se) n_E / spend.

Optionally (``lookback_days``) the lift is adjusted by a covariate x, the user's events in
the campaign's category in the days before T (CUPED, a regression adjustment):
Δ = (ȳ_E - ȳ_H) - θ (x̄_E - x̄_H), θ = (S_xy,E + S_xy,H) / (S_xx,E + S_xx,H) (S: centred
sums of products within each group), and s² is then the variance of y - θx. This is only
valid when *no paid campaign ran in the lookback*: the holdout is permanent, so earlier paid
exposure already separates the groups' x (ad impressions are events) and the adjustment
would be biased, which is why it is off by default.

Holdout users see *no* paid ad of any campaign, so the contrast measures every paid
campaign of the brand whose exposures can move purchases into T..T+x: those running in the
window and those that ended up to x days before T (a purchase at T+5 may follow an ad seen
at T-20). They are listed in ``incremental_["overlapping_campaigns"]`` (given to
:meth:`CampaignROI.fit`). Divided by *this* campaign's spend, the brand's joint lift can
exceed the revenue of everyone the campaign touched: on the demo world
``serava-search-ad-4`` (spend 57.5, 16 users touched) shows attributed ROI 27.76 and
incremental 91.60 (5,267 revenue) where the simulator's truth is 13.18 (758 revenue it
caused): the contrast also holds the lift of Serava's KOL and KOC flights running in its
window and of the feed-ad and search-ad flights that ended in the 29 days before T. Read
it as "the brand's paid media per unit of this campaign's spend" when the list is not
empty.

**Per-campaign incremental ROI** (where the store has a ``campaign_holdouts`` table with
rows for the campaign: every user the campaign targeted, with a random per-campaign
``holdout`` flag and the date of the first exposure they got or, held out, would have got;
a platform's ghost-ad log). The contrast is then the campaign's targeted users shown its
ads (E) vs its held-out users (H): same targeting, randomised, the brand's other campaigns
shown to both alike, so only this campaign separates them and ``overlapping_campaigns`` is
empty. Users first targeted after T+x are left out (nothing of the window can be theirs),
and y is the user's revenue from the brand on ``max(T, first_date) .. T+x``: whether and
when a user is first targeted is settled before the campaign acts on them, so dropping the
purchases before it removes noise, not effect. The formulas are those above (n_E: exposed
targeted users); ``incremental_["contrast"]`` says which contrast was used
(``campaign_holdout`` or ``brand_holdout``).

>>> import pandas as pd
>>> daily = pd.DataFrame({"offset": [0, 3], "revenue": [100.0, 50.0], "orders": [1, 1],
...                       "new_purchasers": [1, 1]})
>>> r = CampaignROI(x=3, curve_days=4).fit(daily, spend=100.0, touched_users=10)
>>> r.revenue_, r.roi_, r.purchasers_
(150.0, 1.5, 2)
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from typing import Any

import ibis
import numpy as np
import pandas as pd
from scipy import stats

from aips.analytics.base import Fitter
from aips.exceptions import AipsError, ConfigError
from aips.store.cache import materialised
from aips.view import View

ATTRIBUTED_NOTE = (
    "attributed: purchases of the touched users in T..T+x, at or after their first touch, over "
    "spend; credits all they bought, including what they would have bought anyway (not causal)"
)
INCREMENTAL_NOTE = (
    "incremental: holdout comparison (intent-to-treat over all users): extra revenue per "
    "non-holdout user x non-holdout users, over spend; causal, but it covers every paid "
    "campaign of the brand acting on T..T+x (running in it or ended up to x days before T: "
    "see overlapping_campaigns), so it can exceed the touched users' revenue"
)
CAMPAIGN_HOLDOUT_NOTE = (
    "incremental: per-campaign holdout: users this campaign targeted, shown its ads vs held "
    "out of it at random (the brand's other campaigns shown to both alike); extra revenue per "
    "exposed targeted user x exposed targeted users, over spend; causal, this campaign only"
)
CONTRASTS = ("campaign_holdout", "brand_holdout")
"""``incremental_["contrast"]``: the campaign's own holdout, or the brand-wide ``users.holdout``."""


def incremental_from_groups(groups: Any, spend: float, alpha: float = 0.05) -> dict[str, Any] | None:
    """The holdout contrast from per-group sums; None without two users in each group.

    ``groups`` has rows ``holdout``, ``n``, ``sum_y``, ``sum_y2`` and optionally ``sum_x``,
    ``sum_x2``, ``sum_xy`` (the covariate; without them the plain difference in means).
    """
    if hasattr(groups, "to_pandas"):
        groups = groups.to_pandas()
    rows = {bool(r["holdout"]): r for r in pd.DataFrame(groups).to_dict(orient="records")}
    if True not in rows or False not in rows:
        return None
    m = {}
    for key, name in ((False, "exposed"), (True, "holdout")):
        r = rows[key]
        n = int(r["n"])
        sy, syy = float(r["sum_y"]), float(r["sum_y2"])
        sx, sxx, sxy = (float(r.get(k) or 0.0) for k in ("sum_x", "sum_x2", "sum_xy"))
        if n < 2:
            return None
        m[name] = {
            "n": n, "y": sy / n, "x": sx / n,
            "Syy": syy - sy * sy / n, "Sxx": sxx - sx * sx / n, "Sxy": sxy - sx * sy / n,
        }
    e, h = m["exposed"], m["holdout"]
    sxx = e["Sxx"] + h["Sxx"]
    theta = (e["Sxy"] + h["Sxy"]) / sxx if sxx > 1e-12 else 0.0
    raw = e["y"] - h["y"]
    diff = raw - theta * (e["x"] - h["x"])

    def resid_var(g):
        return max(g["Syy"] - 2 * theta * g["Sxy"] + theta * theta * g["Sxx"], 0.0) / (g["n"] - 1)

    se = math.sqrt(resid_var(e) / e["n"] + resid_var(h) / h["n"])
    raw_se = math.sqrt(max(e["Syy"], 0) / (e["n"] - 1) / e["n"] + max(h["Syy"], 0) / (h["n"] - 1) / h["n"])
    z = float(stats.norm.ppf(1 - alpha / 2))
    n1 = e["n"]
    lo, hi = (diff - z * se) * n1, (diff + z * se) * n1
    return {
        "kind": "incremental",
        "exposed_users": n1,
        "holdout_users": h["n"],
        "exposed_revenue_per_user": e["y"],
        "holdout_revenue_per_user": h["y"],
        "lift_per_user": diff,
        "lift_per_user_se": se,
        "unadjusted_lift_per_user": raw,
        "unadjusted_se": raw_se,
        "covariate_theta": theta,
        "incremental_revenue": diff * n1,
        "incremental_revenue_ci": [lo, hi],
        "roi": diff * n1 / spend if spend else None,
        "roi_ci": [lo / spend, hi / spend] if spend else [None, None],
        "note": INCREMENTAL_NOTE,
    }


class CampaignROI(Fitter):
    """ROI(T+x) of one campaign from its daily attributed sums.

    Parameters:
        x: days after launch (the window is T .. T+x).
        curve_days: last day of the ROI curve (default 2 x).
        alpha: 1 - confidence level of the incremental interval.

    Attributes (after :meth:`fit`):
        revenue_, purchasers_, orders_, roi_: attributed figures at x.
        curve_: per day offset 0 .. curve_days: ``x``, ``revenue``, ``purchasers``, ``roi``.
        incremental_: the holdout contrast (dict, see :func:`incremental_from_groups`, with
            ``covariate`` and ``overlapping_campaigns`` as given to :meth:`fit`) or None.
        info_, spend_, touched_users_, new_p_, new_ti_, cost_per_new_ti_: the inputs kept.
    """

    _fitted_attributes = (
        "curve_", "info_", "spend_", "touched_users_", "revenue_", "orders_", "purchasers_",
        "roi_", "new_p_", "new_ti_", "cost_per_new_ti_", "incremental_",
    )

    def __init__(self, x: int, curve_days: int | None = None, alpha: float = 0.05):
        self.x = x
        self.curve_days = curve_days
        self.alpha = alpha

    def fit(
        self,
        daily: Any,
        *,
        spend: float,
        touched_users: int,
        new_p: int | None = None,
        new_ti: int | None = None,
        holdout_groups: Any = None,
        info: dict[str, Any] | None = None,
        covariate: str | None = None,
        overlapping_campaigns: Sequence[str] | None = None,
        contrast: str = "brand_holdout",
    ) -> CampaignROI:
        """Fit on ``(offset, revenue, orders, new_purchasers)`` rows; returns self.

        ``info`` (campaign id, T, ...) is kept as ``info_`` and leads :meth:`asdict`.
        ``covariate`` (what the holdout contrast was adjusted by, None: nothing) and
        ``overlapping_campaigns`` (other paid campaigns of the brand in T..T+x, None: not
        looked up) describe the contrast; with ``holdout_groups`` they close
        ``incremental_``. ``contrast`` names where the groups come from (``CONTRASTS``):
        ``campaign_holdout`` (this campaign's own holdout) or ``brand_holdout``.
        """
        if self.x is None or int(self.x) < 0:
            raise AipsError(f"x must be a whole number of days >= 0, got {self.x}")
        x = int(self.x)
        end = int(self.curve_days) if self.curve_days is not None else 2 * x
        end = max(end, x)
        if hasattr(daily, "to_pandas"):
            daily = daily.to_pandas()
        days = pd.DataFrame({"x": np.arange(end + 1)})
        d = pd.DataFrame(daily).rename(columns={"offset": "x"})
        d = days.merge(d, on="x", how="left").fillna(0)
        curve = pd.DataFrame(
            {
                "x": d.x.astype(int),
                "revenue": d.revenue.astype(float).cumsum(),
                "orders": d.orders.astype(int).cumsum(),
                "purchasers": d.new_purchasers.astype(int).cumsum(),
            }
        )
        spend = float(spend)
        curve["roi"] = curve.revenue / spend if spend > 0 else np.nan
        self.curve_ = curve
        at = curve.iloc[x]
        self.info_ = dict(info or {})
        self.spend_ = spend
        self.touched_users_ = int(touched_users)
        self.revenue_ = float(at.revenue)
        self.orders_ = int(at.orders)
        self.purchasers_ = int(at.purchasers)
        self.roi_ = float(at.roi) if spend > 0 else None
        self.new_p_ = new_p
        self.new_ti_ = new_ti
        self.cost_per_new_ti_ = spend / new_ti if new_ti else None
        incremental = (
            incremental_from_groups(holdout_groups, spend, self.alpha)
            if holdout_groups is not None
            else None
        )
        if contrast not in CONTRASTS:
            raise AipsError(f"contrast must be one of {', '.join(CONTRASTS)}, got {contrast!r}")
        if incremental is not None:
            if contrast == "campaign_holdout":
                incremental["note"] = CAMPAIGN_HOLDOUT_NOTE
            incremental["contrast"] = contrast
            incremental["covariate"] = covariate
            incremental["overlapping_campaigns"] = (
                list(overlapping_campaigns) if overlapping_campaigns is not None else None
            )
        self.incremental_ = incremental
        return self

    @property
    def summary_(self) -> dict[str, Any]:
        return {
            **self.info_,
            "x": int(self.x),
            "spend": self.spend_,
            "touched_users": self.touched_users_,
            "purchasers": self.purchasers_,
            "orders": self.orders_,
            "revenue": self.revenue_,
            "roi": self.roi_,
            "roi_kind": "attributed",
            "roi_note": ATTRIBUTED_NOTE,
            "new_p": self.new_p_,
            "new_ti": self.new_ti_,
            "cost_per_new_ti": self.cost_per_new_ti_,
        }

    def asdict(self) -> dict[str, Any]:
        out = dict(self.summary_)
        out["curve"] = self.curve_[["x", "revenue", "purchasers", "roi"]].to_dict(orient="records")
        if self.incremental_ is not None:
            out["incremental"] = self.incremental_
        return out


# --- from a view: one campaign's ROI(T+x) -------------------------------------------------------


def _rows(expr) -> list[dict[str, Any]]:
    return expr.to_pyarrow().to_pylist()


def configured_cycle(view: View, category: str | None) -> int:
    """A category's decision cycle in days: the model's, else the store's ``categories``."""
    model = view.model
    if category in model.categories or category is None:
        return model.cycle_days(category)
    cats = view.categories
    if cats is not None:
        hit = _rows(cats.filter(cats.category == category).select("decision_cycle_days"))
        if hit and hit[0]["decision_cycle_days"] is not None:
            return int(hit[0]["decision_cycle_days"])
    return model.default_cycle_days


def _horizon(view: View, category: str | None, x: int | None) -> tuple[int, int, str]:
    """``(x, cycle, x_source)``: x from the argument, else the (estimated) cycle."""
    from aips.analytics.decision_cycle import decision_cycle

    cycle, x_source = configured_cycle(view, category), "configured"
    if view.model.cycle == "estimate" and category is not None:
        est = decision_cycle(view, category, n_bootstrap=0).median_days_
        if est is not None:
            cycle, x_source = int(est), "estimated"
    if x is None:
        x = cycle
    else:
        x_source = "argument"
    x = int(x)
    if x < 0:
        raise ConfigError(f"x must be >= 0 days, got {x}")
    return x, cycle, x_source


def _new_stages(view: View, touches, brand: str, T: dt.date, win_end: dt.date) -> tuple[int, int]:
    """Touched users of the brand first reaching TI and P in T..win_end: ``(new_ti, new_p)``.

    One query: the first days come from :func:`aips.engine.reach.first_reach` over the
    touched users' rows of the brand (no stage sweep), or from the view's timelines when it
    caches them (the report, where they are built once for every section).
    """
    from aips.engine.reach import first_reach

    source = view.engine_source()
    source = source.filter(source.brand == brand).semi_join(touches, "user_id")
    timeline = None
    if view.cache:
        tl = view.timelines(level="brand")
        timeline = tl.filter(tl.brand == brand).semi_join(touches, "user_id")
    reach = first_reach(source, view.model, ["TI", "P"], categories=view.categories,
                        timeline=timeline)
    j = reach.join(touches, "user_id")

    def new(day):  # first reached in the window, on or after the user's first touch
        return day.between(T, win_end) & (day >= j.first_touch_date)

    counts = j.aggregate(ti=j.user_id.nunique(where=new(j.d_TI)),
                         p=j.user_id.nunique(where=new(j.d_P)))
    row = counts.to_pyarrow().to_pylist()[0]
    return int(row["ti"] or 0), int(row["p"] or 0)


def _holdout(view: View, c: dict, win_end: dt.date, lookback_days: int | None):
    """The holdout contrast's groups and the brand's other paid campaigns in the window."""
    from aips.engine import durations as du

    users = view.optional("users")
    if users is None or "holdout" not in users.columns:
        return None, []
    campaign, T, brand = c["campaign_id"], c["start_date"], c["brand"]
    camps = view.table("campaigns")
    pre = (view.events_between(T - dt.timedelta(days=int(lookback_days)), T - dt.timedelta(days=1))
           if lookback_days else view.events)
    population = du.holdout_population(pre, users, c["category"], T, lookback_days)
    groups = du.holdout_groups(view.events_between(T, win_end), population, brand, T, win_end,
                              view.model.purchase_event).to_pandas()
    # an exposure up to x days before T can still move a purchase into T..T+x (the holdout
    # sees none of it either), so campaigns that ended in T-x..T count as well as those running
    carry_from = T - (win_end - T)
    other = camps.filter(
        (camps.brand == brand) & (camps.campaign_id != campaign) & (camps.spend.fill_null(0) > 0)
        & (camps.start_date <= win_end) & (camps.end_date >= carry_from)
    )
    return groups, sorted(r["campaign_id"] for r in _rows(other.select("campaign_id")))


def _campaign_holdout(view: View, c: dict, win_end: dt.date):
    """The per-campaign holdout's groups, or None when ``campaign_holdouts`` has no
    rows for the campaign (then the brand-wide contrast is used)."""
    from aips.engine import durations as du

    table = view.optional("campaign_holdouts")
    if table is None:
        return None
    groups = du.campaign_holdout_groups(view.events_between(c["start_date"], win_end), table, c["campaign_id"],
                                        c["brand"],
                                        c["start_date"], win_end, view.model.purchase_event)
    groups = groups.to_pandas()
    return groups if len(groups) else None


def _contrast(view: View, c: dict, win_end: dt.date, lookback_days: int | None,
              contrast: str | None = None):
    """``(groups, overlapping campaigns, contrast, lookback_days used)``: the campaign's own
    holdout when ``campaign_holdouts`` has rows for it, else the brand-wide holdout
    (``contrast`` forces one; a forced ``campaign_holdout`` without rows gives no groups)."""
    if contrast is not None and contrast not in CONTRASTS:
        raise AipsError(f"contrast must be one of {', '.join(CONTRASTS)}, got {contrast!r}")
    own = _campaign_holdout(view, c, win_end) if contrast != "brand_holdout" else None
    if contrast == "campaign_holdout" and own is None:
        return None, [], contrast, None
    if own is not None:  # only this campaign separates the groups: nothing overlaps
        return own, [], "campaign_holdout", None
    groups, overlapping = _holdout(view, c, win_end, lookback_days)
    return groups, overlapping, "brand_holdout", lookback_days


def _campaign(view: View, campaign: str) -> dict:
    """The campaign's row of the ``campaigns`` table (a clear error when it is missing)."""
    camps = view.table("campaigns")
    found = _rows(camps.filter(camps.campaign_id == campaign))
    if not found:
        import difflib

        ids = [r["campaign_id"] for r in _rows(camps.select("campaign_id").distinct()) if r["campaign_id"]]
        closest = difflib.get_close_matches(campaign, ids, 3, 0)
        raise AipsError(f"no campaign {campaign!r} in the campaigns table "
                        f"(closest campaigns: {', '.join(closest) or 'none, the table is empty'})")
    c = found[0]
    if c["start_date"] is None or c["brand"] is None:
        raise AipsError(f"campaign {campaign!r} has no start_date or brand")
    return c


def incremental_roi(view: View, campaign: str, x: int | None = None,
                    lookback_days: int | None = None, alpha: float = 0.05,
                    contrast: str | None = None) -> dict[str, Any] | None:
    """Only the incremental part of :func:`roi` (the same contrast, the same dict as
    ``roi(...).incremental_``), without the attributed sums; None without a holdout.

    For many campaigns at once (validation against the simulator's truth), where the
    attributed figures are not needed. ``contrast`` (``CONTRASTS``) forces one contrast
    instead of the campaign's own holdout where it exists (None), e.g. to compare them.
    """
    c = _campaign(view, campaign)
    x, _cycle, _source = _horizon(view, c["category"], x)
    win_end = c["start_date"] + dt.timedelta(days=x)
    groups, overlapping, contrast, lookback_days = _contrast(view, c, win_end, lookback_days, contrast)
    if groups is None:
        return None
    covariate = f"events in {c['category']} in the {lookback_days} days before T" if lookback_days else None
    empty = pd.DataFrame({"offset": [], "revenue": [], "orders": [], "new_purchasers": []})
    fit = CampaignROI(x, alpha=alpha).fit(
        empty, spend=float(c["spend"] or 0.0), touched_users=0, holdout_groups=groups,
        covariate=covariate, overlapping_campaigns=overlapping, contrast=contrast,
    )
    return fit.incremental_


def roi(view: View, campaign: str, x: int | None = None, lookback_days: int | None = None,
        alpha: float = 0.05, touches: ibis.Table | None = None) -> CampaignROI:
    """ROI(T+x) of a campaign, attributed and (with a holdout) incremental.

    See the module docstring for the definitions. The incremental contrast is the
    campaign's own holdout when the store's ``campaign_holdouts`` table has rows for it,
    else the brand-wide ``users.holdout`` (``incremental_["contrast"]`` says which). ``x`` defaults to the category's
    decision cycle: configured, or ``median_days`` of the KM decision cycle when the
    model says ``cycle: estimate``. ``lookback_days`` adjusts the holdout contrast by the
    users' events in the category over that many days before T (None: no adjustment,
    the default; only use it when no paid campaign ran in those days); it only applies to
    the brand-wide contrast. ``touches``: the campaign's touched users when already
    computed (:func:`aips.engine.durations.campaigns_touches` of several campaigns, one
    pass over the events: the report's), else computed here.

    Returns:
        A fitted :class:`CampaignROI`.
    """
    from aips.engine import durations as du

    c = _campaign(view, campaign)
    T, brand, category = c["start_date"], c["brand"], c["category"]
    x, cycle, x_source = _horizon(view, category, x)
    curve_days = max(2 * cycle, x)
    last_day = view.last_day()
    # computed once: read by the purchases, the count and the new stages (at 1B events each
    # use was a scan of every event)
    if touches is None:
        touches = materialised(du.campaign_touches(view.events, campaign))
    curve_end = T + dt.timedelta(days=curve_days)
    # the windowed reads take only the files of their days on a Parquet source (each also
    # filters the days itself); a campaign's touches can lie on any day: every file
    purchases = du.attributed_purchases(view.events_between(T, curve_end), touches, brand, T, curve_end,
                                        view.model.purchase_event)
    daily = du.campaign_revenue_by_day(purchases).to_pandas()
    touched = int(touches.count().to_pyarrow().as_py())
    win_end = T + dt.timedelta(days=x)
    new_ti, new_p = _new_stages(view, touches, brand, T, win_end) if touched else (None, None)
    groups, overlapping, contrast, lookback_days = _contrast(view, c, win_end, lookback_days)
    info = {
        "campaign": campaign, "brand": brand, "category": category,
        "T": T.isoformat(), "x_source": x_source, "cycle_days": cycle,
        "data_end": last_day.isoformat(), "complete": win_end <= last_day,
    }
    covariate = f"events in {category} in the {lookback_days} days before T" if lookback_days else None
    return CampaignROI(x, curve_days=curve_days, alpha=alpha).fit(
        daily, spend=float(c["spend"] or 0.0), touched_users=touched, new_p=new_p, new_ti=new_ti,
        holdout_groups=groups, info=info, covariate=covariate, overlapping_campaigns=overlapping,
        contrast=contrast,
    )
