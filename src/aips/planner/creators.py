r"""Which KOL/KOC creators to book within a plan's ``kol_note`` and ``koc_note`` budgets.

The rule (``aips plan --creators``, ``ws.plan(..., creators=True)``):

1. **Candidates**: creators of the ``creators`` table whose notes reached the brand's
   category (events of any brand of the category) over the ``lookback`` days to the last
   day of data. Tier ``KOL`` books from the ``kol_note`` budget, ``KOC`` from ``koc_note``.
2. **Evidence** per creator, from its note touches as :mod:`aips.activation.creators`
   defines them (:func:`~aips.activation.creators.touch_outcomes`): a touch is a (user,
   brand, day) with an event on one of its notes while the pair was below TI the day
   before; it *advanced* when the pair rose to I or TI within ``k`` days. ``T`` touches,
   ``S`` advanced, ``E`` the advances expected of the average note reaching the same pairs
   (same brand, week and level before), ``N`` the creator's distinct notes on the category.
3. **Incremental advances per booked note**: the advances beyond the average note, per
   touch, shrunk toward none with :data:`~aips.activation.creators.PRIOR_TOUCHES` touches
   of weight (a creator seen little is not trusted), times its touches per note:

   .. math:: a_c = \frac{\max(S - E, 0)}{T + 30} \cdot \frac{T}{N}

4. **Cost** of a booking: one note at the creator's ``fee`` (the ``creators`` table's CNY
   per note). A creator without a fee gets a proxy: its tier's paid spend per note
   (``kol_note``/``koc_note`` campaigns of the category ÷ the distinct notes of that tier's
   creators in their flights) × its followers ÷ its tier's mean followers (fees scale with
   followers); the notes say how many costs are proxies.
5. **Booking**: per tier, creators in order of :math:`a_c / \text{cost}_c` (ties: more
   advances, then the id), each booked once (one note: a creator's own audience saturates)
   when its cost fits what is left of the tier's budget, until none fits. Creators with no
   incremental advance are never booked. Greedy by value per CNY: the classic start for a
   budgeted knapsack, not an exact optimum.

Per-event work (touches, the levels before, strata) runs in the backend; Python receives
one row per creator.

>>> ev = pd.DataFrame({"creator_id": ["A", "B", "C", "D", "E"], "tier": ["KOL"] * 3 + ["KOC"] * 2,
...                    "cost": [100.0, 50.0, 200.0, 10.0, 10.0], "advances": [5.0, 4.0, 20.0, 1.0, 0.0]})
>>> [(r["creator"], r["cost"]) for r in book(ev, {"KOL": 260.0, "KOC": 15.0})]
[('C', 200.0), ('B', 50.0), ('D', 10.0)]
"""

from __future__ import annotations

import datetime as dt

import ibis
import pandas as pd

from aips.activation.creators import PRIOR_TOUCHES, touch_outcomes
from aips.config.labels import Note
from aips.exceptions import AipsError
from aips.view import View

TIERS = {"kol_note": "KOL", "koc_note": "KOC"}
"""The plan's creator channels and the tier each books."""


def book(evidence: pd.DataFrame, budgets: dict[str, float]) -> list[dict]:
    """Greedy booking (rule 5 of the module doc) from one row per creator (``creator_id,
    tier, cost, advances``): ``[{"creator", "tier", "cost", "expected_advances"}]``,
    per tier in booking order (KOL first)."""
    out = []
    for tier in ("KOL", "KOC"):
        left = float(budgets.get(tier, 0.0))
        pool = evidence[(evidence["tier"] == tier) & (evidence["advances"] > 0) & (evidence["cost"] > 0)].copy()
        pool["value"] = pool["advances"] / pool["cost"]
        pool = pool.sort_values(["value", "advances", "creator_id"], ascending=[False, False, True], kind="stable")
        for r in pool.itertuples(index=False):
            if r.cost <= left + 1e-9:
                left -= r.cost
                out.append({"creator": r.creator_id, "tier": tier, "cost": float(r.cost),
                            "expected_advances": float(r.advances)})
    return out


