"""KOL/KOC matching: which creators reach a target crowd, how well they seed, what to book.

For a target crowd (an :class:`~aips.activation.audiences.Audience`: the brand's TI, a
competitor's TI, a category's I+TI, any saved audience) on its as-of date ``at`` and a
lookback of L days (local dates ``at-L+1 .. at``), per creator:

``target_reach``
    target users who *engaged* with the creator's notes (any event on a note of the creator
    other than an impression: read, like, collect, comment, share, ...); ``target_share`` is
    that over the target's users. ``target_impressed``: target users who saw an impression.
    Creators with neither are left out.
``readers``, ``reached``, ``notes``
    users who read / had any event on the creator's notes, and its distinct notes (all brands).
``touches``, ``seeded``, ``seeding_rate``
    A *touch* is a (user, brand, day) with an event on one of the creator's notes, on a day
    ``d <= at - k`` (so that k days of follow-up are observed), while the pair was below TI
    the day before (no level, A or I: it could still be seeded). It is *seeded* when the
    pair's level rises to I or TI (a new stage interval of a higher rank than the day
    before, from the engine's timelines cut at ``at``) on a day in ``d .. d+k``.
    ``seeding_rate = seeded / touches``. ``seeded_users``: distinct users with a seeded touch.
``seeding_lift``
    ``seeded / expected``, where ``expected`` sums, over the creator's touches, the seeded
    share of *all* note touches (any note, any channel) in the same stratum: brand x ISO
    week of ``d`` x the level the day before. 1.0 seeds as well as the average note reaching
    the same pairs at the same time; it removes the brand's, season's and crowd's baseline,
    which the raw rate mixes in. Null below ``min_touches`` touches (too noisy to rank).
    This is the column to rank creators' seeding by; it is what the simulator's true
    seeding multipliers are checked against.
``seeded_per_reader``
    ``seeded_users / readers``: RED's 种草率 convention (seeded over readers); readers
    include people already at TI, so it mixes reach with effect. Reported, not ranked on.
``new_ti``
    new TI credited to the creator by an attribution model (``attribute(view, target="TI",
    by="creator")`` on the target's brands, over the store's history; path models credit
    reach, not cause), when the attribution module is available.
``fee``, ``spend``, ``cost_per_new_ti``, ``cost_per_seeded``
    ``fee`` per note from the ``creators`` table; ``spend`` = fee x the creator's notes on the
    target's brands in the lookback; cost per new TI = spend / new_ti; cost per seeded =
    spend / seeded.
``expected_seeded``
    ``target_reach x`` the creator's seeding rate shrunk toward the overall rate
    (``(seeded + 30 p0) / (touches + 30)``): the target users a booking is expected to seed.
    Creators are sorted by it.

**Overlap** between the top creators: target users engaged by both (a small matrix computed
in the backend by a self-join of (creator, user) pairs).

**Budgeted mix** (:func:`recommend_mix`): greedy by marginal expected seeded target users per
yuan. A creator's marginal reach given the creators already chosen S is
``reach_c x prod_{s in S} (1 - overlap(c, s) / reach_c)`` (overlaps treated as independent,
so reach shrinks as more creators are booked); its gain is that times its shrunk seeding
rate; cost is its fee for one note. At each step the affordable creator with the highest
gain per yuan is booked, until the budget or the gains run out. Greedy is the classic
(1 - 1/e)-approximation for budgeted coverage; it is a starting point for a planner, not an
optimum.

Per-event work (touches, stage-before joins, strata) runs in the backend; Python receives
one row per creator and the overlap matrix.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import ibis
import pandas as pd

from aips.activation.audiences import Audience, audience
from aips.config.labels import Note
from aips.crowd import AudienceSpec
from aips.engine.flows import stage_rank
from aips.exceptions import AipsError, ConfigError
from aips.view import View

PRIOR_TOUCHES = 30
"""Weight (in touches) of the overall seeding rate in each creator's shrunk rate."""


