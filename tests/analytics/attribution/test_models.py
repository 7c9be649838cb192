"""Every model on hand-worked paths, with exact expected credits."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
import pytest

import aips.attribution
from aips.analytics.attribution import (
    ChainData,
    FirstTouch,
    Incremental,
    LastNonOrganic,
    LastTouch,
    Linear,
    Markov,
    PositionBased,
    Shapley,
    TimeDecay,
    attribute_paths,
    compare_models,
)
from aips.exceptions import ConfigError

CLASSIC = pd.DataFrame({
    "path": ["google", "mailing", "google > mailing", "google"],
    "conversions": [2, 1, 1, 0], "value": [20.0, 10.0, 10.0, 0.0], "nulls": [0, 0, 0, 1],
})
"""The classic example: google x2 and mailing x1 and google > mailing x1 converting,
google x1 not."""

MIXED = pd.DataFrame({
    "path": ["a > b > a > c", "organic > b > organic", "organic", "c"],
    "conversions": [4, 2, 1, 0], "value": [40.0, 10.0, 3.0, 0.0], "nulls": [1, 0, 5, 2],
})


def credits(model, paths) -> dict[str, float]:
    c = model.fit(paths).credits_
    return {k: round(v, 9) for k, v in zip(c["channel"], c["conversions"], strict=True) if v != 0}


def test_markov_classic_closed_form():
    m = Markov().fit(CLASSIC)
    re = m.removal_effects_.set_index("channel")["removal_effect"]
    assert re["google"] == pytest.approx(0.75)  # P = 0.8 -> 0.2 without google
    assert re["mailing"] == pytest.approx(0.5)  # -> 0.4 without mailing
    assert m.conversion_probability_ == pytest.approx(0.8)
    assert credits(Markov(), CLASSIC) == {"google": 2.4, "mailing": 1.6}
    # value: the same chain with conversions weighted by mean value (10 everywhere)
    assert m.credits_.set_index("channel")["value"].to_dict() == pytest.approx(
        {"google": 24.0, "mailing": 16.0})


def test_markov_higher_order_by_hand():
    """Order 2 on ``a > b > c`` (1 conversion) and ``a > b`` (1 null) and ``c`` (1 null):
    states ab, bc, c(padded). start->ab 2/3, start->c 1/3; ab->bc 1/2, ab->null 1/2;
    bc->conv 1; c->null 1. P = 1/3. Removing any of a, b, c kills the converting walk
    (bc or ab contains it): every removal effect is 1, credits 1/3 each."""
    paths = pd.DataFrame({"path": ["a > b > c", "a > b", "c"], "conversions": [1, 0, 0],
                          "nulls": [0, 1, 1]})
    m = Markov(order=2).fit(paths)
    assert m.conversion_probability_ == pytest.approx(1 / 3)
    assert m.removal_effects_["removal_effect"].tolist() == pytest.approx([1, 1, 1])
    assert credits(Markov(order=2), paths) == pytest.approx({"a": 1 / 3, "b": 1 / 3, "c": 1 / 3})
    # order 1 differs: removing c leaves nothing, removing a or b too: also 1/3 each here,
    # but with a direct start->c conversion path the orders disagree
    more = pd.concat([paths, pd.DataFrame({"path": ["c"], "conversions": [1], "nulls": [0]})])
    o1, o2 = credits(Markov(order=1), more), credits(Markov(order=2), more)
    assert o1 != pytest.approx(o2)
    assert sum(o1.values()) == pytest.approx(2) and sum(o2.values()) == pytest.approx(2)


def _absorb(paths: pd.DataFrame, removed: set[str]) -> float:
    """An independent order-1 oracle: dense fixed-point iteration of P(conversion)."""
    trans: dict[str, dict[str, float]] = {}
    for path, conv, null in zip(paths["path"], paths["conversions"], paths["nulls"], strict=True):
        seq = [t.strip() for t in path.split(">")]
        seq = [t for i, t in enumerate(seq) if i == 0 or t != seq[i - 1]]
        w = conv + null
        for a, b in zip(["(start)"] + seq, seq, strict=False):
            trans.setdefault(a, {}).setdefault(b, 0.0)
            trans[a][b] += w
        trans.setdefault(seq[-1], {})
        trans[seq[-1]]["(conv)"] = trans[seq[-1]].get("(conv)", 0.0) + conv
        trans[seq[-1]]["(null)"] = trans[seq[-1]].get("(null)", 0.0) + null
    p = {s: 0.0 for s in trans}
    for _ in range(5000):
        for s, out in trans.items():
            tot = sum(out.values())
            p[s] = sum(w / tot * (1.0 if t == "(conv)" else 0.0 if t in ("(null)", *removed)
                                  else p[t]) for t, w in out.items()) if tot else 0.0
    return p["(start)"]


def test_markov_matches_an_independent_oracle():
    p = _absorb(MIXED, set())
    re = {c: 1 - _absorb(MIXED, {c}) / p for c in ("a", "b", "c", "organic")}
    total = sum(re.values())
    want = {c: 7 * r / total for c, r in re.items()}
    assert credits(Markov(), MIXED) == pytest.approx(want, rel=1e-9)


def test_heuristics_by_hand():
    # a > b > a > c: 4 conv, value 40; organic > b > organic: 2, value 10; organic: 1, value 3
    assert credits(FirstTouch(), MIXED) == {"a": 4, "organic": 3}
    assert credits(LastTouch(), MIXED) == {"c": 4, "organic": 3}
    assert credits(LastNonOrganic(), MIXED) == {"c": 4, "b": 2, "organic": 1}
    assert credits(Linear(), MIXED) == pytest.approx(
        {"a": 2, "b": 1 + 2 / 3, "c": 1, "organic": 4 / 3 + 1})
    # 40/20/40: a > b > a > c -> a .4+.1, b .1, c .4; organic > b > organic -> org .8, b .2
    assert credits(PositionBased(), MIXED) == pytest.approx(
        {"a": 2.0, "b": 0.4 + 0.4, "c": 1.6, "organic": 1.6 + 1})
    assert credits(PositionBased(first=0.3, last=0.5), pd.DataFrame(
        {"path": ["x > y"], "conversions": [8]})) == pytest.approx({"x": 3, "y": 5})
    val = LastNonOrganic().fit(MIXED).credits_.set_index("channel")["value"]
    assert val.to_dict() == {"c": 40, "b": 10, "organic": 3, "a": 0}


def test_time_decay_from_lags():
    paths = pd.DataFrame({"path": ["a > b", "b"], "conversions": [3, 1], "value": [30.0, 5.0],
                          "lags": ["7 > 0", [2]]})
    # half-life 7: weights 1/2 and 1 -> a 1/3, b 2/3 of the first path
    assert credits(TimeDecay(half_life=7), paths) == pytest.approx({"a": 1, "b": 3})
    with pytest.raises(ConfigError, match="touch times"):
        TimeDecay().fit(paths.drop(columns="lags"))
    with pytest.raises(ConfigError, match="2 touches"):
        TimeDecay().fit(paths.assign(lags=["1", "2"]))


def _brute_shapley(worth: dict, players: tuple) -> dict:
    n = len(players)
    out = dict.fromkeys(players, 0.0)
    for perm in itertools.permutations(players):
        seen: tuple = ()
        for p in perm:
            before = worth(seen)
            seen = seen + (p,)
            out[p] += (worth(seen) - before) / math.factorial(n)
    return out


def test_shapley_by_hand_and_brute_force():
    paths = pd.DataFrame({"path": ["a", "b", "a > b"], "conversions": [1, 1, 6], "nulls": [9, 3, 4]})
    # v(a)=.1, v(b)=.25, v(ab)=.6: phi_a=.225, phi_b=.375 -> 6 x (.375, .625) + own
    assert credits(Shapley(), paths) == pytest.approx({"a": 3.25, "b": 4.75})
    rng = np.random.default_rng(3)
    seqs = ["a", "b", "c", "a > b", "b > a", "c > a > b", "b > c", "a > c > b", "c > b > a", "c"]
    paths = pd.DataFrame({"path": seqs, "conversions": rng.integers(1, 20, len(seqs)),
                          "nulls": rng.integers(1, 50, len(seqs))})
    for ordered in (False, True):
        rate: dict = {}
        for path, c, n in zip(paths["path"], paths["conversions"], paths["nulls"], strict=True):
            firsts = tuple(dict.fromkeys(t.strip() for t in path.split(">")))
            k = firsts if ordered else tuple(sorted(firsts))
            a, b = rate.get(k, (0, 0))
            rate[k] = (a + c, b + n)
        want = dict.fromkeys("abc", 0.0)
        for k, (c, _) in rate.items():
            def worth(sub, k=k, ordered=ordered, rate=rate):
                sub = tuple(x for x in k if x in sub) if ordered else tuple(sorted(sub))
                a, b = rate.get(sub, (0, 0))
                return a / (a + b) if a + b else 0.0
            phi = _brute_shapley(worth, k)
            for p, v in phi.items():
                want[p] += c * v / worth(k)
        assert credits(Shapley(ordered=ordered), paths) == pytest.approx(want, rel=1e-9)


def test_shapley_refuses_too_many_channels():
    wide = pd.DataFrame({"path": [" > ".join(f"c{i}" for i in range(5))], "conversions": [1]})
    with pytest.raises(ConfigError, match="max_channels=4"):
        Shapley(max_channels=4).fit(wide)


def test_incremental_one_step_by_hand():
    """f(none)=0, f(a)=.1, f(b)=.2, f(a,b)=.4: in the a+b cell phi_a=.15, phi_b=.25,
    so its 40 converters split 15 / 25; a and b alone keep their own."""
    cells = pd.DataFrame({"exposure": ["", "a", "b", "a + b"], "holdout": False,
                          "units": 100, "converters": [0, 10, 20, 40]})
    m = Incremental(bootstrap=0, min_units=50).fit(cells)
    assert credits(m, cells) == pytest.approx({"a": 25, "b": 45})
    assert m.credits_.set_index("channel").loc["baseline", "incremental"] == False  # noqa: E712
    assert m.credits_.set_index("channel").loc["a", "incremental"] == True  # noqa: E712


def test_incremental_chain_by_hand():
    """Two steps: f1(a)=.5, f1(none)=.1, f2(b)=.5, f2(none)=.25. A converter exposed to a in
    step 1 and b in step 2 converts with v(a, b) = .25; v(a) = .125, v(b) = .05 and
    v(none) = .025 (the baseline). phi_a = (v(a) - v0 + v(ab) - v(b)) / 2 = .15,
    phi_b = (v(b) - v0 + v(ab) - v(a)) / 2 = .075."""
    steps = pd.DataFrame({"step": [1, 1, 2, 2], "exposure": ["", "a", "", "b"], "holdout": False,
                          "units": [100, 100, 40, 40], "advances": [10, 50, 10, 20]})
    profiles = pd.DataFrame({"e1": ["a"], "e2": ["b"], "holdout": [False], "converters": [20],
                             "conversions": [30], "value": [300.0]})
    m = Incremental(bootstrap=0, min_units=10).fit(ChainData(steps, profiles))
    v = {(): .1 * .25, ("a",): .5 * .25, ("b",): .1 * .5, ("a", "b"): .5 * .5}
    phi_a = .5 * (v[("a",)] - v[()]) + .5 * (v[("a", "b")] - v[("b",)])
    phi_b = .5 * (v[("b",)] - v[()]) + .5 * (v[("a", "b")] - v[("a",)])
    full = v[("a", "b")]
    got = m.credits_.set_index("channel")["conversions"]
    assert got["a"] == pytest.approx(30 * phi_a / full)
    assert got["b"] == pytest.approx(30 * phi_b / full)
    assert got["baseline"] == pytest.approx(30 * v[()] / full)


def test_incremental_holdout_calibration_and_intervals():
    cells = pd.DataFrame({"exposure": ["", "organic", "organic + paid", "organic", ""],
                          "holdout": [False, False, False, True, True],
                          "units": [800, 600, 600, 200, 100], "converters": [0, 30, 90, 10, 0]})
    m = Incremental(bootstrap=50, min_units=10, calibrate=True).fit(cells)
    # holdout: 10 / 300 per unit; treated 120 - 2000 / 30 = 53.3 paid converters
    assert m.holdout_lift_ == pytest.approx(120 - 2000 * 10 / 300)
    assert m.credits_["conversions"].sum() == pytest.approx(130)
    # the model's own "all paid off" lift: the 90 organic + paid converters of a cell whose
    # rate is 90/600 with paid and 30/600 without (the organic cell): 90 x (1 - 1/3) = 60
    assert m.paid_converters_ == pytest.approx(60)
    assert m.calibration_ == pytest.approx(m.holdout_lift_ / 60)
    raw = Incremental(bootstrap=0, min_units=10).fit(cells)  # not calibrated by default
    assert raw.calibration_ == 1.0 and raw.paid_converters_ == pytest.approx(m.paid_converters_)
    row = m.credits_.set_index("channel").loc["paid"]
    assert row["conversions"] == pytest.approx(m.calibration_ * raw.credits_.set_index("channel").loc["paid", "conversions"])
    assert row["conversions_low"] <= row["conversions"] <= row["conversions_high"]


def test_public_api_and_comparison():
    out = aips.attribution.attribute_paths(CLASSIC, model="markov")
    assert out[["channel", "conversions"]].round(9).values.tolist() == [["google", 2.4], ["mailing", 1.6]]
    assert out.attrs["incremental"] is False
    wide = compare_models(CLASSIC, ["first", "linear", "markov", "time_decay"])
    assert list(wide.columns) == ["channel", "first", "linear", "markov", "first_share",
                                  "linear_share", "markov_share"]
    assert "time_decay" in wide.attrs["skipped"]
    with pytest.raises(ConfigError, match="unknown attribution model"):
        attribute_paths(CLASSIC, model="nope")
