"""The causal journey model, vectorised over all (user, brand) pairs of a block.

How a journey works (one per user and brand):

1. **Exposures.** Feed-delivered channels (feed ads, KOL/KOC notes, topic challenges,
   organic notes) reach a pair as a Poisson process whose rate is the user's activity x
   targeting weight (interest in the category, brand's demographic skew) x the brand's
   delivery intensity on that day (campaign flights, weekday rhythm, festivals). Holdout
   users get no paid exposures. The first exposure is the journey's first touch ``t0``.
2. **Clock.** Each pair draws its decision time ``tau`` (log-normal, median = the
   category's decision cycle) and when its I and TI decisions fall within it
   (``f_I * tau``, ``f_TI * tau``); the purchase decision is at ``t0 + tau`` and the S
   decision a few days later.
3. **Decisions.** At each decision the pair advances with probability ``1 - exp(-H)``,
   ``H = m * (base + sum of effects of exposures in the last hazard_window_days)``, where an
   exposure's effect is its channel's true effect for that transition x its format's and
   its creator's multipliers, and ``m`` holds the user's interest, the brand's leak knob,
   the segment skew and (for TI->P) festival pushes. A failed decision stalls the journey.
   In I and TI the user searches; searches show the brand's search ad (when a flight runs
   and the user is not in the holdout) and organic results, which count as exposures too.

Because timing is drawn independently of the decisions, the converters' time to purchase
has the configured median; channels change *whether* people advance, not when.

**The schedule is anchored where the brand first targets the user.** ``t0`` is the pair's
first exposure; for holdout users it is the first exposure they *would* have received
(their paid exposures are drawn as "ghosts" that are never shown and have no effect).
Switching exposures off -- a counterfactual, or the holdout -- never moves the schedule: it
only removes effects from the hazards and, when no shown exposure remains by the I
decision, awareness (an unaware user cannot become interested). Hence removing exposures
can only lower each pair's advance probabilities (true effects are never negative), and
the holdout group lives exactly in the "all paid channels off" counterfactual, so a
holdout comparison estimates the truth's paid incrementality without bias.

All random numbers are drawn once per pair, so :func:`counterfactual` re-uses them
(common random numbers): the difference in purchases is the true incremental effect.

>>> from aips.simulate.params import SimulationParams
>>> from aips.simulate.world import block_users, build_world, rng_for
>>> world = build_world(SimulationParams(users=500, days=60, block_users=500))
>>> users = block_users(world, 0)
>>> ex = push_exposures(world, users, rng_for(0, 0, 1))
>>> pairs = draw_pairs(world, users, ex, rng_for(0, 0, 2))
>>> searches = draw_searches(world, users, pairs, rng_for(0, 0, 3))
>>> fact = run_journeys(world, users, ex, pairs, searches)
>>> paid_off = counterfactual(world, ex, pairs, searches, fact, Drop(all_paid=True),
...                           DropIndex(world, ex, searches, fact))
>>> bool((paid_off.adv <= fact.adv[paid_off.idx]).all())  # effects are never negative
True
>>> int(fact.adv[paid_off.idx, 2].sum() - paid_off.adv[:, 2].sum()) > 0  # paid media sells
True
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from aips.simulate.parts import CHANNELS
from aips.simulate.world import DAY, Users, World

_BIG = np.int64(1) << 62
SEARCH_AD = CHANNELS.index("search_ad")
ORGANIC = CHANNELS.index("organic")
MAX_REPEATS = 8
"""Most repurchases drawn per buyer."""


@dataclass
class Exposures:
    """Feed exposures of a block, sorted by (pair, time)."""

    t: np.ndarray
    """Seconds since the first local midnight (int64)."""
    note: np.ndarray
    """Note code (int32): gives channel, campaign, creator, format, SPU."""
    ap: np.ndarray
    """Active-pair index of each exposure (int32, non-decreasing)."""
    ghost: np.ndarray
    """Paid exposures of holdout users: never shown, no effect; they only anchor ``t0``."""
    pair: np.ndarray
    """Pair code ``brand * n_users + user`` of each active pair (int64)."""

    def __len__(self) -> int:
        return len(self.t)


@dataclass
class Pairs:
    """Per active pair draws (arrays of length A; times in seconds)."""

    pair: np.ndarray
    """Pair code ``brand * n_users + user`` (int64)."""
    start: np.ndarray
    """Index of the pair's first exposure; ``start[A]`` is the exposure count."""
    brand: np.ndarray
    user: np.ndarray
    rel: np.ndarray
    """Decision times relative to ``t0``, shape (A, 4): I, TI, P, S."""
    u: np.ndarray
    """Decision uniforms, shape (A, 4)."""
    mult: np.ndarray
    """Hazard multiplier per transition, shape (A, 4) (festival pushes are applied later)."""
    base: np.ndarray
    """Baseline cumulative hazard per transition (4,)."""
    amount: np.ndarray
    """Order value of the first purchase and of each repurchase, shape (A, 1 + MAX_REPEATS)."""
    spu: np.ndarray
    """SPU bought (same shape)."""
    offset: np.ndarray
    """Seconds from the first purchase to each purchase (first is 0), NaN when none."""
    on_platform: np.ndarray
    """Whether the first purchase is on the platform (bool)."""

    def __len__(self) -> int:
        return len(self.pair)


