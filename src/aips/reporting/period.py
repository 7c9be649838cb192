"""The report period and the days derived from it.

``start .. end`` are local dates, both included (default: the last 30 days with data). The
previous period is the same number of days just before it. The flows compare the day
before the period (``t0 = start - 1``) with its last day (``t1 = end``), so that they
describe what happened during the period.

>>> p = Period(dt.date(2025, 12, 1), dt.date(2025, 12, 30))
>>> p.days, p.prev_start.isoformat(), p.prev_end.isoformat(), p.t0.isoformat(), p.t1.isoformat()
(30, '2025-11-01', '2025-11-30', '2025-11-30', '2025-12-30')
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from aips.dates import as_date
from aips.exceptions import AipsError, ConfigError

DEFAULT_DAYS = 30
"""Length of the default period: the last 30 days with data."""


@dataclass(frozen=True)
class Period:
    """A report period ``start .. end`` (local dates, inclusive)."""

    start: dt.date
    end: dt.date

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def prev_end(self) -> dt.date:
        return self.start - dt.timedelta(days=1)

    @property
    def prev_start(self) -> dt.date:
        return self.prev_end - dt.timedelta(days=self.days - 1)

    @property
    def t0(self) -> dt.date:
        """First day of the flows: the day before the period."""
        return self.prev_end

    @property
    def t1(self) -> dt.date:
        """Last day of the flows: the period's last day."""
        return self.end

    def asdict(self) -> dict[str, str]:
        keys = ("start", "end", "prev_start", "prev_end", "t0", "t1")
        return {k: getattr(self, k).isoformat() for k in keys}


def data_range(ws) -> tuple[dt.date | None, dt.date | None]:
    """First and last local day with events (``None, None`` for an empty store):
    :meth:`aips.view.View.date_range` (a Parquet source's from its loads, not a scan)."""
    if not ws.store.has("events"):
        return None, None
    return ws.view.date_range() or (None, None)


def resolve_period(ws, start: Any = None, end: Any = None, days: int = DEFAULT_DAYS) -> Period:
    """The period: ``end`` defaults to the last day with data, ``start`` to ``days - 1`` before it."""
    if end is None:
        last = data_range(ws)[1]
        if last is None:
            raise AipsError(f"the store {ws.store.location} has no events yet (load data first: aips ingest FILE)")
        end_d = last
    else:
        end_d = as_date(end, "--to")
    start_d = as_date(start, "--from") if start is not None else end_d - dt.timedelta(days=days - 1)
    if start_d > end_d:
        raise ConfigError(f"--from {start_d} is after --to {end_d}")
    return Period(start_d, end_d)
