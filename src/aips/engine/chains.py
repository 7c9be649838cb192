"""Stage chains: exposure cells of each stage advance, for incremental attribution.

A target is split into its stage advances (first touch -> I -> TI -> P, :data:`CHAINS`);
each step's units are aggregated by the set of labels that touched them during the step,
with the pairs that completed the chain aggregated by their exposure in every step. Both
outputs are small (cells, not users).

The work is three backend passes, each over its rows once:

1. :func:`stage_times`: when each pair first reached each stage of the chain: the first
   day from :func:`aips.engine.reach.first_reach` (no stage sweep when the rules are
   monotone), then ONE aggregate over the pair's events for the first touch, the first
   event of each stage's day and the first purchase;
2. :func:`chain_units`: one row per pair: its step times, step exposures (one join of the
   touches with the times) and conversions;
3. :func:`chain_tables`: the cells and profiles, group-bys over the units (materialise the
   units first when both tables are wanted: ``units.cache()``).

Given the touches' ``labels`` (:func:`touch_labels`, at most :data:`MAX_MASK_LABELS`), a
pair's exposures are integer bit masks (bit i: ``labels[i]``), counted per label in one
group-by with fixed-size state; they become text only on the aggregated cells. Then the
first touch and step 1 come from one aggregate of the touches per pair and label
(:func:`first_touches`), and only the pairs that reached the first stage have their touches
joined with their times, for the later steps. Without
them (more labels, e.g. creators) they are label lists, which DuckDB cannot spill: then
built a bucket of users at a time under a memory limit.

>>> import datetime as dt, ibis
>>> from aips.config.model import default_model
>>> ts = [dt.datetime(2024, 1, 1, h) for h in (9, 10, 11)]
>>> ev = ibis.memtable({"event_id": ["e1", "e2", "e3"], "user_id": ["u"] * 3,
...     "brand": ["b"] * 3, "spu": [None] * 3, "category": [None] * 3, "ts": ts,
...     "local_date": [t.date() for t in ts], "event_type": ["impression", "read", "purchase"],
...     "channel": ["feed_ad", "feed_ad", None], "campaign_id": [None] * 3,
...     "creator_id": [None] * 3, "dwell_s": [None] * 3, "completion": [None] * 3,
...     "amount": [None, None, 10.0]})
>>> steps, profiles = chain_cells(ev, default_model(), "I")
>>> steps.to_pyarrow().to_pylist()
[{'step': 1, 'exposure': 'feed_ad', 'holdout': False, 'units': 1, 'advances': 1}]
"""

from __future__ import annotations

from collections.abc import Sequence

import ibis
import ibis.expr.operations as ops

from aips.buckets import buckets_for
from aips.config.model import STAGE_RANK, Model
from aips.engine.paths import (
    BY,
    MAX_BUCKETS,
    MEMORY_SHARE,
    _touches_over,
    main_category,
    non_touch_types,
    path_bucket,
    path_buckets,
    purchase_conversions,
    touches,
    user_bucket,
)
from aips.engine.reach import _rules_at_or_above, first_reach

MAX_MASK_LABELS = 62
"""Most labels whose exposures are kept as bits of an int64 (the incremental model's limit)."""
EXPOSURE_SEP = " + "
CHAINS = {"I": ("I",), "TI": ("I", "TI"), "P": ("I", "TI", "P"), "purchase": ("I", "TI", "P")}
"""The stage advances a target is made of: reaching I, then TI, then P (the purchase)."""
KEYS = ["user_id", "brand"]
BUCKET = "_bucket"
CHAIN_ROW_BYTES = 120
"""Working memory per touch when the chain units are built (the joins with the stage times,
the per-pair state, the temporary tables), in bytes: one query of 300k touches ran out of
memory under 40 MiB and completed under 64 MiB; 11.5M touches (the 12M world) fit the
default 1.5 GiB. Touches times this above the memory limit are staged, in buckets of
:data:`~aips.engine.paths.MEMORY_SHARE` of it (at 1B under 6 GiB: 38 buckets, 2.8 GiB peak
RSS)."""


def stage_event_types(model: Model, stage: str) -> list[str]:
    """Event types counted by the rules of ``stage`` and every higher stage: one of them
    happened on the day a pair's level first rose to ``stage``."""
    names: set[str] = set()
    for s, rank in STAGE_RANK.items():
        if rank >= STAGE_RANK[stage]:
            names |= set(model.rules[s].names)
    return sorted({e for n in names if n in model.counters for e in model.counters[n].events})


def _epoch(ts: ibis.Value) -> ibis.Value:
    return ts.truncate("s").epoch_seconds().cast("int64")