@dataclass
class Searches:
    """Searches a pair would make in its I and TI stages (sorted by active pair, time)."""

    ap: np.ndarray
    rel: np.ndarray
    """Seconds after ``t0``."""
    stage: np.ndarray
    """1 = made in I, 2 = made in TI."""
    u_show: np.ndarray
    u_note: np.ndarray
    org_note: np.ndarray
    """Organic note shown in the results."""
    window: np.ndarray
    """Whether the search counts toward each decision (the one ending its stage, when within
    the hazard window), shape (S, 4)."""


@dataclass
class Outcome:
    """Result of one journey run over the active pairs ``idx``."""

    idx: np.ndarray
    """Active-pair indices covered (sorted)."""
    t0: np.ndarray
    """First touch (seconds; ``2**62`` when the pair is never touched in this run)."""
    p: np.ndarray
    """Advance probability at each decision, shape (n, 4)."""
    adv: np.ndarray
    """Whether each advance happened within the horizon, shape (n, 4) (cumulative)."""
    effect: np.ndarray
    """Summed exposure effects in each decision's window, shape (n, 4)."""
    mult: np.ndarray
    """Hazard multipliers actually applied (festivals included), shape (n, 4)."""
    aware: np.ndarray
    """Whether a shown exposure came by the I decision (bool)."""
    ad_note: np.ndarray | None = None
    """Search-ad note shown at each search of the pairs (-1: none); factual run only."""
    ex_row: np.ndarray | None = None
    """Row of each exposure in ``ex_contrib`` (-1: in no decision window); factual run only."""
    ex_contrib: np.ndarray | None = None
    """Effect each windowed exposure adds to each decision, shape (rows, 4) (float32)."""
    state: np.ndarray | None = None
    """Per pair ``[effect x4 | multiplier x4 | uniform x4 | decision within window x4]``, one
    row per pair so a counterfactual gathers what it needs in one go; factual run only."""

    def times(self, pairs: Pairs) -> np.ndarray:
        """Absolute decision times (seconds), shape (n, 4)."""
        return np.where(self.t0 < _BIG, self.t0, 0)[:, None] + pairs.rel[self.idx]


