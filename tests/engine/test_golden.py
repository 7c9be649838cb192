"""Hand-worked user-brand histories with the expected level on chosen days.

Each case is one user (named after the case) with a few events given in local time
(Asia/Shanghai) and the level expected on some days, worked out by hand from DESIGN.md
section 2: a window of W days at day d covers d-W+1 .. d; A, I, TI 30 days; P the
category's decision cycle (facial_serum 29, infant_food 70, else 30); S 365 days.
2024 is a leap year (Jan 1 + 69 days = Mar 10; + 364 days = Dec 30).

Every case runs through four engine paths, which must all agree with the expectations
and with the pandas oracle (tests/engine/engine_helpers.py): the snapshot from events, the
snapshot from the stored rollup, the timelines read on each day, and the asset series
(which is compared with the oracle on *every* day of the range).
"""

from __future__ import annotations

import datetime as dt
import textwrap
from functools import reduce

import ibis
import pyarrow as pa
from engine_helpers import D, events_table, oracle_counts, oracle_snapshot

from aips.config.model import default_model, load_model
from aips.engine import asset_series, snapshot, snapshots, timelines
from aips.maintain import COUNTERS_TABLE, refresh_counters

NONE = None
B = "B"

# name -> (events as (brand, local time, type[, extras]), {(brand, day): stage or None})
CASES: dict[str, tuple[list, dict]] = {
    "window_edge_day30_vs_31": (
        [(B, "2024-01-01 10:00", "impression")],
        {(B, "2023-12-31"): NONE, (B, "2024-01-01"): "A", (B, "2024-01-30"): "A",
         (B, "2024-01-31"): NONE},
    ),
    "tz_2330_shanghai_is_same_local_day": (  # 15:30 UTC on Jan 1: still local Jan 1
        [(B, "2024-01-01 23:30", "impression")],
        {(B, "2024-01-01"): "A", (B, "2024-01-30"): "A", (B, "2024-01-31"): NONE},
    ),
    "tz_0030_shanghai_is_next_local_day": (  # 16:30 UTC on Jan 1, but local Jan 2
        [(B, "2024-01-02 00:30", "impression")],
        {(B, "2024-01-01"): NONE, (B, "2024-01-02"): "A", (B, "2024-01-31"): "A",
         (B, "2024-02-01"): NONE},
    ),
    "deep_read_threshold_two": (
        [(B, "2024-01-01 09:00", "read", {"dwell_s": 6.0}),
         (B, "2024-01-11 09:00", "read", {"dwell_s": 8.0})],
        {(B, "2024-01-01"): "I", (B, "2024-01-10"): "I", (B, "2024-01-11"): "TI",
         (B, "2024-01-30"): "TI", (B, "2024-01-31"): "I", (B, "2024-02-09"): "I",
         (B, "2024-02-10"): NONE},
    ),
    "shallow_reads_stay_interest": (
        [(B, "2024-01-01 09:00", "read", {"dwell_s": 2.0, "completion": 0.1}),
         (B, "2024-01-02 09:00", "read", {"dwell_s": 4.9})],
        {(B, "2024-01-02"): "I", (B, "2024-01-31"): "I", (B, "2024-02-01"): NONE},
    ),
    "deep_read_boundaries_dwell5_completion_half": (
        [(B, "2024-01-01 09:00", "read", {"completion": 0.5}),
         (B, "2024-01-01 10:00", "read", {"dwell_s": 5.0})],
        {(B, "2024-01-01"): "TI", (B, "2024-01-30"): "TI", (B, "2024-01-31"): NONE},
    ),
    "search_then_read_within_window": (
        [(B, "2024-01-01 09:00", "search"), (B, "2024-01-25 09:00", "read")],
        {(B, "2024-01-01"): "I", (B, "2024-01-24"): "I", (B, "2024-01-25"): "TI",
         (B, "2024-01-30"): "TI", (B, "2024-01-31"): "I", (B, "2024-02-23"): "I",
         (B, "2024-02-24"): NONE},
    ),
    "collect_is_true_interest": (
        [(B, "2024-01-05 09:00", "collect")],
        {(B, "2024-01-04"): NONE, (B, "2024-01-05"): "TI", (B, "2024-02-03"): "TI",
         (B, "2024-02-04"): NONE},
    ),
    "priority_tie_same_day": (
        [(B, "2024-01-01 09:00", "impression"), (B, "2024-01-01 09:01", "collect"),
         (B, "2024-01-01 09:02", "purchase")],
        {(B, "2024-01-01"): "P", (B, "2024-01-30"): "P", (B, "2024-01-31"): NONE},
    ),
    "purchase_unknown_category_default_cycle": (
        [(B, "2024-01-01 09:00", "purchase", {"category": "garden", "amount": 10.0})],
        {(B, "2024-01-30"): "P", (B, "2024-01-31"): NONE},
    ),
    "purchase_cycle_from_store_categories_table": (  # toys: 10 days in the store's table
        [(B, "2024-01-01 09:00", "purchase", {"category": "toys"})],
        {(B, "2024-01-10"): "P", (B, "2024-01-11"): NONE},
    ),
    "purchase_infant_food_70_days": (  # the YAML's 70 beats the store table's 5
        [(B, "2024-01-01 09:00", "purchase", {"category": "infant_food"})],
        {(B, "2024-02-15"): "P", (B, "2024-03-10"): "P", (B, "2024-03-11"): NONE},
    ),
    "purchase_facial_serum_29_days": (
        [(B, "2024-01-01 09:00", "purchase", {"category": "facial_serum"})],
        {(B, "2024-01-29"): "P", (B, "2024-01-30"): NONE},
    ),
    "post_keeps_share_365_days": (
        [(B, "2024-01-01 09:00", "post")],
        {(B, "2024-06-01"): "S", (B, "2024-12-30"): "S", (B, "2024-12-31"): NONE},
    ),
    "share_beats_purchase": (
        [(B, "2024-01-01 09:00", "purchase", {"category": "infant_food"}),
         (B, "2024-01-02 09:00", "post")],
        {(B, "2024-01-01"): "P", (B, "2024-01-02"): "S", (B, "2024-03-10"): "S"},
    ),
    "downgrade_ti_to_a_then_none": (
        [(B, "2024-01-01 09:00", "collect"), (B, "2024-01-20 09:00", "impression")],
        {(B, "2024-01-30"): "TI", (B, "2024-01-31"): "A", (B, "2024-02-18"): "A",
         (B, "2024-02-19"): NONE},
    ),
    "two_brands_are_independent": (
        [("X", "2024-01-01 09:00", "read"), ("Y", "2024-01-01 09:00", "impression")],
        {("X", "2024-01-01"): "I", ("Y", "2024-01-01"): "A", ("X", "2024-01-31"): NONE},
    ),
    "like_and_follow_are_interest": (
        [(B, "2024-01-01 09:00", "like"), (B, "2024-01-15 09:00", "follow")],
        {(B, "2024-01-01"): "I", (B, "2024-02-13"): "I", (B, "2024-02-14"): NONE},
    ),
    "uncounted_event_type_gives_no_level": (
        [(B, "2024-01-01 09:00", "live_watch")],
        {(B, "2024-01-01"): NONE},
    ),
    "purchase_ends_back_to_interest": (
        [(B, "2024-01-01 09:00", "purchase"), (B, "2024-01-20 09:00", "read")],
        {(B, "2024-01-30"): "P", (B, "2024-01-31"): "I", (B, "2024-02-18"): "I",
         (B, "2024-02-19"): NONE},
    ),
    "spu_mixed": (  # spu-level expectations in SPU_EXPECT
        [(B, "2024-01-01 09:00", "collect", {"spu": "s1"}),
         (B, "2024-01-05 09:00", "impression", {"spu": "s2"}),
         (B, "2024-01-10 09:00", "purchase")],
        {(B, "2024-01-01"): "TI", (B, "2024-01-05"): "TI", (B, "2024-01-10"): "P",
         (B, "2024-02-08"): "P", (B, "2024-02-09"): NONE},
    ),
}
SPU_EXPECT = {  # user spu_mixed at SPU level: the purchase has no SPU and counts nowhere
    ("s1", "2024-01-01"): "TI", ("s1", "2024-01-30"): "TI", ("s1", "2024-01-31"): NONE,
    ("s2", "2024-01-05"): "A", ("s2", "2024-02-03"): "A", ("s2", "2024-02-04"): NONE,
    ("s1", "2024-01-10"): "TI", ("s2", "2024-01-10"): "A",
}


