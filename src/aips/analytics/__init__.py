"""Analytics on aggregates: flows, funnels, decision cycles, ROI(T+x), loyalty and attribution.

Modules here receive small tables computed in the backend (a KM table, per-campaign sums,
per-brand counts) and fit models on them in the fitter shape ``Model(params).fit(agg) ->
self``, results in ``*_`` attributes: every fitter is a :class:`~aips.analytics.base.Fitter`
and is exported here (imported on first use, so that ``import aips`` stays light).

Each verb of the Python API that they own is a function taking a :class:`~aips.view.View`
first (``flows.flow_matrix(view, t0, t1)``, ``funnel.funnel(view, steps)``,
``roi.roi(view, campaign)``, ``attribution.attribute(view)`` ...);
:class:`~aips.workspace.Workspace` methods call them with ``ws.view``.

>>> from aips.analytics import DecisionCycleFitter, Fitter
>>> issubclass(DecisionCycleFitter, Fitter)
True
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "Fitter": "aips.analytics.base",
    "check_is_fitted": "aips.analytics.base",
    "DecisionCycleFitter": "aips.analytics.decision_cycle",
    "CureCycleFitter": "aips.analytics.decision_cycle",
    "CampaignROI": "aips.analytics.roi",
    **{
        name: "aips.analytics.attribution"
        for name in (
            "AttributionModel", "FirstTouch", "LastTouch", "LastNonOrganic", "Linear",
            "PositionBased", "TimeDecay", "Markov", "Shapley", "Incremental",
        )
    },
}
"""Public name -> the module that defines it."""

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'aips.analytics' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