def push_exposures(world: World, users: Users, rng: np.random.Generator) -> Exposures:
    """Draw every feed exposure of the block over the whole horizon."""
    n, nb = users.n, len(world.brand_names)
    young = (users.age == 0).astype(float)
    tier1 = (users.tier == 0).astype(float)
    demo = np.exp(world.brand_young[:, None] * young + world.brand_tier1[:, None] * tier1)
    demo /= world.brand_norm[:, None]
    weight = (0.15 + users.interest[:, world.brand_cat].T) * demo * users.activity
    counts = rng.poisson(weight * world.group_total[:, None]).ravel()
    total = int(counts.sum())
    pair = np.repeat(np.arange(nb * n, dtype=np.int64), counts)
    slot = world.slots.sample(np.repeat(np.repeat(np.arange(nb), n), counts), rng.random(total))
    note = world.note_alias.sample(world.slot_pool[slot], rng.random(total)).astype(np.int32)
    hour = world.hours.sample(np.zeros(total, np.int64), rng.random(total))
    t = world.slot_day[slot].astype(np.int64) * DAY + hour * 3600 + (rng.random(total) * 3600).astype(np.int64)
    order = np.argsort((pair << 32) | t, kind="stable")
    pair, t, note = pair[order], t[order], note[order]
    new = np.r_[True, pair[1:] != pair[:-1]] if total else np.zeros(0, bool)
    ap = (np.cumsum(new) - 1).astype(np.int32)
    paid = world.note_channel[note] != ORGANIC
    ghost = paid & (users.holdout[pair % n] | campaign_held(world, users, pair % n, world.note_campaign[note]))
    return Exposures(t=t, note=note, ap=ap, ghost=ghost, pair=pair[new])


def campaign_held(world: World, users: Users, user: np.ndarray, camp: np.ndarray) -> np.ndarray:
    """Whether block-local users ``user`` are held out of campaigns ``camp`` (per-campaign
    holdout, ``campaign_holdout_share``): a hash of (seed, global user, campaign), so the
    assignment needs no random stream (worlds without it stay byte-identical) and does not
    depend on how users are split into blocks.

    >>> from aips.simulate.params import SimulationParams
    >>> from aips.simulate.world import block_users, build_world
    >>> w = build_world(SimulationParams(users=2000, days=30, campaign_holdout_share=0.3))
    >>> u = block_users(w, 0)
    >>> held = campaign_held(w, u, np.arange(2000), np.zeros(2000, np.int32))
    >>> bool(0.25 < held.mean() < 0.35)
    True
    """
    share = world.params.campaign_holdout_share
    if share <= 0:
        return np.zeros(len(user), dtype=bool)
    x = (np.uint64((world.params.seed * 0x9E3779B97F4A7C15) & 0xFFFFFFFFFFFFFFFF)
         ^ (np.asarray(user, np.uint64) + np.uint64(users.first)) * np.uint64(0xBF58476D1CE4E5B9)
         ^ (np.asarray(camp, np.int64) + 1).astype(np.uint64) * np.uint64(0x94D049BB133111EB))
    for shift, mul in ((30, 0xBF58476D1CE4E5B9), (27, 0x94D049BB133111EB)):  # splitmix64 finaliser
        x = (x ^ (x >> np.uint64(shift))) * np.uint64(mul)
    x ^= x >> np.uint64(31)
    return ((x >> np.uint64(11)).astype(np.float64) / 2.0**53 < share) & (np.asarray(camp) >= 0)


def pick_note(world: World, pool: np.ndarray, u: np.ndarray) -> np.ndarray:
    """A note of each pool, drawn by reach weight with uniforms ``u``."""
    return world.note_alias.sample(np.asarray(pool, dtype=np.int64), u).astype(np.int32)