def stage_times(
    events: ibis.Table,
    model: Model,
    target: str,
    *,
    timeline: ibis.Table | None = None,
    categories: ibis.Table | None = None,
    source: ibis.Table | None = None,
    first: ibis.Table | None = None,
) -> ibis.Table:
    """When each pair first reached each stage of the target's chain, in epoch seconds.

    Returns ``user_id, brand, t0, t1, .., tK`` (null when never reached): ``t0`` is the
    pair's first touch, ``tk`` the first event, on the day its level first rose to the
    k-th stage of :data:`CHAINS`, of a type that stage's rule (or a higher one) counts; for
    ``purchase`` the last one is the first purchase. A stage is never reached before the
    previous one (same-day ties take the previous time).

    Args:
        timeline: brand-level timelines to read the stage days from (else
            :func:`~aips.engine.reach.first_reach` over ``source``).
        source: the rollup to find stage days in (default ``events``).
        first: the pairs' :func:`first_touches`, when already computed: ``t0`` is the
            earliest of them (else one aggregate of the events gives it).
    """
    chain = CHAINS[target]
    stages = _stage_days(target)
    types = {s: stage_event_types(model, s) for s in stages}
    outcome = [model.purchase_event] if target == "purchase" else []
    nt = list(non_touch_types(model))
    keep = events.channel.notnull() & ~events.event_type.isin(nt)
    if outcome:
        keep = keep | events.event_type.isin(outcome)
    ev = events.filter(keep)
    # first touch and first purchase need no stage days: one aggregate, no join; only the
    # events of the stages' types meet the (smaller) first-reach table
    if first is not None:  # the first touches are per label already: t0 is their earliest
        out = first.group_by(KEYS).aggregate(t0=first._m.min())
        if outcome:
            p = events.filter(events.event_type == model.purchase_event)
            p = p.group_by(KEYS).aggregate(**{f"t{len(chain)}": p.ts.min()})
            out = _full_join(out, p)
    else:
        own = {"t0": ev.ts.min(where=ev.channel.notnull() & ~ev.event_type.isin(nt))}
        if outcome:
            own[f"t{len(chain)}"] = ev.ts.min(where=ev.event_type == model.purchase_event)
        out = ev.group_by(KEYS).aggregate(**own)
    if stages:
        reach = first_reach(events if source is None else source, model, stages,
                            categories=categories, timeline=timeline)
        se = events.filter(events.event_type.isin(sorted({e for v in types.values() for e in v})))
        r = reach.rename(_u="user_id", _b="brand")
        j = se.join(r, [se.user_id == r._u, se.brand == r._b])
        at = j.group_by(KEYS).aggregate(**{
            f"t{k}": j.ts.min(where=(j.local_date == j[f"d_{s}"]) & j.event_type.isin(types[s]))
            for k, s in enumerate(chain, 1) if s in stages})
        out = _full_join(out, at)
    cols = [f"t{k}" for k in range(len(chain) + 1)]
    out = out.filter(ibis.or_(*[out[c].notnull() for c in cols]))
    out = out.select(*KEYS, **{c: _epoch(out[c]) for c in cols})
    fixed, prev = {}, None
    for c in cols:
        fixed[c] = out[c] if prev is None else ibis.ifelse(
            prev.notnull() & out[c].notnull() & (out[c] < prev), prev, out[c])
        prev = fixed[c] if prev is None else ibis.coalesce(fixed[c], prev)
    return out.select(*KEYS, **fixed)


def _full_join(left: ibis.Table, right: ibis.Table) -> ibis.Table:
    """Two per-pair tables side by side, every pair of either (a full join on the keys)."""
    r = right.rename(_u="user_id", _b="brand")
    out = left.outer_join(r, [left.user_id == r._u, left.brand == r._b])
    return out.mutate(user_id=out.user_id.fill_null(out._u),
                      brand=out.brand.fill_null(out._b)).drop("_u", "_b")


def first_touches(events: ibis.Table, model: Model, by: str = "channel") -> ibis.Table:
    """``user_id, brand, label, _m``: each pair's first touch (a timestamp) of each label.

    They are all step 1 needs: its window runs from the pair's first touch ``t0`` (the
    earliest of them) to the first stage, so a label is in it when its first touch is by
    the window's end. One aggregate of the touches gives them and ``t0``; only the pairs
    that reached the first stage need their touches again, for the later steps.

    >>> import datetime as dt, ibis
    >>> from aips.config.model import default_model
    >>> ev = ibis.memtable({"user_id": ["u"] * 3, "brand": ["b"] * 3, "event_id": ["1", "2", "3"],
    ...     "ts": [dt.datetime(2024, 1, d) for d in (3, 1, 2)], "local_date": [None] * 3,
    ...     "event_type": ["read"] * 3, "channel": ["feed_ad", "feed_ad", "search"]})
    >>> sorted((r["label"], r["_m"].day) for r in first_touches(ev, default_model()).to_pyarrow().to_pylist())
    [('feed_ad', 1), ('search', 2)]
    """
    t = touches(events, by=by, exclude=non_touch_types(model))
    return t.group_by([*KEYS, "label"]).aggregate(_m=t.ts.min())


