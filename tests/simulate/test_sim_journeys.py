"""The causal journey model: counterfactuals against a brute-force reference, monotonicity,
holdout ghosts, the decision clock."""

from __future__ import annotations

import numpy as np
import pytest

from aips.simulate import CHANNELS, SimulationParams
from aips.simulate.journeys import (
    _BIG,
    Drop,
    DropIndex,
    _decide,
    counterfactual,
    draw_pairs,
    draw_searches,
    push_exposures,
    run_journeys,
)
from aips.simulate.world import DAY, block_users, build_world, rng_for


@pytest.fixture(scope="module")
def block():
    p = SimulationParams(users=4000, days=90, block_users=4000, seed=2)
    world = build_world(p)
    users = block_users(world, 0)
    ex = push_exposures(world, users, rng_for(p.seed, 0, 1))
    pairs = draw_pairs(world, users, ex, rng_for(p.seed, 0, 2))
    searches = draw_searches(world, users, pairs, rng_for(p.seed, 0, 3))
    fact = run_journeys(world, users, ex, pairs, searches)
    return world, users, ex, pairs, searches, fact


def brute_force(world, ex, pairs, searches, fact, drop):
    """Reference: recompute every hazard of every pair from scratch with ``drop`` applied."""
    p = world.params
    n = len(pairs)
    keep = ~ex.ghost & ~drop.removes(world, ex.note)
    when = fact.t0[:, None] + pairs.rel
    effect = np.zeros((n, 4))
    for k in range(4):
        end = when[ex.ap, k]
        inside = (ex.t <= end) & (ex.t > end - p.hazard_window_days * DAY) & keep
        effect[:, k] = np.bincount(ex.ap, weights=np.where(inside, world.note_effect[ex.note, k], 0), minlength=n)
    ad = fact.ad_note.copy()
    ad[(ad >= 0) & drop.removes(world, np.maximum(ad, 0))] = -1
    ad_w = np.where((ad >= 0)[:, None], world.note_effect[np.maximum(ad, 0)], 0)
    org_w = 0 if drop.channel == CHANNELS.index("organic") else world.note_effect[searches.org_note]
    w = np.where(searches.window, ad_w + org_w, 0)
    for k in range(4):
        effect[:, k] += np.bincount(searches.ap, weights=w[:, k], minlength=n)
    seen = np.minimum.reduceat(np.where(keep, ex.t, _BIG), pairs.start[:-1])
    return _decide(pairs, np.arange(n), fact.t0, seen <= when[:, 0], effect, fact.mult, p.days * DAY)


DROPS = [Drop(channel=c) for c in range(len(CHANNELS))] + [Drop(all_paid=True)] + [Drop(campaign=k) for k in (0, 1, 3, 6, 7)]


@pytest.mark.parametrize("drop", DROPS, ids=[f"{d.channel}/{d.campaign}/{d.all_paid}" for d in DROPS])
def test_counterfactual_matches_brute_force(block, drop):
    world, users, ex, pairs, searches, fact = block
    cf = counterfactual(world, ex, pairs, searches, fact, drop, DropIndex(world, ex, searches, fact))
    ref = brute_force(world, ex, pairs, searches, fact, drop)
    np.testing.assert_array_equal(cf.adv, ref.adv[cf.idx])
    np.testing.assert_allclose(cf.p, ref.p[cf.idx], atol=1e-6)
    np.testing.assert_array_equal(cf.aware, ref.aware[cf.idx])
    untouched = np.setdiff1d(np.arange(len(pairs)), cf.idx)
    np.testing.assert_array_equal(ref.adv[untouched], fact.adv[untouched])
    # Removing exposures never creates an advance: true effects are never negative.
    assert not (cf.adv & ~fact.adv[cf.idx]).any()
    assert (cf.p <= fact.p[cf.idx] + 1e-9).all()


def test_holdout_users_only_see_organic_exposures(block):
    world, users, ex, pairs, searches, fact = block
    hold = users.holdout[pairs.user[ex.ap]]
    paid = world.note_channel[ex.note] != CHANNELS.index("organic")
    np.testing.assert_array_equal(ex.ghost, hold & paid)
    assert (fact.ad_note[users.holdout[pairs.user[searches.ap]]] == -1).all()


def test_the_schedule_follows_the_clock(block):
    world, users, ex, pairs, searches, fact = block
    rel = pairs.rel / DAY
    assert (np.diff(rel, axis=1) >= 0).all()  # I, TI, P, S in order
    cat = world.brand_cat[pairs.brand]
    for c, cycle in enumerate(world.cat_cycle):
        tau = rel[cat == c, 2]
        assert abs(np.median(tau) / cycle - 1) < 0.05
        assert tau.max() <= 3 * cycle
    # Advances are cumulative and happen within the window only.
    assert (fact.adv[:, 1:] <= fact.adv[:, :-1]).all()
    when = fact.times(pairs)
    assert (when[fact.adv] < world.params.days * DAY).all()
