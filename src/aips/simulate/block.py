"""One block of users, end to end: exposures, journeys, counterfactuals, events.

:func:`run_block` is what a worker process runs. It returns the block's events (coded, cut
to the horizon and grouped by local day) and :class:`BlockStats`: additive aggregates
(counts, sums, histograms) that :mod:`aips.simulate.truth` adds up over blocks.

>>> from aips.simulate.params import SimulationParams
>>> from aips.simulate.world import build_world
>>> out = run_block(build_world(SimulationParams(users=300, days=20, block_users=300)), 0)
>>> int(out.bounds[-1]) == len(out.events), out.stats.arrays["delta"].shape[1:]
(True, (12, 10))
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from aips.simulate.emit import ET, Events, emit_events, unpack
from aips.simulate.journeys import (
    ORGANIC,
    Drop,
    DropIndex,
    Outcome,
    Pairs,
    campaign_held,
    counterfactual,
    draw_pairs,
    draw_searches,
    push_exposures,
    run_journeys,
    search_ad_slots,
)
from aips.simulate.parts import CHANNELS, EVENT_TYPES
from aips.simulate.world import DAY, World, block_users, rng_for

METRICS: tuple[str, ...] = (
    "first_purchases",
    "orders",
    "revenue",
    "expected_first_purchases",
    "expected_revenue",
    "reached_I",
    "reached_TI",
    "reached_S",
    "orders_T_x",
    "revenue_T_x",
)
"""Metrics kept per (run, brand): realised (common random numbers) and exact expectations;
the ``_T_x`` ones count orders dated within a campaign's ROI(T+x) window."""

CYCLE_BIN = 0.1
"""Width (days) of the decision-time histogram bins."""


def drops(world: World) -> list[Drop]:
    """Counterfactual runs kept in the truth: each channel off, all paid off, each campaign off."""
    return (
        [Drop(channel=c) for c in range(len(CHANNELS))]
        + [Drop(all_paid=True)]
        + [Drop(campaign=k) for k in range(len(world.camp_ids))]
    )


@dataclass
class BlockStats:
    """Additive aggregates of a block (see :func:`empty_stats` for the arrays)."""

    arrays: dict[str, np.ndarray]

    def add(self, other: BlockStats) -> None:
        for name, value in other.arrays.items():
            self.arrays[name] = self.arrays[name] + value


def empty_stats(world: World) -> BlockStats:
    """Zeroed aggregates, the shapes every block fills."""
    p = world.params
    nb, nc, nn = len(world.brand_names), len(world.camp_ids), len(world.note_ids)
    ncat = len(world.cat_names)
    nattr = len(world.genders) + 4 + len(world.tiers)
    max_cap = max(c.cycle_cap * c.decision_cycle_days for c in p.categories)
    nbins = int(np.ceil(max_cap / CYCLE_BIN)) + 1
    return BlockStats({
        "events_by_type_day": np.zeros((len(EVENT_TYPES), p.days), np.int64),
        "note_impressions": np.zeros(nn, np.int64),
        "note_reads": np.zeros(nn, np.int64),
        "camp_reach": np.zeros(nc, np.int64),
        "reached": np.zeros((nb, 5), np.int64),
        "decided": np.zeros((nb, 4), np.int64),
        "advanced": np.zeros((nb, 4), np.int64),
        "portrait": np.zeros((nb, 5, nattr), np.int64),
        "cycle_hist": np.zeros((ncat, nbins), np.int64),
        "cycle_hist_full": np.zeros((ncat, nbins), np.int64),
        "cycle_started_full": np.zeros(ncat, np.int64),
        "factual": np.zeros((nb, len(METRICS))),
        "delta": np.zeros((len(drops(world)), nb, len(METRICS))),
        "skew_counts": np.zeros((max(len(world.skews), 1), 5, 2), np.int64),
        "on_platform": np.zeros(nb, np.int64),
        "holdout_users": np.zeros(2, np.int64),
        "holdout_first_purchases": np.zeros((2, nb), np.int64),
        "holdout_revenue": np.zeros((2, nb)),
    })


