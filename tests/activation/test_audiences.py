"""Audiences on a hand-worked log: stage, flow and funnel cells, crowds, attributes, rules,
set operations and overlaps, against hand-derived sets and the engine's own cells.

The log (default model: A/I/TI windows 30 days, P = cycle 30 days; t0 = 2024-03-01, so its
windows cover 01-31..03-01; t1 = 2024-03-20, windows 02-20..03-20). b1 and b2 are serum
brands, b3 a lipstick brand.

====  =====  ====================================  ===========  ===========
user  brand  events (local dates)                  t0 level     t1 level
====  =====  ====================================  ===========  ===========
u1    b1     impression 02-20, collect 02-25       TI           TI
u2    b1     collect 02-25, purchase 03-05         TI           P
u3    b1     read 02-28, collect 03-15             I            TI
u4    b1     impression 02-01                      A            none
u5    b1     impression 03-18                      none         A
u8    b1     read 03-19                            none         I
u1    b2     collect 03-05                         none         TI
u6    b2     read 03-19                            none         I
u7    b3     collect 03-10                         none         TI
====  =====  ====================================  ===========  ===========

Users: u1 F age 25, u2 M 41, u3 F 33, u8 M 19 (holdout), others no row.

The main cases run on every backend in a handful of queries (Spark pays per query); the
rest on DuckDB.
"""

from __future__ import annotations

import datetime as dt

import ibis
import pyarrow as pa
import pytest
from activation_helpers import D, events_table, workspace

from aips.activation.audiences import Audience, overlap
from aips.crowd import AudienceSpec, FlowCell
from aips.engine.flows import user_flows
from aips.exceptions import ConfigError

T0, T1 = "2024-03-01", "2024-03-20"
SERUM, LIP = {"category": "serum"}, {"category": "lip"}

ROWS = [
    ("u1", "b1", "2024-02-20 12:00", "impression", SERUM),
    ("u1", "b1", "2024-02-25 12:00", "collect", SERUM),
    ("u2", "b1", "2024-02-25 12:00", "collect", SERUM),
    ("u2", "b1", "2024-03-05 12:00", "purchase", {**SERUM, "amount": 99.0}),
    ("u3", "b1", "2024-02-28 12:00", "read", SERUM),
    ("u3", "b1", "2024-03-15 12:00", "collect", SERUM),
    ("u4", "b1", "2024-02-01 12:00", "impression", SERUM),
    ("u5", "b1", "2024-03-18 12:00", "impression", SERUM),
    ("u8", "b1", "2024-03-19 12:00", "read", SERUM),
    ("u1", "b2", "2024-03-05 12:00", "collect", SERUM),
    ("u6", "b2", "2024-03-19 12:00", "read", SERUM),
    ("u7", "b3", "2024-03-10 12:00", "collect", LIP),
]
USERS = pa.table({
    "user_id": ["u1", "u2", "u3", "u8"],
    "holdout": [False, False, False, True],
    "gender": ["F", "M", "F", "M"],
    "age": [25, 41, 33, 19],
})


@pytest.fixture
def ws(store):
    return workspace(store, events_table(ROWS), USERS)


@pytest.fixture
def dws(duckdb_store):
    return workspace(duckdb_store, events_table(ROWS), USERS)


def pairs(aud) -> set[tuple[str, str]]:
    table = aud.table if isinstance(aud, Audience) else aud
    return {(r["user_id"], r["brand"]) for r in table.to_pyarrow().to_pylist()}


SPARK_CASES = ("ti", "ti_not_p", "comp_ti", "attr")
"""The cases run on Spark too (each Spark query of snapshots and flows costs seconds)."""


