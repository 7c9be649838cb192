"""Canonical table schemas of the store (DESIGN.md section 4).

Every table in the store has exactly these columns and types, whatever the backend.
Timestamps are stored in UTC (``ts``, naive, meaning UTC) together with ``local_date``,
the calendar day of the event in the model's time zone, fixed at load time; the time
zone used is recorded in the ``loads`` table.
"""

from __future__ import annotations

import ibis
import ibis.expr.schema as sch
import pyarrow as pa

EVENTS = ibis.schema(
    {
        "event_id": "string",
        "ts": "timestamp",  # UTC, naive
        "local_date": "date",  # calendar day in the model's time zone
        "user_id": "string",
        "brand": "string",
        "spu": "string",
        "category": "string",
        "event_type": "string",
        "channel": "string",
        "campaign_id": "string",
        "creator_id": "string",
        "note_id": "string",
        "content_format": "string",
        "keyword": "string",
        "dwell_s": "float64",
        "completion": "float64",
        "amount": "float64",
        "load_id": "string",
    }
)
"""The ``events`` table. ``user_id``, ``brand``, ``event_type``, ``ts`` are never null."""

EVENTS_REQUIRED = ("ts", "user_id", "brand", "event_type")
"""Columns a source must provide (after mapping) for a row to load."""

CAMPAIGNS = ibis.schema(
    {
        "campaign_id": "string",
        "brand": "string",
        "category": "string",
        "channel": "string",
        "start_date": "date",
        "end_date": "date",
        "spend": "float64",
    }
)
CATEGORIES = ibis.schema({"category": "string", "decision_cycle_days": "int64"})
CREATORS = ibis.schema(
    {"creator_id": "string", "tier": "string", "followers": "int64", "fee": "float64"}
)
USERS = ibis.schema({"user_id": "string", "holdout": "boolean"})
"""The ``users`` table: ``user_id``, ``holdout`` and any number of extra string attribute
columns (gender, age_band, city_tier, ...), which are kept as they come."""

CAMPAIGN_HOLDOUTS = ibis.schema(
    {"campaign_id": "string", "user_id": "string", "holdout": "boolean", "first_date": "date"}
)
"""The optional ``campaign_holdouts`` table: a per-campaign holdout, one row per (campaign,
user it targeted): ``holdout`` true when the user was held out of *this* campaign (drawn at
random, shown the brand's other campaigns as usual), ``first_date`` the local date of the
first exposure the user got or, held out, would have got. With it the incremental ROI of
the campaign is a contrast only this campaign changes (:mod:`aips.analytics.roi`)."""

QUARANTINE = ibis.schema(
    {
        "load_id": "string",
        "table_name": "string",
        "source_file": "string",
        "source_line": "int64",
        "column_name": "string",
        "reason": "string",
        "raw": "string",
    }
)
"""Rows that could not load, with the file, 1-based line, column and reason."""

LOADS = ibis.schema(
    {
        "load_id": "string",
        "table_name": "string",
        "source_file": "string",
        "file_sha256": "string",
        "loaded_at": "timestamp",
        "timezone": "string",
        "rows_read": "int64",
        "loaded": "int64",
        "duplicates": "int64",
        "ignored": "int64",
        "quarantined": "int64",
        "min_date": "date",
        "max_date": "date",
    }
)
"""One row per completed load: what it read, loaded and set aside, and the days it touched."""

SCHEMAS: dict[str, sch.Schema] = {
    "events": EVENTS,
    "campaigns": CAMPAIGNS,
    "categories": CATEGORIES,
    "creators": CREATORS,
    "users": USERS,
    "campaign_holdouts": CAMPAIGN_HOLDOUTS,
    "quarantine": QUARANTINE,
    "loads": LOADS,
}

KEYS: dict[str, tuple[str, ...]] = {
    "events": ("event_id",),
    "campaigns": ("campaign_id",),
    "categories": ("category",),
    "creators": ("creator_id",),
    "users": ("user_id",),
    "campaign_holdouts": ("campaign_id", "user_id"),
}
"""Primary keys: a row whose key is already in the store is a duplicate."""


def arrow_schema(table: str) -> pa.Schema:
    """The pyarrow schema of a canonical table.

    >>> arrow_schema("categories").names
    ['category', 'decision_cycle_days']
    """
    return SCHEMAS[table].to_pyarrow()
