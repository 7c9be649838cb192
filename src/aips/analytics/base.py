"""The one contract of every analytic that fits (scikit-learn's, in lifelines' style).

* **Parameters** are the constructor's keyword arguments, stored as attributes of the same
  name and nothing else: no validation, no conversion (a bad parameter raises in
  :meth:`fit`, so that :meth:`Fitter.set_params` and :meth:`Fitter.clone` can rebuild any
  instance from its parameters).
* ``fit(data, ...)`` learns from a small aggregate and **returns self**; it never modifies
  its input, and fitting twice on the same input gives the same results.
* **Results** are attributes ending in ``_`` (``median_days_``, ``credits_``). A class
  lists the ones every successful fit sets in ``_fitted_attributes`` (collected along the
  class hierarchy); reading any public ``*_`` attribute before :meth:`fit` raises
  :class:`~aips.exceptions.NotFittedError`.
* :meth:`Fitter.get_params`, :meth:`Fitter.set_params`, :meth:`Fitter.clone` and the
  ``repr`` (non-default parameters only) are derived from the constructor's signature.

>>> class Mean(Fitter):
...     _fitted_attributes = ("mean_",)
...     def __init__(self, scale=1.0):
...         self.scale = scale
...     def fit(self, xs):
...         self.mean_ = self.scale * sum(xs) / len(xs)
...         return self
>>> m = Mean(scale=2.0)
>>> m, m.get_params()
(Mean(scale=2.0), {'scale': 2.0})
>>> m.mean_
Traceback (most recent call last):
aips.exceptions.NotFittedError: Mean(scale=2.0) is not fitted: call fit() first, then read mean_
>>> m.fit([1, 2, 3]).mean_
4.0
>>> m.clone().is_fitted(), m.set_params(scale=1.0).fit([1, 2, 3]).mean_
(False, 2.0)
"""

from __future__ import annotations

import copy
import inspect
from typing import Any, ClassVar

from aips.exceptions import ConfigError, NotFittedError

_VARIADIC = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)


class Fitter:
    """Base of every fitter: parameters in ``__init__``, ``fit() -> self``, ``*_`` results.

    Subclasses write an ``__init__`` that only stores its keyword arguments, a ``fit``
    that returns ``self``, and list in ``_fitted_attributes`` the results every fit sets.
    """

    _fitted_attributes: ClassVar[tuple[str, ...]] = ()
    """Results that every successful fit sets (a subclass adds its own)."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # a bug in a class definition, caught at import: clone() needs named parameters
        for p in _signature(cls):
            if p.kind in _VARIADIC or p.kind is inspect.Parameter.POSITIONAL_ONLY:
                raise TypeError(f"{cls.__name__}.__init__ must take named parameters only, not {p}")

    def __init__(self) -> None:
        """A fitter without parameters stores nothing (subclasses with parameters override)."""

    # --- parameters ---------------------------------------------------------------------------

    @classmethod
    def _param_names(cls) -> tuple[str, ...]:
        return tuple(p.name for p in _signature(cls))

    def get_params(self) -> dict[str, Any]:
        """The constructor's parameters and their current values."""
        return {name: getattr(self, name) for name in self._param_names()}

    def set_params(self, **params: Any) -> Fitter:
        """Change parameters (refit to update the results); returns self.

        Raises:
            ConfigError: a name that is not a parameter of the constructor.
        """
        names = self._param_names()
        for name, value in params.items():
            if name not in names:
                raise ConfigError(
                    f"{type(self).__name__} has no parameter {name!r} "
                    f"(its parameters: {', '.join(names) or 'none'})"
                )
            setattr(self, name, value)
        return self

    def clone(self) -> Fitter:
        """A new, unfitted fitter with (deep copies of) the same parameters."""
        return type(self)(**copy.deepcopy(self.get_params()))

    def __repr__(self) -> str:
        defaults = {p.name: p.default for p in _signature(type(self))}
        shown = [f"{k}={v!r}" for k, v in self.get_params().items() if _differs(v, defaults[k])]
        return f"{type(self).__name__}({', '.join(shown)})"

    # --- results ------------------------------------------------------------------------------

    @classmethod
    def _result_names(cls) -> tuple[str, ...]:
        names: list[str] = []
        for klass in reversed(cls.__mro__):
            names += [n for n in vars(klass).get("_fitted_attributes", ()) if n not in names]
        return tuple(names)

    def is_fitted(self) -> bool:
        """Whether a fit has succeeded: every declared result is set (without declared
        results: any ``*_`` attribute is)."""
        state = vars(self)
        declared = self._result_names()
        if declared:  # all of them: a fit that raised half-way leaves the object unfitted
            return all(name in state for name in declared)
        return any(_is_result(name) for name in state)

    def __getattr__(self, name: str) -> Any:
        # only called when normal lookup fails: no cost on fitted results
        if _is_result(name) and not self.is_fitted():
            raise NotFittedError(f"{self!r} is not fitted: call fit() first, then read {name}")
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")


def check_is_fitted(fitter: Fitter) -> None:
    """Raise :class:`~aips.exceptions.NotFittedError` unless ``fitter`` has been fitted."""
    if not fitter.is_fitted():
        raise NotFittedError(f"{fitter!r} is not fitted: call fit() first")


def _signature(cls: type) -> list[inspect.Parameter]:
    """The constructor's parameters after ``self``."""
    return list(inspect.signature(cls.__init__).parameters.values())[1:]


def _is_result(name: str) -> bool:
    return name.endswith("_") and not name.startswith("_")


def _differs(value: Any, default: Any) -> bool:
    if default is inspect.Parameter.empty or value is default:
        return value is not default
    try:
        return not bool(value == default)
    except (TypeError, ValueError):  # arrays and frames compare element-wise
        return True