def draw_pairs(world: World, users: Users, ex: Exposures, rng: np.random.Generator) -> Pairs:
    """Per active pair: decision clock, decision uniforms, hazard multipliers, orders."""
    p = world.params
    n = users.n
    starts = np.flatnonzero(np.r_[True, ex.ap[1:] != ex.ap[:-1]]) if len(ex) else np.zeros(0, np.int64)
    a = len(starts)
    pair = ex.pair
    brand, user = np.divmod(pair, n)
    cat = world.brand_cat[brand]
    median = world.cat_cycle[cat]
    sigma = np.asarray([c.cycle_sigma for c in p.categories])[cat]
    cap = np.asarray([c.cycle_cap for c in p.categories])[cat] * median
    tau = median * np.exp(sigma * rng.standard_normal(a))
    tau = np.where(tau > cap, cap * rng.uniform(0.6, 1.0, a), tau)
    (a1, b1), (a2, b2) = p.stage_fractions
    f_i = rng.beta(a1, b1, a)
    f_ti = f_i + (1 - f_i) * rng.beta(a2, b2, a)
    post = p.post_delay_days * np.exp(0.7 * rng.standard_normal(a))
    rel = np.stack([f_i * tau, f_ti * tau, tau, tau + post], axis=1) * DAY
    u = rng.random((a, 4))

    interest = users.interest[user, cat]
    mult = (0.3 + 1.4 * interest)[:, None] * world.brand_mult[brand]
    attrs = {"gender": users.gender, "age_band": users.age, "city_tier": users.tier}
    for b, k, segment, factor in world.skews:
        hit = brand == b
        for attr, code in segment.items():
            hit &= attrs[attr][user] == code
        mult[hit, k] *= factor

    # Orders: first purchase and repurchases (offsets from the first), SPU and amount.
    reps_p = np.asarray([c.repurchase_prob for c in p.categories])[cat]
    gap = np.asarray([c.repurchase_interval_days for c in p.categories])[cat]
    n_rep = np.minimum(rng.geometric(1 - reps_p) - 1, MAX_REPEATS)
    rows = np.repeat(np.arange(a), n_rep)
    cols = np.arange(len(rows)) - np.repeat(np.r_[0, np.cumsum(n_rep)[:-1]], n_rep)
    gaps = np.zeros((a, MAX_REPEATS))
    gaps[rows, cols] = rng.gamma(3.0, 1.0, len(rows)) * gap[rows] / 3.0 * DAY
    offset = np.concatenate([np.zeros((a, 1)), np.cumsum(gaps, axis=1)], axis=1)
    offset[np.arange(MAX_REPEATS + 1)[None, :] > n_rep[:, None]] = np.nan
    nspu = p.spus_per_brand
    spu_local = np.repeat(rng.integers(0, nspu, a)[:, None], MAX_REPEATS + 1, axis=1)
    switch = rng.random(len(rows)) < 0.2
    spu_local[rows[switch], cols[switch] + 1] = rng.integers(0, nspu, int(switch.sum()))
    spu = np.stack(world.brand_spus)[brand[:, None], spu_local].astype(np.int32)
    qty = np.ones((a, MAX_REPEATS + 1))
    qty[rng.random(a) < 0.12, 0] = 2
    amount = world.spu_price[spu] * qty
    on_platform = rng.random(a) < p.on_platform_share
    return Pairs(
        pair=pair, start=np.r_[starts, len(ex)].astype(np.int64), brand=brand, user=user, rel=rel,
        u=u, mult=mult, base=np.asarray(p.base_hazard, dtype=float), amount=amount, spu=spu,
        offset=offset, on_platform=on_platform,
    )


