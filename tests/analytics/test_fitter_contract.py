"""Every fitter keeps the one contract of :class:`aips.analytics.base.Fitter` (issue 12 item 6).

Each case is a fitter class with small parameters, a small valid input built here, and a
bad parameter that must raise at ``fit`` (None when the class has nothing to validate).
A fitter found in the package without a case here fails :func:`test_every_fitter_has_a_case`.
"""

from __future__ import annotations

import copy
import importlib
import inspect
import math
import pkgutil
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pytest

import aips
import aips.analytics
from aips.analytics.attribution import (
    FirstTouch,
    Incremental,
    LastNonOrganic,
    LastTouch,
    Linear,
    Markov,
    PositionBased,
    Shapley,
    TimeDecay,
)
from aips.analytics.attribution.incremental import _Response
from aips.analytics.base import Fitter, check_is_fitted
from aips.analytics.decision_cycle import CureCycleFitter, DecisionCycleFitter
from aips.analytics.roi import CampaignROI
from aips.exceptions import AipsError, ConfigError, NotFittedError

KM = pd.DataFrame({
    "duration": [0, 1, 2, 3, 5, 8, 13, 21],
    "purchases": [2, 5, 4, 3, 2, 1, 1, 0],
    "censored": [1, 0, 2, 1, 3, 2, 4, 30],
})
PATHS = pd.DataFrame({
    "path": ["google", "mailing", "google > mailing", "google", "organic > google", ""],
    "conversions": [2, 1, 1, 0, 3, 1],
    "value": [20.0, 5.0, 10.0, 0.0, 33.0, 4.0],
    "nulls": [0, 0, 0, 1, 2, 5],
})
LAGS = PATHS.assign(lags=["1", "0", "9 > 2", "3", "4 > 1", ""])
CELLS = pd.DataFrame({
    "exposure": ["", "organic", "organic + paid", "organic", ""],
    "holdout": [False, False, False, True, True],
    "units": [800, 600, 600, 200, 100],
    "converters": [0, 30, 90, 10, 0],
})
DAILY = pd.DataFrame({"offset": [0, 3, 5], "revenue": [100.0, 50.0, 20.0], "orders": [1, 1, 2],
                      "new_purchasers": [1, 1, 1]})
GROUPS = pd.DataFrame({"holdout": [False, True], "n": [6, 4], "sum_y": [135.0, 40.0],
                       "sum_y2": [5512.5, 1600.0]})
MASKS = np.array([0, 1, 2, 3, 1], dtype=np.int64)


@dataclass
class Case:
    cls: type
    params: dict[str, Any]
    args: tuple = ()
    kwargs: dict[str, Any] = field(default_factory=dict)
    bad: dict[str, Any] | None = None
    """Parameters that the constructor accepts silently and ``fit`` refuses."""

    def __str__(self) -> str:
        return self.cls.__name__


CASES = [
    Case(DecisionCycleFitter, {"q": [0.5, 0.8, 0.9], "n_bootstrap": 50, "random_state": 3}, (KM,),
         {"context": {"category": "c"}}, bad={"alpha": 2.0}),
    Case(CureCycleFitter, {"base": "weibull"}, (KM,), bad={"base": "gamma"}),
    Case(CampaignROI, {"x": 3, "curve_days": 6}, (DAILY,),
         {"spend": 100.0, "touched_users": 10, "new_p": 2, "new_ti": 4, "holdout_groups": GROUPS,
          "info": {"campaign": "c1"}, "covariate": None, "overlapping_campaigns": ["c2"]},
         bad={"x": -1}),
    Case(FirstTouch, {}, (PATHS,)),
    Case(LastTouch, {}, (PATHS,)),
    Case(LastNonOrganic, {"organic": ["organic"]}, (PATHS,), bad={"organic": "organic"}),
    Case(Linear, {}, (PATHS,)),
    Case(PositionBased, {"first": 0.3, "last": 0.5}, (PATHS,), bad={"first": 0.8, "last": 0.8}),
    Case(TimeDecay, {"half_life": 3.0}, (LAGS,), bad={"half_life": 0}),
    Case(Markov, {"order": 2}, (PATHS,), bad={"order": 0}),
    Case(Shapley, {"ordered": True}, (PATHS,), bad={"max_channels": 0}),
    Case(Incremental, {"bootstrap": 5, "min_units": 10, "organic": ["organic"]}, (CELLS,), bad={"response": "probit"}),
    Case(_Response, {"kind": "logistic", "n": 2, "ridge": 1e-4, "min_units": 1.0},
         (MASKS, np.array([10.0, 20, 20, 30, 5]), np.array([1.0, 4, 3, 9, 1]))),
]
BY_CLASS = {c.cls: c for c in CASES}


def _results(fitter: Fitter) -> dict[str, Any]:
    return {k: v for k, v in vars(fitter).items() if k.endswith("_") and not k.startswith("_")}


def _same(a: Any, b: Any) -> bool:
    """Equal values, NaN equal to NaN, frames and arrays compared whole."""
    if type(a) is not type(b):
        return False
    if isinstance(a, Fitter):
        return a.get_params() == b.get_params() and _same(_results(a), _results(b))
    if isinstance(a, pd.DataFrame):
        try:
            pd.testing.assert_frame_equal(a, b)
        except AssertionError:
            return False
        return True
    if isinstance(a, np.ndarray):
        return a.shape == b.shape and np.array_equal(a, b, equal_nan=a.dtype.kind == "f")
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float):
        return a == b or (math.isnan(a) and math.isnan(b))
    if hasattr(a, "params_"):  # a lifelines fit: its parameters say it all
        return _same(a.params_.to_frame(), b.params_.to_frame())
    return a == b


