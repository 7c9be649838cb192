"""Crowd portraits: hand-worked TGI, shares, counts and z-tests, on DuckDB and PySpark.

The toy market (category ``lip``, brands B and C; ``food`` with brand F), day D = 2024-03-10:

====  ======  =====  ====================================  ==============
user  gender  age    events (local dates)                  stage at D
====  ======  =====  ====================================  ==============
u1    F       18-24  B collect (creator K1), B search       B: TI
                     "B Serum", F read (food)
u2    F       18-24  B collect (K1), B search " b serum"   B: TI
u3    F       25-34  B collect (K2)                        B: TI
u4    M       25-34  B collect (no creator)                B: TI
u5    M       18-24  B impression                          B: A
u6    F       25-34  C collect (K1)                        C: TI
u7    M       18-24  C collect (K2)                        C: TI
u8    M       25-34  C impression                          C: A
u9    F       25-34  F read (food only)
u10   F       35-44  (no events)
====  ======  =====  ====================================  ==============

B's TI crowd = {u1, u2, u3, u4}; the category audience of ``lip`` at D = {u1 .. u8}; all users
= the 10 rows of ``users``. Hand-worked (crowd share / baseline share x 100):

* gender F vs category: 3/4 vs 4/8 -> TGI 150; M: 1/4 vs 4/8 -> 50.
* gender F vs all: 3/4 vs 6/10 -> 125.
* gender F vs C's TI crowd {u6, u7}: 3/4 vs 1/2 -> 150.
* category (engaged: any event but an impression): lip 4/4 vs 6/8 -> 133.33; food 1/4 vs
  1/8 -> 200.
* creator: K1 2/4 vs 3/8 -> 133.33; K2 1/4 vs 2/8 -> 100.
* keyword (trimmed, lower case): "b serum" 2/4 vs 2/8 -> 200.
"""

from __future__ import annotations

import math

import ibis
import pytest
from insight_helpers import D, events_table, users_table, workspace

from aips.exceptions import ConfigError

AT = "2024-03-10"


def _events():
    lip = {"category": "lip"}
    rows = [
        ("u1", "B", "2024-03-05 10:00", "collect", {**lip, "creator_id": "K1", "note_id": "n1"}),
        ("u1", "B", "2024-03-05 11:00", "search", {**lip, "keyword": "B Serum"}),
        ("u1", "F", "2024-03-06 10:00", "read", {"category": "food", "note_id": "f1"}),
        ("u2", "B", "2024-03-05 10:00", "collect", {**lip, "creator_id": "K1", "note_id": "n1"}),
        ("u2", "B", "2024-03-05 11:00", "search", {**lip, "keyword": " b serum"}),
        ("u3", "B", "2024-03-06 10:00", "collect", {**lip, "creator_id": "K2", "note_id": "n2"}),
        ("u4", "B", "2024-03-06 10:00", "collect", {**lip, "note_id": "n3"}),
        ("u5", "B", "2024-03-07 10:00", "impression", {**lip, "note_id": "n1", "creator_id": "K1"}),
        ("u6", "C", "2024-03-05 10:00", "collect", {**lip, "creator_id": "K1", "note_id": "c1"}),
        ("u7", "C", "2024-03-05 10:00", "collect", {**lip, "creator_id": "K2", "note_id": "c2"}),
        ("u8", "C", "2024-03-05 10:00", "impression", {**lip, "note_id": "c1"}),
        ("u9", "F", "2024-03-06 10:00", "read", {"category": "food", "note_id": "f1"}),
    ]
    return events_table(rows)


USERS = {
    "u1": {"gender": "F", "age_band": "18-24"},
    "u2": {"gender": "F", "age_band": "18-24"},
    "u3": {"gender": "F", "age_band": "25-34"},
    "u4": {"gender": "M", "age_band": "25-34"},
    "u5": {"gender": "M", "age_band": "18-24"},
    "u6": {"gender": "F", "age_band": "25-34"},
    "u7": {"gender": "M", "age_band": "18-24"},
    "u8": {"gender": "M", "age_band": "25-34"},
    "u9": {"gender": "F", "age_band": "25-34"},
    "u10": {"gender": "F", "age_band": "35-44"},
}


def _load(store):
    store.write("events", _events(), overwrite=True)
    store.write("users", users_table(USERS), overwrite=True)
    return workspace(store)


@pytest.fixture
def ws(store):
    """On DuckDB and on PySpark: the hand-worked core must agree on both."""
    return _load(store)


@pytest.fixture
def ws1(duckdb_store):
    """DuckDB only (Spark runs are slow; the core tests cover it)."""
    return _load(duckdb_store)


def _rows(table):
    return {(r["dimension"], r["value"]): r for r in table.to_pyarrow().to_pylist()}


def _z(a, n1, b, n2):
    """Pooled two-proportion z, written out independently of the module."""
    p1, p2, p = a / n1, b / n2, (a + b) / (n1 + n2)
    return (p1 - p2) / math.sqrt(p * (1 - p) * (1 / n1 + 1 / n2))