def advances(timeline: ibis.Table, stages: tuple[str, ...] = ("I", "TI")) -> ibis.Table:
    """Days a pair's level rose to one of ``stages``: ``user_id, brand, adv_date, adv_stage``.

    A rise is an interval whose stage ranks higher than the level the day before (the
    interval ending that day, else no level). A pair's intervals do not overlap, so at
    most one ends the day before: an equality join, not a window over every interval.

    >>> import datetime as dt, ibis
    >>> d = dt.date
    >>> tl = ibis.memtable({"user_id": ["u"] * 3, "brand": ["b"] * 3, "stage": ["A", "I", "TI"],
    ...     "start_date": [d(2024, 1, 1), d(2024, 1, 3), d(2024, 1, 9)],
    ...     "end_date": [d(2024, 1, 2), d(2024, 1, 5), d(2024, 1, 9)]})
    >>> sorted(r["adv_date"].day for r in advances(tl).to_pyarrow().to_pylist())
    [3, 9]
    """
    keys = ["user_id", "brand"]
    hit = timeline.filter(timeline.stage.isin(list(stages)))
    prev = timeline.select(_u="user_id", _b="brand", _pe="end_date", _pr=stage_rank(timeline.stage))
    j = hit.left_join(prev, [hit.user_id == prev._u, hit.brand == prev._b,
                             prev._pe + ibis.interval(days=1) == hit.start_date])
    j = j.filter(stage_rank(j.stage) > j._pr.fill_null(0))
    return j.select(*keys, adv_date=j.start_date, adv_stage=j.stage)


def touch_outcomes(events: ibis.Table, timeline: ibis.Table, start: dt.date, last: dt.date,
                   k: int) -> ibis.Table:
    """Eligible note touches and whether each was followed by a rise to I/TI within k days.

    Returns ``user_id, brand, creator_id ('' for notes without a creator), d, before (rank
    of the level on d-1), wk, hit (bool), base (seeded share of all touches of the stratum
    brand x wk x before)``, for touches on days ``start .. last``.

    One row per touch without a group-by: a touch on ``d`` meets only the pair's first
    advance on or after ``d`` (the one whose previous advance is before ``d``), and it is a
    hit when that advance is by ``d + k``. Only the intervals that can hold a touch's day
    before, an advance up to ``last + k`` or the day before such an advance are read.
    """
    lo, hi = start - dt.timedelta(days=1), last + dt.timedelta(days=k)
    timeline = timeline.filter((timeline.end_date >= lo) & (timeline.start_date <= hi))
    ev = events.filter(events.note_id.notnull() & events.local_date.between(start, last))
    touch = ev.select("user_id", "brand", creator_id=ev.creator_id.fill_null(""), d=ev.local_date).distinct()
    spans = timeline.select(_u=timeline.user_id, _b=timeline.brand, _s=timeline.start_date,
                            _e=timeline.end_date, _r=stage_rank(timeline.stage))
    prev = touch.d - ibis.interval(days=1)
    j = touch.left_join(spans, [touch.user_id == spans._u, touch.brand == spans._b,
                                spans._s <= prev, spans._e >= prev])
    j = j.select("user_id", "brand", "creator_id", "d", before=j._r.fill_null(0))
    j = j.filter(j.before < 3)
    adv = advances(timeline)
    w = ibis.window(group_by=["user_id", "brand"], order_by="adv_date")
    adv = adv.select(_u="user_id", _b="brand", _a="adv_date",
                     _p=adv.adv_date.lag().over(w).fill_null(ibis.date(1900, 1, 1)))
    h = j.left_join(adv, [j.user_id == adv._u, j.brand == adv._b, adv._p < j.d, adv._a >= j.d,
                          adv._a <= j.d + ibis.interval(days=k)])
    h = h.select("user_id", "brand", "creator_id", "d", "before", hit=h._a.notnull())
    h = h.mutate(wk=h.d.truncate("W"))
    strata = h.group_by(["brand", "wk", "before"]).aggregate(base=h.hit.cast("float64").mean())
    strata = strata.rename(_b="brand", _w="wk", _r="before")
    out = h.join(strata, [h.brand == strata._b, h.wk == strata._w, h.before == strata._r])
    return out.select("user_id", "brand", "creator_id", "d", "before", "wk", "hit", "base")


