"""Hand-worked funnels: orders, window edges, exclusions, repeated tries, breakdown
attribution, conversion times in seconds, date range, user lists.

Every expected number below is worked out by hand from the semantics in
``aips.engine.funnel`` (PostHog's), in the comments next to the data. Every case runs on every
backend; ``test_every_backend`` also checks the orders, exclusions and a breakdown in one
union query.
"""

from __future__ import annotations

import datetime as dt

import ibis
import pyarrow as pa
import pytest
from outcomes_helpers import T0, D, H, ev, rows_of, write_events

from aips.engine.funnel import (
    Exclusion,
    FunnelSpec,
    funnel_counts,
    funnel_user_list,
    funnel_users,
    parse_window,
)
from aips.exceptions import ConfigError

STEPS = ("read", "collect", "purchase")
W14 = parse_window("14d")

ORDER_LOG = [
    # u1: read, like, collect, purchase -- ordered 3 (2h, 1h); strict breaks at like: 1
    ev("u1", T0, "read"), ev("u1", T0 + H, "like"), ev("u1", T0 + 2 * H, "collect"),
    ev("u1", T0 + 3 * H, "purchase"),
    # u2: collect, read, purchase -- ordered/strict 1; unordered 3 (1h, 1h)
    ev("u2", T0, "collect"), ev("u2", T0 + H, "read"), ev("u2", T0 + 2 * H, "purchase"),
    # u3: purchase 15 days after read: outside the window -> 2
    ev("u3", T0, "read"), ev("u3", T0 + H, "collect"), ev("u3", T0 + 15 * D, "purchase"),
    # u4: purchase exactly 14 days after read: the window edge is inside -> 3 (1h, 14d - 1h)
    ev("u4", T0, "read"), ev("u4", T0 + H, "collect"), ev("u4", T0 + 14 * D, "purchase"),
    # u5: only a purchase: not in ordered/strict funnels; unordered: 1 step
    ev("u5", T0, "purchase"),
]


def _reached(store, events, spec, **kw):
    return {r["user_id"]: r for r in rows_of(store, funnel_users(events, spec, **kw), "user_id")}


def _counts(store, per_user, n):
    return rows_of(store, funnel_counts(per_user, n))[0]


def test_orders_window_edge_and_conversion_times(store):
    events = write_events(store, ORDER_LOG)
    ordered = funnel_users(events, FunnelSpec(STEPS, W14))
    c = _counts(store, ordered, 3)
    assert [c["count_0"], c["count_1"], c["count_2"]] == [4, 3, 2]
    # read -> collect over u1 (7200), u3 (3600), u4 (3600)
    assert c["avg_s_1"] == pytest.approx(4800) and c["median_s_1"] == pytest.approx(3600)
    # collect -> purchase over u1 (3600) and u4 (14 d - 1 h = 1206000)
    assert c["avg_s_2"] == pytest.approx((3600 + 1206000) / 2)
    assert c["median_s_2"] == pytest.approx((3600 + 1206000) / 2)
    got = _reached(store, events, FunnelSpec(STEPS, W14))
    assert {u: r["reached"] for u, r in got.items()} == {"u1": 3, "u2": 1, "u3": 2, "u4": 3}
    assert (got["u4"]["conv_s_1"], got["u4"]["conv_s_2"]) == (3600, 14 * 86400 - 3600)

    strict = _reached(store, events, FunnelSpec(STEPS, W14, "strict"))
    assert {u: r["reached"] for u, r in strict.items()} == {"u1": 1, "u2": 1, "u3": 2, "u4": 3}

    unordered = _reached(store, events, FunnelSpec(STEPS, W14, "unordered"))
    assert {u: r["reached"] for u, r in unordered.items()} == {"u1": 3, "u2": 3, "u3": 2, "u4": 3, "u5": 1}
    assert (unordered["u2"]["conv_s_1"], unordered["u2"]["conv_s_2"]) == (3600, 3600)


def test_repeated_tries_and_attempt_choice(store):
    rows = [
        # first try stalls (purchase 22 days later is out of its window); the second converts
        ev("a", T0, "read"), ev("a", T0 + D, "collect"),
        ev("a", T0 + 20 * D, "read"), ev("a", T0 + 21 * D, "collect"), ev("a", T0 + 22 * D, "purchase"),
        # two reads before one collect: the conversion time runs from the latest read (1 h)
        ev("b", T0, "read"), ev("b", T0 + 5 * H, "read"), ev("b", T0 + 6 * H, "collect"),
        # repeated step types: read, read, collect needs two distinct reads
        ev("c", T0, "read"), ev("c", T0 + H, "collect"),
        # simultaneous steps convert (events at the same instant are taken in step order)
        ev("d", T0, "collect"), ev("d", T0, "read"),
    ]
    events = write_events(store, rows)
    got = _reached(store, events, FunnelSpec(STEPS, W14))
    assert (got["a"]["reached"], got["a"]["conv_s_1"], got["a"]["conv_s_2"]) == (3, 86400, 86400)
    assert (got["b"]["reached"], got["b"]["conv_s_1"]) == (2, 3600)
    assert (got["d"]["reached"], got["d"]["conv_s_1"]) == (2, 0)
    twice = _reached(store, events, FunnelSpec(("read", "read", "collect"), W14))
    assert twice["b"]["reached"] == 3 and (twice["b"]["conv_s_1"], twice["b"]["conv_s_2"]) == (5 * 3600, 3600)
    assert twice["c"]["reached"] == 1


