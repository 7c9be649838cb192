"""The fixed part of the world: brands, SPUs, creators, campaigns, notes, exposure slots.

:func:`build_world` turns :class:`~aips.simulate.params.SimulationParams` into numpy
tables that the vectorised journey code indexes by integer codes (brand, campaign, note,
...). Everything here is a deterministic function of the parameters and the seed; users
are built per block (:func:`~aips.simulate.users.block_users`) so that memory never holds
them all; the calendar is :mod:`aips.simulate.schedule`, the random streams and samplers
:mod:`aips.simulate.sampling` (both re-exported here with the users' names).

>>> from aips.simulate.params import SimulationParams
>>> w = build_world(SimulationParams(users=100, days=30))
>>> len(w.brand_names), w.brand_names[0], w.cat_names[w.brand_cat[0]]
(12, 'Lumiere', 'facial_serum')
>>> sorted(set(w.camp_channel_name))[:3]
['feed_ad', 'koc_note', 'kol_note']
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from aips.exceptions import ConfigError
from aips.simulate.params import SimulationParams
from aips.simulate.parts import CHANNELS, FORMATS, TRANSITIONS
from aips.simulate.sampling import Alias, categorical, rng_for
from aips.simulate.schedule import calendar, flights
from aips.simulate.users import AGE_BANDS, Users, block_users, mean_targeting

__all__ = [
    "AGE_BANDS",
    "DAY",
    "PUSH_CHANNELS",
    "Alias",
    "Users",
    "World",
    "block_users",
    "build_world",
    "rng_for",
]

DAY = 86_400
"""Seconds per day."""

PUSH_CHANNELS = tuple(c for c in CHANNELS if c != "search_ad")
"""Channels delivered into the feed independently of what the user does."""

_WORLD_KEY = 1_000_000_007


@dataclass
class World:
    """Integer-coded tables of the world (see the module docstring). Built by :func:`build_world`."""

    params: SimulationParams
    origin_utc: int
    """Epoch seconds (UTC) of local midnight of the first simulated day."""
    dates: list[str]
    """Local ISO date of each simulated day."""
    day_factor: np.ndarray
    """Activity multiplier of each day (weekday rhythm x festival ramps)."""
    purchase_boost: np.ndarray
    """TI->P hazard multiplier of each day (festivals)."""
    cat_names: list[str]
    cat_cycle: np.ndarray
    brand_names: list[str]
    brand_cat: np.ndarray
    brand_mult: np.ndarray
    """Hazard multiplier per (brand, transition): the leak knobs."""
    brand_young: np.ndarray
    """Targeting log-weight on users aged 18-24, per brand."""
    brand_tier1: np.ndarray
    """Targeting log-weight on tier-1 city users, per brand."""
    brand_norm: np.ndarray
    """Normaliser of the demographic targeting weight (population mean 1)."""
    brand_popularity: np.ndarray
    """Multiplier of each brand's organic delivery intensity."""
    brand_spus: list[np.ndarray]
    spu_names: list[str]
    spu_brand: np.ndarray
    spu_price: np.ndarray
    creator_ids: list[str]
    creator_tier: list[str]
    creator_followers: np.ndarray
    creator_fee: np.ndarray
    creator_seeding: np.ndarray
    creator_cat: np.ndarray
    camp_ids: list[str]
    camp_brand: np.ndarray
    camp_channel: np.ndarray
    camp_start: np.ndarray
    camp_end: np.ndarray
    """Last day of the flight (inclusive), as a day index."""
    camp_intensity: np.ndarray
    camp_cpm: np.ndarray
    camp_budget: np.ndarray
    camp_creators: list[list[int]]
    note_ids: list[str]
    note_brand: np.ndarray
    note_channel: np.ndarray
    note_campaign: np.ndarray
    """-1 for organic notes."""
    note_creator: np.ndarray
    note_format: np.ndarray
    note_spu: np.ndarray
    note_effect: np.ndarray
    """True effect of one exposure to the note per transition, shape (notes, 4)."""
    pool_start: np.ndarray
    """Note range of each pool: pools are campaigns, then one organic pool per brand."""
    pool_stop: np.ndarray
    note_alias: Alias
    """Reach-weighted note sampler per pool."""
    slots: Alias
    """(day, pool) slot sampler per brand (holdout users draw the same, paid ones as ghosts)."""
    slot_day: np.ndarray
    slot_pool: np.ndarray
    hours: Alias
    """Hour-of-day sampler (one table)."""
    group_total: np.ndarray
    """Total exposure intensity of each brand over the horizon."""
    search_camp: np.ndarray
    """Running search_ad campaign per (brand, day), -1 when none."""
    keywords: list[str]
    brand_keywords: list[dict[str, np.ndarray]]
    """Keyword codes per brand by kind (brand, spu, category, competitor)."""
    skews: list[tuple[int, int, dict[str, int], float]]
    """Applied skews: (brand, transition, {attribute: code}, multiplier)."""
    genders: tuple[str, ...]
    tiers: tuple[str, ...]

    @property
    def camp_channel_name(self) -> list[str]:
        return [CHANNELS[c] for c in self.camp_channel]

    @property
    def organic_pool(self) -> int:
        """Pool index of brand 0's organic notes (brand b: ``organic_pool + b``)."""
        return len(self.camp_ids)