@dataclass
class CreatorRanking:
    """Creators ranked for a target crowd.

    Attributes:
        table: one row per creator (columns in the module docstring), best first.
        overlap: ``creator_a, creator_b, shared`` target users, among the top creators.
        mix: the budgeted mix (``None`` without a budget), see :func:`recommend_mix`.
        target: the target crowd's name, definition, as-of date and users.
        params: lookback, k, budget, attribution model.
        notes: caveats (missing fees, attribution not available, ...).
    """

    table: pd.DataFrame
    overlap: pd.DataFrame
    mix: pd.DataFrame | None
    target: dict
    params: dict
    notes: list[str] = field(default_factory=list)

    def mix_summary(self) -> dict | None:
        """Booked creators by tier, cost and expected seeded target users."""
        if self.mix is None:
            return None
        m = self.mix
        return {
            "creators": int(len(m)),
            "kol": int((m["tier"] == "KOL").sum()) if len(m) else 0,
            "koc": int((m["tier"] == "KOC").sum()) if len(m) else 0,
            "cost": float(m["fee"].sum()) if len(m) else 0.0,
            "expected_seeded": float(m["marginal_seeded"].sum()) if len(m) else 0.0,
            "budget": self.params.get("budget"),
        }

    def asdict(self) -> dict[str, Any]:
        def records(df):
            return None if df is None else json_records(df)

        return {"target": self.target, "params": self.params, "creators": records(self.table),
                "overlap": records(self.overlap), "mix": records(self.mix),
                "mix_summary": self.mix_summary(), "notes": self.notes}

    def __str__(self) -> str:
        t = self.target
        lines = [f"creators for {t['name']} ({t['definition']}; {t['users']} users on {t['as_of']})"]
        for row in self.table.head(10).itertuples():
            lift = "" if pd.isna(row.seeding_lift) else f" lift {row.seeding_lift:.2f}"
            lines.append(f"  {row.creator_id} ({row.tier}): reach {row.target_reach}, "
                         f"seeding {row.seeding_rate:.1%}{lift}, expected {row.expected_seeded:.1f}")
        s = self.mix_summary()
        if s:
            lines.append(f"mix within {s['budget']:,.0f}: {s['kol']} KOL + {s['koc']} KOC, "
                         f"cost {s['cost']:,.0f}, ~{s['expected_seeded']:.0f} target users seeded")
        lines += [f"note: {n}" for n in self.notes]
        return "\n".join(lines)


def json_records(df: pd.DataFrame) -> list[dict]:
    out = []
    for row in df.to_dict(orient="records"):
        clean = {}
        for key, value in row.items():
            if hasattr(value, "item"):
                value = value.item()
            if isinstance(value, float) and not math.isfinite(value):
                value = None
            clean[key] = value
        out.append(clean)
    return out


def _rows(expr) -> list[dict]:
    return expr.to_pyarrow().to_pylist()