def chain_units(
    events: ibis.Table,
    model: Model,
    target: str = "purchase",
    *,
    users: ibis.Table | None = None,
    by: str = "channel",
    conversions: ibis.Table | None = None,
    timeline: ibis.Table | None = None,
    categories: ibis.Table | None = None,
    quantile: float = 0.5,
    source: ibis.Table | None = None,
    materialise=None,
    memory_limit: int | None = None,
    labels: Sequence[str] | None = None,
) -> ibis.Table:
    """One row per pair: ``holdout, t0 .. tK, e1 .. eK, _n, _v`` (see :func:`chain_cells`).

    With ``labels`` (every label of the touches, sorted, as from :func:`touch_labels`),
    ``e1 .. eK`` are bit masks over them (int64, 0: none); pass the same ``labels`` to
    :func:`chain_tables`. Without, they are the label sets as text.

    ``materialise`` (``Table -> Table``, e.g. ``lambda t: t.cache()`` from a caller that may
    execute) is applied to the stage times and step durations, which the later steps read several times.
    ``memory_limit`` (bytes, a DuckDB store's; with ``materialise``): the touches are
    counted and, when the per-pair label sets might not fit, the exposures are built a
    bucket of users at a time (:func:`aips.engine.paths.path_buckets`, issue 13).
    """
    K = len(CHAINS[target])
    first = None
    if labels is not None:  # masks: step 1 and t0 from the first touch of each label
        first = first_touches(events, model, by)
        if materialise is not None:  # read by the stage times and step 1
            first = materialise(first)
    times = stage_times(events, model, target, timeline=timeline, categories=categories,
                        source=source, first=first)
    if materialise is not None:  # read by each step's duration and the join back
        times = materialise(times)
    times = _with_step_durations(times, events, K, quantile)
    if materialise is not None:  # read by the exposures and the units
        times = materialise(times)
    if labels is not None:  # fixed-size per-pair state: no buckets needed
        exposures = _step_masks(events, model, times, by, K, _mask_labels(labels), first)
    else:
        buckets = 1
        if memory_limit and materialise is not None:
            buckets = path_buckets(_label_entries(events, model, times, by, K), memory_limit)
        exposures = _step_exposures(events, model, times, by, K, buckets=buckets,
                                    materialise=materialise)
    if conversions is None and target == "purchase":
        conversions = purchase_conversions(events, model.purchase_event)
    return _units(times, exposures, conversions, users, K, empty=0 if labels is not None else "")


def chain_tables(units: ibis.Table, K: int, *, events: ibis.Table | None = None,
                 users: ibis.Table | None = None,
                 labels: Sequence[str] | None = None) -> tuple[ibis.Table, ibis.Table]:
    """``(steps, profiles)`` from :func:`chain_units` (``events`` and ``users`` add step
    1's untouched pairs; ``labels``: the units' exposures are masks over them)."""
    steps = _step_cells(units, K, labels)
    if users is not None and events is not None:
        steps = _with_untouched(steps, events, users)
    steps = steps.select("step", "exposure", "holdout", "units", "advances").order_by(
        ["step", "exposure", "holdout"])
    return steps, _profiles(units, K, labels)


