"""The planner's backend aggregates (:mod:`aips.planner.history`) on a hand-worked log, on
DuckDB and on PySpark: the same rows on both, equal to the hand-worked ones (dates compared
as dates: the backends hand pandas dates in different dtypes).

The toy log (default model: a read is I, a collect TI, a purchase P; u2 is in the holdout):

====  =====================================================  ==================================
user  events (local dates)                                    first reached
====  =====================================================  ==================================
u1    B: impression k1 03-01, read 03-01, collect 03-03,     I 03-01, TI 03-03, P 03-05
      purchase 03-05, organic impression 03-01
u2    B: collect 03-02 (holdout)                              I 03-02 and TI 03-02 (TI is >= I)
u3    B: impression k1 03-01, impression k2 03-02             (A only: no advance)
u4    C: read 03-01, impression k9 03-01                      (another brand: left out)
====  =====================================================  ==================================
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pyarrow as pa
import pytest

from aips.config.model import default_model
from aips.planner.history import daily_advances, daily_impressions, group_sizes
from aips.store.tables import arrow_schema
from aips.view import View

D = {d: dt.date(2024, 3, d) for d in range(1, 6)}
ROWS = [  # user, brand, day, type, channel, campaign
    ("u1", "B", 1, "impression", "feed_ad", "k1"), ("u1", "B", 1, "read", None, None),
    ("u1", "B", 3, "collect", None, None), ("u1", "B", 5, "purchase", None, None),
    ("u1", "B", 1, "impression", "organic", None),
    ("u2", "B", 2, "collect", None, None),
    ("u3", "B", 1, "impression", "feed_ad", "k1"), ("u3", "B", 2, "impression", "search_ad", "k2"),
    ("u4", "C", 1, "read", None, None), ("u4", "C", 1, "impression", "feed_ad", "k9"),
]


@pytest.fixture
def view(store) -> View:
    events = [{"event_id": f"e{i}", "user_id": u, "brand": b, "event_type": t, "channel": ch, "campaign_id": k,
               "ts": dt.datetime(2024, 3, d, 2, 0), "local_date": D[d],
               "amount": 100.0 if t == "purchase" else None}
              for i, (u, b, d, t, ch, k) in enumerate(ROWS)]
    store.write("events", pa.Table.from_pylist(events, schema=arrow_schema("events")), overwrite=True)
    users = [{"user_id": u, "holdout": u == "u2"} for u in ("u1", "u2", "u3", "u4")]
    schema = arrow_schema("users")
    store.write("users", pa.Table.from_pylist([{n: r.get(n) for n in schema.names} for r in users], schema=schema),
                overwrite=True)
    return View(store, default_model())


def test_daily_advances_by_hand(view):
    got = daily_advances(view, ["B"])
    rows = {(r.brand, pd.Timestamp(r.date).date(), bool(r.holdout), r.stage): int(r.users) for r in got.itertuples()}
    assert rows == {
        ("B", D[1], False, "I"): 1,
        ("B", D[3], False, "TI"): 1,
        ("B", D[5], False, "P"): 1,
        ("B", D[2], True, "I"): 1,
        ("B", D[2], True, "TI"): 1,
    }


def test_daily_impressions_by_hand(view):
    got = daily_impressions(view, ["B"])
    rows = {(r.brand, r.channel, r.campaign_id, pd.Timestamp(r.date).date()): int(r.impressions) for r in got.itertuples()}
    assert rows == {("B", "feed_ad", "k1", D[1]): 2, ("B", "search_ad", "k2", D[2]): 1}


def test_group_sizes(view):
    assert group_sizes(view) == (3, 1)