def draw_searches(world: World, users: Users, pairs: Pairs, rng: np.random.Generator) -> Searches:
    """Searches in the I stage ([rel_I, rel_TI)) and the TI stage ([rel_TI, rel_P)).

    A stage shorter than the hazard window gets the searches of a full window (people who
    decide fast search intensely), so the searches that reach a decision do not depend on
    how long the decision takes; each stage's searches count toward the decision ending it.
    """
    p = world.params
    act = np.sqrt(users.activity[pairs.user])
    w_days = p.hazard_window_days
    dur_i = np.maximum((pairs.rel[:, 1] - pairs.rel[:, 0]) / DAY, w_days)
    dur_ti = np.maximum((pairs.rel[:, 2] - pairs.rel[:, 1]) / DAY, w_days)
    n_i = rng.poisson(p.search_rate[0] * dur_i * act)
    n_ti = rng.poisson(p.search_rate[1] * dur_ti * act)
    a = len(pairs)
    ap = np.repeat(np.arange(a, dtype=np.int32), n_i + n_ti)
    first = np.repeat(np.r_[0, np.cumsum(n_i + n_ti)[:-1]], n_i + n_ti)
    stage = np.where(np.arange(len(ap)) - first < n_i[ap], 1, 2).astype(np.int8)
    lo = pairs.rel[ap, stage - 1]
    hi = pairs.rel[ap, stage]
    rel = np.floor(lo + rng.random(len(ap)) * (hi - lo))
    order = np.argsort((ap.astype(np.int64) << 32) | rel.astype(np.int64), kind="stable")
    ap, rel, stage = ap[order], rel[order], stage[order]
    u_show = rng.random(len(ap))
    u_note = rng.random(len(ap))
    org_note = pick_note(world, world.organic_pool + pairs.brand[ap], rng.random(len(ap)))
    dec = pairs.rel[ap, stage]
    window = np.zeros((len(ap), 4), dtype=bool)
    window[np.arange(len(ap)), stage] = rel > dec - w_days * DAY
    return Searches(ap=ap, rel=rel, stage=stage, u_show=u_show, u_note=u_note, org_note=org_note, window=window)


@dataclass(frozen=True)
class Drop:
    """What a counterfactual run switches off."""

    channel: int = -1
    """Channel code whose exposures are removed (-1: none)."""
    campaign: int = -1
    """Campaign code whose exposures are removed (-1: none)."""
    all_paid: bool = False
    """Remove every paid exposure (what holdout users experience)."""

    def removes(self, world: World, note: np.ndarray) -> np.ndarray:
        """Boolean mask of removed exposures among notes ``note``."""
        out = np.zeros(len(note), dtype=bool)
        if self.channel >= 0:
            out |= world.note_channel[note] == self.channel
        if self.campaign >= 0:
            out |= world.note_campaign[note] == self.campaign
        if self.all_paid:
            out |= world.note_channel[note] != ORGANIC
        return out


FACTUAL = Drop()


