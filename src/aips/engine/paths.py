"""Journeys and aggregated touch paths, built in the backend for attribution.

Only aggregates leave the backend: one row per distinct path (``path, conversions,
value, nulls``, the layout of :mod:`aips.analytics.attribution.base`), or one row per
exposure cell for the incremental model.

**Touches** are events with a channel, other than purchases and posts, of the brand in
question; a touch is labelled by its channel, campaign or creator (``by``); a touch
without a campaign (or creator) is labelled by its channel, e.g. ``organic``.

**Conversions** are an input table ``(user_id, brand, conv_date, conv_ts, value)``:

* ``purchase`` (:func:`purchase_conversions`): **every** purchase is a conversion and ends
  a journey, as in ChannelAttribution's data (a path per conversion). Its journey is the
  pair's touches before the purchase (by timestamp) and after the previous purchase,
  within the lookback;
* a stage (:func:`stage_conversions`): the day a pair's level first rises to the stage or
  above (``I``, ``TI``, ``P``), from the stage timelines; ``conv_ts`` is null and the touches
  of that whole day count (the day's own behaviour is what raised the level).

**Lookback**: a journey keeps the touches of the L days ending on the conversion day
(``conv_date - L + 1 .. conv_date``); L is a number of days, or by default the decision
cycle of the converting purchase's own category (issue 15: a facial-serum purchase looks
back 29 days even if the brand also has a sunscreen event); journeys without a category
of their own (non-converting ones, stage advances) take the brand's main category's.

**Non-converting journeys**: for each pair, the touches after its last conversion (all of
them if it never converted) within the L days ending on the last day of data. For a
target that happens once (stages), pairs that converted have no such journey.

**Stage chains** (exposure cells for the incremental model) are in :mod:`aips.engine.chains`.

Ordering inside a journey is by ``(ts, event_id)``; paths are built by collecting
``(position, label)`` structs and sorting them, which is deterministic on every backend.

**Transforms** (applied in order to each journey's touches): ``keep``; ``collapse``
(consecutive repeats of a label become one touch); ``first`` (only the first touch of
each label); ``drop_organic`` (remove touches labelled as organic).

**Time decay** (``half_life``): the path table gets two list columns, ``decay`` and
``decay_value``: for each position of the path, the sum over its converting journeys of
``w_i / sum_j w_j`` (times the journey's value for ``decay_value``), with
``w = 0.5 ** (days from the touch to the conversion / half_life)``. Each list sums to the
row's conversions (value), so the table stays one row per path.

>>> import datetime as dt, ibis
>>> D = dt.date
>>> ev = ibis.memtable({
...     "event_id": ["e1", "e2", "e3", "e4", "e5"], "user_id": ["u1", "u1", "u1", "u2", "u2"],
...     "brand": ["b"] * 5, "category": [None] * 5,
...     "ts": [dt.datetime(2024, 1, d) for d in (1, 2, 3, 1, 2)],
...     "local_date": [D(2024, 1, d) for d in (1, 2, 3, 1, 2)],
...     "event_type": ["impression", "read", "purchase", "impression", "read"],
...     "channel": ["feed_ad", "kol_note", None, "feed_ad", "feed_ad"],
...     "campaign_id": [None] * 5, "creator_id": [None] * 5, "amount": [None, None, 99.0, None, None]})
>>> paths = build_paths(ev, lookback=30).to_pyarrow().to_pylist()
>>> [(r["path"], r["conversions"], r["value"], r["nulls"]) for r in paths]
[('feed_ad > feed_ad', 0, 0.0, 1), ('feed_ad > kol_note', 1, 99.0, 0)]
"""

from __future__ import annotations

from collections.abc import Sequence

import ibis

from aips.buckets import buckets_for
from aips.config.model import ORGANIC_CHANNELS, PURCHASE_EVENT, STAGE_RANK, Model

PATH_SEP = " > "
TARGETS = ("purchase", "I", "TI", "P")
"""Conversion targets: purchases, or the first rise of a pair's level to a stage."""
BY = {"channel": "channel", "campaign": "campaign_id", "creator": "creator_id"}
"""Touch labels: the event column behind each ``by``."""
TRANSFORMS = ("keep", "collapse", "first", "drop_organic")
NON_TOUCH_TYPES = (PURCHASE_EVENT, "post")
"""Event types that are never touches (they are outcomes), with the default purchase event."""
ORGANIC = ORGANIC_CHANNELS
JOURNEY = ("user_id", "brand", "seq")
"""Columns identifying a journey."""


def _check(name: str, value: str, allowed: Sequence[str]) -> None:
    from aips.exceptions import ConfigError

    if value not in allowed:
        raise ConfigError(f"unknown {name} {value!r} (expected one of {', '.join(allowed)})")


