"""``truth.json``: what really happened in the simulated world, to judge analytics against.

Key layout (all money in CNY, all counts over the simulated window)::

    format, seed, window{start_date, end_date, days, timezone}
    counts{users, holdout_users, events, events_by_type{type: n}}
    definitions{...}                      what every metric below means
    categories{name: {decision_cycle_days, cycle_sigma, cycle_cap_days, brands[],
                      true_cycle{distribution, median_days, p80_days, quantiles_days{"0.1".."0.9"}},
                      realised_cycle{converters, median_days, p80_days, mean_days, quantiles_days,
                                     full_follow_up{journeys, converters, conversion_share,
                                                    median_days, p80_days, mean_days, quantiles_days}}}}
    brands{name: {category, spus{name: price}, leak, skew,
                  funnel{reached{A, I, TI, P, S}, decisions{A->I..P->S},
                         advances{..}, advance_rate{..}},
                  factual{METRIC: value}, first_purchases_on_platform,
                  portrait{stage: {gender|age_band|city_tier: {value: n}}}}}
    channels{name: {paid, true_effect{transition: effect per exposure}, impressions, reads,
                    spend, incremental{METRIC}, incremental_per_1k_impressions{...},
                    by_brand{brand: {METRIC}}}}
    paid{incremental{METRIC}, by_brand{brand: {METRIC}},
         holdout{users{holdout, exposed}, first_purchases{...}, revenue{...},
                 estimated_incremental_first_purchases}}
    campaigns{id: {brand, category, channel, start_date, end_date, budget, spend, impressions,
                   reach, creators[], incremental{METRIC},
                   roi_window{start_date, end_date, x_days},
                   incremental_orders_T_x, incremental_revenue_T_x, incremental_roi_T_x,
                   incremental_roi}}
    creators{id: {tier, followers, fee, category, seeding_multiplier,
                  true_effect{transition: v}, impressions, reads, campaigns[]}}
    content_formats{format: {effect_multiplier{transition: v}, impressions, reads}}
    leaks[{brand, transition, multiplier, advance_rate, peer_advance_rate}]
    skews[{brand, transition, segment, multiplier, segment_share{A, I, TI, P, S}, tgi{...}}]
    params{...}                           every parameter (SimulationParams.to_dict())

``METRIC`` is one of :data:`aips.simulate.block.METRICS`: ``first_purchases``, ``orders``
(first purchases and repurchases), ``revenue``, ``expected_first_purchases``,
``expected_revenue`` (exact expectations over the decision draws), ``reached_I``,
``reached_TI``, ``reached_S`` (pairs reaching the stage), and for campaigns
``orders_T_x``/``revenue_T_x`` (orders dated T .. T+x). ``incremental`` values are the
factual world minus the world with the channel/campaign/all paid switched off, with the
same random numbers (see :mod:`aips.simulate.journeys`).
"""

from __future__ import annotations

import numpy as np

from aips.simulate.block import CYCLE_BIN, METRICS, BlockStats, drops
from aips.simulate.parts import CHANNELS, EVENT_TYPES, FORMATS, LATENT_STAGES, TRANSITIONS
from aips.simulate.world import AGE_BANDS, World

FORMAT = "aips.simulate.truth/1"

