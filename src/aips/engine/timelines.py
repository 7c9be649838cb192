"""Stage timelines: per (user, entity), the intervals over which its level is constant.

A level changes only on days where an event enters a window (its own day d) or leaves one
(day d + W). The sweep line builds those change points without recomputing a snapshot per
day:

1. from the daily rollup, each row gives ``+atoms`` at its day d and, for each window W of
   the rules, ``-atoms`` (the part of each atom summed over W) at d + W (``cycle``: d + the
   category's decision cycle);
2. ONE running sum per pair (ordered by day, RANGE UNBOUNDED PRECEDING, so every delta of
   a day is included) gives every atom's windowed value at each change point, and
   ``lead(day)`` in the same window pass gives the next change point; the level follows
   from the atoms (:func:`level_expr`).

That gives *segments* ``[day, next_day)`` of constant atoms (:func:`stage_segments`).
Given the rollup's :class:`~aips.engine.packing.Bounds`, the atoms are capped and packed into
one or two int64 words (:mod:`aips.engine.packing`): the window sums a word instead of every
atom, and a sum of the day's own deltas (its RANGE peers) in the same pass gives the level
before each change point (the running sum minus the day's); the levels are compared as ranks
(:func:`~aips.engine.stages.level_rank_expr`). Measured on the 12M-event store: 41 -> 22-24
CPU s with the packed words, then -> 16-19 with the day's sum, the ranks and no ``lead`` over
every delta row (``bench/README.md``), same intervals. An atom the rules only test for being
nonzero (a flag: ``impression >= 1``) adds one delta pair per *island* of rows (rows at most W
days apart) rather than per row (:func:`_island_deltas`): 21.3M -> 5.2M rows in the window,
15.7 -> 10.4 CPU s (where the rollup is read, not aggregated from the events in the query).
Neighbouring segments may have the same level; :func:`timelines` merges them into maximal
intervals. Asset series count segments directly (:mod:`aips.engine.series`).

>>> import datetime as dt, ibis
>>> from aips.config.model import default_model
>>> ev = ibis.memtable({"user_id": ["u"] * 2, "brand": ["b"] * 2, "spu": [None] * 2,
...     "category": [None] * 2, "local_date": [dt.date(2024, 1, 1), dt.date(2024, 1, 10)],
...     "event_type": ["impression", "collect"], "dwell_s": [None] * 2,
...     "completion": [None] * 2, "amount": [None] * 2})
>>> tl = timelines(ev, default_model()).order_by("start_date").to_pyarrow().to_pylist()
>>> [(r["start_date"].isoformat(), r["end_date"].isoformat(), r["stage"]) for r in tl]
[('2024-01-01', '2024-01-09', 'A'), ('2024-01-10', '2024-02-08', 'TI')]
"""

from __future__ import annotations

import datetime as dt
from functools import reduce

import ibis
import ibis.expr.datatypes as dt_
import ibis.expr.operations as ops

from aips.config.model import STAGE_ORDER, STAGE_RANK, STAGES, Model, Window
from aips.engine.counters import daily_counters, is_rollup
from aips.engine.cycles import with_cycle_days
from aips.engine.packing import Bounds, Field, Packing
from aips.engine.stages import (
    RulePlan,
    atom_dtype,
    entity_keys,
    for_level,
    level_expr,
    level_rank_expr,
    rank_stage,
    resolve_level,
    scaled,
)

EPOCH = dt.date(1970, 1, 1)
"""Day numbers inside the sweep count days from here (integer sorts and arithmetic)."""


KEY_SHIFT = 22
KEY_STRIDE = 2**KEY_SHIFT
"""A full sweep sorts each user's rows by one int64, ``entity index * KEY_STRIDE + day number
+ KEY_OFFSET`` (:func:`entity_index`), instead of by the entity's text and the day: the day
numbers of 1970 +- 5,700 years fit between two entities' keys."""
KEY_OFFSET = 2**21
ATOM_STRIDE = 2**50
"""The islands of flag atoms sort one user's rows by ``atom * ATOM_STRIDE + entity-day key``
(:func:`_island_deltas`): keys of different atoms lie >= 2**50 - 2**(22 + log2 entities)
apart, far more than any window, while there are fewer than 2**27 entities."""