def creator_evidence(view: View, brand: str, lookback: int = 90, k: int = 7) -> pd.DataFrame:
    """Per creator of the brand's category: ``creator_id, touches, seeded, expected, notes``
    (rule 2 of the module doc; backend aggregates, one row per creator)."""
    ev = view.events
    cats = [r["category"] for r in ev.filter((ev.brand == brand) & ev.category.notnull())
            .select("category").distinct().to_pyarrow().to_pylist()]
    scope = ev.filter(ev.category.isin(cats)) if cats else ev.filter(ev.brand == brand)
    brands = scope.select("brand").distinct()
    last = view.date_range()[1]
    start, last_touch = last - dt.timedelta(days=lookback - 1), last - dt.timedelta(days=k)
    if last_touch < start:
        raise AipsError(f"--creators: no touch in the {lookback} days to {last} has {k} days of follow-up")
    tl = view.timelines(level="brand").semi_join(brands, "brand")
    touches = touch_outcomes(view.events_between(start, last_touch).semi_join(brands, "brand"), tl, start,
                             last_touch, k)
    per = touches.filter(touches.creator_id != "")
    per = per.group_by("creator_id").aggregate(touches=per.count(), seeded=per.hit.cast("int64").sum(),
                                               expected=per.base.sum())
    notes = scope.filter(scope.creator_id.notnull() & scope.note_id.notnull() & scope.local_date.between(start, last))
    notes = notes.group_by("creator_id").aggregate(notes=notes.note_id.nunique())
    out = notes.left_join(per, "creator_id").select(
        notes.creator_id, notes.notes, touches=ibis.coalesce(per.touches, 0), seeded=ibis.coalesce(per.seeded, 0),
        expected=ibis.coalesce(per.expected, 0.0))
    return out.to_pyarrow().to_pandas()


def incremental_advances(evidence: pd.DataFrame) -> pd.Series:
    """Incremental advances per booked note (rule 3 of the module doc).

    >>> ev = pd.DataFrame({"touches": [90], "seeded": [30], "expected": [20.0], "notes": [3]})
    >>> incremental_advances(ev).tolist()       # (30 - 20) / (90 + 30) * 90 / 3
    [2.5]
    """
    t = evidence["touches"].astype(float)
    lift = (evidence["seeded"] - evidence["expected"]).clip(lower=0.0)
    return (lift / (t + PRIOR_TOUCHES) * t / evidence["notes"].clip(lower=1)).astype(float)


def _costs(view: View, table: pd.DataFrame, brand_categories: list[str]) -> tuple[pd.Series, int]:
    """Each creator's cost per note: its fee, else the tier's proxy (rule 4); and how many are proxies."""
    fee = table["fee"].astype(float) if "fee" in table else pd.Series(float("nan"), index=table.index)
    missing = fee.isna() | (fee <= 0)
    if not missing.any():
        return fee, 0
    proxy = pd.Series(float("nan"), index=table.index)
    camps, ev = view.optional("campaigns"), view.events
    for channel, tier in TIERS.items():
        rows = table["tier"] == tier
        if camps is None or not (missing & rows).any():
            continue
        c = camps.filter(camps.channel == channel)
        if brand_categories:
            c = c.filter(c.category.isin(brand_categories))
        spend = float(c.aggregate(s=c.spend.sum()).to_pyarrow().to_pylist()[0]["s"] or 0.0)
        paid = ev.filter(ev.campaign_id.isin(c.select("campaign_id").to_pyarrow().column(0).to_pylist() or [""])
                         & ev.note_id.notnull() & ev.creator_id.isin(table.loc[rows, "creator_id"].tolist()))
        n = int(paid.aggregate(n=paid.note_id.nunique()).to_pyarrow().to_pylist()[0]["n"] or 0)
        if spend <= 0 or n == 0:
            continue
        followers = table.loc[rows, "followers"].astype(float)
        scale = followers / followers.mean() if followers.notna().all() and followers.mean() > 0 else 1.0
        proxy[rows] = spend / n * scale
    return fee.where(~missing, proxy), int((missing & proxy.notna()).sum())


