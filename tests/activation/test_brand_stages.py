"""The diagnosis's one-pass per-brand counts agree with the separate queries they replace
(two snapshots, their flows, the advance rates, new TI), on both backends; and the report's
cached timelines give the diagnosis and the creator ranking the same numbers as fresh ones."""

from __future__ import annotations

import datetime as dt
import random

import pandas as pd
from activation_helpers import events_table, workspace

from aips.activation.brand_stages import FROM_STAGES, brand_stage_counts
from aips.activation.diagnose import advance_rates
from aips.config.model import STAGE_ORDER
from aips.engine.flows import flow_rates, new_ti, user_flows
from aips.engine.snapshot import snapshot
from aips.engine.timelines import timelines

AT, T0 = dt.date(2024, 3, 20), dt.date(2024, 2, 10)
TYPES = ["impression"] * 5 + ["read"] * 3 + ["search", "collect", "purchase", "post"]


def random_rows(seed: int = 3, users: int = 40) -> list[tuple]:
    """A seeded log: 40 users, 3 brands of one category, 90 days, note touches by 3 creators."""
    rng = random.Random(seed)
    rows = []
    for u in range(users):
        for _ in range(rng.randint(1, 14)):
            day = dt.date(2024, 1, 1) + dt.timedelta(days=rng.randint(0, 89))
            creator = rng.choice([None, "c1", "c2", "c3"])
            extra = {"category": "serum", "note_id": f"n{rng.randint(1, 6)}" if creator else None,
                     "creator_id": creator, "dwell_s": rng.choice([None, 2.0, 8.0])}
            rows.append((f"u{u}", rng.choice(["b1", "b2", "b3"]), f"{day} 12:00", rng.choice(TYPES), extra))
    return rows


def test_one_pass_matches_the_separate_queries(store):
    ws = workspace(store, events_table(random_rows()))
    src, model = ws.events, ws.model
    tl = timelines(src, model, level="brand", end=AT)
    got = brand_stage_counts(tl, T0, AT).to_pyarrow().to_pandas().set_index("brand").sort_index()

    snap1, snap0 = snapshot(src, model, AT), snapshot(src, model, T0)
    sizes = snap1.group_by(["brand", "stage"]).aggregate(n=snap1.count()).to_pyarrow().to_pandas()
    rates = flow_rates(user_flows(snap0, snap1)).to_pyarrow().to_pandas()
    adv = advance_rates(tl, T0, AT).to_pyarrow().to_pandas()
    new = new_ti(tl, "brand", T0 + dt.timedelta(days=1), AT).to_pyarrow().to_pandas()
    assert list(got.index) == ["b1", "b2", "b3"]
    for b in got.index:
        for s in STAGE_ORDER:
            hit = sizes[(sizes.brand == b) & (sizes.stage == s)]
            assert got.loc[b, f"size_{s}"] == (int(hit.n.iloc[0]) if len(hit) else 0), (b, s)
        for x in FROM_STAGES:
            r = rates[(rates.brand == b) & (rates.stage == x)]
            assert (got.loc[b, f"t0_{x}"], got.loc[b, f"up0_{x}"]) == (
                (int(r.at_t0.iloc[0]), int(r.moved_up.iloc[0])) if len(r) else (0, 0)), (b, x)
            a = adv[(adv.brand == b) & (adv.stage == x)]
            assert (got.loc[b, f"n_{x}"], got.loc[b, f"adv_{x}"]) == (
                (int(a.n.iloc[0]), int(a.up.iloc[0])) if len(a) else (0, 0)), (b, x)
        assert got.loc[b, "new_ti"] == int((new.brand == b).sum())
    # the log is rich enough for every count to be exercised
    assert got[[f"adv_{x}" for x in ("A", "I")]].to_numpy().min() > 0
    assert got["new_ti"].sum() > 0 and got[[f"up0_{x}" for x in ("A", "I")]].to_numpy().sum() > 0


def test_cached_timelines_give_the_same_diagnosis_and_creators(duckdb_store):
    ws = workspace(duckdb_store, events_table(random_rows(seed=5, users=60)))
    cached = ws.cached()
    assert cached.view.cache and not ws.view.cache
    fresh_d = ws.diagnose("b1", AT, period=40, actions=False, min_base=1)
    cached_d = cached.diagnose("b1", AT, period=40, actions=False, min_base=1)
    pd.testing.assert_frame_equal(fresh_d.brands, cached_d.brands)
    pd.testing.assert_frame_equal(fresh_d.metrics, cached_d.metrics)
    # the day before the last: the cached timelines run past it and must be read up to it only
    day = AT - dt.timedelta(days=12)
    fresh_c = ws.creators("I+TI", at=day, brand="b2", lookback=60, k=5, attribution=None, min_touches=1)
    cached_c = cached.creators("I+TI", at=day, brand="b2", lookback=60, k=5, attribution=None, min_touches=1)
    pd.testing.assert_frame_equal(fresh_c.table, cached_c.table)
    assert fresh_c.table["touches"].sum() > 0 and fresh_c.table["seeded"].sum() > 0


def test_a_count_that_matches_no_row_is_zero_on_every_backend(store):
    """Only impressions: no pair reaches TI, so new TI (and every advance count) is 0, not null
    (Spark's conditional count of no row is NULL; the diagnosis then failed on the report)."""
    rows = [(f"u{u}", "b1", f"2024-03-{d:02d} 12:00", "impression", {"category": "serum"})
            for u in range(3) for d in (1, 5)]
    ws = workspace(store, events_table(rows))
    tl = timelines(ws.events, ws.model, level="brand")
    got = brand_stage_counts(tl, T0, AT).to_pyarrow().to_pylist()
    assert len(got) == 1
    assert got[0]["new_ti"] == 0 and got[0]["size_A"] == 3
    assert all(v == 0 for k, v in got[0].items() if k.startswith(("adv_", "up0_")))