def entity_index(rollup: ibis.Table, level: str) -> ibis.Table:
    """The distinct entities of ``rollup`` at ``level`` (its brands; at SPU level its (spu,
    brand) pairs), each with a number ``_e`` from 0 (in the entities' order).

    >>> t = ibis.memtable({"brand": ["b", "a", "b", None]})
    >>> sorted(entity_index(t, "brand").to_pyarrow().to_pylist(), key=lambda r: r["_e"])
    [{'brand': 'a', '_e': 0}, {'brand': 'b', '_e': 1}, {'brand': None, '_e': 2}]
    """
    keys = list(entity_keys(level))
    ents = rollup.select(*keys).distinct()
    # a BIGINT even where Ibis already types it int64: Spark's row_number is an INT, and the
    # key (index * KEY_STRIDE) overflowed it silently from the 512th entity
    ents = ents.mutate(_e=ibis.row_number().over(order_by=keys))
    return ents.mutate(_e=_int64(ents._e))


def day_number(date: ibis.Value) -> ibis.Value:
    """Days since :data:`EPOCH` of a DATE value (int64)."""
    return date.delta(ibis.literal(EPOCH), unit="day")


def from_day_number(n: ibis.Value) -> ibis.Value:
    """The DATE of a day number."""
    return (ibis.literal(EPOCH) + n.as_interval("D")).cast("date")


def _shift(table: ibis.Table, window) -> ibis.Value:
    """The day number on which a row's contribution leaves a window: d + W."""
    if window == "cycle":
        return table._dn + table.cycle_days
    return table._dn + int(window)


def _any_nonzero(values: list[ibis.Value]) -> ibis.Value:
    return reduce(lambda a, b: a | b, [v != 0 for v in values])


def _sum(values: list[ibis.Value]) -> ibis.Value:
    return reduce(lambda a, b: a + b, values)


def stage_segments(
    source: ibis.Table,
    model: Model,
    *,
    level: str | None = None,
    categories: ibis.Table | None = None,
    start: dt.date | None = None,
    end: dt.date | None = None,
) -> ibis.Table:
    """Change points of each (user, entity): ``user_id, <entity>, day, next_day, stage``.

    Each row says the pair's level is ``stage`` (null: no level) on every day of
    ``[day, next_day)`` (dates); ``next_day`` is null after the last change point (or, with
    ``end``, when the next change is after ``end``). Several rows of a pair may share a
    ``day``: all but one of them are empty (``next_day == day``).

    Args:
        source: ``events`` or the ``counters_daily`` rollup.
        start, end: optional bounds; rows that cannot matter before ``start`` and change
            points after ``end`` are pruned (a smaller sort), without changing the levels
            inside the range.
    """
    seg = segment_numbers(source, model, level=level, categories=categories, start=start, end=end)
    return seg.mutate(day=from_day_number(seg.day), next_day=from_day_number(seg.next_day))


def segment_numbers(
    source: ibis.Table,
    model: Model,
    *,
    level: str | None = None,
    categories: ibis.Table | None = None,
    start: dt.date | None = None,
    end: dt.date | None = None,
) -> ibis.Table:
    """:func:`stage_segments` with ``day`` and ``next_day`` as day numbers (int64), one
    running sum per atom (the packed sweep serves :func:`timelines` with ``bounds``)."""
    level = resolve_level(model, level)
    keys = ["user_id", *entity_keys(level)]
    deltas, values, atoms_of = _deltas(source, model, level, categories, start, end, None)
    # RANGE frame: all rows of one (pair, day) share that day's running sum, so the deltas
    # need no aggregation per (pair, day) first (measured 2.3x faster on DuckDB than a
    # GROUP BY + ROWS frame); rows of the same day give zero-length segments [d, d), which
    # :func:`timelines` merges and asset series cancel (+1 and -1 on the same day).
    win = ibis.window(group_by=keys, order_by="day", range=(None, 0))
    running = {n: deltas[n].sum().over(win) for n in values}
    nxt = deltas.day.lead().over(ibis.window(group_by=keys, order_by="day"))
    seg = deltas.select(*keys, "day", next_day=nxt, **running)
    stage = level_expr(RulePlan.of(model), atoms_of({n: seg[n] for n in values}))
    return seg.select(*keys, "day", "next_day", stage=stage)