def rank_creators(view: View, audience, *, lookback: int = 90, k: int = 7, budget: float | None = None,
                  top: int = 20, attribution: str | None = "markov",
                  min_touches: int = 30) -> CreatorRanking:
    """Rank creators for ``audience``'s crowd (see the module docstring)."""
    at = audience.at
    if at is None:
        raise ConfigError("the target audience needs an as-of date (--at)")
    if lookback < 1 or k < 0:
        raise ConfigError("lookback must be >= 1 day and k >= 0")
    from aips.analytics.attribution import MODELS

    if attribution and attribution not in MODELS:  # fail now, not as a note after the work
        raise ConfigError(f"unknown attribution model {attribution!r} (one of {', '.join(MODELS)}, or none)")
    start = at - dt.timedelta(days=lookback - 1)
    last_touch = at - dt.timedelta(days=k)
    notes: list[str] = []
    ev = view.events_between(start, at)  # a Parquet source: only the files of those days
    win = ev.filter(ev.local_date.between(start, at) & ev.note_id.notnull())
    by_creator = win.filter(win.creator_id.notnull())

    # who reaches the target (the crowd is read by four queries: built once)
    audience = audience.cached()
    target_users = audience.table.select("user_id").distinct()
    n_target = int(target_users.count().to_pyarrow().as_py() or 0)
    target_brands = sorted(r["brand"] for r in _rows(audience.table.select("brand").distinct()))
    own = getattr(audience.spec, "competitors_of", None)
    credit_brands = [own] if own else target_brands
    engaged = by_creator.semi_join(target_users, "user_id")
    reach = engaged.group_by("creator_id").aggregate(
        target_reach=engaged.user_id.nunique(where=engaged.event_type != "impression"),
        target_impressed=engaged.user_id.nunique(where=engaged.event_type == "impression"),
    )
    general = by_creator.group_by("creator_id").aggregate(
        reached=by_creator.user_id.nunique(),
        readers=by_creator.user_id.nunique(where=by_creator.event_type == "read"),
        notes=by_creator.note_id.nunique(),
        brand_notes=by_creator.note_id.nunique(where=by_creator.brand.isin(credit_brands or [""])),
    )

    seeding, p0 = _seeding(view, by_creator, start, last_touch, k, at, notes)
    table = general.left_join(reach, "creator_id").drop("creator_id_right").to_pyarrow().to_pandas()
    table = _rates(table.merge(seeding, on="creator_id", how="left"), n_target, min_touches, p0)
    table = _with_fees(view, table, notes)
    table["new_ti"] = _new_ti(view, table, attribution, credit_brands, notes)
    table["cost_per_new_ti"] = table["spend"] / table["new_ti"].where(table["new_ti"] > 0)
    table["cost_per_seeded"] = table["spend"] / table["seeded"].where(table["seeded"] > 0)

    table = table[(table["target_reach"] > 0) | (table["target_impressed"] > 0)].copy()
    table = table.sort_values(["expected_seeded", "target_reach", "creator_id"],
                              ascending=[False, False, True], kind="stable").reset_index(drop=True)
    table.insert(0, "rank", range(1, len(table) + 1))
    columns = ["rank", "creator_id", "tier", "followers", "target_reach", "target_share",
               "target_impressed", "reached", "readers", "notes", "touches", "seeded",
               "seeding_rate", "seeding_lift", "seeded_per_reader", "expected", "seeded_users",
               "expected_seeded", "new_ti", "fee", "spend", "cost_per_new_ti", "cost_per_seeded",
               "shrunk_rate"]
    table = table[columns]

    candidates = table.head(top)["creator_id"].tolist()
    overlap = creator_overlap(engaged.filter(engaged.event_type != "impression"), candidates)
    mix = recommend_mix(table.head(top), overlap, budget) if budget is not None else None
    if budget is not None and mix is not None and mix.empty:
        notes.append(Note("no creator fits the budget (or none has a known fee)", "creators.note.no_fit"))
    target = {"name": audience.name, "definition": audience.spec.describe(),
              "as_of": at.isoformat(), "users": n_target, "brands": target_brands,
              "credited_brands": credit_brands}
    params = {"lookback": lookback, "k": k, "budget": budget, "attribution": attribution,
              "window": [start.isoformat(), at.isoformat()], "min_touches": min_touches,
              "overall_seeding_rate": p0}
    return CreatorRanking(table, overlap, mix, target, params, notes)


def _seeding(view: View, by_creator: ibis.Table, start: dt.date, last_touch: dt.date, k: int,
             at: dt.date, notes: list[str]) -> tuple[pd.DataFrame, float]:
    """Per creator: touches, seeded advances, their expectation and seeded users; and the
    overall seeding rate. Touches of every note in the creators' brands count (the baseline
    needs all notes)."""
    from aips.engine.timelines import timelines

    # the brands as a list: a semi-join with the notes' brands scanned the events in each
    # query that read it (three times in the seeding query)
    brands = [r["brand"] for r in _rows(by_creator.select("brand").distinct())] or [""]
    stored = view.stored_timelines()
    if view.cache or stored is not None:  # stored, or the report's one build (days <= at are read)
        tl = stored if stored is not None else view.timelines(level="brand")
        tl = tl.filter(tl.brand.isin(brands))
    else:
        source = view.engine_source()
        source = source.filter(source.brand.isin(brands))
        tl = timelines(source, view.model, level="brand", categories=view.categories, end=at,
                       bounds=view.sweep_bounds("brand"))
    if last_touch < start:
        notes.append(Note(f"no touch has {k} days of follow-up inside the lookback: no seeding rates",
                          "creators.note.no_follow_up", k=k))
        return pd.DataFrame(columns=["creator_id", "touches", "seeded", "expected", "seeded_users"]), 0.0
    ev = view.events_between(start, last_touch)
    outcomes = touch_outcomes(ev.filter(ev.brand.isin(brands)), tl, start, last_touch, k)
    per = outcomes.filter(outcomes.creator_id != "")
    per = per.group_by("creator_id").aggregate(
        touches=per.count(), seeded=per.hit.cast("int64").sum(),
        expected=per.base.sum(), seeded_users=per.user_id.nunique(where=per.hit),
    )
    seeding = per.to_pyarrow().to_pandas()
    tot = seeding[["touches", "seeded"]].sum()
    return seeding, (float(tot["seeded"] / tot["touches"]) if tot["touches"] else 0.0)


