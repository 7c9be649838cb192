"""The simulated calendar: activity by day (weekdays, festival ramps) and campaign flights."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import numpy as np

from aips.simulate.params import SimulationParams


def calendar(p: SimulationParams) -> tuple[int, list[str], np.ndarray, np.ndarray, list[int]]:
    """Local midnight of day 0 (epoch s), ISO dates, activity and purchase-boost factors by
    day, and the festival peaks within the horizon (day indices)."""
    start = dt.date.fromisoformat(p.start_date)
    tz = ZoneInfo(p.timezone)
    origin = int(dt.datetime(start.year, start.month, start.day, tzinfo=tz).timestamp())
    days = [start + dt.timedelta(days=i) for i in range(p.days)]
    factor = np.array([p.weekday_activity[d.weekday()] for d in days], dtype=float)
    boost = np.ones(p.days)
    peaks = []
    for fest in p.festivals:
        for year in {d.year for d in days} | {days[-1].year + 1}:
            try:
                peak = dt.date(year, *fest.month_day)
            except ValueError:
                continue
            if days[0] <= peak <= days[-1]:
                peaks.append((peak - days[0]).days)
            for i, d in enumerate(days):
                lag = (peak - d).days
                if 0 <= lag <= fest.ramp_days:
                    ramp = 1 + (fest.peak_activity - 1) * (1 - lag / max(fest.ramp_days, 1)) ** 2
                    factor[i] *= ramp
                    boost[i] = max(boost[i], fest.purchase_boost if lag <= 3 else 1.15)
    return origin, [d.isoformat() for d in days], factor, boost, sorted(peaks)


def flights(rng, p: SimulationParams, channel: str, festival_days: list[int]) -> list[tuple[int, int]]:
    """A brand's flights of ``channel`` as (first day, last day) pairs, in start order."""
    ch = p.channels[channel]
    if channel == "search_ad":
        length = max(ch.flight_days[0], 1)
        return [(s, min(s + length, p.days) - 1) for s in range(0, p.days, length)]
    if ch.flights_per_90_days <= 0:
        return []
    n = max(1, int(round(ch.flights_per_90_days * p.days / 90)))
    out = []
    for i in range(n):
        length = int(min(rng.integers(ch.flight_days[0], ch.flight_days[1] + 1), p.days))
        if channel == "feed_ad" and i == 0 and festival_days:
            start = max(0, festival_days[0] - length + 1)
        else:
            start = int(rng.integers(0, p.days - length + 1))
        out.append((start, start + length - 1))
    return sorted(out)