def _deltas(source: ibis.Table, model: Model, level: str, categories: ibis.Table | None,
            start: dt.date | None, end: dt.date | None, bounds: Bounds | None,
            index: ibis.Table | None = None, islands: bool = False):
    """The sweep's delta rows ``(*keys, day, <values>)``, the value columns, and a function
    from (running sums of) the values to the atoms. The values are the atoms themselves, or
    their capped packed words (``_w0``, ...) when :class:`~aips.engine.packing.Packing`
    applies under ``bounds``.

    With an :func:`entity_index` (a full sweep: no ``end``) the rows are ``(user_id, day,
    <values>)``, ``day`` the entity-day key (:data:`KEY_STRIDE`); with ``islands`` too, the
    flag atoms' deltas are one pair per island of rows (:func:`_island_deltas`), which reads
    the rows twice."""
    plan = RulePlan.of(model)
    keys = ["user_id", *entity_keys(level)]
    rollup = source if is_rollup(source) else daily_counters(source, model)
    r = for_level(rollup, level)
    if end is not None:
        r = r.filter(r.local_date <= ibis.literal(end))
    if plan.uses_cycle:
        r = with_cycle_days(r, model, categories)
    r = r.mutate(_dn=day_number(r.local_date))
    # part[atom][window] = the atom's terms of that window, on one rollup row
    dtype = {a.name: atom_dtype(model, a) for a in plan.atoms}
    if start is not None:
        # A row adds its window-W part on day d and takes it back on d + W: it cannot move a
        # sum on or after ``start`` unless d + W > start for some W whose part is nonzero
        # (a 365-day ``post`` window keeps only the rows that have a post).
        first = (start - EPOCH).days
        live = []
        for w in plan.windows:
            parts = [_sum([scaled(r[c], kk) for c, ww, kk in a.terms if ww == w])
                     for a in plan.atoms if w in a.windows]
            live.append((_shift(r, w) > first) & _any_nonzero(parts))
        r = r.filter(reduce(lambda a, b: a | b, live))

    if index is not None:
        # fold the entity into the day: (its index, day) as one int64 sort key
        r = r.join(index, [r[c].identical_to(index[c]) for c in entity_keys(level)]).select(r, index._e)
        r = r.mutate(_dn=r._dn + r._e * KEY_STRIDE + KEY_OFFSET).drop("_e")
        keys = ["user_id"]

    # One row per rollup row and piece (0: +atoms at d; i: -atoms of window i at d + W_i),
    # by a cross join with a tiny table rather than a union: the rollup is read once.
    windows = plan.windows

    def parts(t: ibis.Table) -> dict[tuple[str, Window], ibis.Value]:
        return {(a.name, w): _sum([scaled(t[c], kk) for c, ww, kk in a.terms if ww == w]).cast(dtype[a.name])
                for a in plan.atoms for w in a.windows}

    packing = Packing.of(plan, model, bounds)
    island_rows = None
    if packing is not None:
        # the words of every piece, once per rollup row (not once per piece and use)
        part = parts(r)
        if index is not None and islands:
            flagged = packing.flags()
            if flagged:
                island_rows = _island_deltas(r, packing, flagged,
                                             {f.atom: part[(f.atom, f.window)] for f in flagged})
                part = {k: v for k, v in part.items() if k[0] not in {f.atom for f in flagged}}
        arrive = packing.pack(part)
        leave = [packing.pack({(a, ww): v for (a, ww), v in part.items() if ww == w}) for w in windows]
        words = {f"_p0_w{j}": v for j, v in enumerate(arrive)}
        words |= {f"_p{i}_w{j}": -v for i, ws in enumerate(leave, 1) for j, v in enumerate(ws)}
        r = r.select(*keys, "_dn", *(["cycle_days"] if plan.uses_cycle else []), **words)
    pieces = ibis.memtable({"_piece": list(range(len(windows) + 1))}, schema={"_piece": "int64"})
    x = r.cross_join(pieces)
    k = x._piece

    def pick(values: list[ibis.Value]) -> ibis.Value:
        return ibis.cases(*[(k == i, v) for i, v in enumerate(values[1:], 1)], else_=values[0])

    day = pick([x._dn, *[_shift(x, w) for w in windows]])
    if packing is not None:
        cols = {f"_w{j}": pick([x[f"_p{i}_w{j}"] for i in range(len(windows) + 1)])
                for j in range(packing.words)}
    else:
        part = parts(x)
        cols = {}
        for a in plan.atoms:
            zero = ibis.literal(0, dtype[a.name])
            mine = {w: part[(a.name, w)] for w in a.windows}
            cols[a.name] = pick([_sum(list(mine.values())), *[-mine[w] if w in mine else zero for w in windows]])
    deltas = x.select(*keys, day=day, **cols)
    keep = _any_nonzero([deltas[n] for n in cols])
    if end is not None:
        keep = keep & (deltas.day <= (end - EPOCH).days)
    deltas = deltas.filter(keep)
    if island_rows is not None:
        deltas = deltas.union(island_rows.select(*deltas.columns).cast(deltas.schema()))

    def atoms_of(values: dict[str, ibis.Value]) -> dict[str, ibis.Value]:
        if packing is None:
            return values
        return packing.unpack([values[f"_w{i}"] for i in range(packing.words)])

    return deltas, list(cols), atoms_of