def test_exclusions(store):
    rows = [
        ev("a", T0, "read"), ev("a", T0 + H, "collect"), ev("a", T0 + 2 * H, "share"), ev("a", T0 + 3 * H, "purchase"),
        ev("b", T0, "read"), ev("b", T0 + H, "share"), ev("b", T0 + 2 * H, "collect"), ev("b", T0 + 3 * H, "purchase"),
        ev("c", T0, "read"), ev("c", T0 + H, "collect"), ev("c", T0 + 2 * H, "purchase"), ev("c", T0 + 3 * H, "share"),
        ev("d", T0, "read"), ev("d", T0 + H, "collect"), ev("d", T0 + 2 * H, "share"),
        ev("e", T0, "read"), ev("e", T0 + H, "collect"), ev("e", T0 + 2 * H, "share"),
        ev("e", T0 + 3 * H, "read"), ev("e", T0 + 4 * H, "collect"), ev("e", T0 + 5 * H, "purchase"),
        ev("f", T0, "read"), ev("f", T0 + D, "collect"), ev("f", T0 + 20 * D, "share"),
    ]
    events = write_events(store, rows)
    between = FunnelSpec(STEPS, W14, exclusions=(Exclusion("share", 1, 2),))
    got = _reached(store, events, between)
    # a: share between collect and purchase -> dropped from every step
    # b: share before collect (not between steps 1 and 2) -> 3
    # c: share after the conversion -> 3
    # d: share after collect, no purchase -> dropped
    # e: the second try has no share between its collect and purchase -> 3
    # f: the share comes after the window -> 2
    assert {u: r["reached"] for u, r in got.items()} == {"b": 3, "c": 3, "e": 3, "f": 2}
    assert (got["e"]["conv_s_1"], got["e"]["conv_s_2"]) == (3600, 3600)
    whole = _reached(store, events, FunnelSpec(STEPS, W14, exclusions=(Exclusion("share"),)))
    assert {u: r["reached"] for u, r in whole.items()} == {"c": 3, "e": 3, "f": 2}
    strict = _reached(store, events, FunnelSpec(STEPS, W14, "strict", (Exclusion("share", 1, 2),)))
    # strict: a and d are dropped (share breaks right after collect), e converts
    assert {u: r["reached"] for u, r in strict.items()} == {"b": 1, "c": 3, "e": 3, "f": 2}



M = dt.timedelta(minutes=1)


def test_an_excluded_attempt_keeps_its_furthest_step(store):
    """Issue 15 item 3, PostHog's slots: the excluded attempt's next step is still its
    furthest step, marked; only an attempt reaching at least as far rescues the user."""
    rows = [
        # p: read, share, collect, then read again: the excluded attempt got to step 1 (collect),
        # the later read only to step 0 -> dropped (aips used to count p at step 0)
        ev("p", T0, "read"), ev("p", T0 + M, "share"), ev("p", T0 + 2 * M, "collect"), ev("p", T0 + 3 * M, "read"),
        # q: same, then a clean collect: reaches step 1 as far as the excluded one -> 2 (1 min)
        ev("q", T0, "read"), ev("q", T0 + M, "share"), ev("q", T0 + 2 * M, "collect"), ev("q", T0 + 3 * M, "read"),
        ev("q", T0 + 4 * M, "collect"),
        # r: read, share (no collect), read: the excluded attempt stays at step 0, the later
        # read's attempt also reaches step 0 and is clean -> 1
        ev("r", T0, "read"), ev("r", T0 + M, "share"), ev("r", T0 + 3 * M, "read"),
        # s: the clean attempt converts -> 3 (collect 1 min after its read, purchase 2 min later)
        ev("s", T0, "read"), ev("s", T0 + M, "share"), ev("s", T0 + 2 * M, "collect"), ev("s", T0 + 3 * M, "read"),
        ev("s", T0 + 4 * M, "collect"), ev("s", T0 + 6 * M, "purchase"),
        # t: a share tied with a read that is also a step event: PostHog ignores exclusions in a
        # group of simultaneous events of different kinds -> 3
        ev("t", T0, "read"), ev("t", T0 + M, "share"), ev("t", T0 + M, "collect"), ev("t", T0 + 2 * M, "purchase"),
    ]
    events = write_events(store, rows)
    for order in ("ordered", "strict"):
        got = _reached(store, events, FunnelSpec(STEPS, W14, order, (Exclusion("share"),)))
        if order == "ordered":
            assert {u: r["reached"] for u, r in got.items()} == {"q": 2, "r": 1, "s": 3, "t": 3}
            assert (got["q"]["conv_s_1"], got["s"]["conv_s_1"], got["s"]["conv_s_2"]) == (60, 60, 120)
        else:  # strict: the share stops the attempt at step 0; p's later read is clean
            assert {u: r["reached"] for u, r in got.items()} == {"p": 1, "q": 2, "r": 1, "s": 3, "t": 3}


