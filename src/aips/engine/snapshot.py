"""The snapshot at day d: each (user, entity) with its exclusive level that day.

A window of W days at day d covers the local dates d-W+1 .. d. Each stage rule is evaluated
with its counters summed over the stage's window (``Model.stage_window``); ``cycle`` is the
decision cycle of each event's category (:mod:`aips.engine.cycles`). Pairs with no level have
no row. The source is either raw ``events`` or the daily rollup (``counters_daily``), which
give the same result; the rollup is faster when it is stored.

>>> import datetime as dt, ibis
>>> from aips.config.model import default_model
>>> ev = ibis.memtable({"user_id": ["u1", "u1", "u2"], "brand": ["b"] * 3,
...     "spu": [None] * 3, "category": [None] * 3,
...     "local_date": [dt.date(2024, 1, 1), dt.date(2024, 1, 20), dt.date(2024, 1, 1)],
...     "event_type": ["impression", "collect", "impression"],
...     "dwell_s": [None] * 3, "completion": [None] * 3, "amount": [None] * 3})
>>> snap = snapshot(ev, default_model(), dt.date(2024, 1, 30)).order_by("user_id")
>>> snap.to_pyarrow().to_pylist()
[{'user_id': 'u1', 'brand': 'b', 'stage': 'TI'}, {'user_id': 'u2', 'brand': 'b', 'stage': 'A'}]
>>> snapshot(ev, default_model(), dt.date(2024, 1, 31)).count().to_pyarrow().as_py()
1
"""

from __future__ import annotations

import datetime as dt
from functools import reduce

import ibis

from aips.config.model import Model, Window
from aips.engine.counters import counter_measures, is_rollup
from aips.engine.cycles import with_cycle_days
from aips.engine.stages import (
    RulePlan,
    count_assets,
    cumulative_assets,
    entity_keys,
    for_level,
    level_expr,
    resolve_level,
    scaled,
)


def _sum(values: list[ibis.Value]) -> ibis.Value:
    return reduce(lambda a, b: a + b, values)


def _disjoint_counts(model: Model, terms: list[tuple[str, int]]) -> bool:
    """True when ``sum(terms)`` is one count: plain counts, coefficient 1, disjoint types."""
    if len(terms) < 2 or any(k != 1 or model.counters[c].sum for c, k in terms):
        return False
    seen: set[str] = set()
    for c, _ in terms:
        types = set(model.counters[c].events)
        if seen & types:
            return False
        seen |= types
    return True


def _in_window(table: ibis.Table, at: dt.date | ibis.Value, window: Window) -> ibis.Value:
    """True for rows whose ``local_date`` lies in the window of W days ending at ``at``.

    ``at`` is a date (one snapshot: compares with a DATE literal, which keeps the column a
    DATE and lets the scan skip row groups) or a date column (several days at once).
    """
    if window == "cycle":
        day = ibis.literal(at) if isinstance(at, dt.date) else at
        return day.delta(table.local_date, unit="day") < table.cycle_days
    if isinstance(at, dt.date):
        return table.local_date > ibis.literal(at - dt.timedelta(days=int(window)))
    return at.delta(table.local_date, unit="day") < int(window)


def _scope(source: ibis.Table, plan: RulePlan, at: dt.date | ibis.Value, level: str,
           model: Model, categories: ibis.Table | None) -> ibis.Table:
    """Rows of ``source`` that can count on day ``at`` (with ``cycle_days`` when needed)."""
    t = for_level(source, level)
    t = t.filter(t.local_date <= (ibis.literal(at) if isinstance(at, dt.date) else at))
    if plan.uses_cycle:
        t = with_cycle_days(t, model, categories)
        if categories is None:  # every cycle is known: one date bound
            longest = max(plan.max_fixed_window, model.default_cycle_days, *model.categories.values())
            return t.filter(_in_window(t, at, longest))
        keep = _in_window(t, at, "cycle")
        if plan.max_fixed_window:
            keep = keep | _in_window(t, at, plan.max_fixed_window)
        return t.filter(keep)
    return t.filter(_in_window(t, at, plan.max_fixed_window))