def build_world(p: SimulationParams) -> World:
    """Build the fixed tables of the world from the parameters (fast: < 0.1 s).

    The steps draw from one random stream in this order; reordering them changes the world.
    """
    rng = rng_for(p.seed, _WORLD_KEY)
    origin, dates, day_factor, purchase_boost, festival_days = calendar(p)
    w: dict[str, Any] = {
        "params": p, "origin_utc": origin, "dates": dates, "day_factor": day_factor,
        "purchase_boost": purchase_boost, "cat_names": [c.name for c in p.categories],
        "cat_cycle": np.asarray([c.decision_cycle_days for c in p.categories], dtype=float),
        "genders": tuple(p.gender_mix), "tiers": tuple(p.tier_mix),
    }
    brands, popularity = _brands(p, rng)
    w.update(brands)
    w.update(_spus(p, rng, w["brand_names"], w["brand_cat"]))
    w.update(_creators(p, rng, len(w["cat_names"])))
    camps = _campaigns(p, rng, w, festival_days)
    w.update(_campaign_fields(camps))
    w.update(_notes(p, rng, camps, w))
    w.update(_exposure_slots(p, w, popularity))
    w["search_camp"] = _search_calendar(p, w)
    w["camp_budget"] = _budgets(p, w, mean_targeting(p, rng))
    w.update(_keywords(p, w))
    w["skews"] = _skews(p, w)
    w["hours"] = Alias.build([np.asarray(p.hour_activity, dtype=float)])
    return World(**w)


def _brands(p: SimulationParams, rng) -> tuple[dict[str, Any], np.ndarray]:
    """Brands: category, demographic targeting, leak multipliers; and their popularity."""
    brand_names = p.brand_names()
    n_b = len(brand_names)
    brand_cat = np.repeat(np.arange(len(p.categories)), p.brands_per_category)
    brand_young = rng.uniform(-0.6, 0.6, n_b)
    brand_tier1 = rng.uniform(-0.3, 0.6, n_b)
    py, pt = p.age_mix.get("18-24", 0.0), p.tier_mix.get("tier1", 0.0)
    py, pt = py / sum(p.age_mix.values()), pt / sum(p.tier_mix.values())
    brand_norm = (py * np.exp(brand_young) + 1 - py) * (pt * np.exp(brand_tier1) + 1 - pt)
    popularity = rng.lognormal(0.0, 0.3, n_b)
    brand_mult = np.ones((n_b, 4))
    for leak in p.leaks:
        if leak.brand in brand_names:
            brand_mult[brand_names.index(leak.brand), TRANSITIONS.index(leak.transition)] *= leak.multiplier
    fields = {
        "brand_names": brand_names, "brand_cat": brand_cat, "brand_mult": brand_mult,
        "brand_young": brand_young, "brand_tier1": brand_tier1, "brand_norm": brand_norm,
        "brand_popularity": popularity,
    }
    return fields, popularity


