"""Counters: filtered counts (or sums) of events, rolled up per (user, brand, spu, category, day).

A counter counts the events whose ``event_type`` is in its ``events`` and whose ``where``
filter (compiled by :func:`aips.config.rules.compile_rule` over ``dwell_s``, ``completion``
and ``amount``; a null column counts as 0 there) holds; with ``sum: COLUMN`` it sums that
column instead (nulls as 0).

The daily rollup ``counters_daily`` has one row per (user_id, brand, spu, category,
local_date) with at least one counted event, and one column per counter. It serves both
levels (brand and SPU) and every window (the category gives the ``cycle`` window).
:func:`daily_counters` builds it as an expression; :func:`refresh_counters` stores it and
keeps it current incrementally: a new load only recomputes the local dates it touched.

>>> import datetime as dt, ibis
>>> from aips.config.model import default_model
>>> ev = ibis.memtable({"user_id": ["u", "u"], "brand": ["b", "b"], "spu": [None, None],
...     "category": [None, None], "local_date": [dt.date(2024, 1, 1)] * 2,
...     "event_type": ["read", "read"], "dwell_s": [9.0, 1.0], "completion": [None, None],
...     "amount": [None, None]})
>>> row = daily_counters(ev, default_model()).to_pyarrow().to_pylist()[0]
>>> row["read"], row["deep_read"], row["impression"]
(2, 1, 0)
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field

import ibis
import sqlglot as sg
import sqlglot.expressions as sge

from aips.config.model import EVENT_COLUMNS_NUMERIC, Model
from aips.config.rules import compile_rule
from aips.exceptions import ConfigError

ROLLUP_KEYS = ("user_id", "brand", "spu", "category", "local_date")
"""Key columns of the daily rollup."""
COUNTERS_TABLE = "counters_daily"
STATE_TABLE = "counters_state"
ROLLUP_VERSION = "1"


def counter_measures(events: ibis.Table, model: Model) -> dict[str, tuple[ibis.Value, ibis.Value | None]]:
    """For each counter: ``(condition, value)``; ``value`` is None for a plain count."""
    numeric = {c: events[c] for c in EVENT_COLUMNS_NUMERIC}
    out = {}
    for name, counter in model.counters.items():
        if name in ROLLUP_KEYS:
            raise ConfigError(f"a counter may not be named like a key column ({name!r})", path=f"counters.{name}")
        cond = events.event_type.isin(list(counter.events))
        rule = model.filters.get(name)
        if rule is not None:
            cond = cond & compile_rule(rule, numeric)
        value = events[counter.sum].fill_null(0) if counter.sum else None
        out[name] = (cond, value)
    return out


def counted_types(model: Model) -> list[str]:
    """Every event type some counter counts, sorted."""
    return sorted({t for c in model.counters.values() for t in c.events})


def counter_dtype(model: Model, name: str) -> str:
    return "float64" if model.counters[name].sum else "int64"


def daily_counters(events: ibis.Table, model: Model) -> ibis.Table:
    """The daily rollup of every counter: ``(*ROLLUP_KEYS, <counter>...)``.

    Only rows with at least one counted event type appear.
    """
    ev = events.filter(events.event_type.isin(counted_types(model)))
    metrics = {}
    for name, (cond, value) in counter_measures(ev, model).items():
        if value is None:
            metrics[name] = ev.count(where=cond)
        else:
            metrics[name] = value.sum(where=cond).fill_null(0).cast("float64")
    return ev.group_by(list(ROLLUP_KEYS)).aggregate(**metrics)


def is_rollup(table: ibis.Table) -> bool:
    """True for a daily rollup, False for raw events (which have ``event_type``)."""
    return "event_type" not in table.columns


def fingerprint(model: Model) -> str:
    """Identifies the rollup's definition: changes when a counter changes."""
    spec = {n: c.model_dump() for n, c in sorted(model.counters.items())}
    text = json.dumps([ROLLUP_VERSION, spec], sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


# --- storing the rollup ------------------------------------------------------------------------


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


def _state(store) -> dict[str, list[str]]:
    if not store.has(STATE_TABLE):
        return {}
    rows = store.table(STATE_TABLE).to_pyarrow().to_pylist()
    out: dict[str, list[str]] = {}
    for row in rows:
        out.setdefault(row["key"], []).append(row["value"])
    return out


def _write_state(store, state: dict[str, list[str]]) -> None:
    import pyarrow as pa

    keys = [k for k, vs in state.items() for _ in vs]
    values = [v for vs in state.values() for v in vs]
    store.write(STATE_TABLE, pa.table({"key": pa.array(keys, pa.string()),
                                       "value": pa.array(values, pa.string())}), overwrite=True)


def _event_loads(store) -> list[str] | None:
    """Load ids of completed ``events`` loads (None when the store has no ``loads`` table)."""
    if not store.has("loads"):
        return None
    loads = store.table("loads")
    loads = loads.filter(loads.table_name == "events").select("load_id").distinct()
    return sorted(v for v in loads.to_pyarrow()["load_id"].to_pylist() if v is not None)


def _dates_of_loads(store, load_ids: list[str]) -> list[dt.date]:
    loads = store.table("loads")
    rng = loads.filter(loads.load_id.isin(load_ids) & loads.min_date.notnull())
    rows = rng.select("min_date", "max_date").to_pyarrow().to_pylist()
    days: set[dt.date] = set()
    for row in rows:
        lo, hi = row["min_date"], row["max_date"] or row["min_date"]
        days.update(lo + dt.timedelta(days=i) for i in range((hi - lo).days + 1))
    return sorted(days)


def rollup_is_current(store, model: Model) -> bool:
    """True when ``counters_daily`` exists, matches the model and has every load rolled up."""
    if not store.has(COUNTERS_TABLE):
        return False
    state = _state(store)
    if state.get("fingerprint") != [fingerprint(model)]:
        return False
    loads = _event_loads(store)
    if loads is not None:
        return set(loads) <= set(state.get("load", []))
    n_events = int(store.table("events").count().to_pyarrow().as_py())
    return state.get("events_rows") == [str(n_events)]


def pending_since(store, level: str) -> dt.date | None:
    """First local date whose counters changed since ``asset_history`` (``level``) was updated."""
    values = _state(store).get(f"pending:{level}")
    return dt.date.fromisoformat(values[0]) if values else None


def clear_pending(store, level: str) -> None:
    """Mark ``asset_history`` (``level``) as consistent with the rollup."""
    state = _state(store)
    if state.pop(f"pending:{level}", None) is not None:
        _write_state(store, state)


def replace_rows(store, name: str, where: dict, new_rows: ibis.Table | None) -> None:
    """Replace the rows of table ``name`` matching ``where`` by ``new_rows`` (an expression).

    ``where`` maps a column to a list of values or to an inclusive ``(lo, hi)`` range (both
    given as a tuple). Deletes in place inside a transaction where the backend can; elsewhere
    rebuilds the table through a scratch copy (no rows pass through Python).
    """
    if not store.has(name):
        if new_rows is not None:
            store.backend.create_table(name, new_rows)
        return
    table = store.table(name)
    if store.capabilities.delete_rows:
        conds = []
        for col, spec in where.items():
            column = sg.column(col, quoted=True)
            if isinstance(spec, tuple):
                conds.append(column.between(_lit(spec[0]), _lit(spec[1])))
            else:
                conds.append(column.isin(*[_lit(v) for v in spec]) if spec else sge.false())
        stmt = sg.delete(sg.table(name, quoted=True)).where(sge.and_(*conds) if conds else sge.true())
        with store.transaction():
            store.backend.raw_sql(stmt.sql(dialect=store.kind))
            if new_rows is not None:
                store.backend.insert(name, new_rows)
        return
    drop = ibis.literal(True)
    for col, spec in where.items():
        drop = drop & (table[col].between(*spec) if isinstance(spec, tuple) else table[col].isin(list(spec)))
    kept = table.filter(~drop)
    if new_rows is not None:
        kept = kept.union(new_rows.select(*table.columns).cast(table.schema()))
    scratch = f"{name}__aips_new"
    store.drop(scratch)
    store.backend.create_table(scratch, kept)
    store.drop(name)
    store.backend.rename_table(scratch, name)


def _lit(value) -> sge.Expression:
    if isinstance(value, dt.date):
        return sge.cast(sge.Literal.string(value.isoformat()), "DATE")
    if isinstance(value, str):
        return sge.Literal.string(value)
    return sge.Literal.number(value)


def refresh_counters(store, model: Model, dates: Iterable[dt.date] | None = None) -> RefreshResult:
    """Build or incrementally refresh the stored ``counters_daily`` rollup.

    Args:
        store: a :class:`~aips.store.Store` with an ``events`` table.
        model: the model (a change of its counters forces a full rebuild).
        dates: local dates to recompute. ``None``: the dates touched by loads not yet
            rolled up (from the ``loads`` table); without a ``loads`` table, a full rebuild
            when the number of events changed.

    Returns:
        A :class:`RefreshResult`. Re-running with nothing new changes nothing.
    """
    events = store.table("events")
    state = _state(store)
    fp = fingerprint(model)
    loads = _event_loads(store)
    fresh = store.has(COUNTERS_TABLE) and state.get("fingerprint") == [fp]
    n_events = None

    if fresh and dates is None:
        if loads is not None:
            new = sorted(set(loads) - set(state.get("load", [])))
            if not new:
                return RefreshResult("none")
            dates = _dates_of_loads(store, new)
        else:
            n_events = int(events.count().to_pyarrow().as_py())
            if state.get("events_rows") == [str(n_events)]:
                return RefreshResult("none")
            fresh = False

    if not fresh:
        rollup = daily_counters(events, model)
        store.drop(COUNTERS_TABLE)
        store.backend.create_table(COUNTERS_TABLE, rollup)
        mode, days = "full", []
        first = store.table(COUNTERS_TABLE).local_date.min().to_pyarrow().as_py()
    else:
        days = sorted(set(dates or []))
        if not days:
            return RefreshResult("none")
        touched = events.filter(events.local_date.isin(days))
        replace_rows(store, COUNTERS_TABLE, {"local_date": days}, daily_counters(touched, model))
        mode, first = "incremental", days[0]

    if n_events is None:
        n_events = int(events.count().to_pyarrow().as_py())
    new_state = {"fingerprint": [fp], "events_rows": [str(n_events)], "load": loads or []}
    if first is not None:  # every stored series is stale from ``first`` on
        for level in ("brand", "spu"):
            old = state.get(f"pending:{level}") if fresh else None
            new_state[f"pending:{level}"] = [min([first.isoformat(), *(old or [])])]
    else:
        new_state.update({k: v for k, v in state.items() if k.startswith("pending:")})
    _write_state(store, new_state)
    return RefreshResult(mode, days, first)
