"""SimulationParams: presets, validation with clear errors, dict/YAML round trips."""

from __future__ import annotations

import pytest

from aips.exceptions import ConfigError
from aips.simulate import CHANNELS, TRANSITIONS, Leak, SimulationParams


def test_presets_scale_the_world_only():
    demo, small, large = (SimulationParams.preset(n) for n in ("demo", "small", "large"))
    assert (demo.users, small.users, large.users) == (4000, 80_000, 7_000_000)
    assert demo.categories == large.categories and demo.channels == large.channels


def test_unknown_preset_is_a_config_error():
    with pytest.raises(ConfigError, match="unknown preset 'huge'"):
        SimulationParams.preset("huge")


def test_default_categories_and_cycles():
    cycles = {c.name: c.decision_cycle_days for c in SimulationParams().categories}
    assert cycles == {"facial_serum": 29, "infant_food": 70, "lipstick": 14, "sunscreen": 21}


def test_every_channel_has_four_effects_and_only_organic_is_unpaid():
    p = SimulationParams()
    assert list(p.channels) == list(CHANNELS)
    assert all(len(ch.effect) == len(TRANSITIONS) for ch in p.channels.values())
    assert [c for c, ch in p.channels.items() if not ch.paid] == ["organic"]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"users": 0}, "at least one user"),
        ({"days": 0}, "at least one day"),
        ({"start_date": "2025-13-01"}, "not an ISO date"),
        ({"holdout_share": 1.0}, r"must be in \[0, 1\)"),
        ({"leaks": (Leak("Serava", "I->X"),)}, "one of A->I"),
        ({"read_rate": (0.1, 0.2)}, "five probabilities"),
    ],
    ids=["users", "days", "date", "holdout", "transition", "read_rate"],
)
def test_invalid_values_name_the_key(changes, message):
    with pytest.raises(ConfigError, match=message):
        SimulationParams().replace(**changes)


def test_channels_must_be_exactly_the_canonical_ones():
    p = SimulationParams()
    channels = dict(p.channels)
    del channels["topic_challenge"]
    with pytest.raises(ConfigError, match="missing.*topic_challenge"):
        p.replace(channels=channels)


def test_knobs_on_brands_outside_the_world_are_ignored():
    p = SimulationParams(brands_per_category=1)
    assert "Serava" not in p.brand_names()  # the default leak brand is the second serum brand


def test_brand_names_beyond_the_list_are_invented():
    names = SimulationParams(brands_per_category=4).brand_names()
    assert names[:4] == ["Lumiere", "Serava", "Auralis", "facial_serum_brand_4"]


def test_dict_round_trip_and_partial_dicts():
    p = SimulationParams.preset("small", seed=5)
    assert SimulationParams.from_dict(p.to_dict()) == p
    partial = SimulationParams.from_dict({"users": 10, "channels": {"feed_ad": {"cpm": 1.0}}})
    assert partial.users == 10 and partial.channels["feed_ad"].cpm == 1.0
    assert partial.channels["feed_ad"].effect == SimulationParams().channels["feed_ad"].effect


def test_unknown_keys_are_rejected():
    with pytest.raises(ConfigError, match="unknown key"):
        SimulationParams.from_dict({"userz": 3})


def test_yaml_round_trip_with_preset(tmp_path):
    path = tmp_path / "world.yaml"
    path.write_text("preset: small\nseed: 9\nholdout_share: 0.2\n")
    p = SimulationParams.from_yaml(path)
    assert (p.users, p.seed, p.holdout_share) == (80_000, 9, 0.2)
    path.write_text(p.to_yaml())
    assert SimulationParams.from_yaml(path) == p