DEFINITIONS = {
    "pair": "a (user, brand) journey; one per user and brand, anchored at the brand's first targeting of the user",
    "reached": "pairs whose latent journey reached the stage within the window (A: saw a shown exposure)",
    "decisions": "pairs that reached the previous stage and whose advance decision fell within the window",
    "advance_rate": "advances / decisions per transition (the leak knob lowers one of them)",
    "first_purchases": "pairs whose first purchase of the brand happened within the window",
    "orders": "purchase events (first purchases and repurchases) within the window",
    "expected_*": "exact expectation over the advance decisions' random draws, given exposures",
    "incremental": "factual minus counterfactual with the exposures (and search ads) of the channel / campaign / "
                   "all paid channels switched off, same random numbers and schedules",
    "T_x": "campaign ROI window: local dates from the campaign start T to T + x inclusive, x = category cycle",
    "incremental_roi_T_x": "incremental_revenue_T_x / spend",
    "spend": "delivered impressions x CPM / 1000 + creator fees",
    "true_cycle": "configured distribution of first touch -> first purchase among buyers (log-normal, folded at the cap)",
    "realised_cycle": "first touch -> first purchase of non-holdout buyers in the data; full_follow_up keeps journeys "
                      "starting at least cycle_cap_days before the window ends",
    "true_effect": "cumulative hazard added by one exposure within hazard_window_days before the advance decision "
                   "(advance probability 1 - exp(-H)); creators: channel effect x seeding multiplier",
    "first_purchases_on_platform": "first purchases made on the platform (preceded by a cart event); the others "
                                   "flow back from other stores (most preceded by a store_visit)",
    "holdout": "holdout users see no paid exposures; they live in the all-paid-off counterfactual, so "
               "(exposed rate - holdout rate) x exposed users estimates paid incremental first purchases",
}


def _r(x: float, nd: int = 6) -> float:
    return float(round(float(x), nd))


def _metrics(row: np.ndarray, window: bool = False) -> dict:
    names = METRICS if window else METRICS[:-2]
    return {m: _r(row[i], 3) for i, m in enumerate(names)}


def _quantile(hist: np.ndarray, q: float) -> float | None:
    total = hist.sum()
    if total == 0:
        return None
    cum = np.cumsum(hist)
    i = int(np.searchsorted(cum, q * total))
    before = cum[i - 1] if i > 0 else 0
    frac = (q * total - before) / max(hist[i], 1)
    return _r((i + frac) * CYCLE_BIN, 3)


QUANTILES = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
"""Quantiles of the decision time recorded in ``true_cycle`` and ``realised_cycle``."""


def _cycle(hist: np.ndarray) -> dict:
    centres = (np.arange(len(hist)) + 0.5) * CYCLE_BIN
    n = int(hist.sum())
    return {
        "converters": n,
        "median_days": _quantile(hist, 0.5),
        "p80_days": _quantile(hist, 0.8),
        "mean_days": _r((hist * centres).sum() / n, 3) if n else None,
        "quantiles_days": {f"{q:.1f}": _quantile(hist, q) for q in QUANTILES},
    }


def build_truth(world: World, stats: BlockStats, spend: np.ndarray, impressions: np.ndarray) -> dict:
    """The truth document from the summed block aggregates (sections in the layout's order)."""
    p = world.params
    a = stats.arrays
    runs = drops(world)
    by_type = a["events_by_type_day"].sum(axis=1)
    return {
        "format": FORMAT,
        "seed": p.seed,
        "window": {"start_date": world.dates[0], "end_date": world.dates[-1], "days": p.days, "timezone": p.timezone},
        "counts": {
            "users": p.users, "holdout_users": int(a["holdout_users"][1]), "events": int(by_type.sum()),
            "events_by_type": {t: int(n) for t, n in zip(EVENT_TYPES, by_type, strict=True)},
        },
        "definitions": DEFINITIONS,
        "categories": _categories(world, a),
        "brands": _brands(world, a),
        "channels": _channels(world, a, runs, spend),
        "paid": _paid(world, a, runs),
        "campaigns": _campaigns(world, a, runs, spend),
        "creators": _creators(world, a),
        "content_formats": _content_formats(world, a),
        "leaks": _leaks(world, a),
        "skews": _skews(world, a),
        "params": p.to_dict(),
    }


def _by_brand(knobs: tuple, world: World) -> dict:
    """The leak or skew knobs of brands in the world, by brand (the last one of a brand wins)."""
    return {k.brand: k for k in knobs if k.brand in world.brand_names}