def touches(events: ibis.Table, *, by: str = "channel",
            exclude: Sequence[str] = NON_TOUCH_TYPES) -> ibis.Table:
    """Touches: ``user_id, brand, ts, local_date, event_id, label``."""
    _check("by", by, tuple(BY))
    t = events.filter(events.channel.notnull() & ~events.event_type.isin(list(exclude)))
    label = t.channel if by == "channel" else t[BY[by]].fill_null(t.channel)
    return t.select("user_id", "brand", "ts", "local_date", "event_id", label=label)


def non_touch_types(model: Model) -> tuple[str, ...]:
    """Event types that are never touches under ``model``: its purchase event and ``post``."""
    return (model.purchase_event, "post")


def purchase_conversions(events: ibis.Table, purchase_event: str = PURCHASE_EVENT) -> ibis.Table:
    """Every purchase (``purchase_event`` rows): ``user_id, brand, conv_date, conv_ts,
    conv_id, value, category`` (the purchase's own category: its lookback's cycle)."""
    p = events.filter(events.event_type == purchase_event)
    return p.select(
        "user_id", "brand", conv_date=p.local_date, conv_ts=p.ts, conv_id=p.event_id,
        value=p.amount.cast("float64").fill_null(0.0), category=p.category,
    )


def stage_conversions(timeline: ibis.Table, stage: str) -> ibis.Table:
    """The first day each pair's level is at ``stage`` or above (a stage-advance target).

    Args:
        timeline: stage intervals ``user_id, brand, start_date, end_date, stage`` (brand
            level), as from :func:`aips.engine.timelines.timelines`.
    """
    _check("stage target", stage, [s for s in TARGETS if s != "purchase"])
    high = [s for s, r in STAGE_RANK.items() if r >= STAGE_RANK[stage]]
    hit = timeline.filter(timeline.stage.isin(high))
    first = hit.group_by(["user_id", "brand"]).aggregate(conv_date=hit.start_date.min())
    return first.select(
        "user_id", "brand", "conv_date",
        conv_ts=ibis.null("timestamp"), conv_id=ibis.null("string"), value=ibis.literal(0.0),
    )


def reach_conversions(reach: ibis.Table, stage: str) -> ibis.Table:
    """:func:`stage_conversions` from first-reach days (``d_<stage>``, as from
    :func:`aips.engine.reach.first_reach`) instead of timelines."""
    _check("stage target", stage, [s for s in TARGETS if s != "purchase"])
    r = reach.filter(reach[f"d_{stage}"].notnull())
    return r.select(
        "user_id", "brand", conv_date=r[f"d_{stage}"],
        conv_ts=ibis.null("timestamp"), conv_id=ibis.null("string"), value=ibis.literal(0.0),
    )


def main_category(events: ibis.Table) -> ibis.Table:
    """``brand, category``: each brand's main category (the one most of its events carry;
    ties alphabetical, null last), as penetration and loyalty use it."""
    counts = events.group_by(["brand", "category"]).aggregate(n=events.count())
    order = [ibis.desc(counts.n), counts.category.isnull(), counts.category]
    ranked = counts.mutate(_r=ibis.row_number().over(group_by=counts.brand, order_by=order))
    return ranked.filter(ranked._r == 0).select("brand", "category")


def brand_lookback(events: ibis.Table, model: Model, categories: ibis.Table | None = None) -> ibis.Table:
    """``brand, lookback``: the decision cycle of each brand's main category (small table).

    It is the lookback of journeys without a category of their own: non-converting ones,
    stage advances and purchases without a category (:func:`own_lookback` gives the rest).
    """
    from aips.engine.cycles import with_cycle_days

    return with_cycle_days(main_category(events), model, categories).select(
        "brand", lookback="cycle_days")


def own_lookback(conversions: ibis.Table, model: Model, categories: ibis.Table | None = None) -> ibis.Table:
    """``conversions`` plus ``lookback``: the decision cycle of each conversion's own
    ``category`` (null when it has none, or no ``category`` column: the brand's applies)."""
    from aips.engine.cycles import with_cycle_days

    if "category" not in conversions.columns:
        return conversions.mutate(lookback=ibis.null("int64"))
    t = with_cycle_days(conversions, model, categories)
    t = t.mutate(lookback=ibis.ifelse(t.category.notnull(), t.cycle_days, ibis.null("int64")))
    return t.drop("cycle_days")


