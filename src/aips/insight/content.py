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

import ibis
import numpy as np
import pandas as pd

from aips.config.model import STAGE_RANK, STAGES
from aips.engine.flows import stage_rank

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

COLUMNS = (
    "brand", "advance", "from_stage", "to_stage", "dimension", "value", "touched", "advanced",
    "rate", "rate_low", "rate_high", "brand_touched", "brand_advanced", "brand_rate",
    "lift", "lift_low", "lift_high", "supported", "significant", "rank", "cohort",
    "cohort_advanced", "typical_days",
)


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


def wilson(k: np.ndarray, n: np.ndarray, alpha: float = 0.05) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval of k successes in n trials (NaN where n = 0).

    >>> lo, hi = wilson(np.array([5]), np.array([20]))
    >>> round(float(lo[0]), 4), round(float(hi[0]), 4)
    (0.1119, 0.4687)
    """
    from scipy.stats import norm

    k = np.asarray(k, dtype=float)
    n = np.asarray(n, dtype=float)
    z = norm.ppf(1 - alpha / 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = k / n
        den = 1 + z * z / n
        centre = (p + z * z / (2 * n)) / den
        half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / den
    lo = np.where(n > 0, np.clip(centre - half, 0, 1), np.nan)
    hi = np.where(n > 0, np.clip(centre + half, 0, 1), np.nan)
    return lo, hi


def insight_frame(
    counts: pd.DataFrame,
    brand: str,
    *,
    min_support: int = 30,
    alpha: float = 0.05,
    order: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Rates, Wilson intervals and lifts from an executed :func:`advance_counts` table
    (with the :func:`incremental_effects` columns when it has co-touch rows).

    Rows are ranked within each (advance, dimension): supported first, then by lift.
    """
    keys = ["from_stage", "to_stage", "dimension"]
    counts_all = counts
    counts = counts[counts["value2"].isna()] if "value2" in counts else counts.copy()
    counts = counts.copy()
    for col in ("cohort", "cohort_advanced", "typical_days"):
        counts[col] = counts.groupby(keys)[col].transform("max")
    total = counts[counts["value"].isna()][[*keys, "touched", "advanced"]].rename(
        columns={"touched": "brand_touched", "advanced": "brand_advanced"})
    df = counts[counts["value"].notna()].merge(total, on=keys, how="left")
    for col in ("touched", "advanced", "brand_touched", "brand_advanced", "cohort", "cohort_advanced"):
        df[col] = df[col].fillna(0).astype("int64")
    with np.errstate(divide="ignore", invalid="ignore"):
        df["rate"] = np.where(df["touched"] > 0, df["advanced"] / df["touched"], np.nan)
        df["brand_rate"] = np.where(df["brand_touched"] > 0, df["brand_advanced"] / df["brand_touched"], np.nan)
        df["rate_low"], df["rate_high"] = wilson(df["advanced"].to_numpy(), df["touched"].to_numpy(), alpha)
        br = df["brand_rate"].where(df["brand_rate"] > 0)
        df["lift"] = df["rate"] / br
        df["lift_low"] = df["rate_low"] / br
        df["lift_high"] = df["rate_high"] / br
    df["brand"] = brand
    df["advance"] = df["from_stage"] + "->" + df["to_stage"]
    extra = []
    if "value2" in counts_all and counts_all["value2"].notna().any():
        inc = incremental_effects(counts_all, alpha)
        df = df.merge(inc, on=[*keys, "value"], how="left")
        extra = ["incremental", "incremental_low", "incremental_high"]
    df["supported"] = df["touched"] >= min_support
    outside = (df["rate_low"] > df["brand_rate"]) | (df["rate_high"] < df["brand_rate"])
    df["significant"] = df["supported"] & outside.fillna(False)
    stage_order = {s: -STAGE_RANK[s] for s in STAGES}
    dims = list(order or []) + sorted(set(df["dimension"]) - set(order or []))
    df = df.assign(_s=df["from_stage"].map(stage_order), _d=df["dimension"].map({d: i for i, d in enumerate(dims)}),
                   _l=df["lift"].fillna(-1.0))
    df = df.sort_values(["_s", "_d", "supported", "_l", "touched", "value"],
                        ascending=[False, True, False, False, False, True])
    df["rank"] = df.groupby(["from_stage", "dimension"]).cumcount() + 1
    return df[[*COLUMNS, *extra]].reset_index(drop=True).replace({np.nan: None})


