"""Against the ``channelattribution`` package (the oracle) on its own example paths.

Oracle code (Python package ``channelattribution`` 2.2.5)::

    import pandas as pd, ChannelAttribution as ca
    D = pd.read_csv("Data.csv.gz", sep=";")
    ca.heuristic_models(D, "path", "total_conversions", var_value="total_conversion_value",
                        flg_pro=False)
    ca.markov_model(D, "path", "total_conversions", var_value="total_conversion_value",
                    var_null="total_null", order=k, flg_pro=False, verbose=False)

First, last and linear must be equal. The package's Markov model *simulates* walks on the
chain (10^5 at first, until 5 % convergence), so it is only close: we check the summed
absolute difference of credits is within a few % of the total (its own run-to-run noise at
these settings; with 10^6 walks and 8 seeds its mean is within 0.3 % of our closed form,
see bench/README.md).
"""

from __future__ import annotations

import contextlib
import io

import numpy as np
import pandas as pd
import pytest

from aips.analytics.attribution import attribute_paths, read_paths


@pytest.fixture(scope="module")
def path(shared_data):
    """The package's example journeys in ../shared/data (the test fails when it is absent)."""
    return shared_data / "channelattribution-paths" / "Data.csv.gz"


@pytest.fixture(scope="module")
def ca():
    with contextlib.redirect_stdout(io.StringIO()):  # it prints a banner on import
        return pytest.importorskip("ChannelAttribution")


@pytest.fixture(scope="module")
def data(path):
    return pd.read_csv(path, sep=";")


def _quiet(fn, *args, **kwargs):
    with contextlib.redirect_stdout(io.StringIO()):
        return fn(*args, **kwargs)


def test_heuristics_equal_the_package(ca, data, path):
    want = _quiet(ca.heuristic_models, data, "path", "total_conversions",
                  var_value="total_conversion_value", flg_pro=False).set_index("channel_name")
    paths = read_paths(path)
    for ours, theirs in (("first", "first_touch"), ("last", "last_touch"), ("linear", "linear_touch")):
        got = attribute_paths(paths, ours).set_index("channel").reindex(want.index)
        np.testing.assert_allclose(got["conversions"], want[f"{theirs}_conversions"], rtol=1e-9)
        np.testing.assert_allclose(got["value"], want[f"{theirs}_value"], rtol=1e-9)


@pytest.mark.parametrize("order", [1, 3])
def test_markov_within_the_package_simulation_noise(ca, data, path, order):
    res = _quiet(ca.markov_model, data, "path", "total_conversions",
                 var_value="total_conversion_value", var_null="total_null", order=order,
                 flg_pro=False, verbose=False)
    want = res.set_index("channel_name")
    got = attribute_paths(read_paths(path), "markov", order=order).set_index("channel").reindex(want.index)
    conv = np.abs(got["conversions"] - want["total_conversions"]).sum() / want["total_conversions"].sum()
    val = np.abs(got["value"] - want["total_conversion_value"]).sum() / want["total_conversion_value"].sum()
    assert conv < 0.03, conv
    assert val < 0.05, val
