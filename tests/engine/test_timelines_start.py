"""``timelines(start=)``: the uncut timelines clipped at ``start``, from fewer rows."""

from __future__ import annotations

import datetime as dt

import ibis
from hypothesis import given, settings
from hypothesis import strategies as st

from aips.config.model import default_model
from aips.engine import timelines

MODEL = default_model()
DAY0 = dt.date(2024, 1, 1)
TYPES = ["impression", "read", "collect", "purchase", "post", "like", "share", "search"]
event = st.tuples(st.sampled_from("abc"), st.sampled_from("BC"), st.integers(0, 200),
                  st.sampled_from(TYPES), st.sampled_from([None, "infant_food"]))


def _log(events) -> ibis.Table:
    cols = {k: [] for k in ("user_id", "brand", "spu", "category", "local_date", "event_type",
                            "dwell_s", "completion", "amount")}
    for user, brand, day, etype, category in events:
        for k, v in zip(cols, (user, brand, None, category, DAY0 + dt.timedelta(days=day), etype,
                               9.0, None, None), strict=True):
            cols[k].append(v)
    schema = {"user_id": "string", "brand": "string", "spu": "string", "category": "string",
              "local_date": "date", "event_type": "string", "dwell_s": "float64",
              "completion": "float64", "amount": "float64"}
    return ibis.memtable(cols, schema=schema)


def test_hand_example():
    # a post (365-day window) on day 0, a read on day 100: from day 120 on, S stays to day 364
    ev = _log([("a", "B", 0, "post", None), ("a", "B", 100, "read", None)])
    got = timelines(ev, MODEL, start=DAY0 + dt.timedelta(days=120)).to_pyarrow().to_pylist()
    assert [(r["start_date"], r["end_date"], r["stage"]) for r in got] == \
        [(DAY0 + dt.timedelta(days=120), DAY0 + dt.timedelta(days=364), "S")]


@settings(max_examples=25, deadline=None)
@given(events=st.lists(event, min_size=1, max_size=30), start=st.integers(0, 260))
def test_property_start_is_the_uncut_timeline_clipped(events, start):
    ev = _log(events)
    s = DAY0 + dt.timedelta(days=start)
    full = timelines(ev, MODEL).to_pyarrow().to_pylist()
    want = sorted((r["user_id"], r["brand"], max(r["start_date"], s), r["end_date"], r["stage"])
                  for r in full if r["end_date"] >= s)
    got = sorted(tuple(r.values()) for r in timelines(ev, MODEL, start=s).to_pyarrow().to_pylist())
    assert got == want
