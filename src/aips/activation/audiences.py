"""Audiences: (user, brand) pairs selected by stage, flow cell, funnel step, crowd and rules.

:func:`build_table` turns an :class:`~aips.activation.spec.AudienceSpec` into an unexecuted
Ibis table ``user_id, brand`` (distinct pairs), entirely in the backend: snapshots and flows
come from the stage engine, funnels from :mod:`aips.engine.funnel`, ``where`` rules are
compiled by the whitelist parser (:func:`aips.config.rules.compile_rule`) over windowed
counters and numeric user attributes; nothing is spliced into SQL.

:class:`Audience` wraps the table with its definition: ``size()``, ``counts()``, set
operations (``|`` union, ``&`` intersect, ``-`` minus on (user, brand) pairs; ``on="user"``
methods compare users only, e.g. a competitor's TI minus my buyers), :func:`overlap` (Venn
cells) and :meth:`Audience.export` (hashed id files for ad platforms, see
:mod:`aips.activation.export`).

>>> import aips, datetime as dt, pyarrow as pa
>>> from aips.activation_api import ActivationMixin
>>> from aips.store.tables import arrow_schema
>>> from aips.workspace import Workspace
>>> WS = Workspace
>>> ws = WS(aips.open(":memory:").store, aips.default_model())
>>> rows = [{"event_id": str(i), "user_id": u, "brand": "b", "event_type": e,
...          "ts": dt.datetime(2024, 1, 1, 8), "local_date": dt.date(2024, 1, 1)}
...         for i, (u, e) in enumerate([("u1", "read"), ("u1", "collect"), ("u2", "impression")])]
>>> _ = ws.store.write("events", pa.Table.from_pylist(rows, schema=arrow_schema("events")))
>>> ti = ws.audience(brand="b", at="2024-01-02", stages="TI")
>>> ti.size(), ws.audience(brand="b", at="2024-01-02", where="impression >= 1").size()
(1, 1)
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from functools import reduce
from typing import Any

import ibis

from aips.activation.features import (
    attribute_values,
    numeric_attributes,
    pair_counters,
    string_attributes,
)
from aips.activation.spec import AudienceSpec
from aips.exceptions import ConfigError

KEYS = ("user_id", "brand")


# --- building blocks -----------------------------------------------------------------------


def _optional(ws, name: str) -> ibis.Table | None:
    return ws.store.table(name) if ws.store.has(name) else None


def _source(ws, brands: list[str] | None) -> ibis.Table:
    """The engine's source (rollup when current, else events), restricted to ``brands``."""
    source = ws._engine_source()[0] if hasattr(ws, "_engine_source") else ws.events
    if brands is not None:
        source = source.filter(source.brand.isin(brands))
    return source


def _snapshot(ws, brands: list[str] | None, at: dt.date) -> ibis.Table:
    from aips.engine.snapshot import snapshot

    return snapshot(_source(ws, brands), ws.model, at, level="brand", categories=_optional(ws, "categories"))


def _rows(expr) -> list[dict]:
    return expr.to_pyarrow().to_pylist()


def resolve_brands(ws, spec: AudienceSpec, at: dt.date) -> list[str] | None:
    """The brands of a leaf spec (None: every brand). Runs one small query for categories."""
    if spec.competitors_of:
        from aips.engine.penetration import brand_categories

        cats = {r["brand"]: r["category"] for r in _rows(brand_categories(ws.events, ws.model, at))}
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
        ev = ws.events
        hit = ev.filter(ev.category == spec.category).select("brand").distinct()
        in_cat = sorted(r["brand"] for r in _rows(hit))
        if not in_cat:
            raise ConfigError(f"no brand has events of category {spec.category!r}")
        brands = [b for b in in_cat if brands is None or b in brands]
    return brands


def _flow_pairs(ws, spec: AudienceSpec, brands: list[str] | None) -> ibis.Table:
    from aips.engine.flows import user_flows

    cell = spec.flow
    flows = user_flows(_snapshot(ws, brands, cell.t0), _snapshot(ws, brands, cell.t1), "brand")
    keep = flows.from_stage.isin(cell.from_stages) & flows.to_stage.isin(cell.to_stages)
    return flows.filter(keep).select(*KEYS)


def _funnel_pairs(ws, spec: AudienceSpec) -> ibis.Table:
    from aips.engine.funnel import FunnelSpec, funnel_user_list, funnel_users, parse_window

    f = spec.funnel
    brand = spec.brands[0]
    fs = FunnelSpec(tuple(f.steps), parse_window(f.window), f.order, (), f.start, f.end, brand)
    users = funnel_user_list(funnel_users(ws.events, fs), f.step, f.kind)
    return users.select("user_id", brand=ibis.literal(brand, "string"))