def _spus(p: SimulationParams, rng, brand_names: list[str], brand_cat: np.ndarray) -> dict[str, Any]:
    """SPUs: a brand's price tier sits within its category's range."""
    spu_names, spu_brand, spu_price, brand_spus = [], [], [], []
    for b, name in enumerate(brand_names):
        cat = p.categories[brand_cat[b]]
        lo, hi = cat.price
        tier = rng.uniform(0.15, 0.85)
        ids = []
        for j in range(p.spus_per_brand):
            suffix = cat.spus[j] if j < len(cat.spus) else f"Item {j + 1}"
            ids.append(len(spu_names))
            spu_names.append(f"{name} {suffix}")
            spu_brand.append(b)
            price = lo + (hi - lo) * np.clip(tier + rng.normal(0, 0.12), 0.02, 1.0)
            spu_price.append(round(float(price) / 10) * 10 - 1.0)
        brand_spus.append(np.asarray(ids))
    return {"brand_spus": brand_spus, "spu_names": spu_names,
            "spu_brand": np.asarray(spu_brand), "spu_price": np.asarray(spu_price)}


def _creators(p: SimulationParams, rng, n_categories: int) -> dict[str, Any]:
    """Creators: tier, followers, fee (scaled to the world), true seeding multiplier."""
    n_kol, n_koc = p.kol_count, p.koc_count
    followers = np.concatenate([
        np.exp(rng.uniform(np.log(1e5), np.log(5e6), n_kol)),
        np.exp(rng.uniform(np.log(1e3), np.log(5e4), n_koc)),
    ]).round().astype(np.int64)
    return {
        "creator_ids": [f"KOL{i + 1:03d}" for i in range(n_kol)] + [f"KOC{i + 1:04d}" for i in range(n_koc)],
        "creator_tier": ["KOL"] * n_kol + ["KOC"] * n_koc,
        "creator_followers": followers,
        "creator_fee": np.round(followers * p.creator_fee_per_follower * rng.lognormal(0, 0.2, len(followers)), -1),
        "creator_seeding": rng.lognormal(0.0, p.creator_seeding_sigma, len(followers)),
        "creator_cat": rng.integers(0, n_categories, len(followers)),
    }


def _campaigns(p: SimulationParams, rng, w: dict[str, Any], festival_days: list[int]) -> list[dict]:
    """Every brand's paid campaigns: flight, intensity, CPM and hired creators."""
    camps: list[dict] = []
    for b, name in enumerate(w["brand_names"]):
        for channel in CHANNELS:
            if channel == "organic":
                continue
            ch = p.channels[channel]
            for k, (s, e) in enumerate(flights(rng, p, channel, festival_days)):
                creators: list[int] = []
                if ch.creators_per_campaign[1] > 0:
                    creators = _hire(p, rng, channel, w["creator_cat"], w["brand_cat"][b])
                camps.append({
                    "id": f"{name.lower()}-{channel.replace('_', '-')}-{k + 1}",
                    "brand": b, "channel": CHANNELS.index(channel), "start": s, "end": e,
                    "intensity": ch.intensity * float(rng.lognormal(0, ch.intensity_sigma)), "cpm": ch.cpm,
                    "creators": creators,
                })
    return camps


def _hire(p: SimulationParams, rng, channel: str, creator_cat: np.ndarray, cat: int) -> list[int]:
    """Creators hired by one KOL/KOC campaign, preferably of the brand's category."""
    n_kol, n_koc = p.kol_count, p.koc_count
    ch = p.channels[channel]
    offset = 0 if channel == "kol_note" else n_kol
    count = n_kol if channel == "kol_note" else n_koc
    pool = [offset + i for i in range(count) if creator_cat[offset + i] == cat]
    pool = pool or list(range(offset, offset + count))
    want = int(rng.integers(ch.creators_per_campaign[0], ch.creators_per_campaign[1] + 1))
    return sorted(rng.choice(pool, size=min(want, len(pool)), replace=False).tolist())


def _campaign_fields(camps: list[dict]) -> dict[str, Any]:
    """The campaigns as the World's columns."""
    return {
        "camp_ids": [c["id"] for c in camps],
        "camp_brand": np.asarray([c["brand"] for c in camps], dtype=np.int32),
        "camp_channel": np.asarray([c["channel"] for c in camps], dtype=np.int8),
        "camp_start": np.asarray([c["start"] for c in camps], dtype=np.int32),
        "camp_end": np.asarray([c["end"] for c in camps], dtype=np.int32),
        "camp_intensity": np.asarray([c["intensity"] for c in camps]),
        "camp_cpm": np.asarray([c["cpm"] for c in camps]),
        "camp_creators": [c["creators"] for c in camps],
    }