def chain_cells(
    events: ibis.Table,
    model: Model,
    target: str = "purchase",
    *,
    users: ibis.Table | None = None,
    by: str = "channel",
    conversions: ibis.Table | None = None,
    timeline: ibis.Table | None = None,
    categories: ibis.Table | None = None,
    quantile: float = 0.5,
    source: ibis.Table | None = None,
    labels: Sequence[str] | None = None,
    materialise=None,
    memory_limit: int | None = None,
    stage=None,
) -> tuple[ibis.Table, ibis.Table]:
    """Exposure cells of each step of the target's stage chain, and converters' profiles.

    Step k (reaching the k-th stage of :data:`CHAINS` from the previous one; step 1 starts
    at the first touch) has at risk the pairs that reached the previous stage. A pair's
    exposure in step k is the set of labels it touched from reaching the previous stage up
    to reaching this one (timestamps, both ends included); for a pair that did not advance,
    up to the previous stage plus ``D_k``, the ``quantile`` (median) of the advancers' time
    for the step in its brand's category, so that both sides are watched for as long.
    With a ``users`` table, step 1 also holds every user-brand pair without any touch.

    Returns:
        ``steps``: ``step, exposure, holdout, units, advances``; ``profiles`` (pairs that
        completed the chain): ``e1 .. eK, holdout, converters, conversions, value``, where
        ``conversions``/``value`` are the target's conversions of those pairs (every
        purchase for ``purchase``). Exposures are labels joined by ``" + "``, sorted.
        ``labels`` (see :func:`chain_units`) changes how they are built, not the result.

    With ``materialise``, ``memory_limit`` (bytes) and ``stage`` (a DuckDB store's
    :func:`aips.store.staging.parquet_stager`), touches whose working memory
    (:data:`CHAIN_ROW_BYTES` each) exceeds the limit are built a bucket of users at a time
    (:func:`_staged_chain_cells`): the same cells. The result then reads only materialised
    sums, not the staged files.
    """
    K = len(CHAINS[target])
    if stage is not None and memory_limit and materialise is not None:
        n = _touches_over(events, touches(events, by=by, exclude=non_touch_types(model)),
                          CHAIN_ROW_BYTES, memory_limit)
        if n * CHAIN_ROW_BYTES > memory_limit:  # one query would not fit
            buckets = max(2, buckets_for(n, CHAIN_ROW_BYTES, memory_limit, share=MEMORY_SHARE,
                                         most=MAX_BUCKETS))
            return _staged_chain_cells(
                events, model, target, buckets=buckets, stage=stage, materialise=materialise,
                users=users, by=by, conversions=conversions, timeline=timeline,
                categories=categories, quantile=quantile, source=source, labels=labels)
    units = chain_units(events, model, target, users=users, by=by, conversions=conversions,
                        timeline=timeline, categories=categories, quantile=quantile,
                        source=source, labels=labels, materialise=materialise,
                        memory_limit=memory_limit)
    if materialise is not None:  # read by both tables
        units = materialise(units)
    return chain_tables(units, K, events=events, users=users, labels=labels)


def _staged_chain_cells(events: ibis.Table, model: Model, target: str, *, buckets: int, stage,
                        materialise, users: ibis.Table | None, by: str,
                        conversions: ibis.Table | None, timeline: ibis.Table | None,
                        categories: ibis.Table | None, quantile: float, source: ibis.Table | None,
                        labels: Sequence[str] | None) -> tuple[ibis.Table, ibis.Table]:
    """:func:`chain_cells` a bucket of users at a time (:func:`aips.engine.paths.path_bucket`).

    A pair's units depend on its own events, except the step durations ``D_k``, quantiles
    over every pair of a category. So: the events the chain reads (touches, the stages'
    event types, purchases; a few columns) and the conversions are staged once, filed by
    bucket; each bucket's stage times are staged; the durations are taken over all of
    them; then each bucket's units (staged) are reduced to step counts and profile sums
    keyed by the raw exposure (mask or text), kept by ``materialise``, and summed. Texts and
    ``greatest(conversions, converters)`` are applied to the sums. At 1B events, one query
    of the 77M pairs' units (and its temporary tables, which spill uncompressed) filled
    the disk. The stage days come from ``timeline`` (else ``source``, else the events)
    filtered to the bucket's users.
    """
    K = len(CHAINS[target])
    chain = CHAINS[target]
    types = sorted({e for s in chain for e in stage_event_types(model, s)} | {model.purchase_event})
    rows = events.filter(events.channel.notnull() | events.event_type.isin(types))
    label_col = [] if by == "channel" else [BY[by]]
    rows = rows.select("user_id", "brand", "ts", "local_date", "event_type", "channel", *label_col,
                       _bucket=path_bucket(rows.user_id, buckets))
    staged = stage(rows, BUCKET)
    if conversions is None and target == "purchase":
        conversions = purchase_conversions(events, model.purchase_event)
    if conversions is not None:
        conversions = stage(conversions.select(
            "user_id", "brand", "value", _bucket=path_bucket(conversions.user_id, buckets)), BUCKET)
    cats = materialise(main_category(events))
    reach_rows = source if source is not None else events
    if timeline is not None:
        # filed by bucket once, as the events: each bucket's stage days then read its own
        # files (filtering every timeline row by a hash of its user took 0.8 of a bucket's
        # 2.2 s at 100M events, 16 buckets)
        timeline = stage(_reach_rows(timeline, target).mutate(
            _bucket=path_bucket(timeline.user_id, buckets)), BUCKET)

    def filed(t: ibis.Table, b: int) -> ibis.Table:
        return t.filter(t[BUCKET] == b).drop(BUCKET)

    def hashed(t: ibis.Table | None, b: int) -> ibis.Table | None:
        return None if t is None else t.filter(path_bucket(t.user_id, buckets) == b)

    def events_of(b: int) -> ibis.Table:  # as the chain reads them (no ids, dwell or amounts)
        ev = filed(staged, b)
        return ev.mutate(event_id=ibis.null("string"))

    def timeline_of(b: int) -> ibis.Table | None:
        return None if timeline is None else filed(timeline, b)

    # with masks, each bucket's first touch of each label (staged: read by its stage
    # times and its step 1)
    firsts = [None if labels is None else stage(first_touches(events_of(b), model, by), None)
              for b in range(buckets)]
    times = [stage(_with_category(stage_times(events_of(b), model, target, timeline=timeline_of(b),
                                              categories=categories, source=hashed(reach_rows, b),
                                              first=firsts[b]),
                                  cats), None)
             for b in range(buckets)]
    durations = [materialise(d) for d in _step_durations(ibis.union(*times), K, quantile)]
    empty = 0 if labels is not None else ""
    counts, sums = [], []
    for b in range(buckets):
        ev_b, times_b = events_of(b), _with_durations(times[b], durations)
        if labels is not None:
            exposures = _step_masks(ev_b, model, times_b, by, K, _mask_labels(labels), firsts[b])
        else:
            exposures = _step_exposures(ev_b, model, times_b, by, K)
        conv_b = None if conversions is None else filed(conversions, b)
        # staged, not kept as a temporary table: read twice, then done with
        units = stage(_units(times_b, exposures, conv_b, hashed(users, b), K, empty=empty), None)
        counts.append(materialise(_step_counts(units, K)))
        sums.append(materialise(_profile_sums(units, K)))
    c = ibis.union(*counts)
    steps = _steps_of(c.group_by(["step", "exposure", "holdout"]).aggregate(
        units=c.units.sum().cast("int64"), advances=c.advances.sum().cast("int64")), labels)
    s = ibis.union(*sums)
    ecols = [f"e{k}" for k in range(1, K + 1)]
    profiles = s.group_by([*ecols, "holdout"]).aggregate(
        converters=s.converters.sum().cast("int64"), conversions=s.conversions.sum().cast("int64"),
        value=s.value.sum())
    if users is not None:
        steps = _with_untouched(steps, events, users)
    steps = steps.select("step", "exposure", "holdout", "units", "advances").order_by(
        ["step", "exposure", "holdout"])
    return steps, _profiles_of(profiles, K, labels)



