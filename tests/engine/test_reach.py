"""First-reach days without the stage sweep equal those read off the timelines."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aips.config.model import default_model
from aips.engine.reach import fast_path, first_reach
from aips.engine.timelines import timelines

TYPES = ["impression", "read", "search", "collect", "purchase", "post", "like"]


def _events(rows) -> pa.Table:
    """``(user, day, type, dwell)`` rows, one brand ``b`` and category ``c``."""
    n = len(rows)
    return pa.table({
        "user_id": [r[0] for r in rows], "brand": ["b"] * n, "spu": pa.nulls(n, pa.string()),
        "category": ["c"] * n, "local_date": [dt.date(2024, 1, 1) + dt.timedelta(days=r[1]) for r in rows],
        "event_type": [r[2] for r in rows], "dwell_s": pa.array([r[3] for r in rows], pa.float64()),
        "completion": pa.nulls(n, pa.float64()), "amount": pa.nulls(n, pa.float64()),
    })


def _reach(table, model, **kw) -> dict:
    rows = table.to_pyarrow().to_pylist()
    return {r["user_id"]: tuple(r[f"d_{s}"] for s in ("I", "TI", "P")) for r in rows}


HAND = [
    # u1: deep reads 40 days apart (never 2 in 30 days), a third 20 days after the second
    ("u1", 0, "impression", None), ("u1", 1, "read", 9.0), ("u1", 41, "read", 9.0),
    ("u1", 61, "read", 9.0),
    # u2: search on day 5, read on day 30 (same 30-day window): TI on day 30; buys day 40
    ("u2", 5, "search", None), ("u2", 30, "read", 1.0), ("u2", 40, "purchase", None),
    # u3: search day 0, read day 30: the search left the window on day 30 -> only I
    ("u3", 0, "search", None), ("u3", 30, "read", 1.0),
    # u4: buys without anything before: I, TI and P on that day
    ("u4", 7, "purchase", None),
    # u5: impressions only: never I (not in the output)
    ("u5", 3, "impression", None),
]
D = dt.date(2024, 1, 1)


def test_first_reach_hand_derived(store):
    store.write("events", _events(HAND), overwrite=True)
    ev, model = store.table("events"), default_model()
    assert fast_path(model, ["I", "TI", "P"])
    got = _reach(first_reach(ev, model, ["I", "TI", "P"]), model)
    day = lambda n: D + dt.timedelta(days=n)  # noqa: E731
    assert got == {
        "u1": (day(1), day(61), None),
        "u2": (day(5), day(30), day(40)),
        "u3": (day(0), None, None),
        "u4": (day(7), day(7), day(7)),
    }
    slow = _reach(first_reach(ev, model, ["I", "TI", "P"], timeline=timelines(ev, model)), model)
    assert slow == got


def test_non_monotone_rules_fall_back_to_timelines(duckdb_store):
    data = default_model().model_dump()
    data["stages"]["TI"]["rule"] = "collect >= 1 and not like >= 1"
    model = default_model().with_overrides(stages=data["stages"])
    assert not fast_path(model, ["TI"])
    duckdb_store.write("events", _events([("u", 0, "collect", None), ("u", 1, "like", None)]),
                       overwrite=True)
    ev = duckdb_store.table("events")
    got = first_reach(ev, model, ["TI"]).to_pyarrow().to_pylist()
    assert got == [{"user_id": "u", "brand": "b", "d_TI": D}]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.sampled_from(["u1", "u2", "u3"]), st.integers(0, 90),
                          st.sampled_from(TYPES), st.sampled_from([None, 1.0, 9.0])),
                min_size=1, max_size=30))
def test_first_reach_equals_timelines_on_random_logs(duckdb_store, rows):
    """The fast path and the timelines agree on any log (DuckDB; the hand test covers Spark)."""
    duckdb_store.write("events", _events(rows), overwrite=True)
    ev, model = duckdb_store.table("events"), default_model()
    fast = _reach(first_reach(ev, model, ["I", "TI", "P"]), model)
    slow = _reach(first_reach(ev, model, ["I", "TI", "P"], timeline=timelines(ev, model)), model)
    assert fast == slow