def test_strict_ties_and_repeats(store):
    """Issue 15 item 4: simultaneous events of different kinds are taken by step, without the
    strict order's reset (PostHog's ``processing_multiple_events``)."""
    rows = [
        # a: read 10:00, collect 10:20, read and purchase both at 10:40 -> 3 (20 min, 20 min)
        ev("a", T0, "read"), ev("a", T0 + 20 * M, "collect"), ev("a", T0 + 40 * M, "read"), ev("a", T0 + 40 * M, "purchase"),
        # b: a like tied with collect does not break the order -> 3
        ev("b", T0, "read"), ev("b", T0 + M, "collect"), ev("b", T0 + M, "like"), ev("b", T0 + 2 * M, "purchase"),
        # c: a like on its own breaks it -> 2
        ev("c", T0, "read"), ev("c", T0 + M, "collect"), ev("c", T0 + 2 * M, "like"), ev("c", T0 + 3 * M, "purchase"),
        # d: a second collect keeps the attempt at its step (PostHog keeps the slots the event
        # matches) -> 3
        ev("d", T0, "read"), ev("d", T0 + M, "collect"), ev("d", T0 + 2 * M, "collect"), ev("d", T0 + 3 * M, "purchase"),
        # e: read and collect at the same instant, then purchase: 3 (0 s, 1 min)
        ev("e", T0, "read"), ev("e", T0, "collect"), ev("e", T0 + M, "purchase"),
    ]
    events = write_events(store, rows)
    got = _reached(store, events, FunnelSpec(STEPS, W14, "strict"))
    assert {u: r["reached"] for u, r in got.items()} == {"a": 3, "b": 3, "c": 2, "d": 3, "e": 3}
    assert (got["a"]["conv_s_1"], got["a"]["conv_s_2"]) == (1200, 1200)
    assert (got["e"]["conv_s_1"], got["e"]["conv_s_2"]) == (0, 60)

def test_breakdown_attribution(store):
    rows = [
        ev("u1", T0, "read"), ev("u1", T0 + H, "read", channel="kol_note"),
        ev("u1", T0 + 2 * H, "collect", channel="feed_ad"), ev("u1", T0 + 3 * H, "purchase", channel="search_ad"),
        ev("u1", T0 + 4 * H, "like", channel="organic"),  # not a step: never attributed
        ev("u2", T0, "read", channel="organic"), ev("u2", T0 + H, "collect", channel=""),
    ]
    events = write_events(store, rows)
    spec = FunnelSpec(STEPS, W14)

    def values(attribution):
        got = _reached(store, events, spec, breakdown="channel", attribution=attribution)
        return {u: r["value"] for u, r in got.items()}

    assert values("first_touch") == {"u1": "kol_note", "u2": "organic"}
    assert values("last_touch") == {"u1": "search_ad", "u2": "organic"}
    assert values("step_1") == {"u1": "feed_ad", "u2": None}
    per_user = funnel_users(events, spec, breakdown="channel")
    split = {r["value"]: [r["count_0"], r["count_1"], r["count_2"]] for r in rows_of(store, funnel_counts(per_user, 3, by="value"))}
    assert split == {"kol_note": [1, 1, 1], "organic": [1, 1, 0]}
    users = store.write("users", pa.table({"user_id": ["u1", "u2"], "holdout": [False, False], "gender": ["F", "M"]}), overwrite=True)
    got = _reached(store, events, spec, breakdown="gender", users=users)
    assert {u: r["value"] for u, r in got.items()} == {"u1": "F", "u2": "M"}