def _rates(table: pd.DataFrame, n_target: int, min_touches: int, p0: float) -> pd.DataFrame:
    """Target share, seeding rate and lift, the shrunk rate and the expected seeded users."""
    for col in ("target_reach", "target_impressed", "touches", "seeded", "seeded_users"):
        table[col] = table[col].fillna(0).astype("int64")
    table["expected"] = table["expected"].astype(float).fillna(0.0)
    table["target_share"] = table["target_reach"] / n_target if n_target else float("nan")
    table["seeding_rate"] = (table["seeded"] / table["touches"].where(table["touches"] > 0)).astype(float)
    enough = (table["touches"] >= min_touches) & (table["expected"] > 0)
    table["seeding_lift"] = (table["seeded"] / table["expected"].where(enough)).astype(float)
    table["seeded_per_reader"] = (table["seeded_users"] / table["readers"].where(table["readers"] > 0)).astype(float)
    shrunk = (table["seeded"] + PRIOR_TOUCHES * p0) / (table["touches"] + PRIOR_TOUCHES)
    table["shrunk_rate"] = shrunk.astype(float)
    table["expected_seeded"] = table["target_reach"] * table["shrunk_rate"]
    return table


def _with_fees(view: View, table: pd.DataFrame, notes: list[str]) -> pd.DataFrame:
    """The creators' tier, followers and fee (the ``creators`` table), and their spend."""
    cr = view.optional("creators")
    if cr is not None:
        cols = [c for c in ("creator_id", "tier", "followers", "fee") if c in cr.columns]
        info = cr.select(*cols).to_pyarrow().to_pandas().drop_duplicates("creator_id")
        table = table.merge(info, on="creator_id", how="left")
    for col in ("tier", "followers", "fee"):
        if col not in table:
            table[col] = None
    if table["fee"].isna().all():
        notes.append(Note("no creator fees (creators table): costs and the budgeted mix are unavailable",
                          "creators.note.no_fees"))
    table["fee"] = table["fee"].astype(float)
    table["spend"] = table["fee"] * table["brand_notes"]
    return table


def _new_ti(view: View, table: pd.DataFrame, attribution: str | None, credit_brands: list[str],
            notes: list[str]) -> pd.Series | float:
    """New TI credited to each creator by attribution (NaN when not computed)."""
    if not attribution:
        return float("nan")
    if not credit_brands:
        notes.append(Note("new_ti: the attribution module is not available on this workspace",
                          "creators.note.no_attribution"))
        return float("nan")
    from aips.analytics.attribution.api import attribute

    try:
        credits = attribute(view, model=attribution, target="TI", by="creator", brand=credit_brands)
        label = "creator" if "creator" in credits.columns else credits.columns[0]
        credited = credits.set_index(label)["conversions"]
        new_ti = table["creator_id"].map(credited).astype(float).fillna(0.0)
    except (AipsError, KeyError, ValueError) as err:
        notes.append(Note(f"new_ti: attribution unavailable ({err})", "creators.note.attribution_failed", error=err))
        return float("nan")
    brands = ", ".join(credit_brands)
    notes.append(Note(f"new_ti: {attribution} attribution of TI advances on {brands} (credits reach, not cause)",
                      "creators.note.new_ti", model=attribution, brands=brands))
    return new_ti


def creator_overlap(engaged: ibis.Table, creators: list[str]) -> pd.DataFrame:
    """Target users engaged by both creators of each pair: ``creator_a, creator_b, shared``."""
    empty = pd.DataFrame({"creator_a": pd.Series(dtype=str), "creator_b": pd.Series(dtype=str),
                          "shared": pd.Series(dtype="int64")})
    if len(creators) < 2:
        return empty
    pairs = engaged.filter(engaged.creator_id.isin(creators)).select("creator_id", "user_id").distinct()
    other = pairs.rename(_c="creator_id", _u="user_id")
    j = pairs.join(other, [pairs.user_id == other._u, pairs.creator_id < other._c])
    out = j.group_by([j.creator_id.name("creator_a"), j._c.name("creator_b")]).aggregate(shared=j.count())
    df = out.to_pyarrow().to_pandas()
    return df.sort_values(["creator_a", "creator_b"]).reset_index(drop=True) if len(df) else empty