@dataclass
class BlockOutput:
    """What a block hands to the writer and to the truth."""

    events: Events
    """Coded events grouped by local day."""
    bounds: np.ndarray
    """Day ``d``'s events are rows ``bounds[d]:bounds[d + 1]``."""
    pair_brand: np.ndarray
    """Brand of each active pair (events refer to pairs)."""
    pair_user: np.ndarray
    """Block-local user of each active pair."""
    stats: BlockStats
    audience: Audience | None = None
    """Per-campaign holdout assignment of the block (only with ``campaign_holdout_share``)."""


@dataclass
class Audience:
    """Every (user, paid campaign) pair of a block where the campaign reached or would have
    reached the user (global holdout users excluded: no campaign targets them), sorted by
    user then campaign."""

    user: np.ndarray
    """Global user index."""
    camp: np.ndarray
    """Campaign code."""
    t: np.ndarray
    """First (would-be) exposure, seconds since the first local midnight."""
    held: np.ndarray
    """Held out of this campaign (its exposures were ghosts)."""


def campaign_audience(world: World, users, ex, pairs: Pairs, searches, fact: Outcome) -> Audience:
    """The would-be audience of each paid campaign in the block and its holdout flags.

    Feed exposures count whether shown or ghost; search ads count at searches the user made
    (the journey reached that stage) while the flight ran. Whether a user has a first
    would-be exposure is settled before the campaign can have acted on them, so held-out
    and exposed audiences are alike but for the campaign (the ghost-ads argument).
    """
    horizon = world.params.days * DAY
    camp_e = world.note_campaign[ex.note]
    user_e = pairs.user[ex.ap]
    ok = ((world.note_channel[ex.note] != ORGANIC) & (camp_e >= 0) & ~users.holdout[user_e]
          & (ex.t >= 0) & (ex.t < horizon))
    camp_s, ok_s = search_ad_slots(world, users, pairs, searches, fact.t0)
    ok_s &= fact.adv[searches.ap, searches.stage - 1]  # the search happened
    t_s = fact.t0[searches.ap] + searches.rel.astype(np.int64)
    user = np.concatenate([user_e[ok], pairs.user[searches.ap][ok_s]]).astype(np.int64)
    camp = np.concatenate([camp_e[ok], camp_s[ok_s]]).astype(np.int64)
    t = np.concatenate([ex.t[ok], t_s[ok_s]]).astype(np.int64)
    key = user * len(world.camp_ids) + camp
    order = np.lexsort((t, key))
    key, t = key[order], t[order]
    first = np.r_[True, key[1:] != key[:-1]] if len(key) else np.zeros(0, bool)
    user_l, camp_k = np.divmod(key[first], len(world.camp_ids))
    held = campaign_held(world, users, user_l, camp_k)
    return Audience(user=user_l + users.first, camp=camp_k.astype(np.int32), t=t[first], held=held)


def run_block(world: World, block: int) -> BlockOutput:
    """Simulate block ``block``: its events grouped by local day, and its aggregates."""
    p = world.params
    seed = p.seed
    users = block_users(world, block)
    ex = push_exposures(world, users, rng_for(seed, block, 1))
    pairs = draw_pairs(world, users, ex, rng_for(seed, block, 2))
    searches = draw_searches(world, users, pairs, rng_for(seed, block, 3))
    fact = run_journeys(world, users, ex, pairs, searches)
    events = emit_events(world, users, ex, pairs, searches, fact, rng_for(seed, block, 4))
    events, bounds = _sort(events, pairs, users.n, p.days)

    stats = empty_stats(world)
    a = stats.arrays
    a["events_by_type_day"] += _type_day(events, bounds, p.days)
    _note_counts(world, ex, events, a)
    _funnel(world, users, ex, pairs, fact, a)
    _cycles(world, users, pairs, fact, a)
    horizon = p.days * DAY
    brand = pairs.brand
    orders = _Orders(fact, pairs, horizon)
    a["factual"] += _factual_metrics(world, fact, orders, brand)
    a["on_platform"] += np.bincount(brand, weights=fact.adv[:, 2] & pairs.on_platform, minlength=len(world.brand_names)).astype(np.int64)
    a["holdout_users"] += np.bincount(users.holdout.astype(int), minlength=2)
    hold = users.holdout[pairs.user].astype(int)
    np.add.at(a["holdout_first_purchases"], (hold, brand), fact.adv[:, 2])
    np.add.at(a["holdout_revenue"], (hold, brand), fact.adv[:, 2] * orders.revenue)

    index = DropIndex(world, ex, searches, fact)
    for d, drop in enumerate(drops(world)):
        cf = counterfactual(world, ex, pairs, searches, fact, drop, index)
        if drop.campaign >= 0:
            k = drop.campaign
            x = world.cat_cycle[world.brand_cat[world.camp_brand[k]]]
            window = (world.camp_start[k], world.camp_start[k] + int(round(x)))
            a["delta"][d, world.camp_brand[k]] += _delta(fact, cf, orders, window).sum(axis=0)
        else:
            rows = _delta(fact, cf, orders, None)
            b = brand[cf.idx]
            a["delta"][d] += np.stack([np.bincount(b, weights=rows[:, j], minlength=len(world.brand_names))
                                       for j in range(rows.shape[1])], axis=1)
    audience = (campaign_audience(world, users, ex, pairs, searches, fact)
                if p.campaign_holdout_share > 0 else None)
    return BlockOutput(events, bounds, pairs.brand, pairs.user, stats, audience)


