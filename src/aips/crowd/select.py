"""The pairs a crowd spec selects, built from a view in the backend.

:func:`build_table` turns an :class:`~aips.crowd.spec.AudienceSpec` into an unexecuted Ibis
table ``user_id, brand`` (distinct pairs); :func:`select_pairs` keeps each pair's ``stage``
as well (its stage on ``at``, a flow cell's to-stage, a reached cell's stage). Snapshots and
flows come from the stage engine, funnels from :mod:`aips.engine.funnel`, ``where`` rules
are compiled by the whitelist parser (:func:`aips.config.rules.compile_rule`) over windowed
counters and numeric user attributes; nothing is spliced into SQL.
"""

from __future__ import annotations

import datetime as dt
from functools import reduce
from typing import Any

import ibis

from aips.crowd.features import (
    attribute_values,
    numeric_attributes,
    pair_counters,
    string_attributes,
)
from aips.crowd.spec import AudienceSpec
from aips.dates import as_date
from aips.exceptions import ConfigError
from aips.view import View

KEYS = ("user_id", "brand")


def _rows(expr) -> list[dict]:
    return expr.to_pyarrow().to_pylist()


def _source(view: View, brands: list[str] | None) -> ibis.Table:
    """The engine's source (rollup when current, else events), restricted to ``brands``."""
    source = view.engine_source()
    if brands is not None:
        source = source.filter(source.brand.isin(brands))
    return source


def _snapshot(view: View, brands: list[str] | None, at: dt.date) -> ibis.Table:
    from aips.engine.snapshot import snapshot

    return snapshot(_source(view, brands), view.model, at, level="brand", categories=view.categories)


def resolve_brands(view: View, spec: AudienceSpec, at: dt.date | None) -> list[str] | None:
    """The brands of a leaf spec (None: every brand). Runs one small query for categories."""
    if spec.competitors_of:
        from aips.engine.penetration import brand_categories

        if at is None:
            raise ConfigError("a competitors' crowd needs an as-of date (--at YYYY-MM-DD)")
        cats = {r["brand"]: r["category"] for r in _rows(brand_categories(view.audience_events(at), view.model, at))}
        own = cats.get(spec.competitors_of)
        if own is None:
            raise ConfigError(
                f"brand {spec.competitors_of!r} has no events with a category in the 30 days "
                f"before {at}; name the competitors with --brand instead"
            )
        peers = sorted(b for b, c in cats.items() if c == own and b != spec.competitors_of)
        if not peers:
            raise ConfigError(f"brand {spec.competitors_of!r} has no competitor in category {own!r}")
        return peers
    brands = list(spec.brands) if spec.brands else None
    if spec.category:
        ev = view.events
        hit = ev.filter(ev.category == spec.category).select("brand").distinct()
        in_cat = sorted(r["brand"] for r in _rows(hit))
        if not in_cat:
            raise ConfigError(f"no brand has events of category {spec.category!r}")
        brands = [b for b in in_cat if brands is None or b in brands]
    return brands


def _flow_pairs(view: View, spec: AudienceSpec, brands: list[str] | None) -> ibis.Table:
    from aips.engine.flows import user_flows

    cell = spec.flow
    flows = user_flows(_snapshot(view, brands, cell.t0), _snapshot(view, brands, cell.t1), "brand")
    keep = flows.from_stage.isin(cell.from_stages) & flows.to_stage.isin(cell.to_stages)
    if cell.movements is not None:
        keep &= flows.movement.isin(cell.movements)
    return flows.filter(keep).select(*KEYS, stage=flows.to_stage)


def _funnel_pairs(view: View, spec: AudienceSpec) -> ibis.Table:
    from aips.engine.funnel import FunnelSpec, funnel_user_list, funnel_users, parse_window

    f = spec.funnel
    brand = spec.brands[0]
    fs = FunnelSpec(tuple(f.steps), parse_window(f.window), f.order, (), f.start, f.end, brand)
    users = funnel_user_list(funnel_users(view.events, fs), f.step, f.kind)
    return users.select("user_id", brand=ibis.literal(brand, "string"), stage=ibis.null("string"))


def _reached_pairs(view: View, spec: AudienceSpec, brands: list[str] | None) -> ibis.Table:
    from aips.config.model import STAGE_RANK
    from aips.engine.flows import stage_rank

    cell = spec.reached
    tl = view.timelines(level="brand")
    keep = stage_rank(tl.stage) >= STAGE_RANK[cell.stage]
    if brands is not None:
        keep = tl.brand.isin(brands) & keep
    tl = tl.filter(keep)
    if cell.start is not None:
        tl = tl.filter(tl.end_date >= cell.start)
    if cell.end is not None:
        tl = tl.filter(tl.start_date <= cell.end)
    return tl.select(*KEYS).distinct().mutate(stage=ibis.literal(cell.stage))


def _attr_filter(view: View, pairs: ibis.Table, attrs: dict[str, list[str]]) -> ibis.Table:
    users = view.optional("users")
    if users is None:
        raise ConfigError("attribute filters need a users table (aips ingest users.csv --table users)")
    known = string_attributes(users)
    for name, values in attrs.items():
        if name not in known:
            raise ConfigError(f"unknown user attribute {name!r} (known: {', '.join(known) or 'none'})")
        col = users[name].cast("string")
        if users[name].type().is_boolean():
            col = ibis.ifelse(users[name], "true", "false")
        values = [v.lower() if users[name].type().is_boolean() else v for v in values]
        hit = users.filter(col.isin(values)).select("user_id")
        pairs = pairs.semi_join(hit, "user_id")
    return pairs


