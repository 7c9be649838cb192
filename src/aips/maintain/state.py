"""The upkeep state of the derived tables (``counters_state``): a small key -> values table.

Keys: ``fingerprint`` (the counters' definition the rollup was built with),
``events_rows`` (the ``events`` row count then), ``load`` (every load id rolled up) and
``pending:<level>`` (the first day whose counters changed since ``asset_history`` at that
level was last updated). It is written after the table it describes, so a crash in
between only makes the next run redo work, never skip it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json

import ibis
import pyarrow as pa

from aips.config.model import Model
from aips.maintain.publish import publish
from aips.store.files import is_view, source_kind

STATE_TABLE = "counters_state"
ROLLUP_VERSION = "1"

State = dict[str, list[str]]


def fingerprint(model: Model) -> str:
    """Identifies the rollup's definition: changes when a counter changes.

    >>> from aips.config.model import default_model
    >>> fingerprint(default_model()) == fingerprint(default_model())
    True
    """
    spec = {n: c.model_dump() for n, c in sorted(model.counters.items())}
    text = json.dumps([ROLLUP_VERSION, spec], sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def read_state(store) -> State:
    """The state as ``{key: [values]}`` (empty before the first refresh)."""
    if not store.has(STATE_TABLE):
        return {}
    out: State = {}
    for row in store.table(STATE_TABLE).to_pyarrow().to_pylist():
        out.setdefault(row["key"], []).append(row["value"])
    return out


def write_state(store, state: State) -> None:
    """Replace the state (published atomically)."""
    keys = [k for k, vs in state.items() for _ in vs]
    values = [v for vs in state.values() for v in vs]
    data = pa.table({"key": pa.array(keys, pa.string()), "value": pa.array(values, pa.string())})
    publish(store, STATE_TABLE, ibis.memtable(data))


def event_loads(store) -> list[str] | None:
    """Load ids of completed ``events`` loads (None when the store has no ``loads`` table)."""
    if not store.has("loads"):
        return None
    loads = store.table("loads")
    loads = loads.filter(loads.table_name == "events").select("load_id").distinct()
    return sorted(v for v in loads.to_pyarrow()["load_id"].to_pylist() if v is not None)


def loads_between(store, first: dt.date, last: dt.date) -> list[str] | None:
    """Ids of the ``events`` loads holding a local date in ``[first, last]`` (from the
    ``loads`` table; None without one).

    >>> from aips.store import connect
    >>> loads_between(connect(":memory:"), dt.date(2024, 1, 1), dt.date(2024, 1, 2)) is None
    True
    """
    if not store.has("loads"):
        return None
    loads = store.table("loads")
    hit = loads.filter((loads.table_name == "events") & loads.min_date.notnull()
                       & (loads.min_date <= ibis.literal(last))
                       & (loads.max_date.fill_null(loads.min_date) >= ibis.literal(first)))
    return sorted({v for v in hit.select("load_id").to_pyarrow()["load_id"].to_pylist() if v is not None})


def events_between(store, events: ibis.Table, first: dt.date, last: dt.date) -> ibis.Table:
    """The rows of ``events`` with a local date in ``[first, last]``.

    When ``events`` is a view over files (``aips source``), a filter on ``local_date``
    alone reads every file: the date is computed from each row's time. The loads holding
    those dates name their files, and a filter on their load ids lets the backend skip the
    others (DuckDB: a 10-day count on the 12M-event view, 1.74 s -> 0.23 s). On a stored
    table the date filter alone is used (its zone maps already skip).
    """
    rows = events.filter(events.local_date.between(ibis.literal(first), ibis.literal(last)))
    if not is_view(store, "events"):
        return rows
    ids = loads_between(store, first, last)
    return rows if ids is None else rows.filter(rows.load_id.isin(ids))


def sourced_date_range(store) -> tuple[dt.date, dt.date] | None:
    """The first and last local date of a Parquet source's files, from the ``loads`` table
    (``aips source`` recorded each file's dates when it checked every row), or None: stored
    events, a catalog table (its rows can change after registration) or no load with dates.
    A scan would read every file: 1B events on 7,920 files, minutes for two dates.

    >>> from aips.store import connect
    >>> sourced_date_range(connect(":memory:")) is None
    True
    """
    if not (store.has("loads") and is_view(store, "events")) or source_kind(store) != "parquet":
        return None
    loads = store.table("loads")
    loads = loads.filter((loads.table_name == "events") & loads.min_date.notnull())
    row = loads.aggregate(lo=loads.min_date.min(), hi=loads.max_date.fill_null(loads.min_date).max())
    lo_hi = row.to_pyarrow().to_pylist()[0]
    return None if lo_hi["lo"] is None else (lo_hi["lo"], lo_hi["hi"])


def day_counts(store, events: ibis.Table) -> list[tuple[dt.date, int]]:
    """``(local date, events)`` per day, by date. For a view over files, estimated from
    the ``loads`` table (a load's rows spread evenly over its days) instead of reading
    every file: the counts only size parts of work.

    >>> import ibis
    >>> from aips.store import connect
    >>> ev = ibis.memtable({"local_date": [dt.date(2024, 1, 1), dt.date(2024, 1, 1)]})
    >>> day_counts(connect(":memory:"), ev)
    [(datetime.date(2024, 1, 1), 2)]
    """
    if store is not None and is_view(store, "events") and store.has("loads"):
        loads = store.table("loads")
        loads = loads.filter((loads.table_name == "events") & loads.min_date.notnull())
        per_day: dict[dt.date, float] = {}
        for row in loads.select("min_date", "max_date", "loaded").to_pyarrow().to_pylist():
            lo, hi = row["min_date"], row["max_date"] or row["min_date"]
            span = (hi - lo).days + 1
            for i in range(span):
                day = lo + dt.timedelta(days=i)
                per_day[day] = per_day.get(day, 0.0) + (row["loaded"] or 0) / span
        return [(d, round(n)) for d, n in sorted(per_day.items())]
    days = events.group_by("local_date").aggregate(n=events.count()).order_by("local_date")
    return [(r["local_date"], r["n"]) for r in days.to_pyarrow().to_pylist()]


def dates_of_loads(store, load_ids: list[str]) -> list[dt.date]:
    """Every local date some of ``load_ids`` touched (from the ``loads`` table)."""
    loads = store.table("loads")
    rng = loads.filter(loads.load_id.isin(load_ids) & loads.min_date.notnull())
    rows = rng.select("min_date", "max_date").to_pyarrow().to_pylist()
    days: set[dt.date] = set()
    for row in rows:
        lo, hi = row["min_date"], row["max_date"] or row["min_date"]
        days.update(lo + dt.timedelta(days=i) for i in range((hi - lo).days + 1))
    return sorted(days)


def pending_since(store, level: str) -> dt.date | None:
    """First local date whose counters changed since ``asset_history`` (``level``) was updated."""
    values = read_state(store).get(f"pending:{level}")
    return dt.date.fromisoformat(values[0]) if values else None


def clear_pending(store, level: str) -> None:
    """Mark ``asset_history`` (``level``) as consistent with the rollup."""
    state = read_state(store)
    if state.pop(f"pending:{level}", None) is not None:
        write_state(store, state)
