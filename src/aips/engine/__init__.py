"""The AIPS stage engine: Ibis expressions over ``events`` (Table in, Table out; nothing runs).

Pipeline: events -> :func:`daily_counters` (stored as ``counters_daily`` by
:func:`refresh_counters`) -> :func:`snapshot` on a day, :func:`timelines` (change-point
intervals) and :func:`asset_series` (users per entity x stage x day, from timelines).
Only :func:`refresh_counters`, :func:`update_history` and :func:`backfill_history` write to
the store.
"""

from aips.engine.counters import daily_counters, refresh_counters
from aips.engine.cycles import cycle_days_table, with_cycle_days
from aips.engine.series import (
    asset_series,
    backfill_history,
    read_history,
    series_from_timelines,
    update_history,
)
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
    "backfill_history",
    "cumulative_assets",
    "cycle_days_table",
    "daily_counters",
    "entity_keys",
    "first_reached",
    "level_expr",
    "read_history",
    "refresh_counters",
    "resolve_level",
    "seeded_assets",
    "series_from_timelines",
    "snapshot",
    "snapshots",
    "stage_at",
    "stage_segments",
    "timelines",
    "update_history",
    "windowed_atoms",
    "with_cycle_days",
]