def journey_ends(
    conversions: ibis.Table,
    touch_table: ibis.Table,
    *,
    lookback: int | ibis.Table,
    last_day=None,
    repeatable: bool = True,
) -> ibis.Table:
    """One row per journey: ``user_id, brand, seq, converted, value, end_date, end_ts,
    prev_date, prev_ts, start_date``.

    Converting journeys end at each conversion; each pair with touches also gets a
    non-converting journey ending on ``last_day`` (default: the last touch day) after its
    last conversion (none for converted pairs unless ``repeatable``). ``start_date`` is
    the first day of the lookback.
    """
    keys = ["user_id", "brand"]
    ts_type = conversions.conv_ts.type()
    order = ibis.window(group_by=keys, order_by=["conv_date", "conv_ts", "conv_id"])
    conv = conversions.mutate(
        seq=ibis.row_number().over(order) + 1,
        prev_date=conversions.conv_date.lag().over(order),
        prev_ts=conversions.conv_ts.lag().over(order),
    )
    own = (conv.lookback.cast("int64") if "lookback" in conversions.columns
           else ibis.null("int64"))
    conv = conv.select(
        *keys, "seq", converted=ibis.literal(True), value=conv.value.cast("float64"),
        end_date=conv.conv_date, end_ts=conv.conv_ts, prev_date=conv.prev_date,
        prev_ts=conv.prev_ts, _own=own,
    )
    last = conversions.group_by(keys).aggregate(
        _n=conversions.count(), _ld=conversions.conv_date.max(), _lt=conversions.conv_ts.max()
    )
    pairs = touch_table.select(*keys).distinct()
    nul = pairs.left_join(last, [pairs.user_id == last.user_id, pairs.brand == last.brand])
    if not repeatable:
        nul = nul.filter(nul._n.isnull())
    if last_day is None:
        last_day = touch_table.local_date.max().as_scalar()
    elif not isinstance(last_day, ibis.Expr):
        last_day = ibis.literal(last_day, type="date")
    nul = nul.select(
        *keys, seq=nul._n.fill_null(0) + 1, converted=ibis.literal(False), value=ibis.literal(0.0),
        end_date=last_day, end_ts=ibis.null(ts_type), prev_date=nul._ld, prev_ts=nul._lt,
        _own=ibis.null("int64"),
    )
    return _with_start(conv.union(nul), lookback)


FALLBACK_LOOKBACK_DAYS = 30
"""The lookback of a journey whose brand has no row in a lookback table."""


def _with_start(ends: ibis.Table, lookback: int | ibis.Table) -> ibis.Table:
    """Add ``start_date``: the first day of each journey's lookback (a conversion's own
    lookback ``_own`` first, with a lookback table; a number of days applies to all)."""
    if isinstance(lookback, ibis.Table):
        lb = lookback.select(_b="brand", _lb="lookback")
        ends = ends.left_join(lb, ends.brand == lb._b)
        days = ibis.coalesce(ends._own, ends._lb.cast("int64"), FALLBACK_LOOKBACK_DAYS).cast("int64")
        ends = ends.mutate(start_date=ends.end_date - (days - 1).as_interval("D"))
        return ends.drop("_b", "_lb", "_own")
    if int(lookback) < 1:
        from aips.exceptions import ConfigError

        raise ConfigError(f"lookback must be >= 1 day, got {lookback}")
    ends = ends.mutate(start_date=ends.end_date - ibis.interval(days=int(lookback) - 1))
    return ends.drop("_own")


def journey_touches(
    touch_table: ibis.Table,
    ends: ibis.Table,
    *,
    transform: str | Sequence[str] = "keep",
    organic: Sequence[str] = ORGANIC,
) -> ibis.Table:
    """Each touch of each journey: ``user_id, brand, seq, pos, label, local_date, ts,
    end_date, converted, value`` (``pos`` 0-based after the transforms)."""
    e = ends.rename(_u="user_id", _b="brand")
    j = touch_table.join(e, [touch_table.user_id == e._u, touch_table.brand == e._b])
    in_window = (j.local_date >= j.start_date) & (j.local_date <= j.end_date)
    before = j.end_ts.isnull() | (j.ts < j.end_ts)
    after = j.prev_date.isnull() | ibis.ifelse(
        j.prev_ts.notnull(), j.ts >= j.prev_ts, j.local_date > j.prev_date
    )
    j = j.filter(in_window & before & after)
    j = j.select("user_id", "brand", "seq", "label", "local_date", "ts", "event_id",
                 "end_date", "converted", "value")
    steps = [transform] if isinstance(transform, str) else list(transform)
    for step in steps:
        _check("transform", step, TRANSFORMS)
        order = ibis.window(group_by=list(JOURNEY), order_by=["ts", "event_id"])
        if step == "collapse":
            j = j.mutate(_prev=j.label.lag().over(order))
            j = j.filter(j._prev.isnull() | (j._prev != j.label)).drop("_prev")
        elif step == "first":
            by_label = ibis.window(group_by=[*JOURNEY, "label"], order_by=["ts", "event_id"])
            j = j.mutate(_k=ibis.row_number().over(by_label))
            j = j.filter(j._k == 0).drop("_k")
        elif step == "drop_organic":
            j = j.filter(~j.label.isin(list(organic)))
    order = ibis.window(group_by=list(JOURNEY), order_by=["ts", "event_id"])
    return j.mutate(pos=ibis.row_number().over(order))


