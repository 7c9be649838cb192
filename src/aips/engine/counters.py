"""Counters: filtered counts (or sums) of events, rolled up per (user, brand, spu, category, day).

A counter counts the events whose ``event_type`` is in its ``events`` and whose ``where``
filter (compiled by :func:`aips.config.rules.compile_rule` over ``dwell_s``, ``completion``
and ``amount``; a null column counts as 0 there) holds; with ``sum: COLUMN`` it sums that
column instead (nulls as 0).

The daily rollup ``counters_daily`` has one row per (user_id, brand, spu, category,
local_date) with at least one counted event, and one column per counter. It serves both
levels (brand and SPU) and every window (the category gives the ``cycle`` window).
:func:`daily_counters` builds it as an expression; :mod:`aips.maintain.rollup` stores it
and keeps it current incrementally: a new load only recomputes the local dates it touched.

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

import ibis

from aips.config.model import EVENT_COLUMNS_NUMERIC, Model
from aips.config.rules import compile_rule
from aips.exceptions import ConfigError

ROLLUP_KEYS = ("user_id", "brand", "spu", "category", "local_date")
"""Key columns of the daily rollup."""


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
