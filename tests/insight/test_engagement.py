"""Engagement depth: hand-worked dwell, deep reads and interactions per reader and stage.

Brand B, March 2024 (Friday the 1st), default model (deep read: dwell >= 5 s or completion
>= 0.5). The stage of an event is the reader's level at the start of its day (the level on
the day before):

====  =====================================  ================  ==================
user  events                                 stage of the day  counts
====  =====================================  ================  ==================
u1    1: impression                          (A from day 1)
u1    2: read dwell 10 s, like               A                 deep read, 1 interaction
u1    3: read dwell 2 s                      I (read + like)   shallow read
u2    2: read completion 0.8, collect        none              deep read, 1 interaction
u2    4: read dwell 6 s                      TI (collect)      deep read
====  =====================================  ================  ==================

Over 1 .. 7 March: 2 readers, 4 reads, 3 deep reads (rate 0.75), 18 s of dwell (9 s per
reader, 6 s per read that reports a dwell), 2 interactions (1 per reader).
"""

from __future__ import annotations

import datetime as dt

import pytest
from insight_helpers import events_table, workspace

EVENTS = [
    ("u1", "B", "2024-03-01 10:00", "impression", {"note_id": "n1"}),
    ("u1", "B", "2024-03-02 10:00", "read", {"note_id": "n1", "dwell_s": 10.0}),
    ("u1", "B", "2024-03-02 10:01", "like", {"note_id": "n1"}),
    ("u1", "B", "2024-03-03 10:00", "read", {"note_id": "n1", "dwell_s": 2.0}),
    ("u2", "B", "2024-03-02 10:00", "read", {"note_id": "n2", "completion": 0.8}),
    ("u2", "B", "2024-03-02 10:01", "collect", {"note_id": "n2"}),
    ("u2", "B", "2024-03-04 10:00", "read", {"note_id": "n2", "dwell_s": 6.0}),
    ("u3", "C", "2024-03-02 10:00", "read", {"note_id": "c1", "dwell_s": 60.0}),  # another brand
]


@pytest.fixture
def ws(store):
    """On DuckDB and on PySpark."""
    store.write("events", events_table(EVENTS), overwrite=True)
    return workspace(store)


@pytest.fixture
def ws1(duckdb_store):
    """DuckDB only."""
    duckdb_store.write("events", events_table(EVENTS), overwrite=True)
    return workspace(duckdb_store)


def test_totals_per_stage(ws):
    out = ws.engagement("B", "2024-03-01", "2024-03-07", freq="total").to_pyarrow().to_pylist()
    rows = {r["stage"]: r for r in out}
    assert [r["stage"] for r in out] == ["none", "A", "I", "TI", "all"]
    every = rows["all"]
    assert (every["readers"], every["reads"], every["deep_reads"]) == (2, 4, 3)
    assert every["deep_read_rate"] == pytest.approx(0.75)
    assert every["dwell_s"] == pytest.approx(18.0)
    assert every["dwell_per_reader"] == pytest.approx(9.0) and every["dwell_per_read"] == pytest.approx(6.0)
    assert (every["interactions"], every["interactors"]) == (2, 2)
    assert every["interactions_per_reader"] == pytest.approx(1.0)
    assert every["period"] == dt.date(2024, 3, 1) and every["brand"] == "B"
    a, i, none, ti = rows["A"], rows["I"], rows["none"], rows["TI"]
    assert (a["reads"], a["deep_reads"], a["dwell_s"], a["interactions"]) == (1, 1, pytest.approx(10.0), 1)
    assert (i["reads"], i["deep_reads"], i["dwell_s"]) == (1, 0, pytest.approx(2.0))
    assert (none["reads"], none["deep_reads"], none["interactions"]) == (1, 1, 1)
    assert none["dwell_per_read"] is None and none["avg_completion"] == pytest.approx(0.8)
    assert (ti["reads"], ti["deep_reads"], ti["dwell_s"]) == (1, 1, pytest.approx(6.0))


def test_weekly_trend(ws1):
    out = ws1.engagement("B", "2024-03-01", "2024-03-07").to_pyarrow().to_pylist()
    every = {r["period"]: r for r in out if r["stage"] == "all"}
    # ISO weeks start on Monday: 26 Feb (1 .. 3 March) and 4 March
    assert sorted(every) == [dt.date(2024, 2, 26), dt.date(2024, 3, 4)]
    assert (every[dt.date(2024, 2, 26)]["reads"], every[dt.date(2024, 3, 4)]["reads"]) == (3, 1)
    assert every[dt.date(2024, 2, 26)]["deep_read_rate"] == pytest.approx(2 / 3)
