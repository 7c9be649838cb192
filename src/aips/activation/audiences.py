"""Audiences: (user, brand) pairs selected by stage, flow cell, funnel step, crowd and rules.

:func:`audience` names the pairs with an :class:`~aips.crowd.AudienceSpec` (the crowd
language, :mod:`aips.crowd`) and :func:`aips.crowd.build_table` selects them, entirely in
the backend.

:class:`Audience` wraps the table with its definition: ``size()``, ``counts()``, set
operations (``|`` union, ``&`` intersect, ``-`` minus on (user, brand) pairs; ``on="user"``
methods compare users only, e.g. a competitor's TI minus my buyers), :func:`overlap` (Venn
cells) and :meth:`Audience.export` (hashed id files for ad platforms, see
:mod:`aips.activation.export`).

>>> import aips, datetime as dt, pyarrow as pa
>>> from aips.store.tables import arrow_schema
>>> ws = aips.open(":memory:")
>>> rows = [{"event_id": str(i), "user_id": u, "brand": "b", "event_type": e,
...          "ts": dt.datetime(2024, 1, 1, 8), "local_date": dt.date(2024, 1, 1)}
...         for i, (u, e) in enumerate([("u1", "read"), ("u1", "collect"), ("u2", "impression")])]
>>> _ = ws.store.write("events", pa.Table.from_pylist(rows, schema=arrow_schema("events")))
>>> ti = audience(ws.view, brand="b", at="2024-01-02", stages="TI")
>>> ti.size(), audience(ws.view, brand="b", at="2024-01-02", where="impression >= 1").size()
(1, 1)
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from functools import reduce
from typing import Any, get_args

import ibis

from aips.crowd import (
    KEYS,
    AudienceSpec,
    FlowCell,
    FunnelCell,
    as_list,
    build_table,
    combine,
    parse_attrs,
    validated,
)
from aips.dates import as_date
from aips.exceptions import ConfigError
from aips.view import View

__all__ = ["KEYS", "Audience", "audience", "audience_from_spec", "build_table", "combine", "overlap"]


def view_of(view_or_ws) -> View:
    """The view of a :class:`~aips.view.View` or of an object holding one (a Workspace)."""
    return view_or_ws if isinstance(view_or_ws, View) else view_or_ws.view


def _rows(expr) -> list[dict]:
    return expr.to_pyarrow().to_pylist()


# --- the Audience object ---------------------------------------------------------------------


class Audience:
    """A selected crowd: ``table`` (``user_id, brand``, unexecuted) and its ``spec``.

    Build with :func:`audience` (``ws.audience(...)``) or :meth:`from_spec`. ``size()``
    counts pairs (or users), ``export(...)`` writes id files for ad platforms; ``|``, ``&``,
    ``-`` combine audiences on (user, brand) pairs.

    Args:
        view: a :class:`~aips.view.View` (or a Workspace: its view is used).
        spec: the definition.
        table: the pairs when already built (else built from ``spec``).
    """

    def __init__(self, view, spec: AudienceSpec, table: ibis.Table | None = None):
        self.view = view_of(view)
        self.spec = spec
        self.table = build_table(self.view, spec) if table is None else table
        self.is_cached = False
        """Whether ``table`` is computed in the backend already (:meth:`cached`)."""

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
    def from_spec(cls, view, spec: AudienceSpec | dict | str, at: Any = None) -> Audience:
        """Re-run a saved definition (a spec, its dict, or a YAML/JSON path), optionally on a
        later date ``at`` (every date of the spec moves by the same number of days)."""
        if isinstance(spec, dict):
            spec = AudienceSpec.from_data(spec)
        elif not isinstance(spec, AudienceSpec):
            spec = AudienceSpec.load(spec)
        if at is not None:
            spec = spec.shifted(at)
        return cls(view, spec)

    def cached(self) -> Audience:
        """The same audience with its pairs computed once in the backend (a temporary
        table; :func:`aips.store.cache.materialised`): for several queries over one crowd,
        each of which would otherwise build it again (a flow cell is two snapshots)."""
        from aips.store.cache import materialised

        if self.is_cached:
            return self
        out = Audience(self.view, self.spec, table=materialised(self.table))
        out.is_cached = True
        return out

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
        return Audience(self.view, spec, combine(self.table, other.table, op, on))

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
        return Audience(self.view, self.spec.model_copy(update={"name": name}), self.table)

    # --- output ----------------------------------------------------------------------------------

    def export(self, path, id: str = "raw", salt: str | None = None, case: str = "lower",
               max_size: int | None = None, format: str | None = None,
               normalize: str = "trim", raw_csv: bool = False):
        """Write the audience's ids; see :func:`aips.activation.export.export_audience`.

        Returns the manifest (a dict, also written beside the files).
        """
        from aips.activation.export import export_audience

        return export_audience(self, path, id=id, salt=salt, case=case, max_size=max_size,
                               format=format, normalize=normalize, raw_csv=raw_csv)

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


def _check_funnel_kind(kind: str) -> None:
    """The error a funnel cell gives for a bad ``kind`` (raised also without a funnel)."""
    kinds = get_args(FunnelCell.model_fields["kind"].annotation)
    if kind not in kinds:
        raise ConfigError(f"funnel: kind: Input should be {' or '.join(map(repr, kinds))}, got {kind!r}")


def audience(
    view: View,
    brand: str | Sequence[str] | None = None,
    at: Any = None,
    stages: str | Sequence[str] | None = None,
    *,
    flow: str | FlowCell | None = None,
    t0: Any = None,
    t1: Any = None,
    funnel: Sequence[str] | str | None = None,
    step: int | None = None,
    kind: str = "converted",
    window: str = "14d",
    order: str = "ordered",
    funnel_start: Any = None,
    funnel_end: Any = None,
    category: str | None = None,
    competitors_of: str | None = None,
    attrs: Any = None,
    where: str | None = None,
    name: str | None = None,
) -> Audience:
    """Select (user, brand) pairs; returns an :class:`Audience`.

    Filters combine with AND (see :mod:`aips.crowd.spec`).

    Args:
        view: the store as the model reads it.
        brand: a brand or several (comma-separated or a list); default every brand.
        at: the as-of local date (default: ``t1`` of the flow).
        stages: exclusive level(s) on ``at``: ``"TI"``, ``"I,TI"``, ``"I+TI"`` or a list.
        flow: a flow cell ``FROM:TO`` between ``t0`` and ``t1`` (default ``at``), e.g.
            ``"TI:!P"`` (TI at t0 and not P at t1); ``none`` = no level, ``*`` = any.
        funnel, step, kind, window, order, funnel_start, funnel_end: a funnel over event
            types (``["read", "collect", "purchase"]``) and the users who reached
            ``step`` (``kind="converted"``) or stopped just before it (``"dropped"``);
            needs exactly one brand.
        category: every brand of this category (a category's crowd).
        competitors_of: the other brands of this brand's category (a competitor's crowd).
        attrs: string user attributes: ``{"gender": "F"}`` or ``["gender=F"]``.
        where: a rule over counters (summed over each counter's window ending ``at``)
            and numeric user attributes: ``"read >= 3 and purchase == 0"``.
        name: a name for exports, overlaps and saved specs.
    """
    # Checked even when unused (no flow, no funnel): a bad value is never silently ignored.
    t0, t1 = (None if d is None else as_date(d, n) for d, n in ((t0, "t0"), (t1, "t1")))
    _check_funnel_kind(kind)
    if isinstance(flow, str):
        if t0 is None or (t1 is None and at is None):
            raise ConfigError(f"the flow cell {flow!r} needs t0 (--from) and t1 (--to, or --at)")
        flow = FlowCell.parse(flow, t0, t1 if t1 is not None else at)
    funnel_cell = None
    if funnel is not None:
        if step is None:
            raise ConfigError("a funnel audience needs a step (0-based index of the step)")
        funnel_cell = validated(FunnelCell, dict(
            steps=as_list(funnel), step=step, kind=kind, window=window, order=order,
            start=funnel_start, end=funnel_end), "funnel")
    spec = AudienceSpec.from_data(dict(
        name=name, at=at, brands=as_list(brand), category=category,
        competitors_of=competitors_of, stages=stages, flow=flow, funnel=funnel_cell,
        attrs=parse_attrs(attrs), where=where,
    ), "audience")
    return Audience(view, spec)


def audience_from_spec(view: View, spec: AudienceSpec | dict | str, at: Any = None) -> Audience:
    """Re-run a saved definition (spec, dict or YAML/JSON path), optionally on a new date."""
    return Audience.from_spec(view, spec, at=at)