def test_cells_equal_hand_and_engine(ws):
    """Stage, flow and rule cells on every backend, in one query of a union."""
    build = {
        "ti": lambda: ws.audience("b1", T1, "TI"),
        "seeded": lambda: ws.audience("b1", T1, "I+TI"),
        "ti_not_p": lambda: ws.audience("b1", T1, flow="TI:!P", t0=T0),
        "churned_a": lambda: ws.audience("b1", T1, flow="A:none", t0=T0),
        "new_a": lambda: ws.audience("b1", T1, flow="none:A", t0=T0),
        "i_to_ti": lambda: ws.audience("b1", T1, flow="I:TI", t0=T0),
        "comp_ti": lambda: ws.audience(at=T1, stages="TI", competitors_of="b1"),
        "serum_ti": lambda: ws.audience(at=T1, stages="TI", category="serum"),
        "read": lambda: ws.audience("b1", T1, where="read >= 1"),
        "attr": lambda: ws.audience("b1", T1, where="age >= 30 and holdout == 0", attrs={"gender": "F"}),
    }
    keep = build if ws.store.kind == "duckdb" else SPARK_CASES
    cases = {k: build[k]() for k in keep}
    tagged = [a.table.mutate(case=ibis.literal(k)) for k, a in cases.items()]
    union = tagged[0]
    for t in tagged[1:]:
        union = union.union(t, distinct=False)
    got: dict[str, set] = {k: set() for k in cases}
    for r in union.to_pyarrow().to_pylist():
        got[r["case"]].add((r["user_id"], r["brand"]))
    b1 = lambda *us: {(u, "b1") for u in us}  # noqa: E731
    expected = {
        "ti": b1("u1", "u3"),
        "seeded": b1("u1", "u3", "u8"),
        "ti_not_p": b1("u1"),  # u2 bought
        "churned_a": b1("u4"),
        "new_a": b1("u5"),
        "i_to_ti": b1("u3"),
        "comp_ti": {("u1", "b2")},  # b2 is b1's only serum competitor; u6 is at I
        "serum_ti": b1("u1", "u3") | {("u1", "b2")},
        "read": b1("u3", "u8"),  # reads 02-28 and 03-19 are within 30 days of 03-20
        "attr": b1("u3"),  # F, 33, not holdout; u1 is 25
    }
    assert got == {k: v for k, v in expected.items() if k in cases}


def test_cells_match_engine_snapshot_and_flows(dws):
    """Every stage and flow cell equals the engine's own snapshot / flow table cut (2 queries)."""
    ws = dws
    snap = ws.snapshot(T1)
    flows = user_flows(ws.snapshot(T0), ws.snapshot(T1))
    cells = {s: ws.audience("b1", T1, s) for s in ("A", "I", "TI", "P")}
    cells.update({c: ws.audience("b1", T1, flow=c, t0=T0)
                  for c in ("TI:TI", "TI:P", "I:TI", "A:none", "none:A", "none:I")})
    engine = {s: snap.filter((snap.stage == s) & (snap.brand == "b1")) for s in ("A", "I", "TI", "P")}
    for c in ("TI:TI", "TI:P", "I:TI", "A:none", "none:A", "none:I"):
        frm, to = c.split(":")
        engine[c] = flows.filter((flows.from_stage == frm) & (flows.to_stage == to) & (flows.brand == "b1"))

    def collect(tables):
        parts = [t.select("user_id", "brand", case=ibis.literal(k)) for k, t in tables.items()]
        union = parts[0]
        for p in parts[1:]:
            union = union.union(p, distinct=False)
        out = {k: set() for k in tables}
        for r in union.to_pyarrow().to_pylist():
            out[r["case"]].add((r["user_id"], r["brand"]))
        return out

    assert collect({k: a.table for k, a in cells.items()}) == collect(engine)


def test_funnel_cells(dws):
    # collect -> purchase within 14 days: u2 converts (02-25 -> 03-05); u1, u3 drop off
    conv = dws.audience("b1", T1, funnel=["collect", "purchase"], step=1, kind="converted")
    drop = dws.audience("b1", T1, funnel="collect,purchase", step=1, kind="dropped")
    assert pairs(conv) == {("u2", "b1")}
    assert pairs(drop) == {("u1", "b1"), ("u3", "b1")}
    # AND with a stage: dropped and at TI on t1
    both = dws.audience("b1", T1, "TI", funnel=["collect", "purchase"], step=1, kind="dropped")
    assert pairs(both) == {("u1", "b1"), ("u3", "b1")}
    with pytest.raises(ConfigError, match="exactly one brand"):
        dws.audience(["b1", "b2"], T1, funnel=["collect", "purchase"], step=1)


