"""Journey building and path aggregation in the backend: hand-derived, on DuckDB and Spark."""

from __future__ import annotations

import datetime as dt

import ibis
import pyarrow as pa
import pytest
from attribution_helpers import JOURNEY_LOG, JOURNEY_PATHS, events_table

from aips.config.model import default_model
from aips.engine import paths as P
from aips.store.cache import cached


def _rows(table: ibis.Table) -> dict[str, tuple]:
    out = {}
    for r in table.to_pyarrow().to_pylist():
        out[r["path"]] = (r["conversions"], round(r["value"], 9), r["nulls"])
    return out


@pytest.fixture
def events(duckdb_store):
    duckdb_store.write("events", events_table(JOURNEY_LOG), overwrite=True)
    return duckdb_store.table("events")


def test_paths_hand_derived_on_every_backend(store):
    """One query per backend (Spark is slow): paths, counts, values and decay weights."""
    store.write("events", events_table(JOURNEY_LOG), overwrite=True)
    table = P.build_paths(store.table("events"), lookback=7, half_life=1.0)
    rows = {r["path"]: r for r in table.to_pyarrow().to_pylist()}
    assert {k: (r["conversions"], round(r["value"], 9), r["nulls"]) for k, r in rows.items()} == JOURNEY_PATHS
    # lags 2, 1, 1 days -> weights 1/4, 1/2, 1/2 -> 0.2, 0.4, 0.4
    assert rows["feed_ad > kol_note > kol_note"]["decay"] == pytest.approx([0.2, 0.4, 0.4])
    assert rows["feed_ad > kol_note > kol_note"]["decay_value"] == pytest.approx([20.0, 40.0, 40.0])
    assert rows["organic"]["decay"] == pytest.approx([1.0])
    assert rows["feed_ad"]["decay"] is None  # no converting journey
    assert list(rows) == sorted(rows)  # ordered by path


def test_transforms_and_labels(events):
    collapsed = _rows(P.build_paths(events, lookback=7, transform="collapse"))
    assert collapsed["feed_ad > kol_note"] == (1, 100.0, 0)
    first = _rows(P.build_paths(events, lookback=7, transform=["first"]))
    assert first["feed_ad > kol_note"] == (1, 100.0, 0)
    no_org = _rows(P.build_paths(events, lookback=7, transform="drop_organic"))
    # u1's second journey loses its only touch; u2's journey disappears
    assert no_org == {"": (3, 100.0, 0), "feed_ad": (0, 0.0, 1),
                      "feed_ad > kol_note > kol_note": (1, 100.0, 0)}
    by_campaign = _rows(P.build_paths(events, lookback=7, by="campaign"))
    assert by_campaign["c-feed > c-kol > c-kol"] == (1, 100.0, 0)
    assert by_campaign["organic"] == (1, 50.0, 1)  # no campaign: labelled by its channel
    by_creator = _rows(P.build_paths(events, lookback=7, by="creator"))
    assert by_creator["feed_ad > K1 > K1"] == (1, 100.0, 0)


def test_longer_lookback(events):
    # a 30-day lookback keeps u4's touch and u2's first touch
    wide = _rows(P.build_paths(events, lookback=30))
    assert wide["search_ad"] == (1, 20.0, 0)
    assert wide["organic > organic"] == (0, 0.0, 1)


def test_stage_target_counts_the_whole_day(events):
    timeline = ibis.memtable(pa.table({
        "user_id": ["u1", "u1", "u2"], "brand": ["b"] * 3,
        "start_date": [dt.date(2024, 1, 1), dt.date(2024, 1, 2), dt.date(2024, 1, 1)],
        "end_date": [dt.date(2024, 1, 1), dt.date(2024, 1, 31), dt.date(2024, 1, 31)],
        "stage": ["A", "I", "A"]}))
    conv = P.stage_conversions(timeline, "I")
    rows = _rows(P.build_paths(events, target="I", conversions=conv, lookback=7))
    # u1 reached I on Jan 2: both Jan 2 touches count; u1 converted once, so no null journey
    # u4's only touch (Jan 1) is outside the 7 days before the last day: no journey
    assert rows == {"feed_ad > kol_note > kol_note": (1, 0.0, 0), "organic": (0, 0.0, 1)}


def test_default_lookback_is_the_category_cycle(duckdb_store):
    log = [("u", "b", "2024-01-01 10:00", "impression", "feed_ad", {"category": "lipstick"}),
           ("u", "b", "2024-01-20 10:00", "purchase", None, {"category": "lipstick", "amount": 1.0})]
    duckdb_store.write("events", events_table(log))
    ev = duckdb_store.table("events")
    model = default_model().with_overrides(categories={"lipstick": 14})
    assert _rows(P.build_paths(ev, model)) == {"": (1, 1.0, 0)}  # Jan 1 is before Jan 7
    assert _rows(P.build_paths(ev, model.with_overrides(categories={"lipstick": 30}))) == {
        "feed_ad": (1, 1.0, 0)}


