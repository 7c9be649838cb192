"""Flows, flow rates, penetration and competitors on hand-worked snapshots, on every backend."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa

from aips.config.model import default_model
from aips.engine.flows import flow_matrix, flow_rates, user_flows
from aips.engine.penetration import competitors, penetration


def _snap(store, name, rows):
    table = pa.table(
        {
            "user_id": [r[0] for r in rows],
            "brand": [r[1] for r in rows],
            "stage": [r[2] for r in rows],
        }
    )
    return store.write(name, table, overwrite=True)


S0 = [  # t0
    ("u1", "b", "A"),
    ("u2", "b", "I"),
    ("u3", "b", "TI"),
    ("u4", "b", "P"),
    ("u5", "b", "I"),
    ("u6", "b", "S"),
    ("u1", "c", "TI"),
]
S1 = [  # t1
    ("u1", "b", "TI"),  # up A->TI
    ("u2", "b", "I"),  # stay
    ("u3", "b", "I"),  # down TI->I
    ("u4", "b", "S"),  # up P->S
    # u5 churned (I -> none)
    ("u6", "b", "S"),  # stay
    ("u7", "b", "A"),  # new
    ("u1", "c", "P"),  # up, other brand
]


def _rows(store, expr, *order):
    return store.backend.to_pyarrow(expr.order_by(list(order))).to_pylist()


def test_user_flows_classes(store):
    flows = user_flows(_snap(store, "s0", S0), _snap(store, "s1", S1))
    got = {(r["user_id"], r["brand"]): (r["from_stage"], r["to_stage"], r["movement"]) for r in _rows(store, flows, "user_id", "brand")}
    assert got == {
        ("u1", "b"): ("A", "TI", "up"),
        ("u2", "b"): ("I", "I", "stay"),
        ("u3", "b"): ("TI", "I", "down"),
        ("u4", "b"): ("P", "S", "up"),
        ("u5", "b"): ("I", "none", "churned"),
        ("u6", "b"): ("S", "S", "stay"),
        ("u7", "b"): ("none", "A", "new"),
        ("u1", "c"): ("TI", "P", "up"),
    }


def test_flow_matrix_and_rates(store):
    flows = user_flows(_snap(store, "s0", S0), _snap(store, "s1", S1))
    matrix = _rows(store, flow_matrix(flows).filter(lambda t: t.brand == "b"), "from_stage", "to_stage")
    assert {(r["from_stage"], r["to_stage"]): r["users"] for r in matrix} == {
        ("A", "TI"): 1,
        ("I", "I"): 1,
        ("TI", "I"): 1,
        ("P", "S"): 1,
        ("I", "none"): 1,
        ("S", "S"): 1,
        ("none", "A"): 1,
    }
    rates = {r["stage"]: r for r in _rows(store, flow_rates(flows).filter(lambda t: t.brand == "b"), "stage")}
    # I at t0: u2 (stay) and u5 (churned): 0 of 2 moved up.
    assert rates["I"]["at_t0"] == 2 and rates["I"]["moved_up"] == 0 and rates["I"]["flow_rate"] == 0.0
    assert rates["I"]["churned"] == 1 and rates["I"]["stayed"] == 1
    assert rates["A"]["flow_rate"] == 1.0
    assert rates["TI"]["moved_down"] == 1 and rates["TI"]["flow_rate"] == 0.0
    assert rates["P"]["flow_rate"] == 1.0
    assert rates["S"]["at_t0"] == 1 and rates["S"]["flow_rate"] == 0.0
    # the matrix conserves pairs: sum over cells = pairs present on either day
    assert sum(r["users"] for r in matrix) == 7


def _events(store):
    d = dt.date(2024, 3, 31)
    rows = [
        # user, brand, category, local_date
        ("u1", "b", "serum", d),
        ("u2", "b", "serum", d),
        ("u3", "b", "serum", d - dt.timedelta(days=29)),  # inside the 30-day window
        ("u4", "c", "serum", d),
        ("u5", "c", "serum", d - dt.timedelta(days=30)),  # outside: not in the audience
        ("u6", "x", "food", d),
        ("u1", "c", "serum", d),
        ("u7", "b", "food", d - dt.timedelta(days=3)),  # b's minor category
    ]
    table = pa.table(
        {
            "user_id": [r[0] for r in rows],
            "brand": [r[1] for r in rows],
            "category": [r[2] for r in rows],
            "local_date": pa.array([r[3] for r in rows], pa.date32()),
        }
    )
    return store.write("ev", table, overwrite=True)


def test_penetration_by_hand(store):
    at = dt.date(2024, 3, 31)
    snap = _snap(store, "snap", [("u1", "b", "TI"), ("u2", "b", "A"), ("u3", "b", "P"), ("u4", "c", "TI"), ("u6", "x", "I")])
    got = {r["brand"]: r for r in _rows(store, penetration(_events(store), snap, default_model(), at), "brand")}
    # serum audience in window: u1, u2, u3, u4 (u5 is 30 days back: outside) = 4
    assert got["b"]["category"] == "serum" and got["b"]["category_audience"] == 4
    assert got["b"]["aips_users"] == 3 and got["b"]["penetration"] == 0.75
    assert got["b"]["ti_users"] == 1 and got["b"]["ti_penetration"] == 0.25
    assert got["c"]["penetration"] == 0.25
    assert got["x"]["category"] == "food" and got["x"]["category_audience"] == 2  # u6, u7
    assert got["x"]["penetration"] == 0.5


def test_competitors_ranking(store):
    at = dt.date(2024, 3, 31)
    snap = _snap(
        store,
        "snap",
        [("u1", "b", "TI"), ("u2", "b", "I"), ("u3", "b", "TI"), ("u1", "c", "TI"), ("u4", "c", "I"), ("u2", "c", "I"), ("u6", "x", "TI")],
    )
    got = {r["brand"]: r for r in _rows(store, competitors(_events(store), snap, default_model(), at), "brand")}
    assert got["b"]["ti_users"] == 2 and got["b"]["ti_rank"] == 1
    assert got["c"]["ti_users"] == 1 and got["c"]["ti_rank"] == 2
    assert got["b"]["i_ti_users"] == 3 and got["c"]["i_ti_users"] == 3
    assert got["b"]["i_ti_rank"] == got["c"]["i_ti_rank"] == 1  # a tie shares the rank
    assert abs(got["b"]["ti_share"] - 2 / 3) < 1e-12 and abs(got["c"]["ti_share"] - 1 / 3) < 1e-12
    # distinct serum TI users: u1 (both brands), u3 = 2
    assert got["b"]["category_ti_users"] == 2 and got["b"]["ti_reach"] == 1.0 and got["c"]["ti_reach"] == 0.5
    assert got["x"]["ti_rank"] == 1 and got["x"]["ti_share"] == 1.0
    only = _rows(store, competitors(_events(store), snap, default_model(), at, category="food"), "brand")
    assert [r["brand"] for r in only] == ["x"]


def test_new_ti_is_the_first_day_at_ti_or_above(store):
    """Hand-worked timelines: a pair is new TI on the first day of its first interval at TI,
    P or S; an earlier stay at A or I does not count, and a later return to TI is not new."""
    from aips.engine.flows import new_ti

    d = dt.date
    rows = [  # user, brand, start, end, stage
        ("u1", "b", d(2024, 1, 1), d(2024, 1, 4), "I"),
        ("u1", "b", d(2024, 1, 5), d(2024, 1, 9), "TI"),  # new TI on 1-5
        ("u2", "b", d(2024, 1, 2), d(2024, 1, 3), "P"),  # P first: new TI on 1-2
        ("u3", "b", d(2023, 12, 1), d(2023, 12, 9), "TI"),  # before the range
        ("u3", "b", d(2024, 1, 6), d(2024, 1, 8), "TI"),  # a return, not new
        ("u4", "b", d(2024, 1, 3), d(2024, 1, 9), "A"),  # never TI
        ("u5", "b", d(2024, 1, 7), d(2024, 1, 7), "S"),  # S first: new TI on 1-7
        ("u6", "b", d(2024, 1, 20), d(2024, 1, 21), "TI"),  # after the range
    ]
    names = ("user_id", "brand", "start_date", "end_date", "stage")
    tl = store.write("tl_new_ti", pa.table({n: [r[i] for r in rows] for i, n in enumerate(names)}),
                     overwrite=True)
    got = {(r["user_id"], r["first_ti_date"])
           for r in _rows(store, new_ti(tl, "brand", d(2024, 1, 1), d(2024, 1, 10)), "user_id")}
    assert got == {("u1", d(2024, 1, 5)), ("u2", d(2024, 1, 2)), ("u5", d(2024, 1, 7))}