class _Orders:
    """Each pair's would-be orders: schedules never move, so factual and counterfactual
    orders differ only in whether the first purchase happens."""

    def __init__(self, fact: Outcome, pairs: Pairs, horizon: int) -> None:
        self.times = fact.times(pairs)[:, 2][:, None] + pairs.offset
        self.ok = self.times < horizon
        self.count = self.ok.sum(axis=1)
        self.revenue = np.where(self.ok, pairs.amount, 0.0).sum(axis=1)
        self.amount = pairs.amount
        self.reach = np.prod(fact.p[:, :3], axis=1) * fact.aware * self.ok[:, 0]
        """Expected first purchases of each pair (exact, over the decision draws)."""


def _sort(events: Events, pairs: Pairs, n_users: int, days: int) -> tuple[Events, np.ndarray]:
    """Cut to the horizon and group by local day (stable: generation order within a day)."""
    c = events.cols
    t = c["t"]
    ok = (t >= 0) & (t < days * DAY)
    day = np.where(ok, t // DAY, days).astype(np.int16)
    order = np.argsort(day, kind="stable")
    bounds = np.searchsorted(day[order], np.arange(days + 1))
    order = order[: bounds[-1]]
    cols = {"ap": c["ap"][order], "t": t[order].astype(np.int32), "code": c["code"][order], "value": c["value"][order]}
    return Events(cols), bounds


def _type_day(events: Events, bounds: np.ndarray, days: int) -> np.ndarray:
    day = np.repeat(np.arange(days), np.diff(bounds))
    flat = (events.cols["code"] >> np.uint64(60)).astype(np.int64) * days + day
    return np.bincount(flat, minlength=len(EVENT_TYPES) * days).reshape(len(EVENT_TYPES), days)


def _note_counts(world: World, ex, events: Events, a: dict) -> None:
    nn, nc = len(world.note_ids), len(world.camp_ids)
    etype, note, _, _ = unpack(events.cols["code"])
    imp = (etype == ET["impression"]) & (note >= 0)
    a["note_impressions"] += np.bincount(note[imp], minlength=nn)
    rd = (etype == ET["read"]) & (note >= 0)
    a["note_reads"] += np.bincount(note[rd], minlength=nn)
    # Reach of each campaign: distinct users (one brand per pair) shown its feed notes.
    camp = world.note_campaign[ex.note]
    sel = np.flatnonzero((camp >= 0) & ~ex.ghost)
    key = np.sort(ex.ap[sel].astype(np.int64) * nc + camp[sel], kind="stable")
    first = key[np.r_[True, key[1:] != key[:-1]]] if len(key) else key
    a["camp_reach"] += np.bincount(first % nc, minlength=nc)


def _funnel(world: World, users, ex, pairs: Pairs, fact: Outcome, a: dict) -> None:
    nb = len(world.brand_names)
    horizon = world.params.days * DAY
    brand = pairs.brand
    when = fact.times(pairs)
    # A: a shown exposure within the horizon (ghost-only pairs never saw the brand).
    aware = np.zeros(len(pairs), bool)
    aware[ex.ap[~ex.ghost]] = True
    stage = np.column_stack([aware, fact.adv])
    for s in range(5):
        a["reached"][:, s] += np.bincount(brand, weights=stage[:, s], minlength=nb).astype(np.int64)
    prev = stage[:, :4]
    decided = prev & (when < horizon)
    decided[:, 0] &= fact.aware
    a["decided"] += np.stack([np.bincount(brand, weights=decided[:, k], minlength=nb) for k in range(4)], 1).astype(np.int64)
    a["advanced"] += np.stack([np.bincount(brand, weights=fact.adv[:, k], minlength=nb) for k in range(4)], 1).astype(np.int64)
    attrs = {"gender": users.gender, "age_band": users.age, "city_tier": users.tier}
    for j, (b, _, segment, _) in enumerate(world.skews):
        mine = brand == b
        hit = mine.copy()
        for attr, code in segment.items():
            hit &= attrs[attr][pairs.user] == code
        a["skew_counts"][j, :, 0] += (stage & hit[:, None]).sum(axis=0)
        a["skew_counts"][j, :, 1] += (stage & mine[:, None]).sum(axis=0)
    ng = len(world.genders)
    codes = [users.gender, ng + users.age, ng + 4 + users.tier]
    for s in range(5):
        sel = np.flatnonzero(stage[:, s])
        for code in codes:
            np.add.at(a["portrait"], (brand[sel], s, code[pairs.user[sel]].astype(np.int64)), 1)


def _cycles(world: World, users, pairs: Pairs, fact: Outcome, a: dict) -> None:
    p = world.params
    horizon = p.days * DAY
    cat = world.brand_cat[pairs.brand]
    buyer = fact.adv[:, 2] & ~users.holdout[pairs.user]
    tau = pairs.rel[:, 2] / DAY
    nbins = a["cycle_hist"].shape[1]
    b = np.minimum((tau / CYCLE_BIN).astype(np.int64), nbins - 1)
    cap = np.asarray([c.cycle_cap * c.decision_cycle_days for c in p.categories])[cat]
    full = ~users.holdout[pairs.user] & (fact.t0 + cap * DAY <= horizon)
    ncat = len(world.cat_names)
    np.add.at(a["cycle_hist"], (cat[buyer], b[buyer]), 1)
    np.add.at(a["cycle_hist_full"], (cat[buyer & full], b[buyer & full]), 1)
    a["cycle_started_full"] += np.bincount(cat[full], minlength=ncat)


def _factual_metrics(world, fact: Outcome, orders: _Orders, brand: np.ndarray) -> np.ndarray:
    """Per-brand METRICS of the factual world."""
    first = fact.adv[:, 2].astype(float)
    cols = [first, first * orders.count, first * orders.revenue, orders.reach, orders.reach * orders.revenue,
            fact.adv[:, 0], fact.adv[:, 1], fact.adv[:, 3], np.zeros(len(first)), np.zeros(len(first))]
    nb = len(world.brand_names)
    return np.stack([np.bincount(brand, weights=np.asarray(c, float), minlength=nb) for c in cols], axis=1)


def _delta(fact: Outcome, cf, orders: _Orders, window) -> np.ndarray:
    """Per touched pair, factual minus counterfactual METRICS, shape (n, len(METRICS))."""
    idx = cf.idx
    adv = fact.adv[idx].astype(np.int8) - cf.adv
    reach = orders.reach[idx] - np.prod(cf.p[:, :3], axis=1) * cf.aware * orders.ok[idx, 0]
    first = adv[:, 2].astype(float)
    out = np.zeros((len(idx), len(METRICS)))
    out[:, 0] = first
    out[:, 1] = first * orders.count[idx]
    out[:, 2] = first * orders.revenue[idx]
    out[:, 3] = reach
    out[:, 4] = reach * orders.revenue[idx]
    out[:, 5:8] = adv[:, [0, 1, 3]]
    if window is not None:
        rows = np.flatnonzero(first)
        day = np.floor(np.nan_to_num(orders.times[idx[rows]], nan=-DAY) / DAY)
        inside = orders.ok[idx[rows]] & (day >= window[0]) & (day <= window[1])
        out[rows, 8] = first[rows] * inside.sum(axis=1)
        out[rows, 9] = first[rows] * np.where(inside, orders.amount[idx[rows]], 0.0).sum(axis=1)
    return out
