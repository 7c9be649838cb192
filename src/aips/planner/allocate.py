"""The split of a budget across channels that maximises a goal (``scipy.optimize``, SLSQP).

Maximise ``goal(x)`` over total spend per channel ``x`` with ``sum(x) = budget`` and
``min_c <= x_c <= max_c``; the goal is the forecast (:mod:`aips.planner.forecast`) of the
TI crowd on the last day, of first purchases over the horizon, or of revenue (purchases x
the brand's revenue per purchaser). The planner passes the goal averaged over the curves'
bootstrap refits (:meth:`aips.planner.curves.ResponseCurves.expected_advances`): a split
chosen on the point estimate alone bets on its noise. SLSQP starts from the even split and
from the last period's split; the better optimum wins.

>>> value = lambda x: float(np.sum(np.sqrt(x)))          # equal concave returns
>>> split = allocate(value, ["a", "b"], 100.0)
>>> [round(v) for v in split.values()]
[50, 50]
>>> allocate(value, ["a", "b"], 100.0, low={"a": 80.0})["a"] >= 80.0 - 1e-6
True
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np
from scipy.optimize import minimize

from aips.exceptions import ConfigError


def allocate(value: Callable[[np.ndarray], float], channels: list[str], budget: float,
             low: Mapping[str, float] | None = None, high: Mapping[str, float] | None = None,
             starts: list[np.ndarray] | None = None) -> dict[str, float]:
    """Total spend per channel maximising ``value`` (a function of the spend vector)."""
    low, high = dict(low or {}), dict(high or {})
    for name in (*low, *high):
        if name not in channels:
            raise ConfigError(f"--min/--max name channel {name!r}, not one of {', '.join(channels)}")
    lo = np.asarray([float(low.get(c, 0.0)) for c in channels])
    hi = np.asarray([float(high.get(c, budget)) for c in channels])
    if budget <= 0:
        raise ConfigError(f"the budget must be positive, got {budget}")
    if lo.sum() > budget + 1e-9 or hi.sum() < budget - 1e-9 or (lo > hi).any():
        raise ConfigError(f"no split of {budget:g} fits the bounds (minimums sum to {lo.sum():g}, "
                          f"maximums to {hi.sum():g})")
    scale = budget
    even = np.clip(np.full(len(channels), budget / len(channels)), lo, hi)
    candidates = [even, *(starts or [])]
    best = None
    for x0 in candidates:
        x0 = np.clip(np.asarray(x0, float), lo, hi)
        x0 = x0 * budget / x0.sum() if x0.sum() > 0 else even
        res = minimize(lambda z: -value(z * scale), x0 / scale, method="SLSQP",
                       bounds=list(zip(lo / scale, hi / scale, strict=True)),
                       constraints=[{"type": "eq", "fun": lambda z: z.sum() - budget / scale}],
                       options={"maxiter": 200, "ftol": 1e-10})
        x = np.clip(res.x * scale, lo, hi)
        v = value(x)
        if best is None or v > best[1]:
            best = (x, v)
    return {c: float(v) for c, v in zip(channels, best[0], strict=True)}