def _categories(world: World, a: dict) -> dict:
    """Each category's configured and realised decision cycle."""
    p = world.params
    cats = {}
    for c, cat in enumerate(p.categories):
        sig = cat.cycle_sigma
        realised = _cycle(a["cycle_hist"][c])
        full = _cycle(a["cycle_hist_full"][c])
        started = int(a["cycle_started_full"][c])
        full.update(journeys=started, conversion_share=_r(full["converters"] / started) if started else None)
        realised["full_follow_up"] = full
        cats[cat.name] = {
            "decision_cycle_days": cat.decision_cycle_days, "cycle_sigma": sig,
            "cycle_cap_days": _r(cat.cycle_cap * cat.decision_cycle_days, 3),
            "brands": [world.brand_names[b] for b in np.flatnonzero(world.brand_cat == c)],
            "true_cycle": {"distribution": "lognormal(median, cycle_sigma), draws above the cap folded "
                                           "uniformly into [0.6, 1] x cap",
                           "median_days": _r(true_quantile(cat, 0.5), 3),
                           "p80_days": _r(true_quantile(cat, 0.8), 3),
                           "quantiles_days": {f"{q:.1f}": _r(true_quantile(cat, q), 3) for q in QUANTILES}},
            "realised_cycle": realised,
        }
    return cats


def _brands(world: World, a: dict) -> dict:
    """Each brand's SPUs, knobs, latent funnel, factual outcomes and portraits by stage."""
    ng = len(world.genders)
    attr_names = [("gender", list(world.genders), 0), ("age_band", list(AGE_BANDS), ng),
                  ("city_tier", list(world.tiers), ng + 4)]
    leaks, skews = _by_brand(world.params.leaks, world), _by_brand(world.params.skews, world)
    brands = {}
    for b, name in enumerate(world.brand_names):
        dec, adv = a["decided"][b], a["advanced"][b]
        portrait = {}
        for s, stage in enumerate(LATENT_STAGES):
            portrait[stage] = {attr: {v: int(a["portrait"][b, s, off + i]) for i, v in enumerate(values)}
                               for attr, values, off in attr_names}
        brands[name] = {
            "category": world.cat_names[world.brand_cat[b]],
            "spus": {world.spu_names[s]: float(world.spu_price[s]) for s in world.brand_spus[b]},
            "leak": _knob(leaks.get(name)),
            "skew": _knob(skews.get(name)),
            "funnel": {
                "reached": {st: int(v) for st, v in zip(LATENT_STAGES, a["reached"][b], strict=True)},
                "decisions": {t: int(v) for t, v in zip(TRANSITIONS, dec, strict=True)},
                "advances": {t: int(v) for t, v in zip(TRANSITIONS, adv, strict=True)},
                "advance_rate": {t: (_r(x / d) if d else None) for t, x, d in zip(TRANSITIONS, adv, dec, strict=True)},
            },
            "factual": _metrics(a["factual"][b]),
            "first_purchases_on_platform": int(a["on_platform"][b]),
            "portrait": portrait,
        }
    return brands


def _channels(world: World, a: dict, runs: list, spend: np.ndarray) -> dict:
    """Each channel's true effect, delivery, spend and incremental outcomes."""
    p = world.params
    delta = a["delta"]
    note_imp, note_reads = a["note_impressions"], a["note_reads"]
    channels = {}
    for c, name in enumerate(CHANNELS):
        d = runs.index(next(r for r in runs if r.channel == c))
        imp = int(note_imp[world.note_channel == c].sum())
        total = delta[d].sum(axis=0)
        per_k = {m: (_r(1000 * total[i] / imp) if imp else None)
                 for i, m in enumerate(METRICS[:5])}
        channels[name] = {
            "paid": p.channels[name].paid,
            "true_effect": dict(zip(TRANSITIONS, p.channels[name].effect, strict=True)),
            "impressions": imp,
            "reads": int(note_reads[world.note_channel == c].sum()),
            "spend": _r(spend[world.camp_channel == c].sum(), 2),
            "incremental": _metrics(total),
            "incremental_per_1k_impressions": per_k,
            "by_brand": {bn: _metrics(delta[d][b]) for b, bn in enumerate(world.brand_names)},
        }
    return channels


