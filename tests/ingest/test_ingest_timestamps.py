"""Timestamp rules (aips.ingest.timestamps): forms, zones, ambiguity, DST, epochs, formats."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pyarrow as pa
import pytest

from aips.exceptions import ConfigError
from aips.ingest.timestamps import compile_format, local_dates, parse_dates, parse_timestamps

UTC8 = "Asia/Shanghai"


def _one(value, zone=UTC8, **kw):
    ts, why = parse_timestamps(pa.array([value]), zone, **kw)
    return ts[0].as_py(), why[0].as_py()


@pytest.mark.parametrize(
    ("text", "utc"),
    [
        ("2024-01-02 08:00:00", dt.datetime(2024, 1, 2, 0, 0)),
        ("2024-01-02T08:00", dt.datetime(2024, 1, 2, 0, 0)),
        ("2024-01-02", dt.datetime(2024, 1, 1, 16, 0)),
        ("2024/1/2 8:05:06", dt.datetime(2024, 1, 2, 0, 5, 6)),
        ("2024.01.02 08:00", dt.datetime(2024, 1, 2, 0, 0)),
        ("2024年1月2日 08:00", dt.datetime(2024, 1, 2, 0, 0)),
        ("20240102080000", dt.datetime(2024, 1, 2, 0, 0)),
        ("2024-01-02 08:00:00.123456789", dt.datetime(2024, 1, 2, 0, 0, 0, 123456)),
        ("2024-01-02 08:00 PM", dt.datetime(2024, 1, 2, 12, 0)),
        ("2024-01-02 12:00 am", dt.datetime(2024, 1, 1, 16, 0)),
        ("2024-01-02T00:00:00Z", dt.datetime(2024, 1, 2, 0, 0)),
        ("2024-01-02 00:00:00 UTC", dt.datetime(2024, 1, 2, 0, 0)),
        ("2024-01-02T09:00:00+09:00", dt.datetime(2024, 1, 2, 0, 0)),
        ("2024-01-01 19:00:00-0500", dt.datetime(2024, 1, 2, 0, 0)),
        ("2024-01-02 08:00 UTC+8", dt.datetime(2024, 1, 2, 0, 0)),
        ("13/02/2024 08:00", dt.datetime(2024, 2, 13, 0, 0)),
        ("02/13/2024 08:00", dt.datetime(2024, 2, 13, 0, 0)),
        ("05/05/2024", dt.datetime(2024, 5, 4, 16, 0)),
    ],
)
def test_accepted_forms(text, utc):
    assert _one(text) == (utc, None)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("01/02/2024", "ambiguous timestamp"),
        ("2023-02-29", "unparseable timestamp"),
        ("2024-02-30 10:00", "unparseable timestamp"),
        ("2024-01-02 24:00", "unparseable timestamp"),
        ("2024-01-02 10:60", "unparseable timestamp"),
        ("2024-01-02 13:00 PM", "unparseable timestamp"),
        ("2024-13-01", "unparseable timestamp"),
        ("tomorrow", "unparseable timestamp"),
        ("1704160800", "unparseable timestamp"),
        ("24-01-02", "unparseable timestamp"),
    ],
)
def test_rejected_forms(text, reason):
    assert _one(text) == (None, reason)


def test_nulls_and_blanks_have_no_reason():
    ts, why = parse_timestamps(pa.array([None, "", "  "]), UTC8)
    assert ts.to_pylist() == [None, None, None] and why.to_pylist() == [None, None, None]


def test_dst_fold_and_gap():
    assert _one("2024-03-10 02:30", "America/New_York") == (None, "nonexistent local time")
    assert _one("2024-11-03 01:30", "America/New_York") == (None, "ambiguous timestamp")
    assert _one("2024-11-03 01:30-04:00", "America/New_York") == (
        dt.datetime(2024, 11, 3, 5, 30),
        None,
    )
    assert _one("2024-07-01 12:00", "America/New_York") == (dt.datetime(2024, 7, 1, 16, 0), None)


def test_epoch_units():
    assert _one("1511658000", unit="s") == (dt.datetime(2017, 11, 26, 1, 0), None)
    assert _one("1511658000500", unit="ms") == (dt.datetime(2017, 11, 26, 1, 0, 0, 500000), None)
    assert _one("15e8", unit="s")[1] == "unparseable timestamp"
    assert _one("abc", unit="s") == (None, "unparseable timestamp")
    ts, why = parse_timestamps(pa.array([1511658000, None]), UTC8, unit="s")
    assert ts.to_pylist() == [dt.datetime(2017, 11, 26, 1, 0), None] and why.to_pylist() == [
        None,
        None,
    ]


def test_typed_columns():
    aware = pa.array(
        [dt.datetime(2024, 1, 2, 8, 0, tzinfo=ZoneInfo(UTC8))], pa.timestamp("ms", UTC8)
    )
    naive = pa.array([dt.datetime(2024, 1, 2, 8, 0)], pa.timestamp("s"))
    dates = pa.array([dt.date(2024, 1, 2)])
    assert parse_timestamps(aware, "UTC")[0].to_pylist() == [dt.datetime(2024, 1, 2, 0, 0)]
    assert parse_timestamps(naive, UTC8)[0].to_pylist() == [dt.datetime(2024, 1, 2, 0, 0)]
    assert parse_timestamps(dates, UTC8)[0].to_pylist() == [dt.datetime(2024, 1, 1, 16, 0)]
    assert parse_timestamps(pa.array([1.5]), UTC8)[1].to_pylist() == ["unparseable timestamp"]


def test_formats():
    assert _one("01/02/2024 10:11", fmt="%d/%m/%Y %H:%M") == (dt.datetime(2024, 2, 1, 2, 11), None)
    assert _one("31/02/2024 10:00", fmt="%d/%m/%Y %H:%M")[1] == "unparseable timestamp"
    assert _one("05 Mar 24 1:02 pm", "UTC", fmt="%d %b %y %I:%M %p") == (
        dt.datetime(2024, 3, 5, 13, 2),
        None,
    )
    assert _one("2024-01-02 10:00:00+0100", "UTC", fmt="%Y-%m-%d %T%z") == (
        dt.datetime(2024, 1, 2, 9, 0),
        None,
    )
    assert _one("2024-01-02", fmt="%d/%m/%Y")[1] == "unparseable timestamp"
    with pytest.raises(ConfigError, match="%j is not supported"):
        compile_format("%Y %j")
    with pytest.raises(ConfigError, match="needs a year"):
        compile_format("%H:%M")


def test_local_dates_use_the_model_zone():
    utc = pa.array(
        [dt.datetime(2024, 1, 1, 15, 59), dt.datetime(2024, 1, 1, 16, 0)], pa.timestamp("us")
    )
    assert local_dates(utc, UTC8).to_pylist() == [dt.date(2024, 1, 1), dt.date(2024, 1, 2)]
    assert local_dates(utc, "UTC").to_pylist() == [dt.date(2024, 1, 1), dt.date(2024, 1, 1)]


def test_parse_dates():
    days, bad = parse_dates(pa.array(["2024-01-02", "2024/1/3", "2024-01-02 10:00", "x", None]))
    assert days.to_pylist()[:2] == [dt.date(2024, 1, 2), dt.date(2024, 1, 3)]
    assert bad.to_pylist() == [False, False, True, True, False]
