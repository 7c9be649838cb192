"""Builders of tiny canonical tables for the outcomes tests."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa

from aips.store.tables import EVENTS

T0 = dt.datetime(2024, 3, 1, 8, 0, 0)
H = dt.timedelta(hours=1)
D = dt.timedelta(days=1)


def events_table(rows) -> pa.Table:
    """rows: dicts with user, ts (datetime) and type; optional brand (b), channel, category,
    campaign_id, amount, local_date (default ts.date())."""
    schema = EVENTS.to_pyarrow()
    cols = {name: [] for name in schema.names}
    for i, r in enumerate(rows):
        ts = r["ts"]
        values = {
            "event_id": r.get("event_id", f"e{i:04d}"),
            "ts": ts,
            "local_date": r.get("local_date", ts.date()),
            "user_id": r["user"],
            "brand": r.get("brand", "b"),
            "category": r.get("category", "serum"),
            "event_type": r["type"],
            "channel": r.get("channel"),
            "campaign_id": r.get("campaign_id"),
            "amount": r.get("amount"),
        }
        for name in schema.names:
            cols[name].append(values.get(name))
    return pa.table(cols, schema=schema)


def write_events(store, rows, name: str = "events"):
    return store.write(name, events_table(rows), overwrite=True)


def ev(user, ts, type_, **kw):
    return {"user": user, "ts": ts, "type": type_, **kw}


def rows_of(store, expr, *order):
    if order:
        expr = expr.order_by(list(order))
    return store.backend.to_pyarrow(expr).to_pylist()