def _notes(p: SimulationParams, rng, camps: list[dict], w: dict[str, Any]) -> dict[str, Any]:
    """Notes in pools (each campaign's, then one organic pool per brand), their true effects
    and a reach-weighted sampler per pool."""
    note_rows: list[tuple] = []  # (id, brand, channel, campaign, creator, format, spu, weight)
    pool_start, pool_stop = [], []

    def add_notes(prefix, b, channel, camp, creator, n, weight):
        fmts = p.channels[CHANNELS[channel]].formats
        codes = categorical(rng, fmts, n)
        spus = w["brand_spus"][b]
        first = len(note_rows) - (pool_start[-1] if pool_start else 0)
        for j in range(n):
            spu = int(spus[rng.integers(len(spus))]) if rng.random() < 0.7 else -1
            note_rows.append((f"{prefix}-n{first + j + 1}", b, channel, camp, creator,
                              FORMATS.index(list(fmts)[codes[j]]), spu,
                              weight * float(rng.lognormal(0, 0.3))))

    for ci, c in enumerate(camps):
        pool_start.append(len(note_rows))
        ch = p.channels[CHANNELS[c["channel"]]]
        if c["creators"]:
            for cr in c["creators"]:
                add_notes(c["id"], c["brand"], c["channel"], ci, cr, ch.notes_per_campaign,
                          float(w["creator_followers"][cr]) ** 0.6)
        else:
            add_notes(c["id"], c["brand"], c["channel"], ci, -1, ch.notes_per_campaign, 1.0)
        pool_stop.append(len(note_rows))
    org = CHANNELS.index("organic")
    for b, name in enumerate(w["brand_names"]):
        pool_start.append(len(note_rows))
        add_notes(f"{name.lower()}-organic", b, org, -1, -1, p.channels["organic"].notes_per_campaign, 1.0)
        pool_stop.append(len(note_rows))
    return _note_fields(p, note_rows, pool_start, pool_stop, w["creator_seeding"])


def _note_fields(p: SimulationParams, note_rows: list[tuple], pool_start: list[int],
                 pool_stop: list[int], creator_seeding: np.ndarray) -> dict[str, Any]:
    """The notes as the World's columns; a note's effect is its channel's, scaled by its
    format and its creator's seeding."""
    cols = list(zip(*note_rows, strict=True))
    note_channel = np.asarray(cols[2], dtype=np.int8)
    note_creator = np.asarray(cols[4], dtype=np.int32)
    note_format = np.asarray(cols[5], dtype=np.int8)
    effect = np.asarray([p.channels[c].effect for c in CHANNELS])[note_channel]
    effect = effect * np.asarray([p.format_effects[f] for f in FORMATS])[note_format]
    effect = effect * np.where(note_creator >= 0, creator_seeding[np.maximum(note_creator, 0)], 1.0)[:, None]
    weights = np.asarray(cols[7])
    return {
        "note_ids": list(cols[0]), "note_brand": np.asarray(cols[1], dtype=np.int32),
        "note_channel": note_channel, "note_campaign": np.asarray(cols[3], dtype=np.int32),
        "note_creator": note_creator, "note_format": note_format,
        "note_spu": np.asarray(cols[6], dtype=np.int32), "note_effect": effect,
        "pool_start": np.asarray(pool_start), "pool_stop": np.asarray(pool_stop),
        "note_alias": Alias.build([weights[a:b] for a, b in zip(pool_start, pool_stop, strict=True)]),
    }


def _exposure_slots(p: SimulationParams, w: dict[str, Any], popularity: np.ndarray) -> dict[str, Any]:
    """Exposure slots: (day, pool) intensities per brand (the organic pool and every
    flight of a push channel), sampled by one alias table per brand."""
    n_b, n_c = len(w["brand_names"]), len(w["camp_ids"])
    camp_brand, camp_channel = w["camp_brand"], w["camp_channel"]
    search = CHANNELS.index("search_ad")
    slot_w, slot_day, slot_pool = [], [], []
    group_total = np.zeros(n_b)
    days = np.arange(p.days)
    for b in range(n_b):
        group_w, group_day, group_pool = [], [], []
        pools = [(n_c + b, np.full(p.days, p.channels["organic"].intensity * popularity[b]))]
        for ci in np.flatnonzero((camp_brand == b) & (camp_channel != search)):
            on = (days >= w["camp_start"][ci]) & (days <= w["camp_end"][ci])
            pools.append((ci, np.where(on, w["camp_intensity"][ci], 0.0)))
        for pool, rate in pools:
            weight = rate * w["day_factor"]
            keep = weight > 0
            group_w.append(weight[keep])
            group_day.append(days[keep])
            group_pool.append(np.full(keep.sum(), pool))
        slot_w.append(np.concatenate(group_w))
        slot_day.extend(group_day)
        slot_pool.extend(group_pool)
        group_total[b] = slot_w[-1].sum()
    return {
        "slots": Alias.build(slot_w), "slot_day": np.concatenate(slot_day).astype(np.int32),
        "slot_pool": np.concatenate(slot_pool).astype(np.int32), "group_total": group_total,
    }