def _reach_rows(timeline: ibis.Table, target: str) -> ibis.Table:
    """The timeline rows :func:`stage_times` reads for ``target``'s stage days (through
    :func:`~aips.engine.reach.first_reach`): the stages at or above the chain's lowest, and
    only the columns it reads."""
    keep = _rules_at_or_above(_stage_days(target))
    return timeline.filter(timeline.stage.isin(keep)).select("user_id", "brand", "stage", "start_date")


def _stage_days(target: str) -> list[str]:
    """The stages of ``target``'s chain whose days come from the timelines (a purchase
    chain's last step is the purchase itself)."""
    return [s for s in CHAINS[target] if not (target == "purchase" and s == "P")]


def _with_step_durations(times: ibis.Table, events: ibis.Table, K: int, quantile: float) -> ibis.Table:
    """``times`` with the brand's main category ``_cat`` and ``_D1 .. _DK``: each step's
    typical duration (the ``quantile`` of the time advancers took) in that category."""
    times = _with_category(times, main_category(events))
    return _with_durations(times, _step_durations(times, K, quantile))


def _with_category(times: ibis.Table, cats: ibis.Table) -> ibis.Table:
    """``times`` with ``_cat``: its brand's main category (``cats``: ``brand, category``; ``""``
    when none)."""
    cats = cats.rename(_bb="brand", _cat="category")
    times = times.left_join(cats, times.brand == cats._bb).drop("_bb")
    return times.mutate(_cat=times._cat.fill_null(""))


def _step_durations(times: ibis.Table, K: int, quantile: float) -> list[ibis.Table]:
    """Per step k, ``_cat, _Dk``: the ``quantile`` of the advancers' time for the step in
    each category (small tables)."""
    durs = []
    for k in range(1, K + 1):
        adv = times.filter(times[f"t{k}"].notnull() & times[f"t{k - 1}"].notnull())
        durs.append(adv.group_by("_cat").aggregate(
            **{f"_D{k}": (adv[f"t{k}"] - adv[f"t{k - 1}"]).quantile(quantile).cast("int64")}))
    return durs


def _with_durations(times: ibis.Table, durs: Sequence[ibis.Table]) -> ibis.Table:
    """``times`` (with ``_cat``) with each step's duration of its category (null: none)."""
    for dur in durs:
        dd = dur.rename(_c2="_cat")
        times = times.left_join(dd, times._cat == dd._c2).drop("_c2")
    return times


def _label_entries(events: ibis.Table, model: Model, times: ibis.Table, by: str, K: int) -> int:
    """An upper bound of the entries the per-pair label sets hold: each pair keeps at most
    one entry per step and distinct label, and never more than its touches (one scan of
    the touches and a count of the materialised pairs)."""
    t = touches(events, by=by, exclude=non_touch_types(model))
    row = t.aggregate(n=t.count(), labels=t.label.nunique()).to_pyarrow().to_pylist()[0]
    pairs = int(times.count().to_pyarrow().as_py())
    return min(int(row["n"] or 0), pairs * K * max(1, int(row["labels"] or 0)))


