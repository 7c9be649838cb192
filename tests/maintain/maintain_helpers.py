"""Helpers for the upkeep tests: tiny event logs appended as loads, as the ingest layer does."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from zoneinfo import ZoneInfo

import ibis
import pyarrow as pa

from aips.store.tables import arrow_schema

TZ = ZoneInfo("Asia/Shanghai")


def D(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


def log(load_id: str, rows) -> pa.Table:
    """Canonical events from ``(user, brand, "YYYY-MM-DD HH:MM" local, type[, extras])``,
    with event ids unique across loads."""
    schema = arrow_schema("events")
    cols: dict[str, list] = {f.name: [] for f in schema}
    for i, (user, brand, local, etype, *rest) in enumerate(rows):
        extra = rest[0] if rest else {}
        when = dt.datetime.fromisoformat(local).replace(tzinfo=TZ)
        base = {"event_id": f"{load_id}-{i}", "ts": when.astimezone(dt.UTC).replace(tzinfo=None),
                "local_date": when.date(), "user_id": user, "brand": brand, "event_type": etype,
                "load_id": load_id}
        for name in cols:
            cols[name].append(base.get(name, extra.get(name)))
    return pa.table({f.name: pa.array(cols[f.name], f.type) for f in schema}, schema=schema)


def load(store, load_id: str, rows) -> None:
    """Append events and record the load (what the ingest layer does)."""
    events = log(load_id, rows)
    store.write("events", events)
    dates = events["local_date"].to_pylist()
    loads = {f.name: [None] for f in arrow_schema("loads")}
    loads.update(load_id=[load_id], table_name=["events"], min_date=[min(dates)], max_date=[max(dates)])
    store.write("loads", pa.table(loads, schema=arrow_schema("loads")))


def rows(table: ibis.Table, keys) -> list[tuple]:
    """The rows of ``table`` (columns ``keys``) as sorted tuples."""
    return sorted(tuple(r.values()) for r in table.select(*keys).to_pyarrow().to_pylist())


DAY1 = [("u1", "B", "2024-01-01 10:00", "impression"), ("u2", "B", "2024-01-01 23:30", "collect"),
        ("u1", "B", "2024-01-03 10:00", "read", {"dwell_s": 9.0}),
        ("u3", "C", "2024-01-05 10:00", "purchase", {"category": "infant_food"})]
LATER = [("u1", "B", "2024-01-06 10:00", "search"), ("u4", "C", "2024-01-06 09:00", "post")]
LATE = [("u5", "B", "2024-01-02 10:00", "like")]  # a late-arriving event for an old day


def parquet_rows_read(store, expr) -> int:
    """Rows DuckDB's Parquet scans returned while running ``expr`` (its JSON profile)."""
    con = store.backend.con
    out = Path(store.location).with_suffix(".profile.json")
    out.unlink(missing_ok=True)
    con.execute("PRAGMA enable_profiling='json'")
    con.execute(f"PRAGMA profiling_output='{out}'")
    try:
        con.sql(ibis.to_sql(expr, dialect="duckdb")).fetchall()  # every row: count(*) may skip the scan
    finally:
        con.execute("PRAGMA disable_profiling")

    def scans(node):
        mine = node.get("operator_cardinality", 0) if "READ_PARQUET" in json.dumps(node.get("extra_info", {})) else 0
        return mine + sum(scans(c) for c in node.get("children", []))

    return scans(json.loads(out.read_text()))
