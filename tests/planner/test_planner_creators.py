"""Which creators ``aips plan --creators`` books (:mod:`aips.planner.creators`): the greedy
fill and the incremental advances by hand, the whole rule on a hand-worked log (DuckDB and
PySpark), what it says when it cannot book, and against the simulator's true seeding
multipliers on the seeding world.

The log (brand b of category c; a read is I; touches on 03-01, the day before: no level):

====  ==================================================  =====================================
user  events                                              touch / advanced within 7 days
====  ==================================================  =====================================
u1    impression of n1 (k1, KOL) 03-01, read 03-02       k1 / yes
u2    impression of n1 (k1) 03-01                         k1 / no
u3    impression of n2 (k2, KOC; campaign ck) 03-01,      k2 / yes
      read 03-03
u4    impression of n3 (no creator) 03-01                 none / no
u7    impression of n4 (k4, KOC) 03-01                    k4 / no
u5    read 03-20 (the last day)
u6    brand z of category o: impression of n9 (k3)        (another category: not a candidate)
====  ==================================================  =====================================

The stratum (b, week of 02-26, no level before) has 5 touches, 2 advanced: each touch
expects 0.4. Per creator (T, S, E, N): k1 (2, 1, 0.8, 1), k2 (1, 1, 0.4, 1), k4 (1, 0, 0.4, 1);
incremental advances per note ``max(S - E, 0) / (T + 30) * T / N``: k1 0.2 * 2 / 32 = 0.0125,
k2 0.6 / 31, k4 0. k2 has no fee: its proxy is the KOC tier's paid spend per note (campaign
ck: 300 CNY over 1 note) x its followers over the tier's mean (1,000 / 2,000) = 150.
"""

from __future__ import annotations

import datetime as dt
import json

import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import spearmanr

import aips
from aips.config.model import default_model
from aips.exceptions import AipsError
from aips.planner.creators import book, book_creators, creator_evidence, incremental_advances
from aips.store.tables import arrow_schema
from aips.view import View

EVENTS = [  # user, brand, category, day, type, note, creator, campaign
    ("u1", "b", "c", 1, "impression", "n1", "k1", None), ("u1", "b", "c", 2, "read", None, None, None),
    ("u2", "b", "c", 1, "impression", "n1", "k1", None),
    ("u3", "b", "c", 1, "impression", "n2", "k2", "ck"), ("u3", "b", "c", 3, "read", None, None, None),
    ("u4", "b", "c", 1, "impression", "n3", None, None),
    ("u7", "b", "c", 1, "impression", "n4", "k4", None),
    ("u5", "b", "c", 20, "read", None, None, None),
    ("u6", "z", "o", 1, "impression", "n9", "k3", None),
]
CREATORS = [("k1", "KOL", 50_000, 100.0), ("k2", "KOC", 1_000, None), ("k3", "KOC", 500, 5.0),
            ("k4", "KOC", 3_000, 40.0)]


def _write(store, name, rows):
    schema = arrow_schema(name)
    store.write(name, pa.Table.from_pylist([{n: r.get(n) for n in schema.names} for r in rows], schema=schema),
                overwrite=True)


def _view(store, creators=True) -> View:
    rows = []
    for i, (u, b, cat, d, typ, note, creator, camp) in enumerate(EVENTS):
        ts = dt.datetime(2024, 3, d, 2, 0)
        rows.append({"event_id": f"e{i}", "ts": ts, "local_date": ts.date(), "user_id": u, "brand": b,
                     "category": cat, "event_type": typ, "note_id": note, "creator_id": creator,
                     "campaign_id": camp, "channel": "koc_note" if camp else None})
    _write(store, "events", rows)
    if creators:
        _write(store, "creators", [dict(zip(("creator_id", "tier", "followers", "fee"), c, strict=True))
                                   for c in CREATORS])
    _write(store, "campaigns", [{"campaign_id": "ck", "brand": "b", "category": "c", "channel": "koc_note",
                                 "start_date": dt.date(2024, 3, 1), "end_date": dt.date(2024, 3, 1),
                                 "spend": 300.0}])
    return View(store, default_model())


def test_book_by_hand():
    ev = pd.DataFrame({"creator_id": ["A", "B", "C", "D", "E", "F", "G"],
                       "tier": ["KOL", "KOL", "KOL", "KOC", "KOC", "KOC", "KOC"],
                       "cost": [100.0, 50.0, 200.0, 10.0, 10.0, 5.0, 5.0],
                       "advances": [5.0, 4.0, 20.0, 1.0, 0.0, 0.5, 0.5]})
    # KOL by advances per CNY: C 0.1, B 0.08, A 0.05; 260 buys C (200) and B (50), not A
    # KOC: D 0.1, then F and G tie at 0.1 too (D first: more advances; F before G by id);
    # 20 buys D (10) and F (5) and G (5) exactly; E has no incremental advance
    got = book(ev, {"KOL": 260.0, "KOC": 20.0})
    assert [(r["creator"], r["tier"], r["cost"], r["expected_advances"]) for r in got] == [
        ("C", "KOL", 200.0, 20.0), ("B", "KOL", 50.0, 4.0),
        ("D", "KOC", 10.0, 1.0), ("F", "KOC", 5.0, 0.5), ("G", "KOC", 5.0, 0.5)]
    assert book(ev, {"KOL": 0.0, "KOC": 4.0}) == []
    assert set(got[0]) == {"creator", "tier", "cost", "expected_advances"}  # the JSON contract


