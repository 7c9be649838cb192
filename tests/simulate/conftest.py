"""Simulated worlds shared by the simulator tests (generated once per session, fixed seeds)."""

from __future__ import annotations

import json

import duckdb
import pytest

from aips.simulate import SimulationParams, simulate

MAIN = SimulationParams(users=3000, days=120, seed=11)
"""The world most tests read: ~0.3M events, the default knobs (leak, skew, holdout)."""


@pytest.fixture(scope="session")
def main_world(tmp_path_factory):
    out = tmp_path_factory.mktemp("sim") / "main"
    result = simulate(out, MAIN, workers=1)
    return out, result


@pytest.fixture(scope="session")
def world_dir(main_world):
    return main_world[0]


@pytest.fixture(scope="session")
def truth(world_dir):
    return json.loads((world_dir / "truth.json").read_text())


def connect(path) -> duckdb.DuckDBPyConnection:
    """DuckDB views over a simulated world: events (with ``d``, the local date), users, campaigns,
    creators, categories."""
    con = duckdb.connect()
    con.execute("set TimeZone = 'UTC'")
    con.execute(f"""create view events as
        select *, cast(timezone('Asia/Shanghai', ts) as date) as d
        from read_parquet('{path}/events/*/*.parquet', hive_partitioning = false)""")
    for table in ("users", "campaigns", "creators", "categories"):
        con.execute(f"create view {table} as select * from read_csv('{path}/{table}.csv')")
    return con


@pytest.fixture(scope="session")
def con(world_dir):
    return connect(world_dir)


@pytest.fixture(scope="session", name="connect")
def connect_fixture():
    """The :func:`connect` helper, for tests that simulate worlds of their own."""
    return connect