def run_journeys(world: World, users: Users, ex: Exposures, pairs: Pairs, searches: Searches) -> Outcome:
    """Decide every advance of every active pair of the block (the factual world)."""
    p = world.params
    horizon = p.days * DAY
    n = len(pairs)
    idx = np.arange(n)
    first = pairs.start[:-1]
    t0 = ex.t[first] if n else np.zeros(0, np.int64)
    when = t0[:, None] + pairs.rel
    shown = ~ex.ghost
    # Exposure effects within each decision's window (W days before it, the decision included).
    w_days = p.hazard_window_days * DAY
    effect = np.zeros((n, 4))
    any_inside = np.zeros(len(ex), bool)
    for k in range(4):
        end = when[:, k][ex.ap]
        inside = (ex.t <= end) & (ex.t > end - w_days) & shown
        any_inside |= inside
        effect[:, k] = np.bincount(ex.ap, weights=np.where(inside, world.note_effect[ex.note, k], 0.0), minlength=n)
    rows = np.flatnonzero(any_inside)
    end = when[ex.ap[rows]]
    t_in = ex.t[rows][:, None]
    ex_contrib = np.where((t_in <= end) & (t_in > end - w_days), world.note_effect[ex.note[rows]], 0.0)
    ex_row = np.full(len(ex), -1, np.int32)
    ex_row[rows] = np.arange(len(rows), dtype=np.int32)
    # Searches (they only exist, and matter, in I and TI): search ads and organic results.
    ad_note = _search_ads(world, users, pairs, searches, t0)
    ad_w = np.where((ad_note >= 0)[:, None], world.note_effect[np.maximum(ad_note, 0)], 0.0)
    w = np.where(searches.window, ad_w + world.note_effect[searches.org_note], 0.0)
    for k in range(4):
        effect[:, k] += np.bincount(searches.ap, weights=w[:, k], minlength=n)
    mult = pairs.mult.copy()
    p_day = np.clip((when[:, 2] // DAY).astype(np.int64), 0, p.days - 1)
    mult[:, 2] *= np.where(when[:, 2] < horizon, world.purchase_boost[p_day], 1.0)
    seen = np.minimum.reduceat(np.where(shown, ex.t, _BIG), first) if n else np.zeros(0, np.int64)
    out = _decide(pairs, idx, t0, seen <= when[:, 0], effect, mult, horizon)
    out.ad_note = ad_note
    out.ex_row, out.ex_contrib = ex_row, ex_contrib.astype(np.float32)
    out.state = np.hstack([effect, mult, pairs.u, (when < horizon).astype(float)])
    return out


def _search_ads(world, users, pairs, searches, t0) -> np.ndarray:
    """The search-ad note shown at each search (-1 when none): a flight must be running."""
    ad_note = np.full(len(searches.ap), -1, dtype=np.int32)
    if not len(ad_note):
        return ad_note
    camp, ok = search_ad_slots(world, users, pairs, searches, t0)
    ok &= ~campaign_held(world, users, pairs.user[searches.ap], camp)
    shown = np.flatnonzero(ok)
    ad_note[shown] = pick_note(world, camp[shown], searches.u_note[shown])
    return ad_note


def search_ad_slots(world, users, pairs, searches, t0) -> tuple[np.ndarray, np.ndarray]:
    """Per search: the brand's running search campaign (-1: none) and whether its ad would
    be shown, before the per-campaign holdout (global holdout users are never shown one)."""
    p = world.params
    ap = searches.ap
    when = t0[ap] + searches.rel
    day = np.minimum((when // DAY).astype(np.int64), p.days - 1)
    camp = world.search_camp[pairs.brand[ap], day]
    ok = (camp >= 0) & ~users.holdout[pairs.user[ap]] & (when < p.days * DAY)
    ok &= searches.u_show < p.channels["search_ad"].intensity
    return camp, ok


def _decide(pairs, idx, t0, aware, effect, mult, horizon) -> Outcome:
    when = t0[:, None] + pairs.rel[idx]
    prob = 1.0 - np.exp(-mult * (pairs.base + np.maximum(effect, 0.0)))
    adv = (pairs.u[idx] < prob) & (when < horizon)
    adv[:, 0] &= aware
    adv = np.logical_and.accumulate(adv, axis=1)
    return Outcome(idx=idx, t0=t0, p=prob, adv=adv, effect=effect, mult=mult, aware=aware)


class DropIndex:
    """Shown exposures and search ads grouped by channel and by campaign, so that each
    counterfactual gets what it removes as sorted index arrays without a pass over the block."""

    def __init__(self, world: World, ex: Exposures, searches: Searches, fact: Outcome) -> None:
        shown = np.flatnonzero(~ex.ghost)
        chan = world.note_channel[ex.note[shown]]
        camp = world.note_campaign[ex.note[shown]]
        nc, n = len(world.camp_ids), len(fact.idx)
        self._by_chan = self._group(shown, chan, len(CHANNELS))
        self._by_camp = self._group(shown, camp, nc)
        self._paid = shown[chan != ORGANIC]
        ads = np.flatnonzero(fact.ad_note >= 0)
        self._ads = ads
        self._ads_by_camp = self._group(ads, world.note_campaign[fact.ad_note[ads]], nc)
        self._none = np.zeros(0, np.int64)
        # What each search adds to each decision: its ad, its organic result.
        self.ad_contrib = np.where(searches.window & (fact.ad_note >= 0)[:, None],
                                   world.note_effect[np.maximum(fact.ad_note, 0)], 0.0)
        self.org_contrib = np.where(searches.window, world.note_effect[searches.org_note], 0.0)
        self.ad_total = np.stack([np.bincount(searches.ap, weights=self.ad_contrib[:, k], minlength=n) for k in range(4)], 1)
        self.org_total = np.stack([np.bincount(searches.ap, weights=self.org_contrib[:, k], minlength=n) for k in range(4)], 1)
        self.ad_pairs = _runs(searches.ap[ads])[0]
        self.search_pairs = _runs(searches.ap)[0]
        # First shown exposure per pair and channel (awareness when a channel is off).
        self.first_by_chan = np.full((n, len(CHANNELS)), _BIG, dtype=np.int64)
        for c, idx in enumerate(self._by_chan):
            if len(idx):
                ids, starts, _ = _runs(ex.ap[idx])
                self.first_by_chan[ids, c] = ex.t[idx[starts]]

    @staticmethod
    def _group(index: np.ndarray, code: np.ndarray, n: int) -> list[np.ndarray]:
        code = code.astype(np.int16 if n < 32000 else np.int32)
        order = np.argsort(code, kind="stable")
        bounds = np.searchsorted(code[order], np.arange(n + 1))
        return [index[order[bounds[i]: bounds[i + 1]]] for i in range(n)]

    def removed(self, drop: Drop) -> np.ndarray:
        """Sorted indices of the shown exposures ``drop`` switches off."""
        if drop.all_paid:
            return self._paid
        if drop.channel >= 0:
            return self._by_chan[drop.channel]
        return self._by_camp[drop.campaign]

    def ads_removed(self, drop: Drop) -> np.ndarray:
        """Sorted indices of the searches whose ad ``drop`` switches off."""
        if drop.all_paid or drop.channel == SEARCH_AD:
            return self._ads
        if drop.campaign >= 0:
            return self._ads_by_camp[drop.campaign]
        return self._none


@dataclass
class Counterfactual:
    """A counterfactual run, for the pairs it touches (all other pairs are unaffected)."""

    idx: np.ndarray
    """Active pairs touched (sorted)."""
    p: np.ndarray
    """Advance probabilities without the dropped exposures, shape (n, 4)."""
    adv: np.ndarray
    """Advances without them, shape (n, 4) (never more than the factual ones)."""
    aware: np.ndarray
    """Whether a remaining shown exposure came by the I decision."""


def counterfactual(world, ex, pairs, searches, fact: Outcome, drop: Drop, index: DropIndex) -> Counterfactual:
    """The pairs ``drop`` touches, with its exposures and search ads switched off (and organic
    search results when it is the organic channel): same random numbers, same schedule.

    Only the removed effects are subtracted from the factual hazards, so the cost grows with
    what is removed, not with the block.
    """
    removed = index.removed(drop)
    all_ads = drop.all_paid or drop.channel == SEARCH_AD
    s_ads = index.ads_removed(drop) if drop.campaign >= 0 else index._none
    ids_rm, starts_rm, _ = _runs(ex.ap[removed])
    extra = [index.ad_pairs] if all_ads else [_runs(searches.ap[s_ads])[0]]
    if drop.channel == ORGANIC:
        extra.append(index.search_pairs)
    touched = _sorted_unique(np.concatenate([ids_rm, *extra]))
    st = fact.state[touched]
    effect = st[:, 0:4].copy()
    # Effects of the removed exposures that fell in some decision's window.
    row = fact.ex_row[removed]
    hit = np.flatnonzero(row >= 0)
    if len(hit):
        ids, starts, _ = _runs(ex.ap[removed[hit]])
        contrib = np.add.reduceat(fact.ex_contrib[row[hit]], starts, axis=0, dtype=np.float64)
        effect[np.searchsorted(touched, ids)] -= contrib
    if all_ads:
        effect -= index.ad_total[touched]
    elif len(s_ads):
        ids, starts, _ = _runs(searches.ap[s_ads])
        effect[np.searchsorted(touched, ids)] -= np.add.reduceat(index.ad_contrib[s_ads], starts, axis=0)
    if drop.channel == ORGANIC:
        effect -= index.org_total[touched]
    # Awareness: the first shown exposure that remains must come by the I decision.
    first = index.first_by_chan[touched]
    if drop.campaign < 0:
        if drop.all_paid:
            first[:, [c for c in range(len(CHANNELS)) if c != ORGANIC]] = _BIG
        else:
            first[:, drop.channel] = _BIG
        seen = first.min(axis=1)
    else:
        seen = first.min(axis=1)
        lost, _ = _member(removed, _first_shown(ex, pairs, touched))
        redo = np.flatnonzero(lost)
        if len(redo):
            lo_e, hi_e = pairs.start[touched[redo]], pairs.start[touched[redo] + 1]
            e = _ranges(lo_e, hi_e)
            gone, _ = _member(removed, e)
            keep_t = np.where(ex.ghost[e] | gone, _BIG, ex.t[e])
            seen[redo] = np.minimum.reduceat(keep_t, np.r_[0, np.cumsum(hi_e - lo_e)[:-1]])
    aware = fact.aware[touched] & (seen <= fact.t0[touched] + pairs.rel[touched, 0])
    effect = np.clip(effect, 0.0, st[:, 0:4])  # float rounding must never add effect
    prob = 1.0 - np.exp(-st[:, 4:8] * (pairs.base + effect))
    adv = (st[:, 8:12] < prob) & (st[:, 12:16] > 0.5)
    adv[:, 0] &= aware
    adv = np.logical_and.accumulate(adv, axis=1)
    return Counterfactual(idx=touched, p=prob, adv=adv, aware=aware)


def _runs(sorted_ids: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct values of a sorted array, where each run starts and how long it is."""
    if not len(sorted_ids):
        z = np.zeros(0, np.int64)
        return z, z, z
    starts = np.flatnonzero(np.r_[True, sorted_ids[1:] != sorted_ids[:-1]])
    return sorted_ids[starts], starts, np.diff(np.r_[starts, len(sorted_ids)])


def _sorted_unique(x: np.ndarray) -> np.ndarray:
    x = np.sort(x.astype(np.int64), kind="stable")
    return x[np.r_[True, x[1:] != x[:-1]]] if len(x) else x


def _first_shown(ex: Exposures, pairs: Pairs, idx: np.ndarray) -> np.ndarray:
    """Index of each pair's first shown (non-ghost) exposure (-1 when none)."""
    first = pairs.start[idx]
    ok = ~ex.ghost[first]
    out = np.where(ok, first, -1)
    todo = np.flatnonzero(~ok)
    if len(todo):
        lo, hi = pairs.start[idx[todo]], pairs.start[idx[todo] + 1]
        e = _ranges(lo, hi)
        cand = np.where(ex.ghost[e], np.iinfo(np.int64).max, e)
        best = np.minimum.reduceat(cand, np.r_[0, np.cumsum(hi - lo)[:-1]])
        out[todo] = np.where(best == np.iinfo(np.int64).max, -1, best)
    return out


def _member(sorted_values: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Whether each ``x`` is in ``sorted_values``, and its position there."""
    pos = np.searchsorted(sorted_values, x)
    if not len(sorted_values):
        return np.zeros(len(x), bool), pos
    return sorted_values[np.minimum(pos, len(sorted_values) - 1)] == x, pos


def _ranges(lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Concatenated ``arange(lo[i], hi[i])`` for all i (vectorised)."""
    lengths = hi - lo
    total = int(lengths.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    offsets = np.r_[0, np.cumsum(lengths)[:-1]]
    return np.arange(total, dtype=np.int64) - np.repeat(offsets - lo, lengths)