def _search_calendar(p: SimulationParams, w: dict[str, Any]) -> np.ndarray:
    """The running search_ad campaign per (brand, day), -1 when none."""
    search_camp = np.full((len(w["brand_names"]), p.days), -1, dtype=np.int32)
    for ci in np.flatnonzero(w["camp_channel"] == CHANNELS.index("search_ad")):
        search_camp[w["camp_brand"][ci], w["camp_start"][ci]: w["camp_end"][ci] + 1] = ci
    return search_camp


def _budgets(p: SimulationParams, w: dict[str, Any], mean_weight: np.ndarray) -> np.ndarray:
    """Planned budgets: expected delivery to the population at the planned intensity."""
    camp_start, camp_end, camp_channel = w["camp_start"], w["camp_end"], w["camp_channel"]
    search = CHANNELS.index("search_ad")
    n_c = len(w["camp_ids"])
    camp_budget = np.zeros(n_c)
    for ci in range(n_c):
        flight = w["day_factor"][camp_start[ci]: camp_end[ci] + 1].sum()
        if camp_channel[ci] == search:
            flight = (camp_end[ci] - camp_start[ci] + 1) * p.search_rate[1] * 0.05
        cat = w["brand_cat"][w["camp_brand"][ci]]
        impressions = w["camp_intensity"][ci] * flight * p.users * (1 - p.holdout_share) * mean_weight[cat]
        camp_budget[ci] = round(impressions * w["camp_cpm"][ci] / 1000, 2)
    return camp_budget


def _keywords(p: SimulationParams, w: dict[str, Any]) -> dict[str, Any]:
    """The search vocabulary and each brand's keyword codes by kind."""
    brand_names, brand_cat = w["brand_names"], w["brand_cat"]
    vocab: dict[str, int] = {}

    def kw(text: str) -> int:
        return vocab.setdefault(text, len(vocab))

    brand_keywords = []
    for b, name in enumerate(brand_names):
        cat = p.categories[brand_cat[b]]
        rivals = [brand_names[o] for o in np.flatnonzero(brand_cat == brand_cat[b]) if o != b]
        brand_keywords.append({
            "brand": np.asarray([kw(name), kw(name.lower())]),
            "spu": np.asarray([kw(w["spu_names"][s]) for s in w["brand_spus"][b]]),
            "category": np.asarray([kw(k) for k in (cat.keywords or (cat.name.replace("_", " "),))]),
            "competitor": np.asarray([kw(r) for r in rivals] or [kw(name)]),
        })
    return {"keywords": list(vocab), "brand_keywords": brand_keywords}


def _skews(p: SimulationParams, w: dict[str, Any]) -> list[tuple[int, int, dict[str, int], float]]:
    """The skew knobs of brands in the world, with attribute values as codes."""
    brand_names, genders, tiers = w["brand_names"], w["genders"], w["tiers"]
    skews = []
    for sk in p.skews:
        if sk.brand not in brand_names:
            continue
        codes = {}
        for attr, value in sk.segment.items():
            values = {"gender": genders, "age_band": AGE_BANDS, "city_tier": tiers}.get(attr)
            if values is None or value not in values:
                raise ConfigError(f"unknown segment {attr}={value!r} (attributes: gender {list(genders)}, "
                                  f"age_band {list(AGE_BANDS)}, city_tier {list(tiers)})", path="simulate.skews")
            codes[attr] = values.index(value)
        skews.append((brand_names.index(sk.brand), TRANSITIONS.index(sk.transition), codes, sk.multiplier))
    return skews