def incremental_effects(counts: pd.DataFrame, alpha: float = 0.05) -> pd.DataFrame:
    """Each value's incremental advance probability, holding the other values' touches fixed.

    A linear probability model over the cohort of each (advance, dimension): ``advanced ~
    b0 + sum_v b_v [touched by v]``, fitted from the aggregates of :func:`advance_counts` with
    ``cotouch=True`` (cohort size and advancers, touched and advancing members per value, and
    members touched by both of two values: exactly X'X and X'y). ``b_v`` (``incremental``)
    is how much being touched by v adds to the chance of advancing when what else the user
    saw is the same: content seen together with strong content no longer shares its credit.
    ``incremental_low`` / ``incremental_high``: b_v -/+ z x its OLS standard error (the linear
    model's errors are not normal, so read it as a guide). Values below the support of the
    co-touch counts are left out of the model (their members count in the intercept).

    Returns ``from_stage``, ``to_stage``, ``dimension``, ``value``, ``incremental``,
    ``incremental_low``, ``incremental_high``.
    """
    from scipy.stats import norm

    z = norm.ppf(1 - alpha / 2)
    keys = ["from_stage", "to_stage", "dimension"]
    out = []
    if "value2" not in counts:
        return pd.DataFrame(columns=[*keys, "value", "incremental", "incremental_low", "incremental_high"])
    co = counts[counts["value2"].notna()]
    base = counts[counts["value2"].isna()]
    sizes = base.groupby(keys)[["cohort", "cohort_advanced"]].max()
    for key, pairs in co.groupby(keys):
        if key not in sizes.index:
            continue
        n, ny = (float(x) for x in sizes.loc[key])
        values = sorted(set(pairs["value"]))
        idx = {v: i + 1 for i, v in enumerate(values)}
        p = len(values) + 1
        xtx = np.zeros((p, p))
        xty = np.zeros(p)
        xtx[0, 0], xty[0] = n, ny
        for row in pairs.itertuples(index=False):
            i, j = idx[row.value], idx[row.value2]
            xtx[i, j] = row.touched
            if i == j:
                xtx[0, i] = xtx[i, 0] = row.touched
                xty[i] = row.advanced
        if n <= p:
            continue
        beta, *_ = np.linalg.lstsq(xtx, xty, rcond=None)
        rss = max(ny - beta @ xty, 0.0)
        sigma2 = rss / (n - p)
        cov = sigma2 * np.linalg.pinv(xtx)
        se = np.sqrt(np.clip(np.diag(cov), 0, None))
        for v, i in idx.items():
            out.append((*key, v, beta[i], beta[i] - z * se[i], beta[i] + z * se[i]))
    return pd.DataFrame(out, columns=[*keys, "value", "incremental", "incremental_low", "incremental_high"])


def strategy_frame(insight: pd.DataFrame, top: int = 5) -> pd.DataFrame:
    """The content-strategy table: per stage and dimension, the ``top`` values that work best.

    Keeps supported rows with lift > 1, best lift first (:func:`insight_frame` ranking),
    labelled by the stage they move users out of (``stage``: A, I, TI, P).
    """
    good = insight[insight["supported"] & (insight["lift"].astype(float) > 1)]
    good = good.groupby(["from_stage", "dimension"], sort=False).head(top)
    cols = ["brand", "from_stage", "advance", "dimension", "value", "touched", "advanced", "rate",
            "brand_rate", "lift", "lift_low", "lift_high", "significant", "rank"]
    return good[cols].rename(columns={"from_stage": "stage"}).reset_index(drop=True)


# --- search share of voice -------------------------------------------------------------------


def search_share(
    events: ibis.Table, brands: ibis.Table, start: dt.date, end: dt.date
) -> ibis.Table:
    """Search share of voice per brand within its category's searches on ``start .. end``.

    Args:
        events: the canonical events.
        brands: ``brand``, ``category`` of the brands to compare (e.g.
            :func:`aips.engine.penetration.brand_categories`).

    Returns:
        ``category``, ``brand``, ``searches`` (search events attributed to the brand),
        ``brand_term_searches`` (the category's searches whose keyword contains the brand's
        name, case-insensitive: what users typed, whatever brand the row is attributed to),
        ``category_searches`` (search events of the category), ``search_share`` = searches /
        category searches, ``term_share`` = brand_term_searches / category searches.
    """
    ev = events.filter((events.event_type == "search") & events.local_date.between(start, end)
                       & events.category.notnull())
    ev = ev.select("brand", "category", kw=ev.keyword.fill_null("").lower())
    cat_total = ev.group_by("category").aggregate(category_searches=ev.count())
    own = ev.group_by(["category", "brand"]).aggregate(searches=ev.count())
    b = brands.filter(brands.category.notnull()).select(
        b_brand=brands.brand, b_category=brands.category, needle=brands.brand.lower()
    )
    terms = ev.inner_join(b, ev.category == b.b_category)
    terms = terms.filter(terms.kw.contains(terms.needle))
    term_n = terms.group_by([terms.b_category.name("category"), terms.b_brand.name("brand")]).aggregate(
        brand_term_searches=terms.count()
    )
    base = b.select(category=b.b_category, brand=b.b_brand)
    out = base.left_join(own, ["category", "brand"]).select(base.category, base.brand, "searches")
    out = out.left_join(term_n, ["category", "brand"]).select(out.category, out.brand, out.searches, "brand_term_searches")
    out = out.left_join(cat_total, "category").select(
        out.category, out.brand, searches=out.searches.fill_null(0),
        brand_term_searches=out.brand_term_searches.fill_null(0),
        category_searches=cat_total.category_searches.fill_null(0),
    )
    den = ibis.ifelse(out.category_searches > 0, out.category_searches, ibis.null()).cast("float64")
    return out.mutate(search_share=out.searches / den, term_share=out.brand_term_searches / den).order_by(
        [out.category, ibis.desc(out.searches), out.brand]
    )