def _semi(left: ibis.Table, right: ibis.Table, keys=KEYS) -> ibis.Table:
    return left.semi_join(right, list(keys))


def _attr_filter(ws, pairs: ibis.Table, attrs: dict[str, list[str]]) -> ibis.Table:
    users = _optional(ws, "users")
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


def where_filter(ws, pairs: ibis.Table, rule_text: str, at: dt.date, brands: list[str] | None) -> ibis.Table:
    """``pairs`` where the rule holds over counters (own windows ending ``at``) and attributes."""
    from aips.config.rules import compile_rule, parse_rule

    users = _optional(ws, "users")
    attrs = numeric_attributes(users)
    counters = set(ws.model.counters)
    known = counters | set(attrs)
    rule = parse_rule(rule_text, known=sorted(known))
    used_counters = sorted(n for n in rule.names if n in counters)
    used_attrs = sorted(n for n in rule.names if n not in counters)
    table = pairs
    if used_counters:
        values = pair_counters(_source(ws, brands), ws.model, at, used_counters, _optional(ws, "categories"))
        values = values.rename(_u="user_id", _b="brand")
        table = table.left_join(values, [table.user_id == values._u, table.brand == values._b])
        table = table.drop("_u", "_b")
    if used_attrs:
        av = attribute_values(users, used_attrs).rename(_u="user_id")
        table = table.left_join(av, table.user_id == av._u).drop("_u")
    cond = compile_rule(rule, {n: table[n] for n in rule.names})
    return table.filter(cond).select(*KEYS)


def build_table(ws, spec: AudienceSpec, at: Any = None) -> ibis.Table:
    """The pairs of ``spec`` (``user_id, brand``, distinct), unexecuted.

    Args:
        ws: a workspace (store and model).
        spec: the definition.
        at: the as-of date when the spec has none (its flow's t1 otherwise).
    """
    from aips.dates import as_date

    if spec.op is not None:
        parts = [build_table(ws, o, at) for o in spec.operands]
        return reduce(lambda a, b: combine(a, b, spec.op, spec.on), parts)
    day = spec.as_of() or (as_date(at, "at") if at is not None else None)
    if day is None:
        raise ConfigError("an audience needs an as-of date (--at YYYY-MM-DD)")
    brands = resolve_brands(ws, spec, day)
    tables = []
    if spec.stages:
        snap = _snapshot(ws, brands, day)
        tables.append(snap.filter(snap.stage.isin(spec.stages)).select(*KEYS))
    if spec.flow is not None:
        tables.append(_flow_pairs(ws, spec, brands))
    if spec.funnel is not None:
        tables.append(_funnel_pairs(ws, spec))
    if not tables:
        tables.append(_snapshot(ws, brands, day).select(*KEYS))
    pairs = reduce(_semi, tables)
    if brands is not None and spec.funnel is not None:
        pairs = pairs.filter(pairs.brand.isin(brands))
    if spec.attrs:
        pairs = _attr_filter(ws, pairs, spec.attrs)
    if spec.where:
        pairs = where_filter(ws, pairs, spec.where, day, brands)
    return pairs.select(*KEYS).distinct()


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


# --- the Audience object ---------------------------------------------------------------------