def _atoms(source, model, at, keys, level, categories, plan) -> ibis.Table:
    """Per ``keys``: every rule atom summed over its windows ending at ``at`` (a date value)."""
    t = _scope(source, plan, at(source) if callable(at) else at, level, model, categories)
    day = at(t) if callable(at) else at
    metrics: dict[str, ibis.Value] = {}
    if is_rollup(t):
        for atom in plan.atoms:
            for w in atom.windows:
                combo = _sum([scaled(t[c], k) for c, ww, k in atom.terms if ww == w])
                # summed as DOUBLE (exact: whole counts far below 2^53): DuckDB sums a BIGINT
                # in a 128-bit state, and the 100M snapshot's aggregate took 2.8x the CPU of
                # the events' counts (54.0 -> 39-40 s with this cast, the same assets)
                total = combo.cast("float64").sum(where=_in_window(t, day, w))
                metrics[f"{atom.name}_{w}"] = total.fill_null(0).cast("int64")
        agg = t.group_by(keys).aggregate(**metrics)
        atoms = {a.name: _sum([agg[f"{a.name}_{w}"] for w in a.windows]) for a in plan.atoms}
    else:
        measures = counter_measures(t, model)
        names: dict = {}

        def measure(counters: tuple[str, ...], w) -> ibis.Value:
            """A filtered count/sum of the events of ``counters`` in window ``w`` (shared)."""
            key = (counters, w)
            if key not in names:
                names[key] = f"_m{len(names)}"
                plain = [c for c in counters if not model.counters[c].where]
                conds = [measures[c][0] for c in counters if model.counters[c].where]
                if plain:
                    types = sorted({e for c in plain for e in model.counters[c].events})
                    conds.append(t.event_type.isin(types))
                cond = reduce(lambda a, b: a | b, conds)
                cond = cond & _in_window(t, day, w)
                value = measures[counters[0]][1]
                metrics[names[key]] = (
                    t.count(where=cond) if value is None else value.sum(where=cond).fill_null(0)
                )
            return names[key]

        parts: dict = {}
        for a in plan.atoms:
            parts[a.name] = []
            for w in a.windows:
                terms = [(c, k) for c, ww, k in a.terms if ww == w]
                if _disjoint_counts(model, terms):  # one count over the union of the types
                    parts[a.name].append((measure(tuple(c for c, _ in terms), w), 1))
                else:
                    parts[a.name] += [(measure((c,), w), k) for c, k in terms]
        agg = t.group_by(keys).aggregate(**metrics)
        atoms = {n: _sum([scaled(agg[m], k) for m, k in ps]) for n, ps in parts.items()}
    return agg.select(*keys, **atoms)


def windowed_atoms(
    source: ibis.Table,
    model: Model,
    at: dt.date,
    *,
    level: str | None = None,
    categories: ibis.Table | None = None,
    plan: RulePlan | None = None,
) -> ibis.Table:
    """Per (user, entity): every rule atom summed over its windows ending at ``at``.

    Columns ``user_id``, the entity keys and one column per atom (``_a0`` ...).
    """
    level = resolve_level(model, level)
    plan = plan or RulePlan.of(model)
    keys = ["user_id", *entity_keys(level)]
    return _atoms(source, model, at, keys, level, categories, plan)


def snapshot(
    source: ibis.Table,
    model: Model,
    at: dt.date,
    *,
    level: str | None = None,
    categories: ibis.Table | None = None,
) -> ibis.Table:
    """Each (user, entity) with its exclusive level on local date ``at``.

    Args:
        source: the ``events`` table or the ``counters_daily`` rollup.
        model: counters, rules and windows.
        at: the local date (in the model's time zone).
        level: ``brand`` or ``spu`` (default: the model's).
        categories: the store's ``categories`` table, if any (decision cycles).

    Returns:
        ``user_id``, ``brand`` (at SPU level ``spu``, ``brand``), ``stage`` in
        ``S``/``P``/``TI``/``I``/``A``; pairs with no level have no row.
    """
    level = resolve_level(model, level)
    plan = RulePlan.of(model)
    atoms = windowed_atoms(source, model, at, level=level, categories=categories, plan=plan)
    keys = ["user_id", *entity_keys(level)]
    out = atoms.select(*keys, stage=level_expr(plan, {a.name: atoms[a.name] for a in plan.atoms}))
    return out.filter(out.stage.notnull())


def assets(snap: ibis.Table, level: str = "brand", cumulative: bool = False) -> ibis.Table:
    """Users per entity and stage of a snapshot: ``(brand | spu, brand), stage, users``.

    ``cumulative=True`` counts users at or above each stage instead.
    """
    by = entity_keys(level)
    counts = count_assets(snap, by)
    return cumulative_assets(counts, by) if cumulative else counts


def snapshots(
    source: ibis.Table,
    model: Model,
    days: list[dt.date],
    *,
    level: str | None = None,
    categories: ibis.Table | None = None,
) -> ibis.Table:
    """Snapshots on several days in one aggregation: ``day``, ``user_id``, entity, ``stage``.

    Equal to a union of :func:`snapshot` per day. It joins the source to the list of days,
    so each row is read once per day: meant for a handful of days (two for flows) or
    small data; for every day of a range use :func:`aips.engine.series.asset_series`.
    """
    level = resolve_level(model, level)
    plan = RulePlan.of(model)
    cal = ibis.memtable({"day": sorted(set(days))}, schema={"day": "date"})
    joined = source.cross_join(cal)
    keys = ["day", "user_id", *entity_keys(level)]
    atoms = _atoms(joined, model, lambda t: t.day, keys, level, categories, plan)
    out = atoms.select(*keys, stage=level_expr(plan, {a.name: atoms[a.name] for a in plan.atoms}))
    return out.filter(out.stage.notnull())