def journey_paths(jt: ibis.Table) -> ibis.Table:
    """``user_id, brand, seq, path``: each journey's labels in order, joined by ``" > "``."""
    agg = jt.group_by(list(JOURNEY)).aggregate(_t=ibis.struct({"p": jt.pos, "l": jt.label}).collect())
    return agg.select(*JOURNEY, path=agg._t.sort().map(lambda s: s.l).join(PATH_SEP))


def aggregate_paths(ends: ibis.Table, jt: ibis.Table, *, half_life: float | None = None) -> ibis.Table:
    """The aggregated path table ``path, conversions, value, nulls`` (+ ``decay``,
    ``decay_value`` with a ``half_life``), ordered by path.

    Converting journeys without any touch get the path ``""``; non-converting ones
    without touches are dropped.
    """
    jp = journey_paths(jt).rename(_u="user_id", _b="brand", _s="seq")
    out = _path_rows(ends, jp)
    if half_life is not None:
        decay = _decay_lists(_decay_cells(jt, jp, _half_life(half_life)))
        out = out.left_join(decay, out.path == decay._p).drop("_p")
    return out.order_by("path")


def _path_rows(ends: ibis.Table, jp: ibis.Table) -> ibis.Table:
    """``path, conversions, value, nulls`` of the journeys ``ends`` (paths ``jp``)."""
    all_ = ends.left_join(jp, [ends.user_id == jp._u, ends.brand == jp._b, ends.seq == jp._s])
    all_ = all_.select(path=all_.path.fill_null(""), converted=all_.converted, value=all_.value)
    all_ = all_.filter(all_.converted | (all_.path != ""))
    return all_.group_by("path").aggregate(
        conversions=all_.count(where=all_.converted),
        value=all_.value.sum(where=all_.converted).fill_null(0.0),
        nulls=all_.count(where=~all_.converted),
    )


def _half_life(half_life: float) -> float:
    from aips.exceptions import ConfigError

    if float(half_life) <= 0:
        raise ConfigError(f"half_life must be > 0 days, got {half_life}")
    return float(half_life)


def _decay_cells(jt: ibis.Table, jp: ibis.Table, half_life: float,
                 key: Sequence[str] = ("path",)) -> ibis.Table:
    """``<key>, pos, _d, _dv``: the decay shares of each position of each path, summed over
    its converting journeys (times their value for ``_dv``); ``key``: columns of ``jp`` that
    identify the path (the path itself, or :func:`path_key`)."""
    conv = jt.filter(jt.converted)
    lag = conv.end_date.delta(conv.local_date, unit="day").cast("float64")
    conv = conv.mutate(_w=ibis.literal(0.5).pow(lag / half_life))
    conv = conv.mutate(_s=conv._w / conv._w.sum().over(group_by=list(JOURNEY)))
    conv = conv.join(jp, [conv.user_id == jp._u, conv.brand == jp._b, conv.seq == jp._s])
    return conv.group_by([*key, "pos"]).aggregate(
        _d=conv._s.sum(), _dv=(conv._s * conv.value).sum()
    )


def _decay_lists(per_pos: ibis.Table, key: Sequence[str] = ("path",)) -> ibis.Table:
    """``_p, decay, decay_value`` (``<key>`` for another ``key``): the cells of
    :func:`_decay_cells` as a list per path (one row per distinct path: aggregate-sized)."""
    st = ibis.struct({"p": per_pos.pos, "d": per_pos._d, "v": per_pos._dv})
    agg = per_pos.group_by(list(key)).aggregate(_a=st.collect())
    srt = agg._a.sort()
    names = {"_p": agg.path} if list(key) == ["path"] else {k: agg[k] for k in key}
    return agg.select(**names, decay=srt.map(lambda s: s.d), decay_value=srt.map(lambda s: s.v))


PATH_KEY = ("_k1", "_k2")
"""Columns of :func:`path_key`."""


def path_key(path: ibis.Value) -> dict[str, ibis.Value]:
    """Two hashes that stand for a path in the bucketed decay cells (:data:`PATH_KEY`).

    A cell keyed by the path's text carries the whole text once per position: the cells of
    a path of L labels hold it L times. At 1B events those cells spilled more than 33 GB.
    Two hashes (of the path, and of the path with a suffix) keep each cell at a few bytes;
    two distinct paths sharing both is checked for (:func:`aggregate_paths_bucketed` then
    keys by the text)."""
    return {"_k1": path.hash().cast("int64"), "_k2": (path + "#").hash().cast("int64")}


# --- bounded memory: journeys in buckets of users -------------------------------------------

