"""A diagnosis's per-brand stage counts in one pass over the stage timelines.

One grouped query gives, per brand, what the diagnosis used to collect in five (two
snapshots, the flows between them, the advance rates and new TI), from the brand-level
timelines cut at ``at`` (or uncut: every count below only reads days up to ``at``):

* ``size_<X>``: pairs at stage X on ``at`` (the snapshot read off the timelines);
* ``t0_<X>``, ``up0_<X>``: pairs at X on ``t0`` and, of them, those at a higher stage on
  ``at`` (the snapshot flow rate's numerator and denominator, :mod:`aips.engine.flows`);
* ``n_<X>``, ``adv_<X>``: pairs at X on a day of ``[t0, at)`` and, of them, those whose level
  rose directly out of X on a day of ``(t0, at]`` (the advance rate, as
  :func:`aips.activation.diagnose.advance_rates`);
* ``new_ti``: pairs whose first day at TI or above lies in ``(t0, at]``.

The per-pair work (a lead over each pair's intervals, one row per pair) stays in the
backend; Python receives one row per brand.

>>> import datetime as dt, ibis
>>> d = dt.date
>>> tl = ibis.memtable({"user_id": ["u", "u", "v"], "brand": ["b"] * 3,
...     "start_date": [d(2024, 1, 1), d(2024, 1, 5), d(2024, 1, 2)],
...     "end_date": [d(2024, 1, 4), d(2024, 1, 9), d(2024, 1, 9)], "stage": ["A", "TI", "I"]})
>>> row = brand_stage_counts(tl, d(2024, 1, 3), d(2024, 1, 9)).to_pyarrow().to_pylist()[0]
>>> row["size_TI"], row["size_I"], row["t0_A"], row["up0_A"], row["n_A"], row["adv_A"], row["new_ti"]
(1, 1, 1, 1, 1, 1, 1)
"""

from __future__ import annotations

import datetime as dt

import ibis

from aips.config.model import STAGE_ORDER, STAGE_RANK
from aips.engine.flows import stage_rank

FROM_STAGES = ("A", "I", "TI", "P")
"""Stages a transition starts from (``A->I`` .. ``P->S``)."""


def brand_stage_counts(timeline: ibis.Table, t0: dt.date, at: dt.date) -> ibis.Table:
    """One row per brand: ``brand`` and the counts of the module docstring (int64)."""
    keys = ["user_id", "brand"]
    w = ibis.window(group_by=keys, order_by="start_date")
    tl = timeline.mutate(_r=stage_rank(timeline.stage), _nr=stage_rank(timeline.stage.lead().over(w)),
                         _nd=timeline.start_date.lead().over(w))
    d0, d1 = ibis.literal(t0), ibis.literal(at)
    adjacent = tl._nd.notnull() & (tl.end_date + ibis.interval(days=1) == tl._nd)
    rises = adjacent & (tl._nr > tl._r) & (tl._nd > d0) & (tl._nd <= d1)
    during = (tl.start_date < d1) & (tl.end_date >= d0)
    covers = {"at": (tl.start_date <= d1) & (tl.end_date >= d1),
              "t0": (tl.start_date <= d0) & (tl.end_date >= d0)}
    high = tl._r >= STAGE_RANK["TI"]
    per_pair = {
        "r1": tl._r.max(where=covers["at"]).fill_null(0),
        "r0": tl._r.max(where=covers["t0"]).fill_null(0),
        "first_high": tl.start_date.min(where=high),
    }
    for x in FROM_STAGES:
        at_x = during & (tl._r == STAGE_RANK[x])
        per_pair[f"n_{x}"] = at_x.any()
        per_pair[f"adv_{x}"] = (at_x & rises).any()
    pairs = tl.group_by(keys).aggregate(**per_pair)
    counts = {f"size_{s}": pairs.count(where=pairs.r1 == STAGE_RANK[s]) for s in STAGE_ORDER}
    for x in FROM_STAGES:
        r = STAGE_RANK[x]
        counts[f"t0_{x}"] = pairs.count(where=pairs.r0 == r)
        counts[f"up0_{x}"] = pairs.count(where=(pairs.r0 == r) & (pairs.r1 > r))
        counts[f"n_{x}"] = pairs.count(where=pairs[f"n_{x}"])
        counts[f"adv_{x}"] = pairs.count(where=pairs[f"adv_{x}"])
    counts["new_ti"] = pairs.count(where=(pairs.first_high > d0) & (pairs.first_high <= d1))
    # Spark gives NULL, not 0, for a conditional count that matches no row
    return pairs.group_by("brand").aggregate(**{k: v.fill_null(0) for k, v in counts.items()})


__all__ = ["FROM_STAGES", "brand_stage_counts"]
