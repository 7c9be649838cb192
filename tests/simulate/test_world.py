"""The fixed world: alias sampling, calendar, campaigns, notes, users."""

from __future__ import annotations

import numpy as np
import pytest

from aips.exceptions import ConfigError
from aips.simulate import CHANNELS, SimulationParams, Skew
from aips.simulate.world import Alias, block_users, build_world


def test_alias_sampling_is_exact_in_distribution():
    weights = [np.array([1.0, 2.0, 7.0]), np.array([5.0]), np.array([0.5, 0.5])]
    alias = Alias.build(weights)
    rng = np.random.default_rng(0)
    n = 200_000
    for table, w in enumerate(weights):
        draws = alias.sample(np.full(n, table), rng.random(n)) - alias.offset[table]
        freq = np.bincount(draws, minlength=len(w)) / n
        np.testing.assert_allclose(freq, w / w.sum(), atol=0.005)


def test_world_is_a_function_of_the_parameters():
    a, b = build_world(SimulationParams(seed=3)), build_world(SimulationParams(seed=3))
    assert a.camp_ids == b.camp_ids and a.note_ids == b.note_ids
    np.testing.assert_array_equal(a.camp_start, b.camp_start)
    c = build_world(SimulationParams(seed=4))
    assert not np.array_equal(a.camp_start, c.camp_start)


@pytest.fixture(scope="module")
def world():
    return build_world(SimulationParams(days=180))


def test_every_brand_runs_every_paid_channel(world):
    for b in range(len(world.brand_names)):
        channels = {CHANNELS[c] for c in world.camp_channel[world.camp_brand == b]}
        assert channels == set(CHANNELS) - {"organic"}


def test_search_flights_cover_the_horizon_without_overlap(world):
    assert (world.search_camp >= 0).all()
    search = CHANNELS.index("search_ad")
    for b in range(len(world.brand_names)):
        k = np.flatnonzero((world.camp_brand == b) & (world.camp_channel == search))
        days = np.concatenate([np.arange(world.camp_start[i], world.camp_end[i] + 1) for i in k])
        assert sorted(days.tolist()) == list(range(world.params.days))


def test_a_feed_flight_leads_into_double_11(world):
    peak = world.dates.index("2025-11-11")
    feed = CHANNELS.index("feed_ad")
    assert (world.camp_end[world.camp_channel == feed] == peak).sum() == len(world.brand_names)


def test_creator_notes_belong_to_their_campaigns(world):
    for k, creators in enumerate(world.camp_creators):
        notes = np.flatnonzero(world.note_campaign == k)
        if creators:
            assert set(world.note_creator[notes]) == set(creators)
            assert CHANNELS[world.camp_channel[k]] in ("kol_note", "koc_note")
        else:
            assert (world.note_creator[notes] == -1).all()


def test_calendar_has_weekly_rhythm_and_festival_peak(world):
    weekend = [i for i, d in enumerate(world.dates) if np.datetime64(d).astype("datetime64[D]").item().weekday() >= 5]
    assert world.day_factor[weekend].mean() > world.day_factor.mean()
    assert world.dates[int(np.argmax(world.day_factor))] in ("2025-11-09", "2025-11-10", "2025-11-11")
    assert world.purchase_boost[world.dates.index("2025-11-11")] > 1.5


def test_users_are_drawn_per_block_and_attributes_follow_the_mix():
    p = SimulationParams(users=60_000, block_users=30_000)
    w = build_world(p)
    u0, u1 = block_users(w, 0), block_users(w, 1)
    assert (u0.first, u1.first, u0.n) == (0, 30_000, 30_000)
    assert abs(u0.holdout.mean() - 0.10) < 0.01
    assert abs((u0.gender == 0).mean() - 0.70) < 0.01
    # Interests shape audiences: mothers are the infant-food crowd.
    infant = [c.name for c in p.categories].index("infant_food")
    assert u0.interest[u0.has_baby, infant].mean() > 3 * u0.interest[~u0.has_baby, infant].mean()
    again = block_users(w, 1)
    np.testing.assert_array_equal(u1.activity, again.activity)


def test_skew_segments_must_name_known_attribute_values():
    with pytest.raises(ConfigError, match="unknown segment age_band='20-29'"):
        build_world(SimulationParams(skews=(Skew("Velvetta", segment={"age_band": "20-29"}),)))