ROW_BYTES = 200
"""Working memory per journey touch when paths are built (the per-journey label lists,
their hash table and the joins around them), in bytes: a deliberately high estimate
(about 100 measured on DuckDB 2.0)."""
MEMORY_SHARE = 0.5
"""Share of the store's memory limit one bucket of journeys may use."""
MAX_BUCKETS = 256


STAGE_ROW_BYTES = 110
"""Memory of one journey touch materialised in a DuckDB temporary table (measured: 1.81M
journey touches of the 12M-event world, 200 MB). When the touches times this exceed the
memory limit, bucketed paths stage the touches to Parquet instead (:func:`_staged_paths`):
a temporary table larger than the limit spills uncompressed, and at a billion events the
journey touches filled 27 GB of disk."""


def path_buckets(rows: int, memory_limit: int | None) -> int:
    """How many buckets of users the journeys are split into so that one bucket's
    ``rows`` (journey touches) fit in :data:`MEMORY_SHARE` of ``memory_limit`` bytes.

    List aggregates (a journey's labels) keep their state in memory and DuckDB cannot
    spill them; a bucket at a time bounds that state whatever the data size.

    >>> path_buckets(1_000, 2**30), path_buckets(10_000_000, 2**30), path_buckets(10**9, None)
    (1, 4, 1)
    """
    return buckets_for(rows, ROW_BYTES, memory_limit, share=MEMORY_SHARE, most=MAX_BUCKETS)


def user_bucket(user_id: ibis.Value, buckets: int) -> ibis.Value:
    """A deterministic bucket ``0 .. buckets - 1`` per user (a hash of ``user_id``; of
    any string key)."""
    return (user_id.hash() % buckets).abs().cast("int64")


def path_bucket(user_id: ibis.Value, buckets: int) -> ibis.Value:
    """The bucket ``0 .. buckets - 1`` of a user's journeys: its :func:`user_bucket` among
    :data:`MAX_BUCKETS`, modulo ``buckets`` (so the hash can be kept before ``buckets`` is
    known).

    >>> import ibis
    >>> t = ibis.memtable({"u": ["u1", "u2", "u3", "u4"]})
    >>> b = t.select(b=path_bucket(t.u, 3)).to_pyarrow().column("b").to_pylist()
    >>> all(0 <= x < 3 for x in b), b == t.select(b=path_bucket(t.u, 3)).to_pyarrow().column("b").to_pylist()
    (True, True)
    """
    return user_bucket(user_id, MAX_BUCKETS) % buckets


def aggregate_paths_bucketed(
    ends: ibis.Table, jt: ibis.Table, buckets: int, materialise, *, half_life: float | None = None,
) -> ibis.Table:
    """:func:`aggregate_paths` a bucket of users at a time, in bounded memory.

    Each bucket's per-path sums (and decay cells) are computed and kept in the backend
    by ``materialise`` (they are aggregate-sized); the result sums them. Counts are
    identical to :func:`aggregate_paths`; ``value`` and the decay lists are the same sums
    taken in another order (equal up to float rounding).

    >>> import datetime as dt, ibis
    >>> D = dt.date
    >>> ev = ibis.memtable({
    ...     "event_id": ["e1", "e2", "e3", "e4", "e5"], "user_id": ["u1", "u1", "u1", "u2", "u2"],
    ...     "brand": ["b"] * 5, "category": [None] * 5,
    ...     "ts": [dt.datetime(2024, 1, d) for d in (1, 2, 3, 1, 2)],
    ...     "local_date": [D(2024, 1, d) for d in (1, 2, 3, 1, 2)],
    ...     "event_type": ["impression", "read", "purchase", "impression", "read"],
    ...     "channel": ["feed_ad", "kol_note", None, "feed_ad", "feed_ad"],
    ...     "campaign_id": [None] * 5, "creator_id": [None] * 5, "amount": [None, None, 99.0, None, None]})
    >>> paths = build_paths(ev, lookback=30, buckets=3).to_pyarrow().to_pylist()
    >>> [(r["path"], r["conversions"], r["value"], r["nulls"]) for r in paths]
    [('feed_ad > feed_ad', 0, 0.0, 1), ('feed_ad > kol_note', 1, 99.0, 0)]
    """
    if "_bucket" not in jt.columns:  # (build_paths keeps it with the journey touches)
        jt = jt.mutate(_bucket=path_bucket(jt.user_id, buckets))
    ends = ends.mutate(_bucket=path_bucket(ends.user_id, buckets))
    return _aggregate_buckets(ends, lambda b, _e: jt.filter(jt._bucket == b).drop("_bucket"),
                              buckets, materialise, half_life=half_life)


