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
group-by with fixed-size state; they become text only on the aggregated cells. Without
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

from aips.config.model import STAGE_RANK, Model
from aips.engine.paths import (
    main_category,
    non_touch_types,
    path_buckets,
    purchase_conversions,
    touches,
    user_bucket,
)
from aips.engine.reach import first_reach

MAX_MASK_LABELS = 62
"""Most labels whose exposures are kept as bits of an int64 (the incremental model's limit)."""
EXPOSURE_SEP = " + "
CHAINS = {"I": ("I",), "TI": ("I", "TI"), "P": ("I", "TI", "P"), "purchase": ("I", "TI", "P")}
"""The stage advances a target is made of: reaching I, then TI, then P (the purchase)."""
KEYS = ["user_id", "brand"]


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
    """
    chain = CHAINS[target]
    stages = [s for s in chain if not (target == "purchase" and s == "P")]
    types = {s: stage_event_types(model, s) for s in stages}
    outcome = [model.purchase_event] if target == "purchase" else []
    nt = list(non_touch_types(model))
    keep = events.channel.notnull() & ~events.event_type.isin(nt)
    if outcome:
        keep = keep | events.event_type.isin(outcome)
    ev = events.filter(keep)
    # first touch and first purchase need no stage days: one aggregate, no join; only the
    # events of the stages' types meet the (smaller) first-reach table
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
        a = at.rename(_u="user_id", _b="brand")
        out = out.outer_join(a, [out.user_id == a._u, out.brand == a._b])
        out = out.mutate(user_id=out.user_id.fill_null(out._u),
                         brand=out.brand.fill_null(out._b)).drop("_u", "_b")
    cols = [f"t{k}" for k in range(len(chain) + 1)]
    out = out.filter(ibis.or_(*[out[c].notnull() for c in cols]))
    out = out.select(*KEYS, **{c: _epoch(out[c]) for c in cols})
    fixed, prev = {}, None
    for c in cols:
        fixed[c] = out[c] if prev is None else ibis.ifelse(
            prev.notnull() & out[c].notnull() & (out[c] < prev), prev, out[c])
        prev = fixed[c] if prev is None else ibis.coalesce(fixed[c], prev)
    return out.select(*KEYS, **fixed)


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
    times = stage_times(events, model, target, timeline=timeline, categories=categories,
                        source=source)
    if materialise is not None:  # read by each step's duration and the join back
        times = materialise(times)
    times = _with_step_durations(times, events, K, quantile)
    if materialise is not None:  # read by the exposures and the units
        times = materialise(times)
    if labels is not None:  # fixed-size per-pair state: no buckets needed
        exposures = _step_masks(events, model, times, by, K, _mask_labels(labels))
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
    """
    units = chain_units(events, model, target, users=users, by=by, conversions=conversions,
                        timeline=timeline, categories=categories, quantile=quantile,
                        source=source, labels=labels)
    return chain_tables(units, len(CHAINS[target]), events=events, users=users, labels=labels)


def _with_step_durations(times: ibis.Table, events: ibis.Table, K: int, quantile: float) -> ibis.Table:
    """``times`` with the brand's main category ``_cat`` and ``_D1 .. _DK``: each step's
    typical duration (the ``quantile`` of the time advancers took) in that category."""
    cats = main_category(events).rename(_bb="brand", _cat="category")
    times = times.left_join(cats, times.brand == cats._bb).drop("_bb")
    times = times.mutate(_cat=times._cat.fill_null(""))
    durs = []
    for k in range(1, K + 1):
        adv = times.filter(times[f"t{k}"].notnull() & times[f"t{k - 1}"].notnull())
        dur = adv.group_by("_cat").aggregate(
            **{f"_D{k}": (adv[f"t{k}"] - adv[f"t{k - 1}"]).quantile(quantile).cast("int64")})
        durs.append(dur)
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
                labels: list[str]) -> ibis.Table:
    """Per pair, ``e1 .. eK``: bit masks of the labels touched in each step's window (the
    windows of :func:`_step_exposures`): one group-by of counts, no lists."""
    j = _windowed_touches(events, model, times, by, K)
    if labels and _has_bit_or(j):
        # each touch's bit once, then one bit_or per step: 3 aggregates over the touches
        # instead of a filtered count per label and step (18); Ibis has no bit_or for PySpark
        bit = j.label.cases(*[(label, ibis.literal(1 << i, "int64")) for i, label in enumerate(labels)],
                            else_=ibis.literal(0, "int64"))
        j = j.mutate(_bit=bit)
        return j.group_by(KEYS).aggregate(**{f"e{k}": j._bit.bit_or(where=j[f"_w{k}"]).fill_null(0)
                                             for k in range(1, K + 1)})
    bits = {}
    for k in range(1, K + 1):
        w = j[f"_w{k}"]
        seen = [ibis.ifelse(j._e.count(where=w & (j.label == label)) > 0,
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
    parts = []
    for k in range(1, K + 1):
        risk = units if k == 1 else units.filter(units[f"t{k - 1}"].notnull())
        part = risk.group_by([risk[f"e{k}"].name("exposure"), "holdout"]).aggregate(
            units=risk.count(), advances=risk.count(where=risk[f"t{k}"].notnull()))
        if labels is not None:
            part = part.mutate(exposure=exposure_text(part.exposure, labels))
        parts.append(part.mutate(step=ibis.literal(k, "int64")))
    return parts[0].union(*parts[1:]) if K > 1 else parts[0]


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
    done = units.filter(units[f"t{K}"].notnull())
    ecols = [f"e{k}" for k in range(1, K + 1)]
    profiles = done.group_by([*ecols, "holdout"]).aggregate(
        converters=done.count(), conversions=done._n.sum(), value=done._v.sum())
    if labels is not None:
        profiles = profiles.mutate(**{c: exposure_text(profiles[c], labels) for c in ecols})
    profiles = profiles.mutate(conversions=ibis.greatest(profiles.conversions, profiles.converters))
    return profiles.order_by([*ecols, "holdout"])
