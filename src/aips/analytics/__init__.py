"""Analytics on aggregates: flows, funnels, decision cycles, ROI(T+x), loyalty and attribution.

Modules here receive small tables computed in the backend (a KM table, per-campaign sums,
per-brand counts) and fit models on them in the fitter shape ``Model(params).fit(agg) ->
self``, results in ``*_`` attributes. Each verb of the Python API that they own is a
function taking a :class:`~aips.view.View` first (``flows.flow_matrix(view, t0, t1)``,
``funnel.funnel(view, steps)``, ``roi.roi(view, campaign)``, ``attribution.attribute(view)``
...); :class:`~aips.workspace.Workspace` methods call them with ``ws.view``.
"""