def _aggregate_buckets(ends: ibis.Table, journey_touches_of, buckets: int, materialise, *,
                       half_life: float | None = None, key: Sequence[str] = PATH_KEY) -> ibis.Table:
    """:func:`aggregate_paths_bucketed` of ``ends`` (with a ``_bucket`` column), the journey
    touches of bucket ``b`` being ``journey_touches_of(b, ends_of_b)``; the decay cells are
    keyed by ``key`` (:func:`path_key`, or ``("path",)``)."""
    keep = materialise or (lambda t: t)
    hl = None if half_life is None else _half_life(half_life)
    hashed = list(key) != ["path"]
    rows, cells = [], []
    for b in range(buckets):
        ends_b = ends.filter(ends._bucket == b).drop("_bucket")
        jt_b = journey_touches_of(b, ends_b)
        if hl is not None:  # read twice: the paths and the decay cells
            jt_b = keep(jt_b)
        jp = journey_paths(jt_b).rename(_u="user_id", _b="brand", _s="seq")
        rows.append(keep(_path_rows(ends_b, jp)))
        if hl is not None:
            jp_k = jp.mutate(**path_key(jp.path)) if hashed else jp
            cells.append(keep(_decay_cells(jt_b, jp_k, hl, key)))
    allr = ibis.union(*rows) if len(rows) > 1 else rows[0]
    out = allr.group_by("path").aggregate(
        conversions=allr.conversions.sum(), value=allr.value.sum(), nulls=allr.nulls.sum())
    if hl is None:
        return out.order_by("path")
    if hashed:
        out = out.mutate(**path_key(out.path))  # (not kept: a temporary table of every path
        # counts against the memory limit, and the final sort reads it again)
        check = out.aggregate(_n=out.count(), _keys=out.select(*key).distinct().count().as_scalar())
        n = check.to_pyarrow().to_pylist()[0]
        if n["_keys"] != n["_n"]:  # two paths share a key: by text
            return _aggregate_buckets(ends, journey_touches_of, buckets, materialise,
                                      half_life=half_life, key=("path",))
    allc = ibis.union(*cells) if len(cells) > 1 else cells[0]
    per_pos = keep(allc.group_by([*key, "pos"]).aggregate(_d=allc._d.sum(), _dv=allc._dv.sum()))
    # the lists are built a bucket of paths at a time too: cells can be as many as touches
    per_pos = per_pos.mutate(_bucket=user_bucket(per_pos[key[0]].cast("string"), buckets))
    lists = [keep(_decay_lists(per_pos.filter(per_pos._bucket == b).drop("_bucket"), key))
             for b in range(buckets)]
    decay = ibis.union(*lists) if len(lists) > 1 else lists[0]
    if hashed:
        decay = decay.rename(**{f"_d{k}": k for k in key})
        out = out.left_join(decay, [out[k] == decay[f"_d{k}"] for k in key])
        out = out.drop(*key, *[f"_d{k}" for k in key])
    else:
        out = out.left_join(decay, out.path == decay._p).drop("_p")
    return out.order_by("path")