def require_creators(view: View) -> ibis.Table:
    """The ``creators`` table, or an :class:`~aips.exceptions.AipsError` saying it is missing."""
    table = view.optional("creators")
    if table is None:
        raise AipsError("--creators needs a creators table (creator_id, tier, followers, fee: CNY per note); "
                        "ingest creators.csv first, or plan without --creators")
    return table


def book_creators(view: View, brand: str, split: dict[str, float], lookback: int = 90, k: int = 7) -> dict:
    """The creators to book within ``split``'s ``kol_note`` and ``koc_note`` budgets (module
    doc): ``{"creators": [{"creator", "tier", "cost", "expected_advances"}], "notes": [...]}``.

    Raises :class:`~aips.exceptions.AipsError` naming what is missing: no ``creators``
    table, no creator notes on the category, or nothing that fits the tiers' budgets."""
    table = require_creators(view)
    # below one CNY is the optimiser's rounding, not a budget
    budgets = {tier: (b if (b := float(split.get(ch, 0.0))) >= 1.0 else 0.0) for ch, tier in TIERS.items()}
    if sum(budgets.values()) <= 0:
        raise AipsError(f"--creators: the plan gives kol_note and koc_note no budget "
                        f"(its split: {', '.join(f'{c} {v:,.0f}' for c, v in split.items())}); no creator to book")
    evidence = creator_evidence(view, brand, lookback, k)
    if evidence.empty:
        raise AipsError(f"--creators: no creator's notes reached {brand}'s category in the {lookback} days "
                        "to the last day of data (events with creator_id and note_id)")
    cols = [c for c in ("creator_id", "tier", "followers", "fee") if c in table.columns]
    info = table.select(*cols).to_pyarrow().to_pandas().drop_duplicates("creator_id")
    table = evidence.merge(info, on="creator_id", how="inner")
    table["tier"] = table["tier"].astype(str).str.upper()
    ev = view.events
    cats = [r["category"] for r in ev.filter((ev.brand == brand) & ev.category.notnull())
            .select("category").distinct().to_pyarrow().to_pylist()]
    table["cost"], proxies = _costs(view, table.reset_index(drop=True), cats)
    table["advances"] = incremental_advances(table)
    booked = book(table.dropna(subset=["cost"]), budgets)
    notes = [Note(f"{len(table)} creators of the category ranked by incremental advances (rises to I or TI "
                  f"within {k} days beyond the average note's) per CNY; cost = one note at the creators "
                  f"table's fee, {proxies} by a proxy (the tier's paid spend per note x followers / the tier's "
                  "mean followers)", "plan.creators.note", n=len(table), k=k, proxies=proxies)]
    for tier, budget in budgets.items():
        mine = [r for r in booked if r["tier"] == tier]
        spent = sum(r["cost"] for r in mine)
        if spent > 0:
            adv = sum(r["expected_advances"] for r in mine)
            notes.append(Note(f"{tier}: {len(mine)} creators, {spent:,.0f} of {budget:,.0f} CNY, {adv:,.1f} "
                              "expected advances (what is left buys no creator with an incremental advance)",
                              "plan.creators.tier", tier=tier, n=len(mine), spent=f"{spent:,.0f}",
                              budget=f"{budget:,.0f}", advances=f"{adv:,.1f}"))
        if budget > 0 and spent == 0:
            pool = table[(table["tier"] == tier) & (table["advances"] > 0)]
            cheapest = f"{pool['cost'].min():,.0f}" if len(pool) else "-"
            notes.append(Note(f"{tier}: nothing fits its {budget:,.0f} CNY (cheapest creator with an incremental "
                              f"advance: {cheapest})", "plan.creators.no_fit", tier=tier, budget=f"{budget:,.0f}",
                              cheapest=cheapest))
    if not booked:
        raise AipsError("--creators: no creator fits the plan's budgets (" + "; ".join(notes[1:]) + ")")
    return {"creators": booked, "notes": notes}