def test_incremental_advances_by_hand():
    ev = pd.DataFrame({"touches": [90, 10, 0], "seeded": [30, 1, 0], "expected": [20.0, 3.0, 0.0],
                       "notes": [3, 1, 0]})
    # 10 / 120 * 90 / 3 = 2.5; below expectation: 0; no touch: 0
    assert incremental_advances(ev).tolist() == pytest.approx([2.5, 0.0, 0.0])


def test_booking_on_a_hand_worked_log(store):
    view = _view(store)
    ev = creator_evidence(view, "b").set_index("creator_id").sort_index()
    assert ev.index.tolist() == ["k1", "k2", "k4"]  # k3 wrote for another category
    assert ev[["touches", "seeded", "notes"]].astype(int).values.tolist() == [[2, 1, 1], [1, 1, 1], [1, 0, 1]]
    assert ev["expected"].tolist() == pytest.approx([0.8, 0.4, 0.4])
    res = book_creators(view, "b", {"kol_note": 500.0, "koc_note": 200.0, "feed_ad": 1e6})
    assert res["creators"] == [
        {"creator": "k1", "tier": "KOL", "cost": 100.0, "expected_advances": pytest.approx(0.0125)},
        {"creator": "k2", "tier": "KOC", "cost": pytest.approx(150.0), "expected_advances": pytest.approx(0.6 / 31)},
    ]
    assert "1 by a proxy" in res["notes"][0] and res["notes"][0].key == "plan.creators.note"
    with pytest.raises(AipsError, match=r"no creator fits .*KOC: nothing fits its 100 CNY \(cheapest creator with an "
                                        r"incremental advance: 150\)"):
        book_creators(view, "b", {"kol_note": 50.0, "koc_note": 100.0})


def test_what_is_missing_is_named(duckdb_store):
    view = _view(duckdb_store, creators=False)
    with pytest.raises(AipsError, match="--creators needs a creators table"):
        book_creators(view, "b", {"kol_note": 500.0})
    view = _view(duckdb_store)
    with pytest.raises(AipsError, match="the plan gives kol_note and koc_note no budget"):
        book_creators(view, "b", {"kol_note": 0.4, "feed_ad": 100.0})  # under one CNY is no budget


def test_books_creators_that_truly_seed_more(seeding_world):
    """On the seeding world (creators' true seeding multipliers spread widely): the ranking
    follows the truth, and the booked creators seed more, per CNY, than the others."""
    out, path = seeding_world
    truth = json.loads((out / "truth.json").read_text())["creators"]
    with aips.open(str(path), read_only=True) as ws:
        brand = sorted(ws.events.select("brand").distinct().to_pyarrow().column(0).to_pylist())[0]
        ev = creator_evidence(ws.view, brand)
        res = book_creators(ws.view, brand, {"kol_note": 100_000.0, "koc_note": 20_000.0})
    ev["advances"] = incremental_advances(ev)
    ev["true"] = [truth[c]["seeding_multiplier"] for c in ev["creator_id"]]
    ev["fee"] = [truth[c]["fee"] for c in ev["creator_id"]]
    assert len(ev) >= 8
    assert spearmanr(ev["advances"], ev["true"])[0] >= 0.7
    booked = ev["creator_id"].isin([r["creator"] for r in res["creators"]])
    per_cny = ev["true"] / ev["fee"]
    assert booked.any() and per_cny[booked].mean() > 3 * per_cny[~booked].mean()
    for tier, budget in (("KOL", 100_000.0), ("KOC", 20_000.0)):
        assert sum(r["cost"] for r in res["creators"] if r["tier"] == tier) <= budget
    for r in res["creators"]:
        assert r["cost"] == pytest.approx(truth[r["creator"]]["fee"]) and truth[r["creator"]]["tier"] == r["tier"]


@settings(max_examples=80, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["KOL", "KOC"]), st.floats(1, 1e4), st.floats(0, 50)), max_size=25),
       st.floats(0, 5e4), st.floats(0, 5e4))
def test_booking_stays_within_each_tier_and_leaves_nothing_that_fits(rows, kol, koc):
    ev = pd.DataFrame([{"creator_id": f"c{i}", "tier": t, "cost": c, "advances": a} for i, (t, c, a) in enumerate(rows)],
                      columns=["creator_id", "tier", "cost", "advances"])
    got = book(ev, {"KOL": kol, "KOC": koc})
    chosen = {r["creator"] for r in got}
    assert len(chosen) == len(got)  # each creator once
    for tier, budget in (("KOL", kol), ("KOC", koc)):
        mine = [r for r in got if r["tier"] == tier]
        left = budget - sum(r["cost"] for r in mine)
        assert left >= -1e-6 and all(r["expected_advances"] > 0 for r in mine)
        rest = ev[(ev["tier"] == tier) & (ev["advances"] > 0) & ~ev["creator_id"].isin(chosen)]
        assert (rest["cost"] > left + 1e-9).all()  # greedy stops only when nothing fits