def build_paths(
    events: ibis.Table,
    model: Model | None = None,
    *,
    target: str = "purchase",
    by: str = "channel",
    lookback: int | None = None,
    transform: str | Sequence[str] = "keep",
    organic: Sequence[str] | None = None,
    half_life: float | None = None,
    conversions: ibis.Table | None = None,
    timeline: ibis.Table | None = None,
    categories: ibis.Table | None = None,
    last_day=None,
    materialise=None,
    buckets: int | None = None,
    memory_limit: int | None = None,
    stage=None,
) -> ibis.Table:
    """Aggregated paths of a target, from events: the whole pipeline above.

    Args:
        events: the canonical ``events`` table (filter it to a brand first if wanted).
        model: gives the decision cycles when ``lookback`` is None, the purchase event and
            the organic channels (default model if None).
        target: ``purchase`` or a stage ``I``, ``TI``, ``P``.
        organic: labels the ``drop_organic`` transform removes (default: the model's).
        conversions: the target's conversions, overriding ``target``'s default source.
        timeline: stage timelines, needed for stage targets unless ``conversions`` is given.
        materialise: a function ``Table -> Table`` applied to the journey ends (read twice),
            e.g. ``lambda t: t.cache()`` from a caller that may execute; None: inline.
        buckets: build the paths a bucket of users at a time
            (:func:`aggregate_paths_bucketed`); None: as many as ``memory_limit`` needs.
        memory_limit: the backend's memory limit in bytes (a DuckDB store's): with
            ``materialise``, the touches are counted first (a cheap aggregate) and, when
            their journeys might not fit, the journey touches are materialised, counted
            and split into :func:`path_buckets` buckets (staged instead, with ``stage``,
            when the touches exceed the limit: :data:`STAGE_ROW_BYTES`). None: one query,
            no bucketing.
        stage: a function ``(rows, partition_by) -> Table`` that writes ``rows`` to files
            and reads them back (:func:`aips.store.staging.parquet_stager`). With it, bucketed
            paths stage the touches filed by bucket instead of materialising every journey
            touch (:func:`_staged_paths`); the returned table then reads only materialised
            sums, so the staged files may go once it is returned.
    """
    _check("target", target, TARGETS)
    model = model or _default_model()
    if conversions is None:
        if target == "purchase":
            conversions = purchase_conversions(events, model.purchase_event)
        else:
            if timeline is None:
                from aips.engine.timelines import timelines

                timeline = timelines(events, model, level="brand", categories=categories)
            conversions = stage_conversions(timeline, target)
    if "conv_id" not in conversions.columns:
        conversions = conversions.mutate(conv_id=ibis.null("string"))
    t = touches(events, by=by, exclude=non_touch_types(model))
    if lookback is None:  # each conversion its own category's cycle, else the brand's
        conversions = own_lookback(conversions, model, categories)
        lookback = brand_lookback(events, model, categories)
    if last_day is None:
        last_day = events.local_date.max().as_scalar()
    organic = model.organic_channels if organic is None else organic
    # the touches (or the events, their bound), counted when bucketing may be needed: they
    # bound the journey touches
    n = None
    if buckets is None and memory_limit and materialise is not None:
        n = _touches_over(events, t, STAGE_ROW_BYTES, memory_limit)
        if stage is not None and n * STAGE_ROW_BYTES > memory_limit:  # (then path_buckets(n) > 1 too)
            return _staged_paths(t, conversions, memory_limit, stage,
                                 materialise, touches=n, lookback=lookback, last_day=last_day,
                                 repeatable=target == "purchase", transform=transform,
                                 organic=organic, half_life=half_life)
    if materialise is not None:  # small, read by the candidates and the ends
        conversions = materialise(conversions)
        if isinstance(lookback, ibis.Table):
            lookback = materialise(lookback)
    # only the touches that may be in a journey (a fifth of them at 12M events): a pair
    # without one has only a non-converting journey without touches, which has no path
    t = journey_candidates(t, conversions, lookback, last_day)
    ends = journey_ends(conversions, t, lookback=lookback, last_day=last_day,
                        repeatable=target == "purchase")
    if materialise is not None:
        ends = materialise(ends)
    jt = _journey_touches(t, ends, transform, organic)
    if n is not None:
        if path_buckets(n, memory_limit) > 1:
            # kept with each user's hash, so that a bucket's filter is an integer compare
            jt = materialise(jt.mutate(_hash=user_bucket(jt.user_id, MAX_BUCKETS)))
            buckets = path_buckets(_count(jt), memory_limit)
            jt = jt.mutate(_bucket=jt._hash % buckets).drop("_hash")  # = path_bucket
            if buckets <= 1:
                jt = jt.drop("_bucket")
    if buckets is not None and buckets > 1:
        return aggregate_paths_bucketed(ends, jt, buckets, materialise, half_life=half_life)
    return aggregate_paths(ends, jt, half_life=half_life)


def _journey_touches(t: ibis.Table, ends: ibis.Table, transform, organic) -> ibis.Table:
    """:func:`journey_touches` with only what the aggregation reads (the ordering columns
    ``ts``, ``event_id`` are done with)."""
    jt = journey_touches(t, ends, transform=transform, organic=organic)
    return jt.select(*JOURNEY, "pos", "label", "local_date", "end_date", "converted", "value")


def journey_candidates(touch_table: ibis.Table, conversions: ibis.Table, lookback: int | ibis.Table,
                       last_day) -> ibis.Table:
    """The touches that may belong to a journey (a superset, one pass, no window): every touch
    of a pair with a conversion, and the others in the last lookback of their brand (the
    only journey of a pair without conversions ends on ``last_day``). On the 12M-event world
    2.4M of 11.5M touches; the journeys' own touches are 1.8M.

    >>> import datetime as dt, ibis
    >>> t = ibis.memtable({"user_id": ["a", "a", "b", "b"], "brand": ["x"] * 4,
    ...     "local_date": [dt.date(2024, 1, d) for d in (1, 30, 1, 30)]})
    >>> conv = ibis.memtable({"user_id": ["a"], "brand": ["x"]})
    >>> c = journey_candidates(t, conv, 7, dt.date(2024, 1, 31)).to_pyarrow().to_pylist()
    >>> sorted((r["user_id"], r["local_date"].day) for r in c)
    [('a', 1), ('a', 30), ('b', 30)]
    """
    buyers = conversions.select(_u="user_id", _b="brand").distinct().mutate(_buyer=ibis.literal(True))
    x = touch_table.left_join(buyers, [touch_table.user_id == buyers._u, touch_table.brand == buyers._b])
    if not isinstance(last_day, ibis.Expr):
        last_day = ibis.literal(last_day, type="date")

    def since(days: ibis.Value) -> ibis.Value:  # the first day of the last lookback
        return (last_day - (days - 1).as_interval("D")).cast("date")

    if isinstance(lookback, ibis.Table):  # as _with_start: the brand's, else the fallback;
        # the first day per brand in the small table (a date compared per touch, not an
        # interval subtracted from each: 0.7 of 1.6 s at 12M events)
        lb = lookback.select(_lb_brand="brand", _since=since(lookback.lookback.cast("int64")))
        x = x.left_join(lb, x.brand == lb._lb_brand)
        first = x._since.fill_null(since(ibis.literal(FALLBACK_LOOKBACK_DAYS, "int64")))
    else:
        first = since(ibis.literal(int(lookback), "int64"))
    return x.filter(x._buyer.notnull() | (x.local_date >= first)).select(*touch_table.columns)