def _fit(case: Case, fitter: Fitter | None = None) -> Fitter:
    fitter = fitter if fitter is not None else case.cls(**case.params)
    return fitter.fit(*case.args, **case.kwargs)


def _walk_fitters() -> set[type]:
    """Every concrete Fitter subclass defined in the layers that fit."""
    for pkg in ("aips.analytics", "aips.insight", "aips.activation"):
        module = importlib.import_module(pkg)
        for info in pkgutil.walk_packages(module.__path__, prefix=f"{pkg}."):
            importlib.import_module(info.name)
    found, todo = set(), [Fitter]
    while todo:
        for sub in todo.pop().__subclasses__():
            todo.append(sub)
            if sub.__module__.startswith("aips.") and not inspect.isabstract(sub):
                found.add(sub)
    return found


# --- coverage ---------------------------------------------------------------------------------


def test_every_fitter_has_a_case():
    missing = {c.__qualname__ for c in _walk_fitters()} - {c.__qualname__ for c in BY_CLASS}
    assert not missing, f"fitters without a contract case here: {sorted(missing)}"


def test_every_public_fitter_is_in_analytics_all():
    public = {c.__name__ for c in _walk_fitters() if not c.__name__.startswith("_")}
    assert public <= set(aips.analytics.__all__)
    exported = {getattr(aips.analytics, n) for n in aips.analytics.__all__}
    assert {c for c in exported if isinstance(c, type) and issubclass(c, Fitter)
            and not inspect.isabstract(c) and c is not Fitter} == {
        c for c in BY_CLASS if not c.__name__.startswith("_")}


# --- the contract -----------------------------------------------------------------------------


@pytest.mark.parametrize("case", CASES, ids=str)
def test_fit_returns_self_and_sets_every_result(case):
    fitter = case.cls(**case.params)
    assert not fitter.is_fitted()
    assert _fit(case, fitter) is fitter
    check_is_fitted(fitter)
    for name in type(fitter)._result_names():
        assert name in vars(fitter), f"{name} is declared but not set by fit"


@pytest.mark.parametrize("case", CASES, ids=str)
def test_results_before_fit_raise_not_fitted(case):
    fitter = case.cls(**case.params)
    names = type(fitter)._result_names() or ("anything_",)
    for name in names:
        with pytest.raises(NotFittedError, match=r"call fit\(\) first"):
            getattr(fitter, name)
        assert not hasattr(fitter, name)
    with pytest.raises(NotFittedError, match=case.cls.__name__):
        check_is_fitted(fitter)
    repr(fitter)  # printing an unfitted fitter works
    str(fitter)


@pytest.mark.parametrize("case", CASES, ids=str)
def test_check_fit_idempotent(case):
    fitter = _fit(case)
    first = copy.deepcopy(_results(fitter))
    assert _same(_results(_fit(case, fitter)), first), "fitting twice changed the results"
    assert _same(_results(_fit(case, fitter.clone())), first), "a clone fits differently"


@pytest.mark.parametrize("case", CASES, ids=str)
def test_clone_is_unfitted_with_equal_params(case):
    fitter = _fit(case)
    twin = fitter.clone()
    assert type(twin) is type(fitter) and twin is not fitter
    assert twin.get_params() == fitter.get_params() == {**_defaults(case.cls), **case.params}
    assert not twin.is_fitted()


@pytest.mark.parametrize("case", CASES, ids=str)
def test_get_params_round_trips_through_the_constructor(case):
    fitter = case.cls(**case.params)
    params = fitter.get_params()
    assert list(params) == list(inspect.signature(case.cls.__init__).parameters)[1:]
    assert case.cls(**params).get_params() == params
    assert all(params[k] is v for k, v in case.params.items()), "__init__ must store as given"
    assert fitter.set_params(**params) is fitter
    with pytest.raises(ConfigError, match="no parameter"):
        fitter.set_params(no_such_parameter=1)
    defaults = _defaults(case.cls)
    for name, value in case.params.items():  # the repr shows the parameters not at default
        shown = f"{name}={value!r}" in repr(fitter)
        assert shown == (name not in defaults or value != defaults[name])


@pytest.mark.parametrize("case", [c for c in CASES if c.bad is not None], ids=str)
def test_bad_params_raise_at_fit_not_at_construction(case):
    fitter = case.cls(**{**case.params, **case.bad})  # no validation in __init__
    with pytest.raises(AipsError):
        _fit(case, fitter)


@pytest.mark.parametrize("case", CASES, ids=str)
def test_fit_does_not_modify_its_input(case):
    before = copy.deepcopy((case.args, case.kwargs))
    _fit(case)
    assert _same((case.args, case.kwargs), before)


def _defaults(cls: type) -> dict[str, Any]:
    sig = inspect.signature(cls.__init__).parameters.values()
    return {p.name: p.default for p in list(sig)[1:] if p.default is not inspect.Parameter.empty}


def test_not_fitted_error_is_an_aips_and_attribute_error():
    assert issubclass(NotFittedError, AipsError) and issubclass(NotFittedError, AttributeError)
    assert aips.analytics.Fitter is Fitter