def recommend_mix(table: pd.DataFrame, overlap: pd.DataFrame, budget: float) -> pd.DataFrame:
    """Greedy budgeted mix (see the module docstring): one row per booked creator, in order.

    Columns ``step, creator_id, tier, fee, marginal_reach, marginal_seeded, cumulative_cost,
    cumulative_seeded``.
    """
    if budget is None or budget < 0:
        raise ConfigError("the budget must be a non-negative number")
    shared: dict[tuple[str, str], int] = {}
    for row in overlap.itertuples():
        shared[(row.creator_a, row.creator_b)] = shared[(row.creator_b, row.creator_a)] = int(row.shared)
    pool = {r["creator_id"]: r for r in table.to_dict(orient="records")
            if r["fee"] is not None and not pd.isna(r["fee"]) and r["fee"] > 0 and r["target_reach"] > 0}
    chosen: list[dict] = []
    left, cum_seeded = float(budget), 0.0
    while True:
        best, best_value = None, 0.0
        for cid, r in pool.items():
            if r["fee"] > left:
                continue
            reach = float(r["target_reach"])
            for c in chosen:
                reach *= max(0.0, 1.0 - shared.get((cid, c["creator_id"]), 0) / r["target_reach"])
            gain = reach * float(r["shrunk_rate"])
            value = gain / r["fee"]
            if gain > 0 and (value > best_value or (value == best_value and best and cid < best[0])):
                best, best_value = (cid, reach, gain), value
        if best is None:
            break
        cid, reach, gain = best
        r = pool.pop(cid)
        left -= r["fee"]
        cum_seeded += gain
        chosen.append({"step": len(chosen) + 1, "creator_id": cid, "tier": r["tier"], "fee": r["fee"],
                       "marginal_reach": reach, "marginal_seeded": gain,
                       "cumulative_cost": float(budget) - left, "cumulative_seeded": cum_seeded})
    cols = ["step", "creator_id", "tier", "fee", "marginal_reach", "marginal_seeded",
            "cumulative_cost", "cumulative_seeded"]
    return pd.DataFrame(chosen, columns=cols)


def creators(
    view: View,
    target: Any = "TI",
    at: Any = None,
    *,
    brand: str | Sequence[str] | None = None,
    category: str | None = None,
    competitors_of: str | None = None,
    lookback: int = 90,
    k: int = 7,
    budget: float | None = None,
    top: int = 20,
    attribution: str | None = "markov",
    min_touches: int = 30,
) -> CreatorRanking:
    """Rank KOL/KOC creators for a target crowd (see the module docstring).

    Args:
        view: the store as the model reads it.
        target: an :class:`~aips.activation.audiences.Audience`, an
            :class:`~aips.crowd.AudienceSpec` (or its dict, or a YAML/JSON path), or
            stage(s) (``"TI"``, ``"I+TI"``) of ``brand`` / ``category`` / ``competitors_of``'s
            crowd on ``at``.
        at: the as-of local date.
        lookback: days of creator touches considered (ending ``at``).
        k: days after a touch within which a stage advance counts as seeded.
        budget: recommend a creator mix within this budget (needs creators' fees).
        top: creators in the overlap matrix and candidates for the mix.
        attribution: the model crediting new TI to creators (``None`` to skip).
        min_touches: creators with fewer eligible touches get no seeding lift (too noisy).
    """
    crowd = _target_audience(view, target, at, brand, category, competitors_of)
    return rank_creators(view, crowd, lookback=lookback, k=k, budget=budget, top=top,
                         attribution=attribution, min_touches=min_touches)


def _target_audience(view: View, target, at, brand, category, competitors_of) -> Audience:
    if isinstance(target, Audience):
        return target
    if isinstance(target, (AudienceSpec, dict)) or (
            isinstance(target, str) and target.endswith((".yaml", ".yml", ".json"))):
        return Audience.from_spec(view, target, at=at)
    return audience(view, brand=brand, at=at, stages=target, category=category,
                    competitors_of=competitors_of, name=f"target {target}")
