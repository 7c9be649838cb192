"""Flows between two days: who moved from which stage to which.

Given the snapshots at t0 and t1 (each ``(user_id, <entity>, stage)``, one row per pair
that has a level), every pair present on either day is classed:

========== ==========================================================
movement   meaning
========== ==========================================================
``new``     no level at t0, a level at t1
``churned`` a level at t0, no level at t1
``stay``    the same stage on both days
``up``      a higher stage at t1 (A < I < TI < P < S)
``down``    a lower stage at t1
========== ==========================================================

The from/to stage is ``none`` where the pair has no level. The matrix counts pairs per
(entity, from_stage, to_stage): the Sankey. The flow rate of stage X is the share of the
pairs in X at t0 that are in a higher stage at t1 (moved up from X / in X at t0), as in
RED's Lingxi flow analysis.

All functions build Ibis expressions; nothing executes here.
"""

from __future__ import annotations

import ibis

from aips.config.model import STAGE_ORDER, STAGE_RANK, STAGES

NONE = "none"
"""The stage value of a pair with no level, in flows."""

MOVEMENTS = ("new", "up", "stay", "down", "churned")


def stage_rank(stage: ibis.Value) -> ibis.Value:
    """Numeric rank of a stage column (none/null 0, A 1, I 2, TI 3, P 4, S 5)."""
    return ibis.cases(*((stage == s, STAGE_RANK[s]) for s in STAGES), else_=0)


def user_flows(snap0: ibis.Table, snap1: ibis.Table, entity: str = "brand") -> ibis.Table:
    """Each (user, entity) present at t0 or t1 with its from/to stage and movement class.

    Args:
        snap0: snapshot at t0, columns ``user_id``, ``entity``, ``stage``.
        snap1: snapshot at t1, same columns.
        entity: ``"brand"`` or ``"spu"``.

    Returns:
        ``user_id``, ``<entity>``, ``from_stage``, ``to_stage``, ``movement``.

    >>> import ibis
    >>> s0 = ibis.memtable({"user_id": ["u1", "u2", "u3"], "brand": ["b"] * 3, "stage": ["A", "TI", "P"]})
    >>> s1 = ibis.memtable({"user_id": ["u1", "u2", "u4"], "brand": ["b"] * 3, "stage": ["TI", "I", "A"]})
    >>> out = user_flows(s0, s1).order_by("user_id").to_pyarrow()
    >>> out["movement"].to_pylist()
    ['up', 'down', 'churned', 'new']
    """
    a = snap0.select("user_id", entity, from_stage=snap0.stage)
    b = snap1.select(user_id=snap1.user_id, _e=snap1[entity], to_stage=snap1.stage)
    joined = a.outer_join(b, [a.user_id == b.user_id, a[entity] == b._e])
    joined = joined.select(
        user_id=ibis.coalesce(joined.user_id, joined.user_id_right),
        **{entity: ibis.coalesce(joined[entity], joined._e)},
        from_stage=joined.from_stage.fill_null(NONE),
        to_stage=joined.to_stage.fill_null(NONE),
    )
    r0, r1 = stage_rank(joined.from_stage), stage_rank(joined.to_stage)
    movement = ibis.cases(
        (r0 == 0, "new"),
        (r1 == 0, "churned"),
        (r1 > r0, "up"),
        (r1 < r0, "down"),
        else_="stay",
    )
    return joined.mutate(movement=movement)


def flow_matrix(flows: ibis.Table, entity: str = "brand") -> ibis.Table:
    """Pairs per (entity, from_stage, to_stage): the Sankey's links.

    Returns ``<entity>``, ``from_stage``, ``to_stage``, ``movement``, ``users``.
    """
    return flows.group_by([entity, "from_stage", "to_stage", "movement"]).aggregate(
        users=flows.count()
    )


def flow_rates(flows: ibis.Table, entity: str = "brand") -> ibis.Table:
    """Per (entity, stage X): pairs in X at t0, how many moved up, and the flow rate.

    Returns ``<entity>``, ``stage``, ``at_t0``, ``moved_up``, ``stayed``, ``moved_down``,
    ``churned``, ``flow_rate`` (moved_up / at_t0). S has no higher stage: its rate is 0.
    """
    at_t0 = flows.filter(flows.from_stage != NONE)
    out = at_t0.group_by([entity, at_t0.from_stage.name("stage")]).aggregate(
        at_t0=at_t0.count(),
        moved_up=at_t0.count(where=at_t0.movement == "up"),
        stayed=at_t0.count(where=at_t0.movement == "stay"),
        moved_down=at_t0.count(where=at_t0.movement == "down"),
        churned=at_t0.count(where=at_t0.movement == "churned"),
    )
    return out.mutate(flow_rate=out.moved_up.cast("float64") / out.at_t0)


def movement_counts(flows: ibis.Table, entity: str = "brand") -> ibis.Table:
    """Pairs per (entity, movement): how many were new, moved up, stayed, moved down, churned."""
    return flows.group_by([entity, "movement"]).aggregate(users=flows.count())


def new_ti(timelines: ibis.Table, entity: str, start, end) -> ibis.Table:
    """Pairs whose level first reached TI or above on a day in [start, end] (local dates).

    "First" is within ``timelines``: the first day of the first interval at TI, P or S.
    Returns ``user_id``, ``<entity>``, ``first_ti_date``.
    """
    high = timelines.filter(timelines.stage.isin(STAGE_ORDER[STAGE_ORDER.index("TI"):]))
    first = high.group_by(["user_id", entity]).aggregate(first_ti_date=high.start_date.min())
    return first.filter(first.first_ti_date.between(start, end))
