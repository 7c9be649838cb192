"""Helpers for the engine tests: tiny canonical event logs and an independent pandas oracle.

The oracle recomputes a per-day snapshot straight from the definition (DESIGN.md section 2):
for each (user, entity) and stage, sum each counter of the stage's rule over the stage's
window (the local dates d-W+1 .. d; ``cycle`` = the event category's decision cycle),
evaluate the rule with :func:`aips.config.rules.evaluate` (plain Python), and keep the
highest stage that holds (S > P > TI > I > A). A pair whose windowed counters are all zero
has no level. It shares no code with the engine beyond the rule parser.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from zoneinfo import ZoneInfo

import pyarrow as pa

from aips.config.model import EVENT_COLUMNS_NUMERIC, STAGES, Model
from aips.config.rules import evaluate
from aips.store.tables import arrow_schema

TZ = ZoneInfo("Asia/Shanghai")


def D(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


def events_table(rows, tz: ZoneInfo = TZ) -> pa.Table:
    """Canonical events from tuples ``(user, brand, "YYYY-MM-DD HH:MM" local, type, extras)``.

    ``extras`` (optional dict): spu, category, dwell_s, completion, amount. ``ts`` is the
    UTC instant (naive) and ``local_date`` the calendar day in ``tz``.
    """
    cols = defaultdict(list)
    for i, row in enumerate(rows):
        user, brand, local, etype, *rest = row
        extra = rest[0] if rest else {}
        when = dt.datetime.fromisoformat(local).replace(tzinfo=tz)
        cols["event_id"].append(f"e{i}")
        cols["ts"].append(when.astimezone(dt.UTC).replace(tzinfo=None))
        cols["local_date"].append(when.date())
        cols["user_id"].append(user)
        cols["brand"].append(brand)
        cols["event_type"].append(etype)
        for name in ("spu", "category", "channel", "campaign_id", "creator_id", "note_id",
                     "content_format", "keyword", "dwell_s", "completion", "amount", "load_id"):
            cols[name].append(extra.get(name))
    schema = arrow_schema("events")
    return pa.table({f.name: pa.array(cols[f.name], f.type) for f in schema}, schema=schema)


def oracle_snapshot(
    events: pa.Table, model: Model, day: dt.date, level: str = "brand",
    cycles: dict[str, int] | None = None,
) -> dict[tuple, str]:
    """{(user_id, entity...): stage} on ``day``; entity = (brand,) or (spu, brand)."""
    cycles = {**(cycles or {}), **model.categories}
    values = defaultdict(lambda: defaultdict(float))  # pair -> (counter, window) -> value
    for ev in events.to_pylist():
        if level == "spu" and ev["spu"] is None:
            continue
        age = (day - ev["local_date"]).days
        if age < 0:
            continue
        key = (ev["user_id"], ev["brand"]) if level == "brand" else (ev["user_id"], ev["spu"], ev["brand"])
        numeric = {c: ev[c] for c in EVENT_COLUMNS_NUMERIC}
        for name, counter in model.counters.items():
            if ev["event_type"] not in counter.events:
                continue
            if counter.where and not evaluate(model.filters[name], numeric):
                continue
            amount = 1.0 if counter.sum is None else float(ev[counter.sum] or 0)
            for w in {model.stage_window(stage, name) for stage in STAGES}:
                length = cycles.get(ev["category"], model.default_cycle_days) if w == "cycle" else w
                if age < length:
                    values[key][(name, w)] += amount
                else:
                    values[key][(name, w)] += 0
    out = {}
    for key, vals in values.items():
        if not any(vals.values()):
            continue
        for stage in STAGES:
            rule = model.rules[stage]
            env = {c: vals.get((c, model.stage_window(stage, c)), 0) for c in rule.names}
            if evaluate(rule, env):
                out[key] = stage
                break
    return out


def oracle_counts(events, model, day, level="brand", cycles=None) -> dict[tuple, int]:
    """{(entity..., stage): users} on ``day``."""
    counts: dict[tuple, int] = defaultdict(int)
    for key, stage in oracle_snapshot(events, model, day, level, cycles).items():
        counts[(*key[1:], stage)] += 1
    return dict(counts)


def examples(store, duckdb: int, pyspark: int = 3) -> int:
    """Hypothesis examples per backend: Spark pays about a second per query."""
    return duckdb if store.kind == "duckdb" else pyspark