class Audience:
    """A selected crowd: ``table`` (``user_id, brand``, unexecuted) and its ``spec``.

    Build with ``ws.audience(...)`` or :meth:`from_spec`. ``size()`` counts pairs (or users),
    ``export(...)`` writes id files for ad platforms; ``|``, ``&``, ``-`` combine audiences
    on (user, brand) pairs.
    """

    def __init__(self, ws, spec: AudienceSpec, table: ibis.Table | None = None):
        self.ws = ws
        self.spec = spec
        self.table = build_table(ws, spec) if table is None else table

    def __repr__(self) -> str:
        return f"Audience({self.name!r}: {self.spec.describe()})"

    @property
    def name(self) -> str:
        return self.spec.name or "audience"

    @property
    def at(self) -> dt.date | None:
        """The as-of date."""
        return self.spec.as_of()

    @classmethod
    def from_spec(cls, ws, spec: AudienceSpec | dict | str, at: Any = None) -> Audience:
        """Re-run a saved definition (a spec, its dict, or a YAML/JSON path), optionally on a
        later date ``at`` (every date of the spec moves by the same number of days)."""
        if isinstance(spec, dict):
            spec = AudienceSpec.from_data(spec)
        elif not isinstance(spec, AudienceSpec):
            spec = AudienceSpec.load(spec)
        if at is not None:
            spec = spec.shifted(at)
        return cls(ws, spec)

    # --- sizes -------------------------------------------------------------------------------

    def size(self, unit: str = "pair") -> int:
        """Number of (user, brand) pairs, or of distinct users with ``unit="user"``."""
        if unit == "pair":
            expr = self.table.count()
        elif unit == "user":
            expr = self.table.user_id.nunique()
        else:
            raise ConfigError(f"unknown unit {unit!r} (pair or user)")
        return int(expr.to_pyarrow().as_py() or 0)

    def counts(self) -> list[dict]:
        """Pairs per brand (one small query): ``[{"brand", "users"}]``, largest first."""
        t = self.table
        out = t.group_by("brand").aggregate(users=t.count()).order_by([ibis.desc("users"), "brand"])
        return _rows(out)

    def summary(self) -> dict:
        """Name, definition, as-of date, pairs, users and pairs per brand."""
        return {
            "name": self.name,
            "definition": self.spec.describe(),
            "as_of": self.at.isoformat() if self.at else None,
            "pairs": self.size("pair"),
            "users": self.size("user"),
            "by_brand": self.counts(),
        }

    # --- set operations ------------------------------------------------------------------------

    def _combine(self, other: Audience, op: str, on: str) -> Audience:
        if not isinstance(other, Audience):
            return NotImplemented
        symbol = {"union": "|", "intersect": "&", "minus": "-"}[op]
        spec = AudienceSpec(
            name=f"{self.name} {symbol} {other.name}", op=op, on=on,
            operands=[self.spec, other.spec],
        )
        return Audience(self.ws, spec, combine(self.table, other.table, op, on))

    def union(self, other: Audience, on: str = "pair") -> Audience:
        return self._combine(other, "union", on)

    def intersect(self, other: Audience, on: str = "pair") -> Audience:
        return self._combine(other, "intersect", on)

    def minus(self, other: Audience, on: str = "pair") -> Audience:
        return self._combine(other, "minus", on)

    __or__ = union
    __and__ = intersect
    __sub__ = minus

    def rename(self, name: str) -> Audience:
        """The same audience under another name."""
        return Audience(self.ws, self.spec.model_copy(update={"name": name}), self.table)

    # --- output ----------------------------------------------------------------------------------

    def export(self, path, id: str = "raw", salt: str | None = None, case: str = "lower",
               max_size: int | None = None, format: str | None = None,
               normalize: str = "trim"):
        """Write the audience's ids; see :func:`aips.activation.export.export_audience`.

        Returns the manifest (a dict, also written beside the files).
        """
        from aips.activation.export import export_audience

        return export_audience(self, path, id=id, salt=salt, case=case, max_size=max_size,
                               format=format, normalize=normalize)

    def save(self, path) -> None:
        """Save the definition (YAML, or JSON for ``.json``) to re-run it later."""
        self.spec.save(path)


def overlap(audiences: Sequence[Audience], on: str = "user") -> list[dict]:
    """Venn cells of up to 8 audiences: the size of every exclusive region.

    Each row is ``{"sets": [names in the region], "mask": int, "size": n}``: users (or pairs
    with ``on="pair"``) in exactly those audiences and no other. Computed in the backend
    with one union and two aggregations; only the (at most 255) cells come back.
    """
    if not 2 <= len(audiences) <= 8:
        raise ConfigError("overlap takes 2 to 8 audiences")
    keys = ["user_id"] if on == "user" else list(KEYS)
    if on not in ("user", "pair"):
        raise ConfigError(f"unknown unit {on!r} (user or pair)")
    parts = [
        a.table.select(*keys).distinct().mutate(_bit=ibis.literal(1 << i, "int64"))
        for i, a in enumerate(audiences)
    ]
    tagged = reduce(lambda x, y: x.union(y, distinct=False), parts)
    member = tagged.group_by(keys).aggregate(mask=tagged._bit.sum())
    cells = member.group_by("mask").aggregate(size=member.count()).order_by("mask")
    names = [a.name for a in audiences]
    out = []
    for row in _rows(cells):
        mask = int(row["mask"])
        out.append({
            "sets": [n for i, n in enumerate(names) if mask >> i & 1],
            "mask": mask,
            "size": int(row["size"]),
        })
    return out