CHAIN_LOG = [
    # u1: aware by a feed ad, I by reading it, TI by collecting an organic note, buys
    ("u1", "b", "2024-01-01 10:00", "impression", "feed_ad"),
    ("u1", "b", "2024-01-01 11:00", "read", "feed_ad"),
    ("u1", "b", "2024-01-03 10:00", "impression", "organic"),
    ("u1", "b", "2024-01-04 11:00", "collect", "organic"),
    ("u1", "b", "2024-01-05 10:00", "purchase", None, {"amount": 80.0}),
    # u2: one organic impression, nothing else (a later one is outside its window)
    ("u2", "b", "2024-01-02 10:00", "impression", "organic"),
    ("u2", "b", "2024-01-02 12:00", "impression", "feed_ad"),
    # u3: I by reading a KOL note, then stalls
    ("u3", "b", "2024-01-01 10:00", "impression", "kol_note"),
    ("u3", "b", "2024-01-01 12:00", "read", "kol_note"),
    ("u3", "b", "2024-01-02 10:00", "impression", "kol_note"),
]
CHAIN_TIMELINE = {
    "user_id": ["u1", "u1", "u1", "u2", "u3"], "brand": ["b"] * 5,
    "start_date": [dt.date(2024, 1, d) for d in (1, 4, 5, 2, 1)],
    "end_date": [dt.date(2024, 1, d) for d in (3, 4, 31, 31, 31)],
    "stage": ["I", "TI", "P", "A", "I"],
}


def test_chain_cells_hand_derived(store, monkeypatch):
    """Step windows: u1 step 1 = [10:00, 11:00] (feed_ad); step 2 = [Jan 1 11:00, Jan 4
    11:00] (feed_ad read, organic); step 3 = [Jan 4 11:00, Jan 5 10:00] (organic collect).
    D1 = median(1 h, 2 h) = 1.5 h: u2 sees only organic within it. D2 = 3 days: u3's step 2
    holds its read and the Jan 2 impression. The holdout user u4 has no event: one untouched
    unit in step 1. The same cells whether exposures are built as label lists or as bit
    masks over the touches' labels (issue 13), the masks by ``bit_or`` (DuckDB) or by
    counts per label (every backend)."""
    from aips.engine import chains
    from aips.engine.chains import touch_labels

    store.write("events", events_table(CHAIN_LOG), overwrite=True)
    store.write("users", pa.table({"user_id": ["u1", "u2", "u3", "u4"],
                                   "holdout": [False, False, False, True]}), overwrite=True)
    timeline = ibis.memtable(pa.table(CHAIN_TIMELINE))
    ev = store.table("events")
    labels = touch_labels(ev, default_model()).to_pyarrow().column("label").to_pylist()
    assert labels == ["feed_ad", "kol_note", "organic"]
    real = chains._has_bit_or
    variants = [(None, True), (labels, True), (labels, False)]
    if not real(ev):  # (Spark) the masks are counted either way: that variant once
        variants.remove((labels, True))
    for given, bit_or in variants:
        monkeypatch.setattr(chains, "_has_bit_or", lambda t, on=bit_or: on and real(t))
        # the units kept (both tables read them; Spark would build them twice)
        steps, profiles = P.chain_cells(ev, default_model(), "purchase", labels=given,
                                        users=store.table("users"), timeline=timeline,
                                        materialise=cached)
        got = {(r["step"], r["exposure"], r["holdout"]): (r["units"], r["advances"])
               for r in steps.to_pyarrow().to_pylist()}
        assert got == {
            (1, "", True): (1, 0), (1, "feed_ad", False): (1, 1), (1, "kol_note", False): (1, 1),
            (1, "organic", False): (1, 0), (2, "feed_ad + organic", False): (1, 1),
            (2, "kol_note", False): (1, 0), (3, "organic", False): (1, 1),
        }
        prof = profiles.to_pyarrow().to_pylist()
        assert prof == [{"e1": "feed_ad", "e2": "feed_ad + organic", "e3": "organic",
                         "holdout": False, "converters": 1, "conversions": 1, "value": 80.0}]


CYCLE_LOG = [
    # u: a facial-serum purchase after a sunscreen read of the same brand
    ("u", "b", "2024-01-01 10:00", "impression", "feed_ad", {"category": "facial_serum"}),
    ("u", "b", "2024-01-05 10:00", "read", "organic", {"category": "sunscreen"}),
    ("u", "b", "2024-01-26 10:00", "purchase", None, {"category": "facial_serum", "amount": 10.0}),
    # v: a sunscreen purchase looks back 21 days only
    ("v", "b", "2024-01-01 10:00", "impression", "feed_ad", {"category": "facial_serum"}),
    ("v", "b", "2024-01-26 11:00", "purchase", None, {"category": "sunscreen", "amount": 5.0}),
    # w: never buys: the brand's main category (facial_serum: 4 events of 6) applies
    ("w", "b", "2024-01-01 10:00", "impression", "feed_ad", {"category": "facial_serum"}),
]


def test_lookback_is_the_converting_purchase_category(store):
    """Issue 15 item 5. Cycles: facial_serum 29 days, sunscreen 21. u's purchase (Jan 26,
    facial_serum) looks back to Dec 29: both touches. v's (sunscreen) to Jan 6: none. w's
    non-converting journey ends on Jan 26 with the brand's main category: its Jan 1
    impression counts. The old ``category.max()`` gave every journey 21 days (sunscreen
    sorts last): ``{"": (2, 15.0, 0)}``."""
    store.write("events", events_table(CYCLE_LOG), overwrite=True)
    model = default_model().with_overrides(categories={"facial_serum": 29, "sunscreen": 21})
    got = _rows(P.build_paths(store.table("events"), model))
    assert got == {"": (1, 5.0, 0), "feed_ad": (0, 0.0, 1), "feed_ad > organic": (1, 10.0, 0)}
