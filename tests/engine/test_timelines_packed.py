"""Packed sweep (:mod:`aips.engine.packing`): the same timelines as one running sum per atom.

Checked three ways on random logs (several SPUs and categories per user, brand and day, so a
field's bound counts more than one row per day): equal to the unpacked sweep, equal day by
day to the pandas oracle of ``engine_helpers`` (independent of the engine), and exact at a
field's bound (a window full of rows every day).
"""

from __future__ import annotations

import datetime as dt
import textwrap

import ibis
import pytest
from engine_helpers import events_table, examples, oracle_snapshot
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aips.config.model import default_model, load_model
from aips.engine import daily_counters, timelines
from aips.engine.packing import WORD_BITS, Bounds, Packing, bounds_query
from aips.engine.stages import RulePlan
from aips.view import View

BASE = dt.date(2024, 1, 1)
TYPES = ["impression", "read", "search", "like", "collect", "share", "purchase", "post"]

# every counter a count and every coefficient positive (packable), short windows and
# comparisons of every kind, so that caps above 1 and saturated fields are exercised;
PACKABLE_YAML = textwrap.dedent("""
    counters:
      impression: {events: [impression], window: 3}
      read: {events: [read], window: 5}
      deep_read: {events: [read], where: "dwell_s >= 5", window: 5}
      collect: {events: [collect], window: 4}
      purchase: {events: [purchase], window: cycle}
      post: {events: [post], window: 9}
    stages:
      S: {rule: "post >= 2 or post + purchase > 2"}
      P: {rule: "purchase >= 1 and not collect == 1"}
      TI: {rule: "deep_read >= 2 or read + read + collect >= 4"}
      I: {rule: "read >= 1 or collect > 0"}
      A: {rule: "impression >= 1 and impression < 3 or impression > 3 or not read >= 1"}
    categories: {quick: 3, slow: 12}
""")
# A holds when every atom is 0 (``not read >= 1``): the level then needs its "some atom is
# nonzero" guard (aips.engine.stages._guarded), or a pair would keep A after its last event


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    path = tmp_path_factory.mktemp("model") / "aips.yaml"
    path.write_text(PACKABLE_YAML)
    return {"default": default_model(), "packable": load_model(path)}


def test_packing_of_the_shipped_rules():
    plan = RulePlan.of(default_model())
    p = Packing.of(plan, default_model(), Bounds(day_rows=4, span_days=180, max_cycle=70))
    caps = {f.atom: f.cap for f in p.fields}
    assert sorted(caps.values()) == [1] * 7 + [2]  # deep_read >= 2; the rest only >= 1
    assert p.words == 1
    # fields never overlap and fit the word
    spans = sorted((f.word, f.offset, f.offset + f.bits) for f in p.fields)
    assert all(a[2] <= b[1] for a, b in zip(spans, spans[1:], strict=False) if a[0] == b[0])
    assert max(end for _, _, end in spans) <= WORD_BITS
    # more rows per day: wider fields, a second word
    assert Packing.of(plan, default_model(), Bounds(day_rows=64, span_days=365, max_cycle=70)).words == 2


def test_unpackable_models_fall_back(tmp_path):
    path = tmp_path / "m.yaml"
    path.write_text(textwrap.dedent("""
        counters:
          read: {events: [read], window: 30}
          like: {events: [like], window: 30}
          spend: {events: [purchase], sum: amount, window: cycle}
        stages:
          S: {rule: "read - like >= 3"}
          P: {rule: "spend >= 100"}
          TI: {rule: "read >= 2"}
          I: {rule: "read >= 1"}
          A: {rule: "like >= 1"}
    """))
    model = load_model(path)
    assert Packing.of(RulePlan.of(model), model, Bounds(1, 30, 30)) is None
    assert Packing.of(RulePlan.of(default_model()), default_model(), None) is None


def _intervals(table) -> list[tuple]:
    return sorted(tuple(r.values()) for r in table.to_pyarrow().to_pylist())


def _stored_rollup(store, events, model):
    """The events' rollup written as a table: a sweep of it counts flag atoms per island
    (one of events, or of a rollup computed in the query, does not: it would aggregate them
    twice)."""
    store.write("rollup", daily_counters(events, model).to_pyarrow(), overwrite=True)
    return store.table("rollup")


def _bounds(store, events, model, level) -> Bounds:
    rollup = daily_counters(events, model)
    return Bounds.of_row(bounds_query(rollup, level, model).to_pyarrow().to_pylist()[0])


