"""Every model conserves conversions and value, on any path table (property tests)."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from aips.analytics.attribution import MODELS, PATH_MODELS, ChainData, make_model

CHANNELS = ["a", "b", "c", "organic", "d"]

path = st.lists(st.sampled_from(CHANNELS), min_size=0, max_size=6).map(" > ".join)
row = st.tuples(path, st.integers(0, 30), st.floats(0, 500, allow_nan=False), st.integers(0, 30),
                st.lists(st.integers(0, 40), min_size=6, max_size=6))


def table(rows) -> pd.DataFrame:
    df = pd.DataFrame(rows, columns=["path", "conversions", "value", "nulls", "lag_pool"])
    df.loc[df["conversions"] == 0, "value"] = 0.0
    n = df["path"].map(lambda p: len(p.split(" > ")) if p else 0)
    df["lags"] = [pool[:k] for pool, k in zip(df["lag_pool"], n, strict=True)]
    return df.drop(columns="lag_pool")


@pytest.mark.parametrize("name", PATH_MODELS)
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=st.lists(row, min_size=1, max_size=12))
def test_path_models_conserve(name, rows):
    df = table(rows)
    model = make_model(name, order=2 if name == "markov" else None)
    c = model.fit(df).credits_  # the base class raises ConservationError otherwise
    assert c["conversions"].sum() == pytest.approx(df["conversions"].sum(), abs=1e-6)
    assert c["value"].sum() == pytest.approx(df["value"].sum(), abs=1e-6)
    if name != "shapley":  # Shapley values may be negative; the rest never are
        assert (c["conversions"] >= -1e-9).all()


exposure = st.lists(st.sampled_from(CHANNELS), unique=True, max_size=4).map(lambda x: " + ".join(sorted(x)))


@settings(max_examples=30, deadline=None)
@given(cells=st.lists(st.tuples(exposure, st.booleans(), st.integers(1, 60), st.integers(0, 60),
                                st.floats(0, 100, allow_nan=False)), min_size=1, max_size=10),
       response=st.sampled_from(["saturated", "logistic", "additive"]))
@example(cells=[("", False, 1, 0, 0.0)], response="additive")  # singular fit: was LinAlgError
def test_incremental_conserves(cells, response):
    df = pd.DataFrame(cells, columns=["exposure", "holdout", "units", "converters", "value"])
    df["converters"] = df[["units", "converters"]].min(axis=1)
    df.loc[df["converters"] == 0, "value"] = 0.0
    c = MODELS["incremental"](response=response, bootstrap=3).fit(df).credits_
    conv = df["converters"].sum()
    assert c["conversions"].sum() == pytest.approx(conv, abs=1e-6)
    assert c["value"].sum() == pytest.approx(df["value"].sum(), abs=1e-6)


def test_incremental_chain_conserves():
    steps = pd.DataFrame({"step": [1, 1, 1, 2, 2], "exposure": ["", "a", "a + b", "b", ""],
                          "holdout": False, "units": [50, 40, 30, 30, 20],
                          "advances": [0, 20, 30, 10, 5]})
    prof = pd.DataFrame({"e1": ["a", "a + b", "a"], "e2": ["b", "", ""], "holdout": False,
                         "converters": [5, 4, 3], "conversions": [7, 4, 3], "value": [7.0, 4.0, 3.5]})
    c = MODELS["incremental"](bootstrap=5).fit(ChainData(steps, prof)).credits_
    assert c["conversions"].sum() == pytest.approx(14)
    assert c["value"].sum() == pytest.approx(14.5)