def _island_deltas(r: ibis.Table, packing: Packing, flagged: list[Field], parts: dict[str, ibis.Value]) -> ibis.Table:
    """The deltas of the :meth:`~aips.engine.packing.Packing.flags` atoms, one pair per
    *island* instead of one per rollup row: ``(user_id, day, <words>)``.

    A flag atom's rules only ask whether its windowed sum is nonzero, so its field may hold
    1 while any row with a nonzero part lies in the last W days, 0 otherwise: +1 on the
    first day of each run of such rows whose gaps are at most W days (an island), -1 W days
    after its last row. A user reading a brand every day for a month is 2 deltas, not 60:
    on the 12M-event store the flag atoms' nonzero rows (12.2M: almost every rollup row has an
    impression) make 4.1M island ends. ``r``: the rollup rows with the entity-day key
    ``_dn`` (rows of one user's other entity are > W keys away: an island never spans
    two entities)."""
    marks = r.select("user_id", "_dn", **{f"_f{j}": parts[f.atom] > 0 for j, f in enumerate(flagged)})
    which = ibis.memtable({"_atom": list(range(len(flagged)))}, schema={"_atom": "int64"})
    m = marks.cross_join(which)

    def per_atom(values: list) -> ibis.Value:
        return ibis.cases(*[(m._atom == j, v) for j, v in enumerate(values)])

    m = m.filter(per_atom([m[f"_f{j}"] for j in range(len(flagged))]))
    span = per_atom([ibis.literal(int(f.window), "int64") for f in flagged])
    m = m.select("user_id", "_dn", "_atom", _span=span, _k=m._dn + m._atom * ATOM_STRIDE)
    order = ibis.window(group_by="user_id", order_by="_k")
    prev, nxt = m._k.lag().over(order), m._k.lead().over(order)
    m = m.select("user_id", "_dn", "_atom", "_span", _in=prev.isnull() | (m._k - prev > m._span),
                 _out=nxt.isnull() | (nxt - m._k > m._span))
    m = m.filter(m._in | m._out)
    sides = ibis.memtable({"_side": [1, -1]}, schema={"_side": "int64"})
    x = m.cross_join(sides)
    x = x.filter(ibis.ifelse(x._side == 1, x._in, x._out))
    words = {}
    for k in range(packing.words):
        unit = ibis.cases(*[(x._atom == j, 1 << f.offset) for j, f in enumerate(flagged) if f.word == k],
                          else_=0) if any(f.word == k for f in flagged) else ibis.literal(0, "int64")
        words[f"_w{k}"] = _int64(unit * x._side)
    return x.select("user_id", day=ibis.ifelse(x._side == 1, x._dn, x._dn + x._span), **words)


