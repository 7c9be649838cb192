"""The first day each (user, brand) pair's level reached a stage, without the stage sweep.

Attribution chains and stage targets only need, per pair, the first day its level was at a
stage or above. Timelines (:mod:`aips.engine.timelines`) give it, but build every change
point of every pair (a sort of several delta rows per rollup row: measured 5x a snapshot on
the 12M-event ``small`` world). When the rules are **monotone** the first day is found from
the rollup rows directly:

* a rule is monotone when it is built from ``and``/``or`` of comparisons ``atom >= v``
  (``v > 0``) or ``atom > v`` (``v >= 0``) whose counters all have positive coefficients and
  count events (no sums of a numeric column, which could be negative);
* then a rule can only start to hold on a day with an event it counts (windowed counts only
  grow on such days), so the first day is the least rollup day on which the rule holds,
  with each counter summed over its window by a RANGE frame over the pair's rows (ordered
  by day number: one sort of the rows that count, no change points);
* a comparison that one event satisfies (``read + like >= 1``) and that is a top-level
  ``or`` branch of its rule first holds on the first day with such an event: no window
  (this is how ``window: cycle`` counters, whose length varies by category, are handled:
  the default P and S rules are of this kind).

Any other rule (``not``, ``<``, a cycle counter inside an ``and`` or with a threshold above
one event) falls back to the timelines, with the same result.

Measured on the ``small`` world (10.6M rollup rows): the windowed pass took 0.5x one
snapshot, the timelines 5x.

>>> import datetime as dt, ibis
>>> from aips.config.model import default_model
>>> ev = ibis.memtable({"user_id": ["u"] * 3, "brand": ["b"] * 3, "spu": [None] * 3,
...     "category": [None] * 3, "local_date": [dt.date(2024, 1, d) for d in (1, 3, 9)],
...     "event_type": ["impression", "read", "collect"], "dwell_s": [None] * 3,
...     "completion": [None] * 3, "amount": [None] * 3})
>>> r = first_reach(ev, default_model(), ["I", "TI"]).to_pyarrow().to_pylist()
>>> [(x["user_id"], x["d_I"].day, x["d_TI"].day) for x in r]
[('u', 3, 9)]
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import reduce

import ibis

from aips.config.model import STAGE_RANK, Model
from aips.engine.counters import daily_counters, is_rollup
from aips.engine.stages import RulePlan, _Cmp, for_level, scaled
from aips.engine.timelines import day_number

KEYS = ("user_id", "brand")


def _or_branches(tree) -> list:
    """The top-level ``or`` operands of a rule tree (the tree itself when it is no ``or``)."""
    if isinstance(tree, tuple) and tree[0] == "or":
        return [b for o in tree[1] for b in _or_branches(o)]
    return [tree]


def _monotone(tree, model: Model) -> bool:
    if isinstance(tree, _Cmp):
        if tree.atom is None:
            return False
        counts = all(not model.counters[c].sum for c, _, _ in tree.atom.terms)
        positive = all(k > 0 for _, _, k in tree.atom.terms)
        ok_op = (tree.op == ">=" and tree.value > 0) or (tree.op == ">" and tree.value >= 0)
        return counts and positive and ok_op
    op, operands = tree
    return op in ("and", "or") and all(_monotone(o, model) for o in operands)


def _one_event(cmp: _Cmp) -> bool:
    """True when any single counted event satisfies the comparison."""
    least = min(k for _, _, k in cmp.atom.terms)
    return cmp.value <= least if cmp.op == ">=" else cmp.value < least


def _windowed(tree, shortcut: set) -> bool:
    """True when every comparison outside ``shortcut`` has whole-number windows only."""
    if isinstance(tree, _Cmp):
        return id(tree) in shortcut or all(w != "cycle" for _, w, _ in tree.atom.terms)
    return all(_windowed(o, shortcut) for o in tree[1])


def fast_path(model: Model, stages: Sequence[str]) -> bool:
    """Whether :func:`first_reach` can skip the timelines for these stages under ``model``."""
    plan = RulePlan.of(model)
    for s in _rules_at_or_above(stages):
        tree = plan.rules[s]
        if not _monotone(tree, model):
            return False
        shortcut = {id(b) for b in _or_branches(tree) if isinstance(b, _Cmp) and _one_event(b)}
        if not _windowed(tree, shortcut):
            return False
    return True


def _rules_at_or_above(stages: Sequence[str]) -> list[str]:
    low = min(STAGE_RANK[s] for s in stages)
    return [s for s, r in STAGE_RANK.items() if r >= low]


def first_reach(
    source: ibis.Table,
    model: Model,
    stages: Sequence[str],
    *,
    categories: ibis.Table | None = None,
    timeline: ibis.Table | None = None,
) -> ibis.Table:
    """``user_id, brand, d_<stage>...``: the first local date each pair's (brand-level)
    level was at each stage or above (null: never); only pairs that reached the lowest one.

    Args:
        source: ``events`` or the ``counters_daily`` rollup.
        stages: stages such as ``["I", "TI"]``.
        timeline: brand-level timelines to read it from instead (e.g. already cached).
    """
    keys = list(KEYS)
    high = {s: [x for x, r in STAGE_RANK.items() if r >= STAGE_RANK[s]] for s in stages}
    if timeline is not None or not fast_path(model, stages):
        if timeline is None:
            from aips.engine.timelines import timelines

            timeline = timelines(source, model, level="brand", categories=categories)
        out = timeline.group_by(keys).aggregate(**{
            f"d_{s}": timeline.start_date.min(where=timeline.stage.isin(high[s])) for s in stages})
        return out.filter(out[f"d_{min(stages, key=STAGE_RANK.get)}"].notnull())
    plan = RulePlan.of(model)
    rules = _rules_at_or_above(stages)
    used = sorted({c for s in rules for a in _atoms(plan.rules[s]) for c, _, _ in a.terms})
    rows = source if is_rollup(source) else daily_counters(source, model)
    rows = for_level(rows, "brand").select(*keys, "local_date", *used)
    rows = rows.filter(reduce(lambda a, b: a | b, [rows[c] > 0 for c in used]))
    rows = rows.mutate(_dn=day_number(rows.local_date))
    sums: dict[tuple, ibis.Value] = {}

    def window_sum(counter: str, w: int) -> ibis.Value:
        if (counter, w) not in sums:
            frame = ibis.window(group_by=keys, order_by="_dn", range=(-(int(w) - 1), 0))
            sums[(counter, w)] = rows[counter].fill_null(0).sum().over(frame)
        return sums[(counter, w)]

    def holds(tree, top: bool) -> ibis.Value:
        if isinstance(tree, _Cmp):
            if top and _one_event(tree):  # first holds with the first event it counts
                return reduce(lambda a, b: a | b, [rows[c] > 0 for c, _, _ in tree.atom.terms])
            value = reduce(lambda a, b: a + b,
                           [scaled(window_sum(c, w), k) for c, w, k in tree.atom.terms])
            return value >= tree.value if tree.op == ">=" else value > tree.value
        op, operands = tree
        parts = [holds(o, top and op == "or") for o in operands]
        return reduce((lambda a, b: a & b) if op == "and" else (lambda a, b: a | b), parts)

    flags = {s: holds(plan.rules[s], True) for s in rules}
    at_or_above = {s: reduce(lambda a, b: a | b, [flags[x] for x in high[s]]) for s in stages}
    rows = rows.mutate(**{f"_f{s}": v for s, v in at_or_above.items()})
    out = rows.group_by(keys).aggregate(**{
        f"d_{s}": rows.local_date.min(where=rows[f"_f{s}"]) for s in stages})
    return out.filter(out[f"d_{min(stages, key=STAGE_RANK.get)}"].notnull())


def _atoms(tree) -> list:
    if isinstance(tree, _Cmp):
        return [tree.atom] if tree.atom is not None else []
    return [a for o in tree[1] for a in _atoms(o)]