def test_set_operations_and_overlap(dws):
    ws = dws
    ti = ws.audience("b1", T1, "TI", name="ti")
    i = ws.audience("b1", T1, "I", name="i")
    seeded = ws.audience("b1", T1, "I+TI")
    assert pairs(ti | i) == pairs(seeded)
    assert pairs(seeded & ti) == pairs(ti)
    assert pairs(seeded - ti) == pairs(i)
    comp = ws.audience(at=T1, stages="TI", competitors_of="b1", name="comp")
    assert pairs(comp - ti) == pairs(comp)  # different brands: no common pair
    assert pairs(comp.minus(ti, on="user")) == set()  # u1 is in both by user
    assert pairs(comp.intersect(ti, on="user")) == {("u1", "b2")}
    cells = overlap([ti, comp, i])
    assert {(tuple(c["sets"]), c["size"]) for c in cells} == {
        (("ti", "comp"), 1),  # u1
        (("ti",), 1),  # u3
        (("i",), 1),  # u8
    }
    assert [c["mask"] for c in cells] == [1, 3, 4]
    assert (ti | i).size() == 3 and comp.size("user") == 1
    assert {r["brand"]: r["users"] for r in (ti | comp).counts()} == {"b1": 2, "b2": 1}


def test_combined_spec_round_trip_and_rerun(dws, tmp_path):
    ws = dws
    a = ws.audience("b1", T1, flow="TI:!P", t0=T0, name="lapsing")
    b = ws.audience("b1", T1, "TI", name="ti")
    both = a | b
    path = tmp_path / "spec.yaml"
    both.save(path)
    again = Audience.from_spec(ws, path)
    assert again.spec == both.spec and pairs(again) == pairs(both)
    # re-run 10 days later: every date moves by 10 days
    later = Audience.from_spec(ws, path, at="2024-03-30")
    direct = (ws.audience("b1", "2024-03-30", flow="TI:!P", t0="2024-03-11")
              | ws.audience("b1", "2024-03-30", "TI"))
    assert later.spec.operands[0].flow.t0 == D("2024-03-11")
    assert pairs(later) == pairs(direct)
    js = tmp_path / "spec.json"
    a.save(js)
    assert AudienceSpec.load(js) == a.spec


def test_spec_validation():
    with pytest.raises(ConfigError, match="unknown stage"):
        AudienceSpec.from_data({"stages": ["X"]})
    with pytest.raises(ConfigError, match="unknown key"):
        AudienceSpec.from_data({"stagez": ["TI"]})
    with pytest.raises(ConfigError, match="forward in time"):
        FlowCell.parse("TI:P", "2024-03-20", "2024-03-01")
    with pytest.raises(ConfigError, match="FROM:TO"):
        FlowCell.parse("TI-P", "2024-03-01", "2024-03-20")
    cell = FlowCell.parse("A,I:none", "2024-03-01", "2024-03-20")
    assert cell.from_stages == ["A", "I"] and cell.to_stages == ["none"]
    assert FlowCell.parse("*:TI", "2024-03-01", "2024-03-20").from_stages[-1] == "none"


def test_errors_are_clear(dws):
    with pytest.raises(ConfigError, match="as-of date"):
        dws.audience("b1", stages="TI").size()
    with pytest.raises(ConfigError, match="unknown user attribute 'city'"):
        dws.audience("b1", T1, attrs={"city": "x"})
    with pytest.raises(ConfigError, match="competitor"):
        dws.audience(at=T1, competitors_of="b3")
    empty = dws.audience("b1", "2023-01-01", "TI")
    assert empty.size() == 0 and empty.counts() == []
    assert isinstance(dt.date.today(), dt.date)