def touch_labels(events: ibis.Table, model: Model, by: str = "channel",
                 limit: int = MAX_MASK_LABELS + 1) -> ibis.Table:
    """``label``: the distinct labels of the touches, sorted, at most ``limit`` (an
    aggregate: execute it to learn whether the exposures fit in masks, :func:`chain_units`).

    >>> import ibis
    >>> from aips.config.model import default_model
    >>> ev = ibis.memtable({"channel": ["kol_note", "feed_ad", "kol_note", None],
    ...     "event_type": ["read", "impression", "purchase", "read"], "campaign_id": [None] * 4,
    ...     "user_id": ["u"] * 4, "brand": ["b"] * 4, "ts": [None] * 4, "local_date": [None] * 4,
    ...     "event_id": ["1", "2", "3", "4"]})
    >>> touch_labels(ev, default_model()).to_pyarrow().column("label").to_pylist()
    ['feed_ad', 'kol_note']
    """
    t = touches(events, by=by, exclude=non_touch_types(model))
    # a group-by, not distinct(): ibis 12's PySpark SQL put the filter's event_type inside
    # the DISTINCT, repeating labels
    per = t.group_by("label").aggregate(_n=t.count())
    return per.order_by("label").limit(limit).select("label")


def _mask_labels(labels: Sequence[str]) -> list[str]:
    from aips.exceptions import ConfigError

    out = sorted(labels)
    if len(out) > MAX_MASK_LABELS or len(set(out)) != len(out):
        raise ConfigError(f"exposure masks take at most {MAX_MASK_LABELS} distinct labels, "
                          f"got {len(out)}")
    return out


def exposure_text(mask: ibis.Value, labels: Sequence[str]) -> ibis.Value:
    """The labels of a bit mask, sorted and joined by ``" + "`` (``""`` for 0): the text
    form of an exposure (``labels`` sorted; bit i is ``labels[i]``).

    >>> import ibis
    >>> t = ibis.memtable({"m": [0, 1, 6]})
    >>> t.select(e=exposure_text(t.m, ["a", "b", "c"])).to_pyarrow().column("e").to_pylist()
    ['', 'a', 'b + c']
    """
    parts = [ibis.ifelse((mask & ibis.literal(1 << i, "int64")) != 0, EXPOSURE_SEP + label, "")
             for i, label in enumerate(_mask_labels(labels))]
    if not parts:
        return ibis.literal("")
    text = parts[0].concat(*parts[1:]) if len(parts) > 1 else parts[0]
    return text.substr(len(EXPOSURE_SEP))


def _step_masks(events: ibis.Table, model: Model, times: ibis.Table, by: str, K: int,
                labels: list[str], first: ibis.Table | None = None) -> ibis.Table:
    """Per pair, ``e1 .. eK``: bit masks of the labels touched in each step's window (the
    windows of :func:`_step_exposures`): one group-by of counts, no lists.

    With the pairs' :func:`first_touches`, step 1 is read off them (a label is in its
    window when first touched by the window's end) and only the touches of the pairs that
    reached the first stage are joined, for the later steps (at 12M events, 0.2M of the
    0.9M pairs; joining every touch to its pair's times was the chain's costliest step).
    """
    if first is None:
        return _all_step_masks(events, model, times, by, K, labels)
    tt = times.select(*KEYS, "t0", "t1", "_D1").rename(_u="user_id", _b="brand")
    f = first.join(tt, [first.user_id == tt._u, first.brand == tt._b])
    m, end = _epoch(f._m), ibis.coalesce(f.t1, f.t0 + f._D1.fill_null(0))
    f = f.mutate(_w1=f.t0.notnull() & (m >= f.t0) & (m <= end))
    e1 = _masks(f, labels, range(1, 2))
    if K == 1:
        return e1
    later = _all_step_masks(events, model, times.filter(times.t1.notnull()), by, K, labels,
                            steps=range(2, K + 1)).rename(_u="user_id", _b="brand")
    out = e1.left_join(later, [e1.user_id == later._u, e1.brand == later._b])
    return out.select(*KEYS, "e1", **{f"e{k}": out[f"e{k}"].fill_null(0) for k in range(2, K + 1)})


def _label_bit(label: ibis.Value, labels: list[str]) -> ibis.Value:
    """The bit of ``label`` in a mask over ``labels`` (0 for any other)."""
    if not labels:
        return ibis.literal(0, "int64")
    return label.cases(*[(name, ibis.literal(1 << i, "int64")) for i, name in enumerate(labels)],
                       else_=ibis.literal(0, "int64"))


