"""The forecast's fan (:mod:`aips.planner.fan`): by hand, against the interval of the last
day (:func:`aips.planner.forecast.interval`), and its band always holds the point."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aips.planner.fan import fan
from aips.planner.forecast import Forecast, interval


class Curves:
    """Incremental advances a day proportional to spend, scaled by each bootstrap draw."""

    def __init__(self, effect, draws):
        self.effect, self.draws_ = np.asarray(effect, float), list(draws)

    def advances(self, daily, draw=None):
        k = 1.0 if draw is None else self.draws_[draw]
        return self.effect * k * daily["x"]


Z90 = 1.6448536269514722


def test_fan_by_hand():
    # retention 0.5, TI0 = 10, +3 a day from spend 1: point 8, 7, 6.5. Refits at 1x and 3x the
    # effect: 8, 7, 6.5 and 14, 16, 17; about their medians 11, 11.5, 11.75: -/+3, 4.5, 5.25;
    # the 5 % and 95 % quantiles of two values: -/+0.9 of that
    fc = Forecast(ti0=10.0, base=[0.0, 0.0, 0.0], retention=0.5)
    band = fan(Curves([0.0, 3.0, 0.0], [1.0, 3.0]), fc, {"x": 1.0}, horizon=3, alpha=0.1)
    point = np.array([8.0, 7.0, 6.5])
    assert band["TI"] == pytest.approx(point)
    spread = 0.9 * np.array([3.0, 4.5, 5.25])
    noise = Z90 * np.sqrt(point * (1 + np.arange(1, 4) / 28))
    width = np.sqrt(spread ** 2 + noise ** 2)
    assert band["TI_low"] == pytest.approx(point - width)
    assert band["TI_high"] == pytest.approx(point + width)


def test_fan_without_draws_is_the_poisson_band():
    fc = Forecast(ti0=4.0, base=[0.0, 0.0, 0.0], retention=1.0)
    band = fan(Curves([0.0, 0.0, 0.0], []), fc, {"x": 0.0}, horizon=2)
    assert band["TI"] == [4.0, 4.0]
    assert band["TI_high"] == pytest.approx([4.0 + Z90 * 2.0 * np.sqrt(1 + d / 28) for d in (1, 2)])


@settings(max_examples=60, deadline=None)
@given(ti0=st.floats(0, 1e4), retention=st.floats(0.5, 1.0), gain=st.floats(0, 50), loss=st.floats(0, 50),
       spend=st.floats(0, 100), draws=st.lists(st.floats(0, 3), min_size=0, max_size=8),
       horizon=st.integers(1, 40), alpha=st.sampled_from([0.1, 0.2, 0.05]))
def test_band_holds_the_point_and_ends_at_the_interval(ti0, retention, gain, loss, spend, draws, horizon, alpha):
    curves = Curves([0.0, gain / 100, loss / 100], draws)
    fc = Forecast(ti0=ti0, base=[0.0, 1.0, 0.5], retention=retention)
    band = fan(curves, fc, {"x": spend}, horizon, alpha)
    assert len(band["TI"]) == len(band["TI_low"]) == len(band["TI_high"]) == horizon
    for lo, p, hi in zip(band["TI_low"], band["TI"], band["TI_high"], strict=True):
        assert 0.0 <= lo <= p + 1e-9 and p <= hi + 1e-9
    last = interval(curves, fc, {"x": spend}, horizon, alpha)
    assert (band["TI"][-1], band["TI_low"][-1], band["TI_high"][-1]) == pytest.approx(
        (last["TI"], last["TI_low"], last["TI_high"]), rel=1e-6, abs=1e-6)