TI = {"brand": "B", "at": AT, "stage": "TI"}


def test_portrait_against_the_category_audience(ws):
    out = _rows(ws.portrait(TI, by="gender,category,creator,keyword", min_support=2))
    f = out[("gender", "F")]
    assert (f["crowd_users"], f["crowd_size"], f["baseline_users"], f["baseline_size"]) == (3, 4, 4, 8)
    assert f["crowd_share"] == pytest.approx(0.75) and f["baseline_share"] == pytest.approx(0.5)
    assert f["tgi"] == pytest.approx(150.0)
    assert f["z"] == pytest.approx(_z(3, 4, 4, 8))
    assert f["p_value"] == pytest.approx(math.erfc(abs(_z(3, 4, 4, 8)) / math.sqrt(2)))
    assert f["supported"] and not f["significant"]  # 4 users are too few for p < 0.05
    m = out[("gender", "M")]
    assert (m["crowd_users"], m["tgi"], m["supported"], m["rank"]) == (1, pytest.approx(50.0), False, 2)
    assert out[("category", "lip")]["tgi"] == pytest.approx(100 * 1.0 / 0.75)
    assert out[("category", "food")]["tgi"] == pytest.approx(200.0)
    assert out[("creator", "K1")]["tgi"] == pytest.approx(100 * 0.5 / 0.375)
    assert out[("creator", "K2")]["tgi"] == pytest.approx(100.0)
    kw = out[("keyword", "b serum")]
    assert (kw["crowd_users"], kw["baseline_users"], kw["tgi"]) == (2, 2, pytest.approx(200.0))
    assert set(out) == {("gender", "F"), ("gender", "M"), ("category", "lip"), ("category", "food"),
                        ("creator", "K1"), ("creator", "K2"), ("keyword", "b serum")}


def test_baselines_all_and_a_competitor(ws1):
    everyone = _rows(ws1.portrait(TI, by="gender", baseline="all"))
    assert everyone[("gender", "F")]["baseline_size"] == 10
    assert everyone[("gender", "F")]["tgi"] == pytest.approx(125.0)
    rival = _rows(ws1.portrait(TI, by="gender", baseline="brand:C"))
    assert rival[("gender", "F")]["baseline_size"] == 2
    assert rival[("gender", "F")]["tgi"] == pytest.approx(150.0)


def test_default_dimensions_cross_and_unknown(ws1):
    out = ws1.portrait(TI).to_pyarrow().to_pylist()
    assert [r["dimension"] for r in out][:1] == ["age_band"]  # users' attributes first, in table order
    assert {r["dimension"] for r in out} == {"age_band", "gender", "category", "keyword", "creator"}
    crowd = ibis.memtable({"user_id": ["u1", "u4", "u99"]})  # u99 has no users row
    cross = _rows(ws1.portrait(crowd, by="gender*age_band", baseline="all", at=AT))
    assert cross[("gender*age_band", "F|18-24")]["crowd_users"] == 1
    assert cross[("gender*age_band", "(unknown)|(unknown)")]["crowd_users"] == 1
    assert cross[("gender*age_band", "F|18-24")]["baseline_users"] == 2


def test_a_saved_audience_and_a_flow_cell_are_crowds(ws1):
    class Audience:  # the shape of aips.activation's Audience: an Ibis table and a day
        at = D(AT)
        table = ibis.memtable({"user_id": ["u1", "u2"], "brand": ["B", "B"]})

    out = _rows(ws1.portrait(Audience(), by="gender"))
    assert out[("gender", "F")]["crowd_size"] == 2 and out[("gender", "F")]["baseline_size"] == 8
    cell = {"brand": "B", "from": "2024-03-04", "to": AT, "from_stage": "none", "to_stage": "TI"}
    flow = _rows(ws1.portrait(cell, by="gender"))
    assert flow[("gender", "F")]["crowd_size"] == 4


def test_two_crowds_side_by_side(ws1):
    out = _rows(ws1.portrait_compare(TI, "brand:C", by="gender"))
    f = out[("gender", "F")]
    assert (f["crowd_users"], f["crowd_size"], f["other_users"], f["other_size"]) == (3, 4, 1, 2)
    assert f["crowd_tgi"] == pytest.approx(150.0) and f["other_tgi"] == pytest.approx(100.0)
    assert f["share_diff"] == pytest.approx(0.25)
    assert f["z"] == pytest.approx(_z(3, 4, 1, 2))


def test_errors_say_what_to_do(ws1):
    with pytest.raises(ConfigError, match="unknown portrait dimension 'income'"):
        ws1.portrait(TI, by="income")
    with pytest.raises(ConfigError, match="unknown baseline"):
        ws1.portrait(TI, baseline="everyone")
    with pytest.raises(ConfigError, match="brand="):
        ws1.portrait(ibis.memtable({"user_id": ["u1"]}), by="gender", at=AT)
    with pytest.raises(ConfigError, match="no category audience.*baseline='all'"):
        ws1.portrait(ibis.memtable({"user_id": ["u1"]}), by="gender", at=AT, brand="Z")
