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
