"""The stored daily rollup ``counters_daily``, kept current incrementally.

:func:`aips.engine.counters.daily_counters` says what the rollup is; this module stores it.
A full build is published atomically (:func:`~aips.maintain.publish.publish`); a new load
only recomputes the local dates it touched (:func:`~aips.maintain.publish.replace_rows`,
one transaction where the backend has them). The state (``counters_state``) is written
last: a crash before it makes the next refresh redo the same (idempotent) work.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from aips.config.model import Model
from aips.dates import as_date
from aips.engine.counters import daily_counters
from aips.maintain.publish import publish, replace_rows
from aips.maintain.state import dates_of_loads, event_loads, fingerprint, read_state, write_state

COUNTERS_TABLE = "counters_daily"
LEVELS = ("brand", "spu")


@dataclass
class RefreshResult:
    """What :func:`refresh_counters` did: ``mode`` is ``full``, ``incremental`` or ``none``."""

    mode: str
    dates: list[dt.date] = field(default_factory=list)
    """Local dates recomputed (empty for ``full`` and ``none``)."""
    min_date: dt.date | None = None
    """Earliest local date whose counters changed (for ``full``: the first day)."""

    def asdict(self) -> dict:
        return {"mode": self.mode, "dates": [d.isoformat() for d in self.dates],
                "min_date": self.min_date.isoformat() if self.min_date else None}

    def __str__(self) -> str:
        if self.mode == "incremental":
            return f"counters_daily: recomputed {len(self.dates)} day(s) from {self.min_date}"
        return f"counters_daily: {'rebuilt' if self.mode == 'full' else 'up to date'}"


def _count(table) -> int:
    return int(table.count().to_pyarrow().as_py())


def rollup_is_current(store, model: Model) -> bool:
    """True when ``counters_daily`` exists, matches the model and has every load rolled up."""
    if not store.has(COUNTERS_TABLE):
        return False
    state = read_state(store)
    if state.get("fingerprint") != [fingerprint(model)]:
        return False
    loads = event_loads(store)
    if loads is not None:
        return set(loads) <= set(state.get("load", []))
    return state.get("events_rows") == [str(_count(store.table("events")))]


def refresh_counters(store, model: Model, dates: Iterable[Any] | None = None) -> RefreshResult:
    """Build or incrementally refresh the stored ``counters_daily`` rollup.

    Args:
        store: a :class:`~aips.store.Store` with an ``events`` table.
        model: the model (a change of its counters forces a full rebuild).
        dates: local dates (dates or ISO text) to recompute. ``None``: the dates touched by loads not yet
            rolled up (from the ``loads`` table); without a ``loads`` table, a full rebuild
            when the number of events changed.

    Returns:
        A :class:`RefreshResult`. Re-running with nothing new changes nothing.
    """
    dates = None if dates is None else [as_date(d, "dates") for d in dates]
    events = store.table("events")
    state = read_state(store)
    fp = fingerprint(model)
    loads = event_loads(store)
    fresh = store.has(COUNTERS_TABLE) and state.get("fingerprint") == [fp]
    n_events = None

    if fresh and dates is None:
        if loads is not None:
            new = sorted(set(loads) - set(state.get("load", [])))
            if not new:
                return RefreshResult("none")
            dates = dates_of_loads(store, new)
        else:
            n_events = _count(events)
            if state.get("events_rows") == [str(n_events)]:
                return RefreshResult("none")
            fresh = False

    if not fresh:
        rollup = publish(store, COUNTERS_TABLE, daily_counters(events, model))
        mode, days = "full", []
        first = rollup.local_date.min().to_pyarrow().as_py()
    else:
        days = sorted(set(dates or []))
        if not days:
            return RefreshResult("none")
        touched = events.filter(events.local_date.isin(days))
        replace_rows(store, COUNTERS_TABLE, {"local_date": days}, daily_counters(touched, model))
        mode, first = "incremental", days[0]

    if n_events is None:
        n_events = _count(events)
    new_state = {"fingerprint": [fp], "events_rows": [str(n_events)], "load": loads or []}
    if first is not None:  # every stored series is stale from ``first`` on
        for level in LEVELS:
            old = state.get(f"pending:{level}") if fresh else None
            new_state[f"pending:{level}"] = [min([first.isoformat(), *(old or [])])]
    else:
        new_state.update({k: v for k, v in state.items() if k.startswith("pending:")})
    write_state(store, new_state)
    return RefreshResult(mode, days, first)