STAGE_SLOTS = 32
"""At most this many slots of users the journey candidates are filed in when staged
(:func:`_staged_paths`): a partitioned write keeps a buffer per slot open."""


def _staged_paths(t: ibis.Table, conversions: ibis.Table, memory_limit: int, stage, materialise, *,
                  touches: int, lookback, last_day, repeatable: bool, transform, organic,
                  half_life: float | None) -> ibis.Table:
    """The bucketed paths with the touches staged first, filed by bucket of users.

    One read of the events writes the :func:`journey_candidates` (about 10 bytes each in
    Parquet), filed in slots of users (:func:`path_bucket` among as many as the ``touches``,
    which bound them, could need, at most :data:`STAGE_SLOTS`); their count (the files'
    metadata) then gives the :func:`path_buckets` under ``memory_limit``, a bucket being the
    slots equal to it modulo the buckets (counting them first was a join of every touch:
    6.8 of the paths' 54 s at 100M events). The journey ends are computed from them and
    staged the same way; each bucket's journeys read the staged files of their bucket only.
    Materialising every journey touch instead (a temporary table, which spills uncompressed,
    and the window that numbers them, over all of them at once) filled 27 GB of disk at 1B
    events. The result reads only materialised per-bucket sums, not the staged files.
    """
    # kept in the backend first: their exact (small) sizes let the joins below build their
    # hash tables on them (estimated from the events they come from, DuckDB built the join
    # on the touches' side and ran out of memory at 1B events); the ends read them again
    conversions = materialise(conversions)
    if isinstance(lookback, ibis.Table):
        lookback = materialise(lookback)
    t = journey_candidates(t, conversions, lookback, last_day)
    slots = min(STAGE_SLOTS, path_buckets(touches, memory_limit))
    staged = stage(t.mutate(_slot=path_bucket(t.user_id, slots)), "_slot")
    buckets = path_buckets(_count(staged), memory_limit)
    if buckets > slots:  # more buckets than slots: filed again, by bucket (from the files)
        rows = staged.drop("_slot")
        staged = stage(rows.mutate(_slot=path_bucket(rows.user_id, buckets)), "_slot")
        slots = buckets

    def bucket_of(user_id: ibis.Value) -> ibis.Value:  # (a staged file's slot, modulo)
        return path_bucket(user_id, slots) % buckets

    # the ends of pairs with no candidate touch are non-converting journeys without touches:
    # they have no path and are dropped by the aggregation anyway
    ends = journey_ends(conversions, staged.drop("_slot"), lookback=lookback,
                        last_day=last_day, repeatable=repeatable)
    ends = stage(ends.mutate(_bucket=bucket_of(ends.user_id)), "_bucket")

    def journey_touches_of(b: int, ends_b: ibis.Table) -> ibis.Table:
        # the bucket's slots listed: DuckDB then reads only their files (a filter `_slot %
        # buckets = b` on the staged view read every file)
        t_b = staged.filter(staged._slot.isin([s for s in range(slots) if s % buckets == b])).drop("_slot")
        return _journey_touches(t_b, ends_b, transform, organic)

    return _aggregate_buckets(ends, journey_touches_of, buckets, materialise, half_life=half_life)


def _count(table: ibis.Table) -> int:
    return int(table.count().to_pyarrow().as_py())


def _touches_over(events: ibis.Table, touch_table: ibis.Table, row_bytes: int, limit: int) -> int:
    """The touches, counted only when the events (which bound them, and whose count a
    table or Parquet file keeps in its metadata) times ``row_bytes`` exceed ``limit``;
    else the events' count (a count of the touches is a scan: 0.3-0.4 s at 12M events)."""
    n = _count(events)
    return _count(touch_table) if n * row_bytes > limit else n


def _default_model() -> Model:
    from aips.config.model import default_model

    return default_model()


# --- stage chains moved to aips.engine.chains (kept importable from here) -----------------

_CHAIN_NAMES = ("CHAINS", "chain_cells", "chain_units", "chain_tables", "stage_times",
                "stage_event_types")


def __getattr__(name: str):
    if name in _CHAIN_NAMES:  # lazy: chains imports this module
        from aips.engine import chains

        return getattr(chains, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
