"""Helpers for the activation tests: tiny canonical logs, a workspace class, simulated worlds.

``events_table`` (re-exported from ``tests/engine/engine_helpers.py``) builds canonical events
from tuples; ``load_world`` loads a simulated world into a DuckDB store directly with DuckDB
(local dates in Asia/Shanghai), without going through ``aips ingest``, so the tests do not
depend on the ingest layer.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
from engine_helpers import D, events_table  # noqa: F401 - one copy, shared with the engine tests

from aips.config.model import Model, default_model
from aips.store.tables import arrow_schema
from aips.workspace import Workspace

WS = Workspace
"""The workspace class the tests build (it has every method)."""


def workspace(store, events: pa.Table, users: pa.Table | None = None, model: Model | None = None):
    store.write("events", events, overwrite=True)
    if users is not None:
        store.write("users", users, overwrite=True)
    return WS(store, model or default_model())


def strict_ti_model() -> Model:
    """The default model with TI = deep reads or a deep interaction (no 'search and read').

    The simulator marks the move to TI by deep behaviour; its latent-I users search and
    read on separate occasions, which the default TI clause ``search >= 1 and read >= 1``
    (within 30 days, in any order) already counts as TI.
    """
    from aips.config.model import _validate

    data = default_model().model_dump()
    data["stages"]["TI"]["rule"] = (
        "deep_read >= 2 or collect + comment + share + screenshot + cart + store_visit >= 1")
    return _validate(data, "strict TI")


def load_world(path: Path, store_path: str = ":memory:", model: Model | None = None):
    """A DuckDB store with a simulated world's events and side tables, and its workspace."""
    import duckdb

    from aips.store.connect import connect

    con = duckdb.connect()
    con.execute("set TimeZone = 'UTC'")
    ev = con.execute(f"""
        select event_id, cast(ts as timestamp) as ts,
               cast(timezone('Asia/Shanghai', ts) as date) as local_date, user_id, brand, spu,
               category, event_type, channel, campaign_id, creator_id, note_id, content_format,
               keyword, dwell_s, completion, amount, null::varchar as load_id
        from read_parquet('{path}/events/*/*.parquet', hive_partitioning = false)""").arrow()
    if hasattr(ev, "read_all"):
        ev = ev.read_all()
    store = connect(store_path)
    store.write("events", ev.cast(arrow_schema("events")), overwrite=True)
    for table in ("users", "creators", "categories", "campaigns"):
        data = con.execute(f"select * from read_csv('{path}/{table}.csv')").arrow()
        store.write(table, data.read_all() if hasattr(data, "read_all") else data, overwrite=True)
    con.close()
    return WS(store, model or default_model())