def where_filter(view: View, pairs: ibis.Table, rule_text: str, at: dt.date,
                 brands: list[str] | None) -> ibis.Table:
    """``pairs`` where the rule holds over counters (own windows ending ``at``) and attributes."""
    from aips.config.rules import compile_rule, parse_rule

    users = view.optional("users")
    attrs = numeric_attributes(users)
    counters = set(view.model.counters)
    rule = parse_rule(rule_text, known=sorted(counters | set(attrs)))
    used_counters = sorted(n for n in rule.names if n in counters)
    used_attrs = sorted(n for n in rule.names if n not in counters)
    table = pairs
    if used_counters:
        values = pair_counters(_source(view, brands), view.model, at, used_counters, view.categories)
        values = values.rename(_u="user_id", _b="brand")
        table = table.left_join(values, [table.user_id == values._u, table.brand == values._b])
        table = table.drop("_u", "_b")
    if used_attrs:
        av = attribute_values(users, used_attrs).rename(_u="user_id")
        table = table.left_join(av, table.user_id == av._u).drop("_u")
    cond = compile_rule(rule, {n: table[n] for n in rule.names})
    return table.filter(cond).select(*pairs.columns)


def _leaf_pairs(view: View, spec: AudienceSpec, day: dt.date | None) -> ibis.Table:
    """A leaf spec's pairs with their ``stage`` (the filters joined with AND)."""
    if day is None and spec.reached is None:
        raise ConfigError("an audience needs an as-of date (--at YYYY-MM-DD)")
    brands = resolve_brands(view, spec, day)
    tables = []
    if spec.stages:
        snap = _snapshot(view, brands, day)
        tables.append(snap.filter(snap.stage.isin(spec.stages)).select(*KEYS, "stage"))
    if spec.flow is not None:
        tables.append(_flow_pairs(view, spec, brands))
    if spec.funnel is not None:
        tables.append(_funnel_pairs(view, spec))
    if spec.reached is not None:
        tables.append(_reached_pairs(view, spec, brands))
    if not tables:
        tables.append(_snapshot(view, brands, day).select(*KEYS, "stage"))
    pairs = reduce(lambda a, b: a.semi_join(b, list(KEYS)), tables)
    if brands is not None and spec.funnel is not None:
        pairs = pairs.filter(pairs.brand.isin(brands))
    if spec.attrs:
        pairs = _attr_filter(view, pairs, spec.attrs)
    if spec.where:
        if day is None:
            raise ConfigError("a 'where' rule needs an as-of date (--at YYYY-MM-DD)")
        pairs = where_filter(view, pairs, spec.where, day, brands)
    return pairs


def select_pairs(view: View, spec: AudienceSpec, at: Any = None) -> ibis.Table:
    """The pairs of ``spec`` with a ``stage`` column (``user_id, brand, stage``, distinct).

    ``stage`` is the pair's stage on ``at`` (stage filters and the default base), the flow
    cell's to-stage, or the reached stage; null for funnel-only specs and set operations.
    """
    if spec.op is not None:
        return build_table(view, spec, at).mutate(stage=ibis.null("string"))
    day = spec.as_of() or (as_date(at, "at") if at is not None else None)
    return _leaf_pairs(view, spec, day).select(*KEYS, "stage").distinct()


def build_table(view: View, spec: AudienceSpec, at: Any = None) -> ibis.Table:
    """The pairs of ``spec`` (``user_id, brand``, distinct), unexecuted.

    Args:
        view: the store as the model reads it.
        spec: the definition.
        at: the as-of date when the spec has none (its flow's t1 otherwise).
    """
    if spec.op is not None:
        parts = [build_table(view, o, at) for o in spec.operands]
        return reduce(lambda a, b: combine(a, b, spec.op, spec.on), parts)
    day = spec.as_of() or (as_date(at, "at") if at is not None else None)
    return _leaf_pairs(view, spec, day).select(*KEYS).distinct()


def combine(a: ibis.Table, b: ibis.Table, op: str, on: str = "pair") -> ibis.Table:
    """Union, intersect or minus of two pair tables, on (user, brand) pairs or on users.

    On users: ``intersect`` and ``minus`` keep the left side's pairs whose user is (not) in
    the right side; ``union`` keeps both sides' pairs.
    """
    a, b = a.select(*KEYS), b.select(*KEYS)
    if op == "union":
        return a.union(b, distinct=True)
    if on == "pair":
        if op == "intersect":
            return a.intersect(b, distinct=True)
        if op == "minus":
            return a.difference(b, distinct=True)
    elif on == "user":
        users = b.select("user_id")
        if op == "intersect":
            return a.semi_join(users, "user_id").distinct()
        if op == "minus":
            return a.anti_join(users, "user_id").distinct()
    raise ConfigError(f"unknown set operation {op!r} on {on!r} (union, intersect, minus; pair or user)")