def _all_events():
    rows = []
    for name, (events, _) in CASES.items():
        rows += [(name, *ev) for ev in events]
    return events_table(rows)


def _engine_views(store, model, events: pa.Table, days: list[dt.date], level: str):
    """{path: {(user, *entity, day): stage}} from every engine path, plus series and timelines."""
    store.write("events", events, overwrite=True)
    ev = store.table("events")
    cats = store.table("categories") if store.has("categories") else None
    ent = ["brand"] if level == "brand" else ["spu", "brand"]
    refresh_counters(store, model)
    rollup = store.table(COUNTERS_TABLE)
    one_day = days[len(days) // 2]
    parts = [
        snapshots(ev, model, days, level=level, categories=cats).mutate(path=ibis.literal("events")),
        snapshots(rollup, model, days, level=level, categories=cats).mutate(path=ibis.literal("rollup")),
        snapshot(ev, model, one_day, level=level, categories=cats).mutate(
            day=ibis.literal(one_day), path=ibis.literal("single")),
    ]
    rows = reduce(lambda a, b: a.union(b), parts).to_pyarrow().to_pylist()
    views = {f"snapshot({p})": {} for p in ("events", "rollup")}
    single = {}
    for r in rows:
        key = (r["user_id"], *[r[c] for c in ent], r["day"])
        (single if r["path"] == "single" else views[f"snapshot({r['path']})"])[key] = r["stage"]
    assert single == {k: v for k, v in views["snapshot(events)"].items() if k[-1] == one_day}
    tl = timelines(ev, model, level=level, categories=cats).to_pyarrow().to_pylist()
    views["timelines"] = {
        (r["user_id"], *[r[c] for c in ent], d): r["stage"]
        for r in tl for d in days if r["start_date"] <= d <= r["end_date"]
    }
    series = asset_series(rollup, model, min(days), max(days),
                          level=level, categories=cats).to_pyarrow().to_pylist()
    return views, series, tl


def _check(store, model, events, days, level, cycles=None):
    views, series, tl = _engine_views(store, model, events, days, level)
    oracle = {}
    for d in days:
        oracle.update({(*k, d): s for k, s in oracle_snapshot(events, model, d, level, cycles).items()})
    for path, got in views.items():
        assert got == oracle, f"{path} differs from the oracle: {sorted(set(got.items()) ^ set(oracle.items()))[:6]}"
    # the series must equal per-day snapshots on every day of the range
    ent = ("brand",) if level == "brand" else ("spu", "brand")
    got_counts: dict = {}
    for r in series:
        got_counts.setdefault(r["date"], {})
        if r["users"]:
            got_counts[r["date"]][(*[r[c] for c in ent], r["stage"])] = r["users"]
    day = min(days)
    while day <= max(days):
        assert got_counts.get(day, {}) == oracle_counts(events, model, day, level, cycles), day
        day += dt.timedelta(days=1)
    # intervals are maximal and disjoint per pair
    by_pair: dict = {}
    for r in tl:
        by_pair.setdefault((r["user_id"], *[r[c] for c in ent]), []).append(r)
    for rows in by_pair.values():
        rows.sort(key=lambda r: r["start_date"])
        for a, b in zip(rows, rows[1:], strict=False):
            assert a["end_date"] < b["start_date"]
            assert not (a["end_date"] + dt.timedelta(days=1) == b["start_date"] and a["stage"] == b["stage"])
    return oracle


STORE_CATEGORIES = {"toys": 10, "infant_food": 5}
"""The store's ``categories`` table in the brand-level run (the YAML wins for infant_food)."""


def test_hand_worked_histories_brand_level(store):
    model = default_model()
    store.write("categories", pa.table({"category": list(STORE_CATEGORIES),
                                        "decision_cycle_days": pa.array(list(STORE_CATEGORIES.values()), pa.int64())}))
    expected = {(name, brand, D(day)): stage
                for name, (_, exp) in CASES.items() for (brand, day), stage in exp.items()}
    days = sorted({k[2] for k in expected})
    oracle = _check(store, model, _all_events(), days, "brand", cycles=STORE_CATEGORIES)
    for key, stage in expected.items():
        assert oracle.get(key) == stage, f"{key}: hand-worked {stage}, oracle {oracle.get(key)}"


def test_hand_worked_histories_spu_level(store):
    model = default_model()
    expected = {("spu_mixed", spu, B, D(day)): stage for (spu, day), stage in SPU_EXPECT.items()}
    days = sorted({k[3] for k in expected})
    oracle = _check(store, model, _all_events(), days, "spu")
    for key, stage in expected.items():
        assert oracle.get(key) == stage, f"{key}: hand-worked {stage}, oracle {oracle.get(key)}"
    assert all(k[0] == "spu_mixed" for k in oracle)  # only that case has SPUs


CUSTOM = textwrap.dedent("""
    counters:
      impression: {events: [impression], window: 30}
      read: {events: [read], window: 30}
      spend: {events: [purchase], sum: amount, window: 30}
      post: {events: [post], window: 365}
    stages:
      S: {rule: "post >= 1"}
      P: {rule: "spend >= 100", window: 14}
      TI: {rule: "read >= 3", window: 7}
      I: {rule: "read >= 1"}
      A: {rule: "impression >= 2", window: 3}
""")


def test_custom_model_sums_and_stage_windows(store, tmp_path):
    """Sum counters, stage windows overriding counter windows, thresholds > 1."""
    path = tmp_path / "aips.yaml"
    path.write_text(CUSTOM)
    model = load_model(path)
    events = events_table([
        ("buyer", B, "2024-01-01 09:00", "purchase", {"amount": 60.0}),
        ("buyer", B, "2024-01-10 09:00", "purchase", {"amount": 50.0}),
        ("buyer", B, "2024-01-11 09:00", "purchase", {"amount": None}),
        ("reader", B, "2024-01-01 09:00", "read"),
        ("reader", B, "2024-01-03 09:00", "read"),
        ("reader", B, "2024-01-07 09:00", "read"),
        ("viewer", B, "2024-01-01 09:00", "impression"),
        ("viewer", B, "2024-01-03 09:00", "impression"),
    ])
    expected = {
        ("buyer", D("2024-01-09")): NONE, ("buyer", D("2024-01-10")): "P",
        ("buyer", D("2024-01-14")): "P", ("buyer", D("2024-01-15")): NONE,
        ("reader", D("2024-01-06")): "I", ("reader", D("2024-01-07")): "TI",
        ("reader", D("2024-01-08")): "I", ("reader", D("2024-02-05")): "I",
        ("reader", D("2024-02-06")): NONE,
        ("viewer", D("2024-01-02")): NONE, ("viewer", D("2024-01-03")): "A",
        ("viewer", D("2024-01-04")): NONE,
    }
    days = sorted({d for _, d in expected})
    oracle = _check(store, model, events, days, "brand")
    for (user, day), stage in expected.items():
        assert oracle.get((user, B, day)) == stage, (user, day)