def timelines(
    source: ibis.Table,
    model: Model,
    *,
    level: str | None = None,
    categories: ibis.Table | None = None,
    end: dt.date | None = None,
    start: dt.date | None = None,
    bounds: Bounds | None = None,
    islands: bool = True,
) -> ibis.Table:
    """Maximal intervals of constant level per (user, entity).

    Returns:
        ``user_id``, the entity keys (``brand``; at SPU level ``spu``, ``brand``),
        ``start_date``, ``end_date`` (inclusive), ``stage``. Only intervals with a level;
        gaps mean no level. ``end_date`` may lie after the last event (a purchase keeps P
        for the whole cycle). With ``end``, intervals are cut at ``end``: one still open
        then ends on ``end``. With ``start``, they are cut at ``start`` (only the days from
        ``start`` on; rows that cannot matter then are not read): an interval that began
        earlier starts on ``start``. With ``bounds`` (:func:`~aips.engine.packing.bounds_query`
        of the rollup, run by the caller) the same intervals cost fewer running sums.
        ``islands`` False: no :func:`_island_deltas` (they cost one more window, a shuffle
        on Spark; callers ask the store's ``capabilities.sweep_islands``).
    """
    level = resolve_level(model, level)
    keys = ["user_id", *entity_keys(level)]
    changes, index = _changes(source, model, level, categories, start, end, bounds, islands)
    if index is None:
        changes = changes.mutate(_next=changes.day.lead().over(ibis.window(group_by=keys, order_by="day")))
    else:  # ``day`` is the entity-day key: a change's next one may be the user's next entity's
        nxt = changes.day.lead().over(ibis.window(group_by="user_id", order_by="day"))
        nxt = ibis.ifelse((nxt >> KEY_SHIFT) == (changes.day >> KEY_SHIFT), nxt, ibis.null("int64"))
        changes = changes.mutate(_e=changes.day >> KEY_SHIFT, day=_key_day(changes.day), _next=_key_day(nxt))
        changes = changes.join(index, "_e").select("user_id", *entity_keys(level), "day", "_next", "stage")
    out = changes.filter(changes.stage.notnull())
    last = out._next - 1
    if end is not None:
        last = last.fill_null((end - EPOCH).days)
    first = out.day
    if start is not None:
        lo = (start - EPOCH).days
        out = out.filter(last.isnull() | (last >= lo))
        last, first = out._next - 1, ibis.greatest(out.day, lo)
        if end is not None:
            last = last.fill_null((end - EPOCH).days)
    return out.select(*keys, start_date=from_day_number(first), end_date=from_day_number(last),
                      stage=out.stage)