def _all_step_masks(events: ibis.Table, model: Model, times: ibis.Table, by: str, K: int,
                    labels: list[str], steps: range | None = None) -> ibis.Table:
    """:func:`_step_masks` from every touch joined to its pair's times (``steps``: only
    these steps' masks, default all)."""
    steps = range(1, K + 1) if steps is None else steps
    return _masks(_windowed_touches(events, model, times, by, K), labels, steps)


def _masks(j: ibis.Table, labels: list[str], steps: range) -> ibis.Table:
    """Per pair, ``e<k>`` for each of ``steps``: the bit mask of the ``label``s of ``j``'s
    rows whose flag ``_w<k>`` holds (one group-by; every step's masks are built alike, so
    their SQL types agree, as a union of the steps needs)."""
    if labels and _has_bit_or(j):
        # each touch's bit once, then one bit_or per step: 3 aggregates over the touches
        # instead of a filtered count per label and step (18); Ibis has no bit_or for PySpark
        j = j.mutate(_bit=_label_bit(j.label, labels))
        return j.group_by(KEYS).aggregate(**{f"e{k}": j._bit.bit_or(where=j[f"_w{k}"]).fill_null(0)
                                             for k in steps})
    bits = {}
    for k in steps:
        w = j[f"_w{k}"]
        seen = [ibis.ifelse(j.label.count(where=w & (j.label == label)) > 0,
                            ibis.literal(1 << i, "int64"), ibis.literal(0, "int64"))
                for i, label in enumerate(labels)]
        bits[f"e{k}"] = sum(seen[1:], seen[0]) if seen else ibis.literal(0, "int64")
    return j.group_by(KEYS).aggregate(**bits)


def _has_bit_or(table: ibis.Table) -> bool:
    """Whether ``table``'s backend compiles ``bit_or`` (DuckDB does; Ibis 12's PySpark not)."""
    return ibis.get_backend(table).has_operation(ops.BitOr)


def _windowed_touches(events: ibis.Table, model: Model, times: ibis.Table, by: str,
                      K: int) -> ibis.Table:
    """The touches of the pairs in ``times`` with ``_e`` (epoch seconds) and ``_w1 .. _wK``:
    whether the touch is in step k's window."""
    t = touches(events, by=by, exclude=non_touch_types(model))
    t = t.mutate(_e=_epoch(t.ts))
    tt = times.rename(_u="user_id", _b="brand")
    j = t.join(tt, [t.user_id == tt._u, t.brand == tt._b])
    flags = {}
    for k in range(1, K + 1):
        lo, hi, D = j[f"t{k - 1}"], j[f"t{k}"], j[f"_D{k}"].fill_null(0)
        end = ibis.coalesce(hi, lo + D)
        flags[f"_w{k}"] = lo.notnull() & (j._e >= lo) & (j._e <= end)
    return j.mutate(**flags)


def _step_exposures(events: ibis.Table, model: Model, times: ibis.Table, by: str, K: int,
                    *, buckets: int = 1, materialise=None) -> ibis.Table:
    """Per pair, ``e1 .. eK``: the labels touched in each step's window (sorted, ``" + "``).

    With ``buckets`` > 1, the pairs are built a bucket of users at a time, each bucket
    kept by ``materialise``: the per-pair label sets are list aggregates that DuckDB
    cannot spill; one row per pair either way.
    """
    if buckets > 1:
        keep = materialise or (lambda x: x)
        parts = []
        for b in range(buckets):
            ev_b = events.filter(user_bucket(events.user_id, buckets) == b)
            times_b = times.filter(user_bucket(times.user_id, buckets) == b)  # a smaller build side
            parts.append(keep(_step_exposures(ev_b, model, times_b, by, K)))
        return ibis.union(*parts)
    j = _windowed_touches(events, model, times, by, K)
    # one group-by: each step's distinct labels (no intermediate (pair, label) table)
    per_pair = j.group_by(KEYS).aggregate(**{
        f"e{k}": j.label.collect(where=j[f"_w{k}"], distinct=True) for k in range(1, K + 1)})
    return per_pair.select(*KEYS, **{f"e{k}": per_pair[f"e{k}"].sort().join(EXPOSURE_SEP)
                                     for k in range(1, K + 1)})


