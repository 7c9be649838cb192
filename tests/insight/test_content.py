"""Content insight: hand-worked advance rates, lifts, intervals and incremental effects.

Brand B, advance A -> I, by format, ``within_days`` k = 3, ``horizon_days`` = 10 (events on
local dates in March 2024; "imp" = impression):

====  ==============================  =====  =====  ======  ==========  ===========
user  events                          e      a      adv     window      touched by
====  ==============================  =====  =====  ======  ==========  ===========
u1    imp video 1, read video 3       1      3      yes     1 .. 3      video
u2    imp image 1, read image 6       1      6      yes     3 .. 6      image
u3    imp video 1, imp image 2        1      -      no      1 .. 3      video, image
u4    imp image 1, read image 15      1      15     no (>10) 1 .. 3     image
u5    imp video 2, imp video 9        2      -      no      2 .. 4      video
u6    read image 4 (no impression)    4      4      yes     4 .. 4      image
====  ==============================  =====  =====  ======  ==========  ===========

e = first day at A or above, a = first day at I or above. Advancers' days to advance are
2, 5 and 0, so the typical gap g = 2 and a non-advancer's window ends on e + 2. Windows
start k = 3 days before their end, but never before e.

* video: touched u1, u3, u5 -> 3, advanced 1 -> rate 1/3;
* image: touched u2, u3, u4, u6 -> 4, advanced 2 -> rate 1/2;
* the brand (any format): 6 touched, 3 advanced -> 1/2; lifts 2/3 and 1.

The last event is on day 15, so entries up to day 15 - 10 = 5 are followed for the whole
horizon (all six users).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from insight_helpers import events_table, workspace

from aips.exceptions import ConfigError
from aips.insight.content import parse_advance


def _day(d: int, hour: int = 10) -> str:
    return f"2024-03-{d:02d} {hour:02d}:00"


def _ev(user, d, etype, fmt, note=None, **extra):
    return (user, "B", _day(d), etype, {"content_format": fmt, "note_id": note or f"n-{fmt}", **extra})


EVENTS = [
    _ev("u1", 1, "impression", "video"), _ev("u1", 3, "read", "video", dwell_s=2.0),
    _ev("u2", 1, "impression", "image"), _ev("u2", 6, "read", "image", dwell_s=2.0),
    _ev("u3", 1, "impression", "video"), _ev("u3", 2, "impression", "image"),
    _ev("u4", 1, "impression", "image"), _ev("u4", 15, "read", "image", dwell_s=2.0),
    _ev("u5", 2, "impression", "video"), _ev("u5", 9, "impression", "video"),
    _ev("u6", 4, "read", "image", dwell_s=2.0),
]


@pytest.fixture
def ws(store):
    """On DuckDB and on PySpark."""
    store.write("events", events_table(EVENTS), overwrite=True)
    return workspace(store)


@pytest.fixture
def ws1(duckdb_store):
    """DuckDB only (Spark runs are slow; the hand-worked rates cover it)."""
    duckdb_store.write("events", events_table(EVENTS), overwrite=True)
    return workspace(duckdb_store)


def _wilson(k, n, z=1.959963984540054):
    """The Wilson score interval, written out independently of the module."""
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return centre - half, centre + half


def test_hand_worked_advance_rates(ws):
    out = ws.content_insight("B", "A-I", by="format", within_days=3, horizon_days=10, min_support=4)
    rows = {r["value"]: r for r in out.to_pyarrow().to_pylist()}
    video, image = rows["video"], rows["image"]
    assert (video["touched"], video["advanced"]) == (3, 1)
    assert (image["touched"], image["advanced"]) == (4, 2)
    for r in (video, image):
        assert (r["brand_touched"], r["brand_advanced"], r["brand_rate"]) == (6, 3, 0.5)
        assert (r["cohort"], r["cohort_advanced"], r["typical_days"]) == (6, 3, 2)
        assert (r["advance"], r["from_stage"], r["to_stage"]) == ("A->I", "A", "I")
    assert video["rate"] == pytest.approx(1 / 3) and video["lift"] == pytest.approx(2 / 3)
    assert image["rate"] == pytest.approx(0.5) and image["lift"] == pytest.approx(1.0)
    lo, hi = _wilson(1, 3)
    assert (video["rate_low"], video["rate_high"]) == (pytest.approx(lo), pytest.approx(hi))
    assert (video["lift_low"], video["lift_high"]) == (pytest.approx(lo / 0.5), pytest.approx(hi / 0.5))
    assert image["supported"] and not video["supported"]  # min_support 4
    assert [image["rank"], video["rank"]] == [1, 2]
    assert not image["significant"]


def test_incremental_effects_match_a_regression_on_users(ws1):
    """The linear probability model from aggregates equals least squares on the per-user
    design matrix of the docstring's table (intercept, touched by video, touched by image)."""
    out = ws1.content_insight("B", "A->I", by="format", within_days=3, horizon_days=10, min_support=1)
    got = {r["value"]: r["incremental"] for r in out.to_pyarrow().to_pylist()}
    x = np.array([[1, 1, 0], [1, 0, 1], [1, 1, 1], [1, 0, 1], [1, 1, 0], [1, 0, 1]], dtype=float)
    y = np.array([1, 1, 0, 0, 0, 1], dtype=float)
    beta = np.linalg.lstsq(x, y, rcond=None)[0]
    assert got["video"] == pytest.approx(beta[1]) and got["image"] == pytest.approx(beta[2])


def test_notes_keywords_and_the_strategy_table(ws1, duckdb_store):
    # u7 (imp image 1, read image 3) lifts image to 3/5 against 4/7 on average: lift 1.05
    u7 = [_ev("u7", 1, "impression", "image"), _ev("u7", 3, "read", "image", dwell_s=2.0)]
    duckdb_store.write("events", events_table([*EVENTS, *u7]), overwrite=True)
    strategy = ws1.content_strategy("B", by="format", within_days=3, horizon_days=10, min_support=1)
    best = strategy.to_pyarrow().to_pylist()
    assert [(r["stage"], r["value"], r["touched"], r["advanced"]) for r in best] == [("A", "image", 5, 3)]
    assert best[0]["lift"] == pytest.approx(0.6 / (4 / 7))
    # searches are I signals: u1 and u3 now reach I on day 2, after searching the same term
    extra = events_table([
        *EVENTS,
        ("u1", "B", _day(2, 9), "search", {"keyword": " Lip Tint "}),
        ("u3", "B", _day(2, 9), "search", {"keyword": "lip tint"}),
    ])
    duckdb_store.write("events", extra, overwrite=True)
    out = ws1.content_insight("B", "A->I", by="note,keyword", within_days=3, horizon_days=10, min_support=1)
    rows = {(r["dimension"], r["value"]): r for r in out.to_pyarrow().to_pylist()}
    assert rows[("note", "n-video")]["content_format"] == "video"
    assert (rows[("keyword", "lip tint")]["touched"], rows[("keyword", "lip tint")]["advanced"]) == (2, 2)


def test_parse_advance_and_errors(ws1):
    assert parse_advance("I->TI") == ("I", "TI") and parse_advance(" ti > p ") == ("TI", "P")
    with pytest.raises(ConfigError, match="not a stage advance"):
        parse_advance("TI->I")
    with pytest.raises(ConfigError, match="unknown content dimension"):
        ws1.content_insight("B", "A->I", by="colour")
