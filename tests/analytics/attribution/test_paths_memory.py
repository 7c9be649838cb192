"""Paths in bounded memory (issue 13): journeys built a bucket of users at a time give the
same path table as one query, on every backend, and fit a small DuckDB memory limit that
the one query does not."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa
import pytest
from attribution_helpers import JOURNEY_LOG, JOURNEY_PATHS, events_table

import aips
from aips.engine import paths as P
from aips.store.cache import cached
from aips.store.connect import connect
from aips.store.tables import arrow_schema


def _table(expr) -> list[dict]:
    return expr.to_pyarrow().to_pylist()


def assert_same_paths(got: list[dict], want: list[dict]) -> None:
    """Row for row: paths and counts exactly; sums (value, decay) up to float rounding
    (the bucketed sums are the same terms added in another order)."""
    assert [r["path"] for r in got] == [r["path"] for r in want]
    for g, w in zip(got, want, strict=True):
        assert (g["conversions"], g["nulls"]) == (w["conversions"], w["nulls"]), g["path"]
        assert g["value"] == pytest.approx(w["value"], rel=1e-12), g["path"]
        for k in ("decay", "decay_value"):
            if k in w:
                assert (g[k] is None) == (w[k] is None), (k, g["path"])
                if w[k] is not None:
                    assert g[k] == pytest.approx(w[k], rel=1e-12), (k, g["path"])


def test_bucketed_paths_equal_one_query_on_every_backend(store):
    store.write("events", events_table(JOURNEY_LOG), overwrite=True)
    ev = store.table("events")
    one = _table(P.build_paths(ev, lookback=7, half_life=1.0))
    got = _table(P.build_paths(ev, lookback=7, half_life=1.0, buckets=3, materialise=cached))
    assert_same_paths(got, one)
    # and the hand-derived table itself
    assert {r["path"]: (r["conversions"], round(r["value"], 9), r["nulls"]) for r in one} == JOURNEY_PATHS


def test_bucketed_paths_with_transforms_and_labels(duckdb_store):
    duckdb_store.write("events", events_table(JOURNEY_LOG), overwrite=True)
    ev = duckdb_store.table("events")
    for buckets in (2, 7):  # bucketing alone, with decay, with and without materialising
        assert_same_paths(_table(P.build_paths(ev, lookback=7, half_life=2.0, buckets=buckets)),
                          _table(P.build_paths(ev, lookback=7, half_life=2.0)))
    for kw in ({"transform": "collapse"}, {"transform": ["first", "drop_organic"]},
               {"by": "campaign"}, {"lookback": 30}):
        kw = {"lookback": 7, **kw}
        assert_same_paths(_table(P.build_paths(ev, buckets=3, **kw)), _table(P.build_paths(ev, **kw)))


def test_staged_paths_equal_one_query(duckdb_store, monkeypatch):
    """Touches larger than the memory limit are staged to Parquet filed by bucket
    (:func:`aips.engine.paths._staged_paths`): the same paths as one query, with transforms
    and decay, and the result still reads after the staged files are gone."""
    from aips.store.staging import parquet_stager

    # u5 never buys: its Jan 4 touch is on the first day of the last 7 (Jan 4-10), Jan 3 not
    edge = [("u5", "b", "2024-01-03 10:00", "impression", "search_ad"),
            ("u5", "b", "2024-01-04 10:00", "read", "kol_note")]
    duckdb_store.write("events", events_table(JOURNEY_LOG + edge), overwrite=True)
    ev = duckdb_store.table("events")
    assert {r["path"]: r["nulls"] for r in _table(P.build_paths(ev, lookback=7))}["kol_note"] == 1
    staged = []
    real = P._staged_paths
    monkeypatch.setattr(P, "_staged_paths", lambda *a, **k: staged.append(a[0]) or real(*a, **k))
    for kw in ({"half_life": 2.0}, {"transform": "collapse"}, {"transform": ["first", "drop_organic"]},
               {"by": "campaign"}, {"lookback": 30, "half_life": 1.0},
               {"lookback": None}):  # None: each brand's cycle (a table of lookbacks)
        kw = {"lookback": 7, **kw}
        with parquet_stager(duckdb_store) as stage:
            # 512 B: a touch a bucket (0.5 x 512 B / 200 B), and the touches x 110 B exceed it
            got = P.build_paths(ev, materialise=cached, memory_limit=512, stage=stage, **kw)
        assert_same_paths(_table(got), _table(P.build_paths(ev, **kw)))
    assert len(staged) == 6
    # more buckets than the slots the candidates were filed in: filed again by bucket
    monkeypatch.setattr(P, "STAGE_SLOTS", 2)
    restaged = []
    real_stage = P.path_buckets
    monkeypatch.setattr(P, "path_buckets", lambda *a: restaged.append(real_stage(*a)) or real_stage(*a))
    for kw in ({"lookback": 7, "half_life": 2.0}, {"lookback": 30, "transform": "collapse"}):
        with parquet_stager(duckdb_store) as stage:
            got = P.build_paths(ev, materialise=cached, memory_limit=512, stage=stage, **kw)
        assert_same_paths(_table(got), _table(P.build_paths(ev, **kw)))
    assert restaged and max(restaged) > 2


def test_decay_cells_keyed_by_hashes_fall_back_to_the_text_on_a_shared_key(duckdb_store, monkeypatch):
    """Bucketed decay cells are keyed by two hashes of the path (``path_key``); paths that
    share them (forced here: every path of one length shares a key) are keyed by text."""
    import ibis

    duckdb_store.write("events", events_table(JOURNEY_LOG), overwrite=True)
    ev = duckdb_store.table("events")
    want = _table(P.build_paths(ev, lookback=30, half_life=2.0))
    assert len({len(r["path"]) for r in want}) < len(want)  # some paths share a length
    monkeypatch.setattr(P, "path_key", lambda path: {"_k1": path.length().cast("int64"),
                                                     "_k2": ibis.literal(0, "int64")})
    got = _table(P.build_paths(ev, lookback=30, half_life=2.0, buckets=3, materialise=cached))
    assert_same_paths(got, want)


def test_a_parquet_stager_cleans_up_and_files_by_bucket(tmp_path):
    import ibis

    from aips.store.staging import parquet_stager

    s = connect(str(tmp_path / "a.duckdb"))
    try:
        with parquet_stager(s) as stage:
            t = stage(ibis.memtable({"k": list(range(10)), "_bucket": [i % 3 for i in range(10)]}), "_bucket")
            folders = sorted(p.name for p in (tmp_path / "a.duckdb.tmp").glob("aips-staged-*/*/*/*=*"))
            assert folders == ["_bucket=0", "_bucket=1", "_bucket=2"]
            assert sorted(t.filter(t._bucket == 1).k.to_pyarrow().to_pylist()) == [1, 4, 7]
        assert not list((tmp_path / "a.duckdb.tmp").glob("aips-staged-*"))
    finally:
        s.close()


def test_path_buckets_from_memory_limit():
    # 0.5 * 1 MiB / 200 B = 2621 rows a bucket
    assert P.path_buckets(2621, 2**20) == 1
    assert P.path_buckets(2622, 2**20) == 2
    assert P.path_buckets(10 * 2621, 2**20) == 10
    assert P.path_buckets(10**12, 2**20) == P.MAX_BUCKETS
    assert P.path_buckets(10**9, None) == 1 and P.path_buckets(0, 2**20) == 1


def _long_journeys(users: int, touches: int, seed: int = 7) -> pa.Table:
    """``users`` users of one brand, each with ``touches`` touches over 30 days (random
    channels) and a purchase after every 10th touch for one user in three."""
    rng = np.random.default_rng(seed)
    channels = np.array(["feed_ad", "search_ad", "kol_note", "koc_note", "organic", "topic_challenge"])
    n = users * touches
    user = np.repeat(np.arange(users), touches)
    k = np.tile(np.arange(touches), users)
    start = dt.datetime(2024, 1, 1)
    minutes = (k * (30 * 24 * 60 // touches) + rng.integers(0, 60, n)).astype("timedelta64[m]")
    ts = np.datetime64(start) + minutes
    buys = (user % 3 == 0) & (k % 10 == 9)
    etype = np.where(buys, "purchase", rng.choice(["impression", "read", "like"], n))
    channel = np.where(buys, None, rng.choice(channels, n))
    schema = arrow_schema("events")
    cols = {
        "event_id": pa.array([f"e{i}" for i in range(n)]),
        "ts": pa.array(ts.astype("datetime64[us]")),
        "local_date": pa.array(ts.astype("datetime64[D]")),
        "user_id": pa.array([f"u{u:06d}" for u in user]),
        "brand": pa.array(["b"] * n),
        "event_type": pa.array(etype),
        "channel": pa.array(channel.tolist(), pa.string()),
        "amount": pa.array(np.where(buys, 10.0 + (user % 7), np.nan), from_pandas=True),
    }
    return pa.table({f.name: (cols[f.name].cast(f.type) if f.name in cols
                              else pa.nulls(n, f.type)) for f in schema}, schema=schema)


@pytest.mark.slow
def test_attribution_fits_a_small_memory_limit(tmp_path):
    """Issue 13: 600k journey touches need ~70 MiB of per-journey lists in one query; at
    64 MiB that query runs out of memory, the bucketed one completes with the same paths."""
    import duckdb

    path = str(tmp_path / "aips.duckdb")
    s = connect(path)
    s.write("events", _long_journeys(users=20_000, touches=30))
    s.close()
    with aips.open(path, read_only=True) as ws:
        want = _table(ws.attribution_paths(lookback=30, half_life=7.0))
    with aips.open(path, read_only=True, memory_limit="64MiB") as ws:
        ev = ws.view.events
        with pytest.raises(duckdb.OutOfMemoryException):  # the old single query
            P.build_paths(ev, lookback=30, half_life=7.0, materialise=cached).to_pyarrow()
        got = _table(ws.attribution_paths(lookback=30, half_life=7.0))
    assert len(want) > 1000 and sum(r["conversions"] for r in want) > 0
    assert_same_paths(got, want)
    # under 40 MiB the touches (x 110 B) exceed the limit: staged to Parquet, filed by bucket
    with aips.open(path, read_only=True, memory_limit="40MiB") as ws:
        assert 600_000 * P.STAGE_ROW_BYTES > ws.store.settings.memory_limit
        got = _table(ws.attribution_paths(lookback=30, half_life=7.0))
    assert_same_paths(got, want)
    assert not list((tmp_path / "aips.duckdb.tmp").glob("aips-staged-*"))


def test_bucketed_chain_units_equal_one_query(duckdb_store):
    """The incremental model's per-pair exposures (label sets: list aggregates too), a
    bucket of users at a time: the same units, row for row."""
    import ibis
    from test_journeys import CHAIN_LOG, CHAIN_TIMELINE

    from aips.config.model import default_model
    from aips.engine import chains

    duckdb_store.write("events", events_table(CHAIN_LOG), overwrite=True)
    ev = duckdb_store.table("events")
    timeline = ibis.memtable(pa.table(CHAIN_TIMELINE))

    def units(**kw):
        u = chains.chain_units(ev, default_model(), "purchase", timeline=timeline, **kw)
        return sorted(u.to_pyarrow().to_pylist(), key=lambda r: repr(sorted(r.items())))

    one = units()
    # 1 byte of memory: a bucket per touch row (several buckets, some empty)
    assert P.path_buckets(len(CHAIN_LOG), 1) > 3
    assert units(memory_limit=1, materialise=cached) == one
    assert sorted(r["e2"] for r in one if r["e2"]) == ["feed_ad + organic", "kol_note"]


def _chain_world(users: int = 400, seed: int = 11) -> pa.Table:
    """Random logs of ``users`` users and two brands (two categories): impressions, reads,
    likes, collects and searches on five channels (one in ten without) and four campaigns over
    40 days, and a purchase for about one pair in four; many pairs reach I and TI at different speeds, so
    the step durations (quantiles over every pair of a category) set the non-advancers'
    windows."""
    rng = np.random.default_rng(seed)
    n = users * 14
    user = rng.integers(0, users, n)
    brand = np.where(rng.random(n) < 0.6, "b1", "b2")
    ts = np.datetime64(dt.datetime(2024, 1, 1)) + rng.integers(0, 40 * 24 * 60, n).astype("timedelta64[m]")
    etype = rng.choice(["impression", "impression", "read", "like", "collect", "search", "purchase"], n,
                       p=[0.3, 0.2, 0.2, 0.1, 0.1, 0.06, 0.04])
    channel = rng.choice(["feed_ad", "search_ad", "kol_note", "organic", "topic"], n)
    campaign = rng.choice(["c1", "c2", "c3", "c4", None], n)
    schema = arrow_schema("events")
    buys = etype == "purchase"
    no_channel = buys | (rng.random(n) < 0.1)  # some stage events come without a channel
    cols = {
        "event_id": pa.array([f"e{i}" for i in range(n)]),
        "ts": pa.array(ts.astype("datetime64[us]")),
        "local_date": pa.array(ts.astype("datetime64[D]")),
        "user_id": pa.array([f"u{u:05d}" for u in user]),
        "brand": pa.array(brand),
        "category": pa.array(np.where(brand == "b1", "serum", "cream")),
        "event_type": pa.array(etype),
        "channel": pa.array(np.where(no_channel, None, channel).tolist(), pa.string()),
        "campaign_id": pa.array(np.where(no_channel, None, campaign).tolist(), pa.string()),
        "amount": pa.array(np.where(buys, 20.0 + user % 5, np.nan), from_pandas=True),
    }
    return pa.table({f.name: (cols[f.name].cast(f.type) if f.name in cols
                              else pa.nulls(n, f.type)) for f in schema}, schema=schema)


def _frame_rows(table) -> list[dict]:
    return table.to_pyarrow().to_pylist()


@pytest.mark.parametrize("target, by, masks, timeline", [("purchase", "channel", True, False),
                                                         ("TI", "channel", False, False),
                                                         ("P", "campaign", True, True)])
def test_staged_chain_cells_equal_one_query(duckdb_store, monkeypatch, target, by, masks, timeline):
    """Touches larger than the memory limit: the incremental model's chain cells built a
    bucket of users at a time from the touches staged filed by bucket
    (:func:`aips.engine.chains._staged_chain_cells`) equal one query's, cell for cell, with a
    holdout, with exposures as masks or as text, with the stage days read off timelines
    (staged by bucket too) or found in the events; the step durations are still quantiles
    over every pair of a category (per bucket they would differ), and the result reads after
    the staged files are gone."""
    from aips.config.model import default_model
    from aips.engine import chains
    from aips.engine.timelines import timelines
    from aips.store.staging import parquet_stager

    log = _chain_world()
    duckdb_store.write("events", log, overwrite=True)
    users = sorted(set(log.column("user_id").to_pylist()))
    duckdb_store.write("users", pa.table({"user_id": users + ["u_never"],
                                          "holdout": [i % 5 == 0 for i in range(len(users) + 1)]}),
                       overwrite=True)
    ev, us, model = duckdb_store.table("events"), duckdb_store.table("users"), default_model()
    labels = chains.touch_labels(ev, model, by).to_pyarrow().column("label").to_pylist() if masks else None
    kw = {"users": us, "by": by, "labels": labels}
    if timeline:
        kw["timeline"] = cached(timelines(ev, model, level="brand"))
    want_steps, want_profiles = (_frame_rows(t) for t in chains.chain_cells(ev, model, target, **kw))
    assert sum(r["advances"] for r in want_steps if r["step"] == 2) > 20
    assert len(want_profiles) > 5 and sum(r["converters"] for r in want_profiles) > 20
    buckets = []
    real = chains._staged_chain_cells
    monkeypatch.setattr(chains, "_staged_chain_cells", lambda *a, **k: buckets.append(k["buckets"]) or real(*a, **k))
    n = log.num_rows
    with parquet_stager(duckdb_store) as stage:
        # a bucket holds ~1/8 of the touches
        limit = n * chains.CHAIN_ROW_BYTES // 4
        steps, profiles = chains.chain_cells(ev, model, target, materialise=cached, memory_limit=limit,
                                             stage=stage, **kw)
    assert buckets and buckets[0] >= 6
    assert _frame_rows(steps) == want_steps
    got_profiles = _frame_rows(profiles)
    assert [{k: v for k, v in r.items() if k != "value"} for r in got_profiles] == \
        [{k: v for k, v in r.items() if k != "value"} for r in want_profiles]
    assert [r["value"] for r in got_profiles] == pytest.approx([r["value"] for r in want_profiles], rel=1e-12)


def test_incremental_attribution_fits_a_small_memory_limit(tmp_path, monkeypatch):
    """Through the workspace, as ``aips attribute --model incremental`` runs it: under a memory
    limit below the touches' size the chain is staged in buckets, the same cells as without
    a limit, and no staged file is left beside the store."""
    from aips.engine import chains

    path = str(tmp_path / "aips.duckdb")
    s = connect(path)
    s.write("events", _chain_world(users=25_000, seed=5))
    s.close()
    with aips.open(path, read_only=True) as ws:
        want = ws.attribution_chain()
    buckets = []
    real = chains._staged_chain_cells
    monkeypatch.setattr(chains, "_staged_chain_cells", lambda *a, **k: buckets.append(k["buckets"]) or real(*a, **k))
    with aips.open(path, read_only=True, memory_limit="32MiB") as ws:  # (300k touches x 120 B)
        got = ws.attribution_chain()
    assert buckets and buckets[0] > 1
    assert len(want.steps) > 10 and want.profiles.converters.sum() > 20
    assert got.steps.equals(want.steps)
    assert got.profiles.drop(columns="value").equals(want.profiles.drop(columns="value"))
    assert np.allclose(got.profiles.value, want.profiles.value, rtol=1e-12)
    assert not list((tmp_path / "aips.duckdb.tmp").glob("aips-staged-*"))


@pytest.mark.parametrize("target, by", [("purchase", "channel"), ("TI", "campaign")])
def test_first_touch_masks_equal_every_touch_joined(store, target, by):
    """The chain's stage times with ``t0`` from each label's first touch, and its masks with
    step 1 read off those first touches and the later steps from the advanced pairs' touches
    only (:func:`aips.engine.chains.first_touches`), equal the direct definition: ``t0`` from
    one aggregate of the events, every touch joined to its pair's times and flagged per step
    window, pair for pair (minute timestamps: touches fall on the windows' ends)."""
    from aips.config.model import default_model
    from aips.engine import chains

    store.write("events", _chain_world(), overwrite=True)
    ev, model = store.table("events"), default_model()
    labels = chains._mask_labels(chains.touch_labels(ev, model, by).to_pyarrow().column("label").to_pylist())
    K = len(chains.CHAINS[target])
    first = cached(chains.first_touches(ev, model, by))

    def rows(t, cols):
        return sorted(tuple(r[c] for c in cols) for r in t.to_pyarrow().to_pylist())

    tcols = ["user_id", "brand", *[f"t{k}" for k in range(K + 1)]]
    assert rows(chains.stage_times(ev, model, target, first=first), tcols) == \
        rows(chains.stage_times(ev, model, target), tcols)
    times = cached(chains._with_step_durations(chains.stage_times(ev, model, target, first=first),
                                               ev, K, 0.5))
    ecols = ["user_id", "brand", *[f"e{k}" for k in range(1, K + 1)]]
    want = rows(chains._all_step_masks(ev, model, times, by, K, labels), ecols)
    got = rows(chains._step_masks(ev, model, times, by, K, labels, first), ecols)
    assert got == want
    t = {(r[0], r[1]): r for r in rows(times, tcols)}
    idle = [r for r in want if t[(r[0], r[1])][3] is None]  # pairs that never reached I
    every = {}  # each pair's mask of every label it was touched by
    for r in first.to_pyarrow().to_pylist():
        every[(r["user_id"], r["brand"])] = every.get((r["user_id"], r["brand"]), 0) | (1 << labels.index(r["label"]))
    # their window is D1 long: more than the first touch, not every touch
    assert any(bin(r[2]).count("1") > 1 for r in idle) and any(r[2] != every[(r[0], r[1])] for r in idle)
    assert K == 1 or any(r[3] for r in want)