def _paid(world: World, a: dict, runs: list) -> dict:
    """All paid channels together: incremental outcomes and the holdout comparison."""
    delta = a["delta"]
    d_paid = next(i for i, r in enumerate(runs) if r.all_paid)
    hu = a["holdout_users"]
    hp = a["holdout_first_purchases"].sum(axis=1)
    hr = a["holdout_revenue"].sum(axis=1)
    est = (hp[0] / hu[0] - hp[1] / hu[1]) * hu[0] if hu[0] and hu[1] else None
    return {
        "incremental": _metrics(delta[d_paid].sum(axis=0)),
        "by_brand": {bn: _metrics(delta[d_paid][b]) for b, bn in enumerate(world.brand_names)},
        "holdout": {
            "users": {"exposed": int(hu[0]), "holdout": int(hu[1])},
            "first_purchases": {"exposed": int(hp[0]), "holdout": int(hp[1])},
            "revenue": {"exposed": _r(hr[0], 2), "holdout": _r(hr[1], 2)},
            "estimated_incremental_first_purchases": _r(est, 3) if est is not None else None,
        },
    }


def _campaigns(world: World, a: dict, runs: list, spend: np.ndarray) -> dict:
    """Each campaign's plan, delivery, spend, incremental outcomes and ROI."""
    delta, note_imp = a["delta"], a["note_impressions"]
    camp_imp = np.bincount(np.maximum(world.note_campaign, 0), weights=note_imp * (world.note_campaign >= 0),
                           minlength=len(world.camp_ids))
    campaigns = {}
    for k, cid in enumerate(world.camp_ids):
        d = runs.index(next(r for r in runs if r.campaign == k))
        row = delta[d].sum(axis=0)
        b = world.camp_brand[k]
        x = int(round(world.cat_cycle[world.brand_cat[b]]))
        rev_tx = row[METRICS.index("revenue_T_x")]
        campaigns[cid] = {
            "brand": world.brand_names[b], "category": world.cat_names[world.brand_cat[b]],
            "channel": CHANNELS[world.camp_channel[k]], "start_date": world.dates[world.camp_start[k]],
            "end_date": world.dates[world.camp_end[k]], "budget": _r(world.camp_budget[k], 2),
            "spend": _r(spend[k], 2), "impressions": int(camp_imp[k]), "reach": int(a["camp_reach"][k]),
            "creators": [world.creator_ids[i] for i in world.camp_creators[k]],
            "incremental": _metrics(row, window=True),
            "roi_window": {"start_date": world.dates[world.camp_start[k]],
                           "end_date": _date(world, world.camp_start[k] + x), "x_days": x},
            "incremental_orders_T_x": _r(row[METRICS.index("orders_T_x")], 3),
            "incremental_revenue_T_x": _r(rev_tx, 2),
            "incremental_roi_T_x": _r(rev_tx / spend[k]) if spend[k] > 0 else None,
            "incremental_roi": _r(row[METRICS.index("revenue")] / spend[k]) if spend[k] > 0 else None,
        }
    return campaigns


def _creators(world: World, a: dict) -> dict:
    """Each creator's profile, true effect (seeding included) and delivery."""
    p = world.params
    note_imp, note_reads = a["note_impressions"], a["note_reads"]
    creators = {}
    n_kol = p.kol_count
    for i, cid in enumerate(world.creator_ids):
        tier = world.creator_tier[i]
        ch = p.channels["kol_note" if i < n_kol else "koc_note"]
        mine = world.note_creator == i
        creators[cid] = {
            "tier": tier, "followers": int(world.creator_followers[i]), "fee": _r(world.creator_fee[i], 2),
            "category": world.cat_names[world.creator_cat[i]],
            "seeding_multiplier": _r(world.creator_seeding[i]),
            "true_effect": {t: _r(e * world.creator_seeding[i]) for t, e in zip(TRANSITIONS, ch.effect, strict=True)},
            "impressions": int(note_imp[mine].sum()), "reads": int(note_reads[mine].sum()),
            "campaigns": [world.camp_ids[k] for k in range(len(world.camp_ids)) if i in world.camp_creators[k]],
        }
    return creators