def test_hand_examples(store):
    """``w`` reads and sees two SPUs every day for 40 days: its 30-day fields reach 2 rows x
    30 days = 60, the most their 6 bits are sized for (bounds: 2 rows a day, 40 days). ``v``
    has two deep reads in ONE rollup row: TI (``deep_read >= 2``), so the row's part is
    capped at 2, not 1; ``u``'s one deep read gives I."""
    rows = [("w", "B", f"{BASE + dt.timedelta(days=d)} 10:00", t, {"spu": s, "dwell_s": 9.0})
            for d in range(40) for s in ("s1", "s2") for t in ("impression", "read")]
    rows += [("u", "B", f"{BASE} 10:00", "read", {"spu": "s1", "dwell_s": 9.0}),
             ("v", "B", f"{BASE} 10:00", "read", {"spu": "s1", "dwell_s": 9.0}),
             ("v", "B", f"{BASE} 11:00", "read", {"spu": "s1", "dwell_s": 9.0})]
    store.write("events", events_table(rows), overwrite=True)
    ev = store.table("events")
    model = default_model()
    bounds = _bounds(store, ev, model, "brand")
    assert (bounds.day_rows, bounds.span_days) == (2, 40)
    packed = _intervals(timelines(ev, model, bounds=bounds))
    day = lambda n: BASE + dt.timedelta(days=n)  # noqa: E731
    assert packed == [("u", "B", BASE, day(29), "I"), ("v", "B", BASE, day(29), "TI"),
                      ("w", "B", BASE, day(68), "TI")]
    assert packed == _intervals(timelines(ev, model))


event = st.tuples(
    st.sampled_from(["u0", "u1", "u2"]),
    st.sampled_from(["b0", "b1"]),
    st.integers(0, 30),
    st.sampled_from(TYPES),
    st.sampled_from([None, "s0", "s1"]),
    st.sampled_from([None, "quick", "slow", "infant_food"]),
    st.sampled_from([1.0, 9.0]),
)
case = st.tuples(st.lists(event, min_size=1, max_size=40), st.sampled_from(["default", "packable"]),
                 st.sampled_from(["brand", "spu"]), st.sampled_from([None, 5, 20]))


def _check(store, models, data):
    rows, name, level, start_off = data
    model = models[name]
    log = [(u, b, f"{BASE + dt.timedelta(days=d)} 12:00", t, {"spu": s, "category": c, "dwell_s": w})
           for u, b, d, t, s, c, w in rows]
    events = events_table(log)
    store.write("events", events, overwrite=True)
    ev = store.table("events")
    bounds = _bounds(store, ev, model, level)  # None when nothing is counted
    assert bounds is None or Packing.of(RulePlan.of(model), model, bounds) is not None
    start = None if start_off is None else BASE + dt.timedelta(days=start_off)
    packed = _intervals(timelines(ev, model, level=level, start=start, bounds=bounds))
    assert packed == _intervals(timelines(ev, model, level=level, start=start))
    # a stored rollup (a scan, not an aggregate): the flag atoms counted per island
    assert _intervals(timelines(_stored_rollup(store, ev, model), model, level=level, start=start,
                                bounds=bounds)) == packed
    # day by day against the oracle (straight from the definition, no engine code)
    ent = 1 if level == "brand" else 2
    for d in range(start_off or 0, 60):
        day = BASE + dt.timedelta(days=d)
        got = {r[:1 + ent]: r[-1] for r in packed if r[1 + ent] <= day <= r[2 + ent]}
        assert got == oracle_snapshot(events, model, day, level), day


def test_packed_equals_unpacked_and_the_oracle(store, models):
    """15 random logs on DuckDB, 2 on Spark (derandomised: the same cases every run)."""

    @settings(max_examples=examples(store, 15, 2), deadline=None, derandomize=True,
              suppress_health_check=[HealthCheck.too_slow])
    @given(data=case)
    def check(data):
        _check(store, models, data)

    check()