def _changes(source: ibis.Table, model: Model, level: str, categories: ibis.Table | None,
             start: dt.date | None, end: dt.date | None,
             bounds: Bounds | None, islands: bool = True) -> tuple[ibis.Table, ibis.Table | None]:
    """The change points ``(*keys, day, stage)``: each day a pair's level differs from the
    day before (stage null: it lost its level); one row per (pair, day).

    A packed sweep without ``end`` returns ``(user_id, day, stage)`` with ``day`` the
    entity-day key (:data:`KEY_STRIDE`), and the :func:`entity_index` that decodes it: every
    delta a rollup row adds is taken back within the sweep (no ``end`` cuts the leaving
    ones), so a pair's deltas sum to zero and one running sum per *user*, ordered by the
    key, restarts at each of its entities. Sorting by one int64 per user instead of by the
    entity's text and the day: the sweep's window 7.6-9.9 -> 5.7-6.3 s on the 12M-event
    store's 21.3M delta rows (``bench/README.md``)."""
    keys = ["user_id", *entity_keys(level)]
    order = ibis.window(group_by=keys, order_by="day")
    plan = RulePlan.of(model)
    if Packing.of(plan, model, bounds) is None:
        # one running sum per atom; the level the day before comes from a second window
        seg = segment_numbers(source, model, level=level, categories=categories, start=start, end=end)
        seg = seg.mutate(_prev=seg.stage.lag().over(order))
        return seg.filter(~seg.stage.identical_to(seg._prev)).select(*keys, "day", "stage"), None
    index = None
    use_islands = False
    if end is None:
        # the islands read the rollup's rows once more: only where that is a scan, not an
        # aggregate of the events computed again (Spark inlines a shared subquery: the
        # Connect server of the CLI tests ran out of its 1 GiB heap)
        use_islands = islands and is_rollup(source) and not source.op().find(ops.Aggregate)
        source = source if is_rollup(source) else daily_counters(source, model)
        index = entity_index(for_level(source, level), level)
        keys = ["user_id"]
    deltas, values, atoms_of = _deltas(source, model, level, categories, start, end, bounds, index,
                                       use_islands)
    # The sums of the words up to each day (RANGE: every row of a day gets the day's sum) and
    # of the day alone (RANGE CURRENT ROW: its peers) ride on one sort; after - day is the
    # sum up to the day before (measured cheaper than a RANGE .. 1 PRECEDING sum or a lag pass).
    after = {n: _int64(deltas[n].sum().over(ibis.window(group_by=keys, order_by="day", range=(None, 0))))
             for n in values}
    day = {f"_d{n}": _int64(deltas[n].sum().over(ibis.window(group_by=keys, order_by="day", range=(0, 0))))
           for n in values}
    # Every delta row of a (pair, day) has that day's sums: the day's first row (a ``lag`` in
    # the same window pass, at no measurable cost) stands for the day, so a change has no copies.
    first = deltas.day.lag().over(ibis.window(group_by=keys, order_by="day"))
    seg = deltas.select(*keys, "day", _first=first.isnull() | (first != deltas.day), **after, **day)
    # a day whose words do not move keeps its level
    seg = seg.filter(seg._first & _any_nonzero([seg[f"_d{n}"] for n in values]))
    # levels as ranks: integers are cheaper to build and compare on every moved row than text
    rank = level_rank_expr(plan, atoms_of({n: seg[n] for n in values}))
    prev = level_rank_expr(plan, atoms_of({n: seg[n] - seg[f"_d{n}"] for n in values}))
    seg = seg.select(*keys, "day", _rank=rank, _prev=prev)
    seg = seg.filter(seg._rank != seg._prev)
    return seg.select(*keys, "day", stage=rank_stage(seg._rank)), index


def _key_day(key: ibis.Value) -> ibis.Value:
    """The day number of an entity-day key."""
    return (key & (KEY_STRIDE - 1)) - KEY_OFFSET


def _int64(value: ibis.Value) -> ibis.Value:
    """``CAST(value AS BIGINT)`` even where Ibis already types it int64: DuckDB sums BIGINT
    into a 128-bit HUGEINT, and unpacking words from it cost ~3x the shifts on BIGINT
    (measured: the level of 21M running sums). Elsewhere a no-op cast."""
    return ops.Cast(value, to=dt_.int64).to_expr()


def stage_at(timeline: ibis.Table, at: dt.date) -> ibis.Table:
    """The snapshot on ``at`` read off timelines: ``user_id, <entity>, stage``."""
    keys = [c for c in timeline.columns if c not in ("start_date", "end_date", "stage")]
    day = ibis.literal(at)
    hit = timeline.filter((timeline.start_date <= day) & (timeline.end_date >= day))
    return hit.select(*keys, "stage")


def first_reached(timeline: ibis.Table, stage: str = "TI") -> ibis.Table:
    """Each pair's first day at ``stage`` or above: ``user_id, <entity>, first_date``.

    ``first_reached(timelines(...), "TI")`` is the first day a user was at TI, P or S
    for the entity (the seeding day used by flows and decision cycles).
    """
    if stage not in STAGE_RANK:
        from aips.exceptions import ConfigError

        raise ConfigError(f"unknown stage {stage!r} (expected one of {', '.join(STAGE_ORDER)})")
    keys = [c for c in timeline.columns if c not in ("start_date", "end_date", "stage")]
    high = [s for s in STAGES if STAGE_RANK[s] >= STAGE_RANK[stage]]
    hit = timeline.filter(timeline.stage.isin(high))
    return hit.group_by(keys).aggregate(first_date=hit.start_date.min())