def _units(times: ibis.Table, exposures: ibis.Table, conversions: ibis.Table | None,
           users: ibis.Table | None, K: int, empty: str | int = "") -> ibis.Table:
    """One row per pair: ``holdout, t0 .. tK, e1 .. eK`` and its conversions ``_n``, ``_v``
    (without a conversions table: one per pair that completed the chain); ``empty``: the
    exposure of a pair without touches (``""``, or mask 0)."""
    pp = exposures.rename(_u="user_id", _b="brand")
    units = times.left_join(pp, [times.user_id == pp._u, times.brand == pp._b])
    if conversions is not None:
        conv = conversions.group_by(KEYS).aggregate(_n=conversions.count(),
                                                    _v=conversions.value.cast("float64").sum())
    else:
        conv = times.filter(times[f"t{K}"].notnull()).select(*KEYS, _n=ibis.literal(1, "int64"),
                                                            _v=ibis.literal(0.0))
    cv = conv.rename(_u2="user_id", _b2="brand")
    units = units.left_join(cv, [units.user_id == cv._u2, units.brand == cv._b2])
    if users is not None:
        u = users.select(_uu="user_id", _h="holdout")
        units = units.left_join(u, units.user_id == u._uu)
        hold = units._h.fill_null(False)
    else:
        hold = ibis.literal(False)
    return units.select(
        holdout=hold, **{f"t{k}": f"t{k}" for k in range(0, K + 1)},
        **{f"e{k}": units[f"e{k}"].fill_null(empty) for k in range(1, K + 1)},
        _n=units._n.fill_null(0), _v=units._v.fill_null(0.0),
    )


def _step_cells(units: ibis.Table, K: int, labels: Sequence[str] | None = None) -> ibis.Table:
    """Per step, exposure and holdout: the pairs at risk (``units``) and those that advanced
    (``labels``: the units' exposures are masks, turned into text once grouped)."""
    return _steps_of(_step_counts(units, K), labels)


def _step_counts(units: ibis.Table, K: int) -> ibis.Table:
    """``step, exposure, holdout, units, advances`` with the units' exposures as they are
    (masks or text): sums of counts, so buckets of pairs add up."""
    parts = []
    for k in range(1, K + 1):
        risk = units if k == 1 else units.filter(units[f"t{k - 1}"].notnull())
        part = risk.group_by([risk[f"e{k}"].name("exposure"), "holdout"]).aggregate(
            units=risk.count(), advances=risk.count(where=risk[f"t{k}"].notnull()))
        parts.append(part.mutate(step=ibis.literal(k, "int64")))
    return parts[0].union(*parts[1:]) if K > 1 else parts[0]


def _steps_of(counts: ibis.Table, labels: Sequence[str] | None) -> ibis.Table:
    """:func:`_step_counts` with text exposures (``labels``: they are masks over them)."""
    return counts if labels is None else counts.mutate(exposure=exposure_text(counts.exposure, labels))


def _with_untouched(steps: ibis.Table, events: ibis.Table, users: ibis.Table) -> ibis.Table:
    """``steps`` with step 1's untouched pairs: every user x brand not seen, exposure ``""``."""
    n_brands = events.brand.nunique().as_scalar()
    pop = users.group_by(holdout=users.holdout.fill_null(False)).aggregate(_users=users.count())
    s1 = steps.filter(steps.step == 1)
    seen = s1.group_by("holdout").aggregate(_seen=s1.units.sum())
    gap = pop.left_join(seen, pop.holdout == seen.holdout)
    gap = gap.select(exposure=ibis.literal(""), holdout=gap.holdout,
                     units=(gap._users * n_brands - gap._seen.fill_null(0)).cast("int64"),
                     advances=ibis.literal(0, "int64"), step=ibis.literal(1, "int64"))
    both = steps.union(gap.filter(gap.units > 0).cast(steps.schema()))
    return both.group_by(["step", "exposure", "holdout"]).aggregate(
        units=both.units.sum(), advances=both.advances.sum())


def _profiles(units: ibis.Table, K: int, labels: Sequence[str] | None = None) -> ibis.Table:
    """Pairs that completed the chain, per exposure sequence and holdout."""
    return _profiles_of(_profile_sums(units, K), K, labels)


def _profile_sums(units: ibis.Table, K: int) -> ibis.Table:
    """``e1 .. eK, holdout, converters, conversions, value`` of the pairs that completed the
    chain, exposures as they are (sums: buckets of pairs add up)."""
    done = units.filter(units[f"t{K}"].notnull())
    return done.group_by([*[f"e{k}" for k in range(1, K + 1)], "holdout"]).aggregate(
        converters=done.count(), conversions=done._n.sum(), value=done._v.sum())


def _profiles_of(sums: ibis.Table, K: int, labels: Sequence[str] | None) -> ibis.Table:
    """:func:`_profile_sums` as profiles: text exposures, and at least one conversion per
    converter (a pair that completed the chain converted, whatever the conversions say)."""
    ecols = [f"e{k}" for k in range(1, K + 1)]
    if labels is not None:
        sums = sums.mutate(**{c: exposure_text(sums[c], labels) for c in ecols})
    sums = sums.mutate(conversions=ibis.greatest(sums.conversions, sums.converters))
    return sums.order_by([*ecols, "holdout"])