def test_view_builds_packed_with_bounds_from_the_events(store):
    """Without a rollup or stored timelines, :meth:`View.timelines` sweeps the events with
    :meth:`View.sweep_bounds`, computed on the events and equal here to their rollup's (2
    SPUs a day, 40 days: ``w``'s 30-day fields reach 2 x 30, the most those bounds allow):
    the packed build, the same intervals as the unpacked one."""
    rows = [("w", "B", f"{BASE + dt.timedelta(days=d)} 10:00", t, {"spu": s, "dwell_s": 9.0})
            for d in range(40) for s in ("s1", "s2") for t in ("impression", "read")]
    rows += [("u", "B", f"{BASE + dt.timedelta(days=3)} 10:00", "collect", {"spu": "s1"})]
    store.write("events", events_table(rows), overwrite=True)
    model = default_model()
    view = View(store, model)
    bounds = view.sweep_bounds("brand")
    assert (bounds.day_rows, bounds.span_days) == (2, 40)
    built = view.timelines(level="brand")
    assert "_w0" in str(ibis.to_sql(built))  # the packed sweep
    assert _intervals(built) == _intervals(timelines(store.table("events"), model))
    day = lambda n: BASE + dt.timedelta(days=n)  # noqa: E731
    assert ("w", "B", BASE, day(68), "TI") in _intervals(built)


def test_many_entities_keep_their_own_keys(store):
    """A full packed sweep sorts a user's rows by (entity index, day) folded into one int64
    (:data:`~aips.engine.timelines.KEY_STRIDE`). Spark's ``row_number`` is an INT, and the
    index times the stride overflowed it from the 512th entity (silently, outside ANSI mode):
    one user reading 600 brands, one a day, has one I interval per brand, 30 days from its
    read, on both backends."""
    rows = [("u", f"b{i:03d}", f"{BASE + dt.timedelta(days=i % 7)} 10:00", "read", {"spu": "s"})
            for i in range(600)]
    store.write("events", events_table(rows), overwrite=True)
    ev = store.table("events")
    model = default_model()
    bounds = _bounds(store, ev, model, "brand")
    packed = _intervals(timelines(ev, model, bounds=bounds))
    day = lambda n: BASE + dt.timedelta(days=n)  # noqa: E731
    assert packed == sorted(("u", f"b{i:03d}", day(i % 7), day(i % 7 + 29), "I") for i in range(600))


def test_flag_atoms_sweep_islands_of_rows(store):
    """A full packed sweep counts the atoms the rules only test for being nonzero (the
    default model's 30-day ones, ``post``'s 365 days) per island of rows, +1 at its first
    row and -1 W days after its last (:func:`aips.engine.timelines._island_deltas`). The
    edges, by hand and against the oracle: ``g``'s impressions 31 days apart leave day 30
    without A; ``h``'s, 30 days apart, make one unbroken A; ``k``'s read between two
    impressions is an island of another atom in between (I, then nothing for 5 days, then A);
    ``m`` has two SPUs a day and a post (365 days: S for a year)."""
    log = [("g", "B", 0, "impression"), ("g", "B", 31, "impression"),
           ("h", "B", 0, "impression"), ("h", "B", 30, "impression"),
           ("k", "B", 0, "impression"), ("k", "B", 10, "read"), ("k", "B", 45, "impression"),
           ("m", "B", 2, "impression"), ("m", "C", 2, "post")]
    rows = [(u, b, f"{BASE + dt.timedelta(days=d)} 10:00", t, {"spu": s})
            for u, b, d, t in log for s in (("s1", "s2") if u == "m" else ("s1",))]
    events = events_table(rows)
    store.write("events", events, overwrite=True)
    ev = store.table("events")
    model = default_model()
    bounds = _bounds(store, ev, model, "brand")
    assert [(f.atom, f.window) for f in Packing.of(RulePlan.of(model), model, bounds).flags()] == [
        ("_a0", 365), ("_a3", 30), ("_a4", 30), ("_a5", 30), ("_a6", 30), ("_a7", 30)]
    built = timelines(_stored_rollup(store, ev, model), model, bounds=bounds)
    assert "_atom" in str(ibis.to_sql(built))  # the islands' sweep
    assert "_atom" not in str(ibis.to_sql(timelines(ev, model, bounds=bounds)))
    packed = _intervals(built)
    day = lambda n: BASE + dt.timedelta(days=n)  # noqa: E731
    assert packed == [("g", "B", day(0), day(29), "A"), ("g", "B", day(31), day(60), "A"),
                      ("h", "B", day(0), day(59), "A"),
                      ("k", "B", day(0), day(9), "A"), ("k", "B", day(10), day(39), "I"),
                      ("k", "B", day(45), day(74), "A"),
                      ("m", "B", day(2), day(31), "A"), ("m", "C", day(2), day(366), "S")]
    for d in range(0, 80, 3):
        got = {r[:2]: r[-1] for r in packed if r[2] <= day(d) <= r[3]}
        assert got == oracle_snapshot(events, model, day(d), "brand"), d
