"""KOL/KOC matching: touches and seeding on a hand-worked log, the greedy budgeted mix, and
the seeding lift against the simulator's true creator multipliers."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from activation_helpers import events_table, workspace
from scipy.stats import spearmanr

import aips
from aips.activation.creators import recommend_mix

AT = "2024-03-31"


def note(n, creator=None):
    return {"note_id": n, "creator_id": creator}


# k = 7, lookback 60 days. Levels the day before each touch in brackets.
ROWS = [
    ("u1", "b", "2024-03-01 12:00", "impression", note("n1", "c1")),  # [none] -> I on 03-03: seeded
    ("u1", "b", "2024-03-03 12:00", "read", note("n1", "c1")),  # [A] rises to I that day: seeded
    ("u2", "b", "2024-03-01 12:00", "impression", note("n1", "c1")),  # [none] -> I only on 03-20
    ("u2", "b", "2024-03-20 12:00", "read"),
    ("u3", "b", "2024-02-25 12:00", "collect"),
    ("u3", "b", "2024-03-01 12:00", "impression", note("n1", "c1")),  # [TI]: not eligible
    ("u4", "b", "2024-03-01 12:00", "impression", note("n2", "c2")),  # [none] -> I on 03-02
    ("u4", "b", "2024-03-02 12:00", "read"),
    ("u5", "b", "2024-03-01 12:00", "impression", note("n3")),  # organic note, no rise
]


def test_touches_seeding_and_reach(duckdb_store):
    ws = workspace(duckdb_store, events_table(ROWS))
    r = ws.creators("I", at=AT, brand="b", lookback=60, k=7, attribution=None, min_touches=1)
    t = r.table.set_index("creator_id")
    # target (b at I on 03-31) = u1, u2, u4; c1 engaged u1 (read), c2 only showed u4 an impression
    assert r.target["users"] == 3
    assert t.loc["c1", ["target_reach", "target_impressed", "readers", "touches", "seeded",
                        "seeded_users"]].tolist() == [1, 2, 1, 3, 2, 1]
    assert t.loc["c2", ["target_reach", "target_impressed", "touches", "seeded"]].tolist() == [0, 1, 1, 1]
    # strata (brand b, week of 02-26): before none: u1, u2, u4, u5 -> 2/4; before A: u1 -> 1/1
    assert t.loc["c1", "expected"] == pytest.approx(0.5 + 0.5 + 1.0)
    assert t.loc["c1", "seeding_lift"] == pytest.approx(1.0)
    assert t.loc["c2", "seeding_lift"] == pytest.approx(2.0)
    assert t.loc["c1", "seeding_rate"] == pytest.approx(2 / 3)
    assert list(r.table["creator_id"])[0] == "c1"  # the only creator with engaged reach
    assert any("fees" in n for n in r.notes)  # no creators table: no costs


def test_greedy_mix_discounts_overlap():
    table = pd.DataFrame({
        "creator_id": ["A", "B", "C", "D"], "tier": ["KOL", "KOL", "KOC", "KOC"],
        "fee": [10.0, 10.0, 10.0, 100.0], "target_reach": [100, 100, 50, 400],
        "shrunk_rate": [0.1, 0.1, 0.1, 0.1],
    })
    overlap = pd.DataFrame({"creator_a": ["A"], "creator_b": ["B"], "shared": [100]})
    mix = recommend_mix(table, overlap, budget=25)
    # A and B tie at 1.0 seeded per yuan (A first by name); B then adds nothing (full
    # overlap), so C (0.5 per yuan) is next; D never fits the budget
    assert mix["creator_id"].tolist() == ["A", "C"]
    assert mix["marginal_seeded"].tolist() == pytest.approx([10.0, 5.0])
    assert mix["cumulative_cost"].tolist() == [10.0, 20.0]
    assert recommend_mix(table, overlap, budget=5).empty


def test_seeding_lift_ranks_creators_like_the_truth(seeding_world):
    """On :data:`activation_world.SEEDING_WORLD` (its docstring says why that world)."""
    out, store = seeding_world
    truth = json.loads((out / "truth.json").read_text())
    with aips.open(str(store), read_only=True) as ws:
        at = ws.events.local_date.max().to_pyarrow().as_py()
        r = ws.creators("A,I,TI,P,S", at=at, lookback=120, k=7, attribution=None, budget=500_000)
    ranked = r.table.dropna(subset=["seeding_lift"])
    true = [truth["creators"][c]["seeding_multiplier"] for c in ranked["creator_id"]]
    rho = spearmanr(ranked["seeding_lift"], true)[0]
    assert len(ranked) >= 35
    assert rho >= 0.8, rho
    s = r.mix_summary()
    assert s["cost"] <= 500_000 and s["creators"] >= 1 and s["kol"] + s["koc"] == s["creators"]
