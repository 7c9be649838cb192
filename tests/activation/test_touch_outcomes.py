"""Creators' seeding touches (:func:`aips.activation.creators.touch_outcomes`) against a
day-by-day pandas oracle of the definition: a touch is a (user, brand, creator, day) with a
note event while the pair was below TI the day before; it is a hit when the pair's level
rises to I or TI (an interval start ranking above the level the day before) on a day in
``d .. d+k``. Random timelines (adjacent and gapped intervals, decays, jumps to P) on
DuckDB (hypothesis), and one fixed world on every backend."""

from __future__ import annotations

import datetime as dt
import random

import ibis
import pandas as pd
import pyarrow as pa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aips.activation.creators import touch_outcomes

RANK = {"A": 1, "I": 2, "TI": 3, "P": 4}
D0 = dt.date(2024, 3, 1)
START, LAST = D0 + dt.timedelta(days=3), D0 + dt.timedelta(days=20)


def _world(seed: int, pairs: int = 6, creators: int = 3) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Timelines (non-overlapping intervals per pair, with gaps) and note events."""
    rnd = random.Random(seed)
    spans, events = [], []
    for p in range(pairs):
        user, brand = f"u{p % 4}", f"b{p // 4}"
        day = rnd.randint(0, 4)
        while day < 34:
            length = rnd.randint(1, 5)
            spans.append({"user_id": user, "brand": brand, "stage": rnd.choice(list(RANK)),
                          "start_date": D0 + dt.timedelta(days=day),
                          "end_date": D0 + dt.timedelta(days=day + length - 1)})
            day += length + rnd.choice([0, 0, 0, 1, 3])  # mostly adjacent, sometimes a gap
        for _ in range(rnd.randint(0, 12)):
            # the window's edges often: a touch on LAST is followed up to LAST + k
            d = rnd.choice([D0 + dt.timedelta(days=rnd.randint(0, 30)), START, LAST])
            creator = rnd.choice([None] + [f"c{i}" for i in range(creators)])
            events.append({"user_id": user, "brand": brand, "creator_id": creator,
                           "note_id": f"n{rnd.randint(0, 3)}" if rnd.random() > 0.1 else None,
                           "local_date": d})
    return pd.DataFrame(spans), pd.DataFrame(events, columns=["user_id", "brand", "creator_id",
                                                              "note_id", "local_date"])


def _oracle(spans: pd.DataFrame, events: pd.DataFrame, k: int) -> pd.DataFrame:
    level: dict[tuple, int] = {}
    starts: set[tuple] = set()
    for r in spans.itertuples():
        day = r.start_date
        while day <= r.end_date:
            level[(r.user_id, r.brand, day)] = RANK[r.stage]
            day += dt.timedelta(days=1)
    for r in spans.itertuples():
        one = dt.timedelta(days=1)
        if r.stage in ("I", "TI") and RANK[r.stage] > level.get((r.user_id, r.brand, r.start_date - one), 0):
            starts.add((r.user_id, r.brand, r.start_date))
    ev = events[events.note_id.notna() & (events.local_date >= START) & (events.local_date <= LAST)]
    touches = {(r.user_id, r.brand, r.creator_id or "", r.local_date) for r in ev.itertuples()}
    rows = []
    for u, b, c, d in sorted(touches):
        before = level.get((u, b, d - dt.timedelta(days=1)), 0)
        if before < 3:
            hit = any((u, b, d + dt.timedelta(days=i)) in starts for i in range(k + 1))
            rows.append({"user_id": u, "brand": b, "creator_id": c, "d": d, "before": before,
                         "hit": hit})
    out = pd.DataFrame(rows, columns=["user_id", "brand", "creator_id", "d", "before", "hit"])
    out["wk"] = [d - dt.timedelta(days=d.weekday()) for d in out.d]
    out["base"] = out.groupby(["brand", "wk", "before"]).hit.transform("mean")
    return out


def _run(spans_t: ibis.Table, events_t: ibis.Table, k: int) -> pd.DataFrame:
    out = touch_outcomes(events_t, spans_t, START, LAST, k).to_pyarrow().to_pandas()
    out["d"] = pd.to_datetime(out.d).dt.date
    out["wk"] = pd.to_datetime(out.wk).dt.date
    return out


def _same(got: pd.DataFrame, want: pd.DataFrame) -> None:
    cols = ["user_id", "brand", "creator_id", "d", "before", "hit", "wk", "base"]
    key = ["user_id", "brand", "creator_id", "d"]
    got = got[cols].sort_values(key).reset_index(drop=True).astype({"before": "int64", "hit": bool})
    want = want[cols].sort_values(key).reset_index(drop=True).astype({"before": "int64", "hit": bool})
    pd.testing.assert_frame_equal(got, want, check_exact=False, rtol=1e-12)


EVENT_SCHEMA = pa.schema([("user_id", pa.string()), ("brand", pa.string()), ("creator_id", pa.string()),
                          ("note_id", pa.string()), ("local_date", pa.date32())])
SPAN_SCHEMA = pa.schema([("user_id", pa.string()), ("brand", pa.string()), ("stage", pa.string()),
                         ("start_date", pa.date32()), ("end_date", pa.date32())])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10**6), k=st.integers(0, 9))
def test_touch_outcomes_equal_the_day_by_day_definition(seed, k):
    spans, events = _world(seed)
    con = ibis.duckdb.connect()
    got = _run(con.create_table("tl", pa.Table.from_pandas(spans, schema=SPAN_SCHEMA, preserve_index=False)),
               con.create_table("ev", pa.Table.from_pandas(events, schema=EVENT_SCHEMA, preserve_index=False)),
               k)
    _same(got, _oracle(spans, events, k))


def test_touch_outcomes_on_every_backend(store):
    spans, events = _world(7, pairs=8)
    want = _oracle(spans, events, 7)
    assert want.hit.any() and not want.hit.all() and (want.before > 0).any()  # a case that can fail
    tl = store.write("tl", pa.Table.from_pandas(spans, schema=SPAN_SCHEMA, preserve_index=False))
    ev = store.write("ev", pa.Table.from_pandas(events, schema=EVENT_SCHEMA, preserve_index=False))
    _same(_run(tl, ev, 7), want)
