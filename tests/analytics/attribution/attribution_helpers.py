"""Tiny canonical event logs for the attribution tests (local time = UTC here: simple)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

import pyarrow as pa

from aips.store.tables import arrow_schema


def events_table(rows) -> pa.Table:
    """Events from ``(user, brand, "YYYY-MM-DD HH:MM", type, channel, extras)`` tuples.

    ``ts`` is the given time (naive, read as UTC) and ``local_date`` its date, so that
    hand-derived days are the data's days. ``extras``: campaign_id, creator_id, note_id,
    category, amount, dwell_s.
    """
    cols = defaultdict(list)
    for i, row in enumerate(rows):
        user, brand, when, etype, channel, *rest = row
        extra = rest[0] if rest else {}
        ts = dt.datetime.fromisoformat(when)
        cols["event_id"].append(f"e{i:04d}")
        cols["ts"].append(ts)
        cols["local_date"].append(ts.date())
        cols["user_id"].append(user)
        cols["brand"].append(brand)
        cols["event_type"].append(etype)
        cols["channel"].append(channel)
        for name in ("spu", "category", "campaign_id", "creator_id", "note_id", "content_format",
                     "keyword", "dwell_s", "completion", "amount", "load_id"):
            cols[name].append(extra.get(name))
    schema = arrow_schema("events")
    return pa.table({f.name: pa.array(cols[f.name], f.type) for f in schema}, schema=schema)


JOURNEY_LOG = [
    # u1: two purchases, then a touch that does not convert
    ("u1", "b", "2024-01-01 10:00", "impression", "feed_ad", {"campaign_id": "c-feed"}),
    ("u1", "b", "2024-01-02 10:00", "read", "kol_note", {"creator_id": "K1", "note_id": "n1", "campaign_id": "c-kol"}),
    ("u1", "b", "2024-01-02 11:00", "like", "kol_note", {"creator_id": "K1", "note_id": "n1", "campaign_id": "c-kol"}),
    ("u1", "b", "2024-01-03 09:00", "purchase", None, {"amount": 100.0}),
    ("u1", "b", "2024-01-05 10:00", "read", "organic", {"note_id": "n9"}),
    ("u1", "b", "2024-01-06 10:00", "purchase", None, {"amount": 50.0}),
    ("u1", "b", "2024-01-08 10:00", "impression", "feed_ad", {"campaign_id": "c-feed"}),
    # u2: never buys; only the day-9 touch is within 7 days of the last day (10th)
    ("u2", "b", "2024-01-01 10:00", "impression", "organic", {"note_id": "n9"}),
    ("u2", "b", "2024-01-09 10:00", "impression", "organic", {"note_id": "n9"}),
    # u3: buys with no touch at all
    ("u3", "b", "2024-01-04 10:00", "purchase", None, {"amount": 30.0}),
    # u4: its touch is more than 7 days before its purchase
    ("u4", "b", "2024-01-01 10:00", "impression", "search_ad", {"campaign_id": "c-search"}),
    ("u4", "b", "2024-01-10 10:00", "purchase", None, {"amount": 20.0}),
]
"""Hand-derived with lookback 7 (last day of data: Jan 10):

============================== =========== ===== =====
path                           conversions value nulls
============================== =========== ===== =====
``""``                         2 (u3, u4)  50    0
``feed_ad``                    0           0     1 (u1 after its last purchase)
``feed_ad > kol_note > kol_note`` 1 (u1)   100   0
``organic``                    1 (u1)      50    1 (u2)
============================== =========== ===== =====
"""

JOURNEY_PATHS = {
    "": (2, 50.0, 0),
    "feed_ad": (0, 0.0, 1),
    "feed_ad > kol_note > kol_note": (1, 100.0, 0),
    "organic": (1, 50.0, 1),
}
