"""The AIPS stage engine: Ibis expressions over ``events`` (Table in, Table out; nothing runs).

Pipeline: events -> :func:`daily_counters` (the daily rollup) -> :func:`snapshot` on a day,
:func:`timelines` (change-point intervals) and :func:`asset_series` (users per entity x
stage x day, from timelines). Nothing here reads or writes the store: storing the rollup
(``counters_daily``) and the series (``asset_history``) is :mod:`aips.maintain`'s job.
"""

from aips.engine.counters import daily_counters
from aips.engine.cycles import cycle_days_table, with_cycle_days
from aips.engine.series import asset_series, series_from_timelines
from aips.engine.snapshot import assets, snapshot, snapshots, windowed_atoms
from aips.engine.stages import (
    SEEDED,
    RulePlan,
    cumulative_assets,
    entity_keys,
    level_expr,
    resolve_level,
    seeded_assets,
)
from aips.engine.timelines import first_reached, stage_at, stage_segments, timelines

__all__ = [
    "SEEDED",
    "RulePlan",
    "asset_series",
    "assets",
    "cumulative_assets",
    "cycle_days_table",
    "daily_counters",
    "entity_keys",
    "first_reached",
    "level_expr",
    "resolve_level",
    "seeded_assets",
    "series_from_timelines",
    "snapshot",
    "snapshots",
    "stage_at",
    "stage_segments",
    "timelines",
    "windowed_atoms",
    "with_cycle_days",
]