def test_date_range_brand_seconds_and_user_lists(store):
    day = T0.date()
    rows = [
        # before the range: its read cannot start an attempt
        ev("a", T0 - 2 * D, "read"), ev("a", T0 + H, "collect"),
        # read on the last day of the range, collect after the range (within the window): 2
        ev("b", T0 + 2 * D, "read"), ev("b", T0 + 4 * D, "collect"),
        # sub-second timestamps: conversion times keep the sub-second part (PostHog's too)
        ev("c", T0 + dt.timedelta(microseconds=900_000), "read"),
        ev("c", T0 + dt.timedelta(seconds=2, microseconds=100_000), "collect"),
        # another brand's events are out of scope with brand="b"
        ev("d", T0, "read", brand="other"), ev("d", T0 + H, "collect", brand="other"),
    ]
    events = write_events(store, rows)
    spec = FunnelSpec(STEPS, W14, start=day, end=day + dt.timedelta(days=2), brand="b")
    got = _reached(store, events, spec)
    assert {u: r["reached"] for u, r in got.items()} == {"b": 2, "c": 2}
    assert got["c"]["conv_s_1"] == pytest.approx(1.2, abs=1e-9)
    per_user = funnel_users(events, spec)
    assert [r["user_id"] for r in rows_of(store, funnel_user_list(per_user, 1), "user_id")] == ["b", "c"]
    assert rows_of(store, funnel_user_list(per_user, 2, "dropped"), "user_id") == [{"user_id": "b"}, {"user_id": "c"}]


def test_every_backend(store):
    """One union query: ordered with a breakdown, strict with an exclusion, unordered."""
    rows = list(ORDER_LOG) + [
        ev("x1", T0, "read", channel="kol_note"), ev("x1", T0 + H, "collect"),
        ev("x1", T0 + 2 * H, "share"), ev("x1", T0 + 3 * H, "purchase"),
        ev("x2", T0, "read", channel="feed_ad"), ev("x2", T0 + H, "collect", channel="organic"),
    ]
    events = write_events(store, rows)
    specs = {
        "ordered": (FunnelSpec(STEPS, W14), {"breakdown": "channel", "attribution": "last_touch"}),
        "strict": (FunnelSpec(STEPS, W14, "strict", (Exclusion("share", 1, 2),)), {}),
        "unordered": (FunnelSpec(STEPS, W14, "unordered"), {}),
    }
    parts = []
    for name, (spec, kw) in specs.items():
        t = funnel_users(events, spec, **kw)
        value = t.value if "breakdown" in kw else ibis.null("string")
        parts.append(t.select("user_id", "reached", "conv_s_1", "conv_s_2", value=value, spec=ibis.literal(name)))
    got = {}
    for r in rows_of(store, ibis.union(*parts), "spec", "user_id"):
        got.setdefault(r["spec"], {})[r["user_id"]] = (r["reached"], r["conv_s_1"], r["conv_s_2"], r["value"])
    assert got["ordered"] == {
        "u1": (3, 7200, 3600, None), "u2": (1, None, None, None), "u3": (2, 3600, None, None),
        "u4": (3, 3600, 14 * 86400 - 3600, None), "x1": (3, 3600, 7200, "kol_note"),
        "x2": (2, 3600, None, "organic"),  # last touch: the latest step event with a value
    }
    # strict: x1's share right after collect drops it
    assert {u: v[0] for u, v in got["strict"].items()} == {"u1": 1, "u2": 1, "u3": 2, "u4": 3, "x2": 2}
    assert {u: v[0] for u, v in got["unordered"].items()} == {
        "u1": 3, "u2": 3, "u3": 2, "u4": 3, "u5": 1, "x1": 3, "x2": 2,
    }


def test_empty_funnel(store):
    events = write_events(store, [ev("u", T0, "like")])
    c = _counts(store, funnel_users(events, FunnelSpec(STEPS, W14)), 3)
    assert (c["count_0"], c["count_2"], c["avg_s_1"]) == (0, 0, None)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"exclusions": (Exclusion("read"),)}, "also a step"),
        ({"exclusions": (Exclusion("share", 2, 1),)}, "FROM < TO"),
        ({"order": "unordered", "exclusions": (Exclusion("share", 0, 1),)}, "whole-funnel"),
        ({"order": "sideways"}, "unknown funnel order"),
    ],
)
def test_spec_validation(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        FunnelSpec(STEPS, W14, **kwargs)


def test_window_and_exclusion_parsing():
    assert parse_window("2h") == 7200 and parse_window("30m") == 1800 and parse_window("45s") == 45
    assert Exclusion.parse("share") == Exclusion("share") and Exclusion.parse("cart:0-2") == Exclusion("cart", 0, 2)
    for bad in ("14", "2w", "-1d", "0d"):
        with pytest.raises(ConfigError):
            parse_window(bad)
    with pytest.raises(ConfigError):
        Exclusion.parse("share:1")
