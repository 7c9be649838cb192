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

import ibis

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
) -> ibis.Table:
    """One row per pair: ``holdout, t0 .. tK, e1 .. eK, _n, _v`` (see :func:`chain_cells`).

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
    buckets = 1
    if memory_limit and materialise is not None:
        buckets = path_buckets(_label_entries(events, model, times, by, K), memory_limit)
    exposures = _step_exposures(events, model, times, by, K, buckets=buckets,
                                materialise=materialise)
    if conversions is None and target == "purchase":
        conversions = purchase_conversions(events, model.purchase_event)
    return _units(times, exposures, conversions, users, K)


def chain_tables(units: ibis.Table, K: int, *, events: ibis.Table | None = None,
                 users: ibis.Table | None = None) -> tuple[ibis.Table, ibis.Table]:
    """``(steps, profiles)`` from :func:`chain_units` (``events`` and ``users`` add step
    1's untouched pairs)."""
    steps = _step_cells(units, K)
    if users is not None and events is not None:
        steps = _with_untouched(steps, events, users)
    steps = steps.select("step", "exposure", "holdout", "units", "advances").order_by(
        ["step", "exposure", "holdout"])
    return steps, _profiles(units, K)


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
    """
    units = chain_units(events, model, target, users=users, by=by, conversions=conversions,
                        timeline=timeline, categories=categories, quantile=quantile,
                        source=source)
    return chain_tables(units, len(CHAINS[target]), events=events, users=users)


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
    t = touches(events, by=by, exclude=non_touch_types(model))
    t = t.mutate(_e=_epoch(t.ts))
    tt = times.rename(_u="user_id", _b="brand")
    j = t.join(tt, [t.user_id == tt._u, t.brand == tt._b])
    flags = {}
    for k in range(1, K + 1):
        lo, hi, D = j[f"t{k - 1}"], j[f"t{k}"], j[f"_D{k}"].fill_null(0)
        end = ibis.coalesce(hi, lo + D)
        flags[f"_w{k}"] = lo.notnull() & (j._e >= lo) & (j._e <= end)
    j = j.mutate(**flags)
    # one group-by: each step's distinct labels (no intermediate (pair, label) table)
    per_pair = j.group_by(KEYS).aggregate(**{
        f"e{k}": j.label.collect(where=j[f"_w{k}"], distinct=True) for k in range(1, K + 1)})
    return per_pair.select(*KEYS, **{f"e{k}": per_pair[f"e{k}"].sort().join(" + ")
                                     for k in range(1, K + 1)})


def _units(times: ibis.Table, exposures: ibis.Table, conversions: ibis.Table | None,
           users: ibis.Table | None, K: int) -> ibis.Table:
    """One row per pair: ``holdout, t0 .. tK, e1 .. eK`` and its conversions ``_n``, ``_v``
    (without a conversions table: one per pair that completed the chain)."""
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
        **{f"e{k}": units[f"e{k}"].fill_null("") for k in range(1, K + 1)},
        _n=units._n.fill_null(0), _v=units._v.fill_null(0.0),
    )


def _step_cells(units: ibis.Table, K: int) -> ibis.Table:
    """Per step, exposure and holdout: the pairs at risk (``units``) and those that advanced."""
    parts = []
    for k in range(1, K + 1):
        risk = units if k == 1 else units.filter(units[f"t{k - 1}"].notnull())
        part = risk.group_by([risk[f"e{k}"].name("exposure"), "holdout"]).aggregate(
            units=risk.count(), advances=risk.count(where=risk[f"t{k}"].notnull()))
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


def _profiles(units: ibis.Table, K: int) -> ibis.Table:
    """Pairs that completed the chain, per exposure sequence and holdout."""
    done = units.filter(units[f"t{K}"].notnull())
    ecols = [f"e{k}" for k in range(1, K + 1)]
    profiles = done.group_by([*ecols, "holdout"]).aggregate(
        converters=done.count(), conversions=done._n.sum(), value=done._v.sum())
    profiles = profiles.mutate(conversions=ibis.greatest(profiles.conversions, profiles.converters))
    return profiles.order_by([*ecols, "holdout"])
