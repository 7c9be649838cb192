"""Analytics on aggregates: decision cycles, ROI(T+x), loyalty and attribution.

Modules here receive small tables computed in the backend (a KM table, per-campaign sums,
per-brand counts) and fit models on them in the fitter shape ``Model(params).fit(agg) ->
self``, results in ``*_`` attributes.
"""
