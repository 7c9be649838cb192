"""Upkeep of the stored derived tables: ``counters_daily``, ``asset_history`` and their state.

The engine (:mod:`aips.engine`) only turns tables into tables; this layer runs its
expressions and stores the results, keeping them current incrementally and publishing
every rebuild atomically (:mod:`aips.maintain.publish`):

* :func:`refresh_counters` builds or incrementally refreshes ``counters_daily``;
  :func:`rollup_is_current` says whether it can stand in for ``events``.
* :func:`update_history` extends ``asset_history`` to the last day, :func:`backfill_history`
  recomputes a range, :func:`history_is_current` and :func:`read_history` serve it.
* :mod:`aips.maintain.timelines` keeps ``stage_timelines`` (brand level) beside them, refreshed
  by the same updates pair by pair; :func:`stored_timelines` serves it while current.
"""

from aips.maintain.history import (
    HISTORY_TABLE,
    HistoryResult,
    backfill_history,
    history_is_current,
    read_history,
    update_history,
)
from aips.maintain.publish import publish, replace_many, replace_rows
from aips.maintain.rollup import COUNTERS_TABLE, RefreshResult, refresh_counters, rollup_is_current
from aips.maintain.timelines import TIMELINES_TABLE, stored_timelines

__all__ = [
    "COUNTERS_TABLE",
    "HISTORY_TABLE",
    "HistoryResult",
    "RefreshResult",
    "TIMELINES_TABLE",
    "backfill_history",
    "history_is_current",
    "publish",
    "read_history",
    "refresh_counters",
    "replace_many",
    "replace_rows",
    "rollup_is_current",
    "stored_timelines",
    "update_history",
]
