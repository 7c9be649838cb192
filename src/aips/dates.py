"""Parsing of the local dates users type (``2024-11-11``) and day arithmetic.

>>> as_date("2024-11-11")
datetime.date(2024, 11, 11)
"""

from __future__ import annotations

import datetime as dt

from aips.exceptions import ConfigError


def as_date(value: str | dt.date | dt.datetime, name: str = "date") -> dt.date:
    """A ``datetime.date`` from a date, a datetime or ISO text ``YYYY-MM-DD``."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value).strip())
    except ValueError:
        raise ConfigError(f"{name} {value!r} is not a date; expected YYYY-MM-DD") from None