def _content_formats(world: World, a: dict) -> dict:
    """Each content format's effect multipliers and delivery."""
    p = world.params
    note_imp, note_reads = a["note_impressions"], a["note_reads"]
    return {
        f: {"effect_multiplier": dict(zip(TRANSITIONS, p.format_effects[f], strict=True)),
            "impressions": int(note_imp[world.note_format == j].sum()),
            "reads": int(note_reads[world.note_format == j].sum())}
        for j, f in enumerate(FORMATS)
    }


def _leaks(world: World, a: dict) -> list:
    """Each leak knob with the brand's realised advance rate and its category peers'."""
    out = []
    for lk in _by_brand(world.params.leaks, world).values():
        b = world.brand_names.index(lk.brand)
        k = TRANSITIONS.index(lk.transition)
        peers = [o for o in np.flatnonzero(world.brand_cat == world.brand_cat[b]) if o != b]
        rate = a["advanced"][:, k] / np.maximum(a["decided"][:, k], 1)
        out.append({
            "brand": lk.brand, "transition": lk.transition, "multiplier": lk.multiplier,
            "advance_rate": _r(rate[b]),
            "peer_advance_rate": _r(np.mean(rate[peers])) if peers else None,
        })
    return out


def _skews(world: World, a: dict) -> list:
    """Each skew knob with the segment's share and TGI at each latent stage."""
    out = []
    for j, sk in enumerate(s for s in world.params.skews if s.brand in world.brand_names):
        counts = a["skew_counts"][j]
        share = {st: (_r(counts[s, 0] / counts[s, 1]) if counts[s, 1] else None) for s, st in enumerate(LATENT_STAGES)}
        base = share["A"]
        out.append({
            "brand": sk.brand, "transition": sk.transition, "segment": dict(sk.segment), "multiplier": sk.multiplier,
            "segment_share": share,
            "tgi": {st: (_r(100 * v / base, 2) if v is not None and base else None) for st, v in share.items()},
        })
    return out


def true_quantile(cat, q: float) -> float:
    """Quantile of the configured decision time: log-normal(median, sigma) whose draws above
    the cap are folded uniformly into [0.6, 1] x cap (the median is unchanged).

    >>> from aips.simulate.params import SimulationParams
    >>> serum = SimulationParams().categories[0]
    >>> round(true_quantile(serum, 0.5), 6)
    29.0
    """
    from statistics import NormalDist

    m, sig = cat.decision_cycle_days, cat.cycle_sigma
    cap = cat.cycle_cap * m
    nd = NormalDist()
    tail = 1 - nd.cdf(np.log(cap / m) / sig)

    def cdf(x: float) -> float:
        if x >= cap:
            return 1.0
        base = nd.cdf(np.log(x / m) / sig) if x > 0 else 0.0
        return base + tail * min(max((x - 0.6 * cap) / (0.4 * cap), 0.0), 1.0)

    lo, hi = 0.0, cap
    for _ in range(100):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if cdf(mid) < q else (lo, mid)
    return (lo + hi) / 2


def _knob(knob) -> dict | None:
    if knob is None:
        return None
    out = {"transition": knob.transition, "multiplier": knob.multiplier}
    if hasattr(knob, "segment"):
        out["segment"] = dict(knob.segment)
    return out


def _date(world: World, day: int) -> str:
    from aips.simulate.writer import local_date

    return local_date(world, day)
