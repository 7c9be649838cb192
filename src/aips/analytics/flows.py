"""Flows between two days, new TI, penetration and the competitor ranking, from a view.

Each function takes a :class:`~aips.view.View` and builds on its snapshots and timelines;
the per-pair work is the engine's (:mod:`aips.engine.flows`, :mod:`aips.engine.penetration`).
All return unexecuted Ibis tables.

>>> import datetime as dt, pyarrow as pa, aips
>>> from aips.store.tables import arrow_schema
>>> from aips.view import View
>>> view = View(aips.open(":memory:").store, aips.default_model())
>>> row = {"event_id": "e1", "ts": dt.datetime(2024, 1, 5), "local_date": dt.date(2024, 1, 5),
...        "user_id": "u", "brand": "b", "event_type": "read"}
>>> _ = view.store.write("events", pa.Table.from_pylist([row], schema=arrow_schema("events")))
>>> flow_matrix(view, "2024-01-01", "2024-01-31").columns
('brand', 'from_stage', 'to_stage', 'movement', 'users')
>>> flow_matrix(view, "2024-01-31", "2024-01-01")
Traceback (most recent call last):
aips.exceptions.ConfigError: --from 2024-01-31 is after --to 2024-01-01 (give the earlier day first)
"""

from __future__ import annotations

from typing import Any

import ibis

from aips.dates import as_date
from aips.engine import flows as _flows
from aips.engine import penetration as _pen
from aips.view import View


def flows(view: View, t0: Any, t1: Any, level: str | None = None) -> ibis.Table:
    """Each (user, entity) with a level at t0 or t1: ``from_stage``, ``to_stage``, ``movement``.

    ``movement`` is ``new``, ``up``, ``stay``, ``down`` or ``churned``; a missing level
    is ``none``. See :mod:`aips.engine.flows`. A ``ConfigError`` when ``t0`` is after ``t1``
    or both lie outside the data (:meth:`~aips.view.View.require_dates`).
    """
    view.require_dates(start=t0, end=t1)
    entity = level or view.model.level
    s0 = view.snapshot(as_date(t0), level=entity)
    s1 = view.snapshot(as_date(t1), level=entity)
    return _flows.user_flows(s0, s1, entity)


def flow_matrix(view: View, t0: Any, t1: Any, level: str | None = None) -> ibis.Table:
    """The Sankey: users per (entity, from_stage, to_stage, movement)."""
    entity = level or view.model.level
    return _flows.flow_matrix(flows(view, t0, t1, level=entity), entity)


def flow_rates(view: View, t0: Any, t1: Any, level: str | None = None) -> ibis.Table:
    """Per (entity, stage at t0): how many moved up by t1, and the flow rate."""
    entity = level or view.model.level
    return _flows.flow_rates(flows(view, t0, t1, level=entity), entity)


def new_ti(view: View, start: Any, end: Any, level: str | None = None) -> ibis.Table:
    """Pairs whose level reached TI or above for the first time on a day in [start, end].

    "First time" is within the data in the store: the first day of the first timeline
    interval at TI, P or S. Returns ``user_id``, ``<entity>``, ``first_ti_date``.
    """
    entity = level or view.model.level
    return _flows.new_ti(view.timelines(level=entity), entity, as_date(start), as_date(end))


def new_ti_counts(view: View, start: Any, end: Any, level: str | None = None) -> ibis.Table:
    """New TI per entity in [start, end]: ``<entity>``, ``new_ti``."""
    entity = level or view.model.level
    new = new_ti(view, start, end, level=entity)
    return new.group_by(entity).aggregate(new_ti=new.count())


def penetration(view: View, at: Any) -> ibis.Table:
    """Per brand: AIPS users / category audience (see :mod:`aips.engine.penetration`)."""
    at = as_date(at)
    return _pen.penetration(view.audience_events(at), view.snapshot(at, level="brand"), view.model, at)


def competitors(view: View, at: Any, category: str | None = None) -> ibis.Table:
    """Brands ranked by TI and I+TI within each category, with TI share."""
    at = as_date(at)
    return _pen.competitors(
        view.audience_events(at), view.snapshot(at, level="brand"), view.model, at, category=category
    )
