"""Workspace methods for flows, new TI, penetration and competitors.

They build on the stage engine's snapshots and timelines (``Workspace.snapshot`` and
``Workspace.timelines``) and return unexecuted Ibis tables.
"""

from __future__ import annotations

import ibis

from aips.dates import as_date
from aips.engine import flows as _flows
from aips.engine import penetration as _pen


class FlowsMixin:
    """Flows between two days, new TI, penetration and the competitor ranking."""

    def _entity(self, level: str | None) -> str:
        return level or self.model.level

    def flows(self, t0, t1, level: str | None = None) -> ibis.Table:
        """Each (user, entity) with a level at t0 or t1: ``from_stage``, ``to_stage``, ``movement``.

        ``movement`` is ``new``, ``up``, ``stay``, ``down`` or ``churned``; a missing level
        is ``none``. See :mod:`aips.engine.flows`.
        """
        entity = self._entity(level)
        s0 = self.snapshot(as_date(t0), level=entity)
        s1 = self.snapshot(as_date(t1), level=entity)
        return _flows.user_flows(s0, s1, entity)

    def flow_matrix(self, t0, t1, level: str | None = None) -> ibis.Table:
        """The Sankey: users per (entity, from_stage, to_stage, movement)."""
        entity = self._entity(level)
        return _flows.flow_matrix(self.flows(t0, t1, level=entity), entity)

    def flow_rates(self, t0, t1, level: str | None = None) -> ibis.Table:
        """Per (entity, stage at t0): how many moved up by t1, and the flow rate."""
        entity = self._entity(level)
        return _flows.flow_rates(self.flows(t0, t1, level=entity), entity)

    def new_ti(self, start, end, level: str | None = None) -> ibis.Table:
        """Pairs whose level reached TI or above for the first time on a day in [start, end].

        "First time" is within the data in the store: the first day of the first timeline
        interval at TI, P or S. Returns ``user_id``, ``<entity>``, ``first_ti_date``.
        """
        entity = self._entity(level)
        tl = self.timelines(level=entity)
        high = tl.filter(tl.stage.isin(["TI", "P", "S"]))
        first = high.group_by(["user_id", entity]).aggregate(first_ti_date=high.start_date.min())
        return first.filter(first.first_ti_date.between(as_date(start), as_date(end)))

    def new_ti_counts(self, start, end, level: str | None = None) -> ibis.Table:
        """New TI per entity in [start, end]: ``<entity>``, ``new_ti``."""
        entity = self._entity(level)
        new = self.new_ti(start, end, level=entity)
        return new.group_by(entity).aggregate(new_ti=new.count())

    def penetration(self, at) -> ibis.Table:
        """Per brand: AIPS users / category audience (see :mod:`aips.engine.penetration`)."""
        at = as_date(at)
        return _pen.penetration(self.events, self.snapshot(at, level="brand"), self.model, at)

    def competitors(self, at, category: str | None = None) -> ibis.Table:
        """Brands ranked by TI and I+TI within each category, with TI share."""
        at = as_date(at)
        return _pen.competitors(
            self.events, self.snapshot(at, level="brand"), self.model, at, category=category
        )
