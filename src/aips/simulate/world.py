"""The fixed part of the world: calendar, brands, SPUs, creators, campaigns, notes, users.

:func:`build_world` turns :class:`~aips.simulate.params.SimulationParams` into numpy
tables that the vectorised journey code indexes by integer codes (brand, campaign, note,
...). Everything here is a deterministic function of the parameters and the seed; users
are built per block (:func:`block_users`) so that memory never holds them all.

>>> from aips.simulate.params import SimulationParams
>>> w = build_world(SimulationParams(users=100, days=30))
>>> len(w.brand_names), w.brand_names[0], w.cat_names[w.brand_cat[0]]
(12, 'Lumiere', 'facial_serum')
>>> sorted(set(w.camp_channel_name))[:3]
['feed_ad', 'koc_note', 'kol_note']
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import numpy as np

from aips.exceptions import ConfigError
from aips.simulate.params import (
    CHANNELS,
    FORMATS,
    TRANSITIONS,
    SimulationParams,
)

DAY = 86_400
"""Seconds per day."""

AGE_BANDS = ("18-24", "25-34", "35-44", "45+")
_AGE_KEYS = ("age_18_24", "age_25_34", "age_35_44", "age_45_plus")
PUSH_CHANNELS = tuple(c for c in CHANNELS if c != "search_ad")
"""Channels delivered into the feed independently of what the user does."""

_WORLD_KEY = 1_000_000_007


def rng_for(seed: int, *key: int) -> np.random.Generator:
    """An independent PCG64 stream for ``(seed, *key)``: blocks and purposes never share one."""
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=key)))


class Alias:
    """Walker alias tables for many discrete distributions at once: O(1) exact sampling.

    >>> a = Alias.build([np.array([1.0, 3.0]), np.array([1.0])])
    >>> u = np.random.default_rng(0).random(100_000)
    >>> round(float((a.sample(np.zeros(len(u), np.int64), u) == 1).mean()), 2)
    0.75
    """

    def __init__(self, offset: np.ndarray, size: np.ndarray, prob: np.ndarray, alias: np.ndarray):
        self.offset, self.size, self.prob, self.alias = offset, size, prob, alias

    @classmethod
    def build(cls, weights: list[np.ndarray]) -> Alias:
        """One table per weight vector; sampled indices are global (offset + local)."""
        sizes = np.asarray([len(w) for w in weights], dtype=np.int64)
        offset = np.r_[0, np.cumsum(sizes)[:-1]].astype(np.int64)
        prob = np.ones(int(sizes.sum()))
        alias = np.arange(int(sizes.sum()), dtype=np.int64)
        for off, w in zip(offset, weights, strict=True):
            n = len(w)
            if n == 0:
                continue
            scaled = (np.asarray(w, dtype=float) * n / np.sum(w)).tolist()
            small = [i for i, x in enumerate(scaled) if x < 1.0]
            large = [i for i, x in enumerate(scaled) if x >= 1.0]
            while small and large:
                s, g = small.pop(), large.pop()
                prob[off + s] = scaled[s]
                alias[off + s] = off + g
                scaled[g] -= 1.0 - scaled[s]
                (small if scaled[g] < 1.0 else large).append(g)
        return cls(offset, sizes, prob, alias)

    def sample(self, table: np.ndarray, u: np.ndarray) -> np.ndarray:
        """Draw from table ``table[i]`` with uniform ``u[i]`` (int64 global indices)."""
        x = u * self.size[table]
        j = x.astype(np.int64)
        frac = x - j
        j += self.offset[table]
        return np.where(frac < self.prob[j], j, self.alias[j])


def _categorical(rng: np.random.Generator, probs: dict[str, float], n: int) -> np.ndarray:
    p = np.asarray(list(probs.values()), dtype=float)
    cum = np.cumsum(p / p.sum())
    return np.minimum(np.searchsorted(cum, rng.random(n), side="right"), len(p) - 1).astype(np.int8)


@dataclass
class Users:
    """The users of one block: attribute codes and behaviour drivers (arrays of length n)."""

    first: int
    """Global index of the block's first user (user ids are ``u%09d`` of the index)."""
    gender: np.ndarray
    """Codes into ``World.genders``."""
    age: np.ndarray
    """Codes into ``AGE_BANDS``."""
    tier: np.ndarray
    """Codes into ``World.tiers``."""
    has_baby: np.ndarray
    """bool."""
    holdout: np.ndarray
    """bool: never shown paid ads."""
    activity: np.ndarray
    """Activity multiplier (log-normal, mean 1)."""
    interest: np.ndarray
    """Interest in each category, shape (n, categories), in (0, 1)."""

    @property
    def n(self) -> int:
        return len(self.gender)


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


def _calendar(p: SimulationParams) -> tuple[int, list[str], np.ndarray, np.ndarray, list[int]]:
    start = dt.date.fromisoformat(p.start_date)
    tz = ZoneInfo(p.timezone)
    origin = int(dt.datetime(start.year, start.month, start.day, tzinfo=tz).timestamp())
    days = [start + dt.timedelta(days=i) for i in range(p.days)]
    factor = np.array([p.weekday_activity[d.weekday()] for d in days], dtype=float)
    boost = np.ones(p.days)
    peaks = []
    for fest in p.festivals:
        for year in {d.year for d in days} | {days[-1].year + 1}:
            try:
                peak = dt.date(year, *fest.month_day)
            except ValueError:
                continue
            if days[0] <= peak <= days[-1]:
                peaks.append((peak - days[0]).days)
            for i, d in enumerate(days):
                lag = (peak - d).days
                if 0 <= lag <= fest.ramp_days:
                    ramp = 1 + (fest.peak_activity - 1) * (1 - lag / max(fest.ramp_days, 1)) ** 2
                    factor[i] *= ramp
                    boost[i] = max(boost[i], fest.purchase_boost if lag <= 3 else 1.15)
    return origin, [d.isoformat() for d in days], factor, boost, sorted(peaks)


def _flights(rng, p: SimulationParams, channel: str, festival_days: list[int]) -> list[tuple[int, int]]:
    ch = p.channels[channel]
    if channel == "search_ad":
        length = max(ch.flight_days[0], 1)
        return [(s, min(s + length, p.days) - 1) for s in range(0, p.days, length)]
    if ch.flights_per_90_days <= 0:
        return []
    n = max(1, int(round(ch.flights_per_90_days * p.days / 90)))
    out = []
    for i in range(n):
        length = int(min(rng.integers(ch.flight_days[0], ch.flight_days[1] + 1), p.days))
        if channel == "feed_ad" and i == 0 and festival_days:
            start = max(0, festival_days[0] - length + 1)
        else:
            start = int(rng.integers(0, p.days - length + 1))
        out.append((start, start + length - 1))
    return sorted(out)


def build_world(p: SimulationParams) -> World:
    """Build the fixed tables of the world from the parameters (fast: < 0.1 s)."""
    rng = rng_for(p.seed, _WORLD_KEY)
    origin, dates, day_factor, purchase_boost, festival_days = _calendar(p)
    hour = np.asarray(p.hour_activity, dtype=float)

    cat_names = [c.name for c in p.categories]
    brand_names = p.brand_names()
    n_b = len(brand_names)
    brand_cat = np.repeat(np.arange(len(cat_names)), p.brands_per_category)
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

    # SPUs: a brand's price tier sits within its category's range.
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

    # Creators: tier, followers, fee (scaled to the world), true seeding multiplier.
    n_kol, n_koc = p.kol_count, p.koc_count
    followers = np.concatenate([
        np.exp(rng.uniform(np.log(1e5), np.log(5e6), n_kol)),
        np.exp(rng.uniform(np.log(1e3), np.log(5e4), n_koc)),
    ]).round().astype(np.int64)
    creator_tier = ["KOL"] * n_kol + ["KOC"] * n_koc
    creator_ids = [f"KOL{i + 1:03d}" for i in range(n_kol)] + [f"KOC{i + 1:04d}" for i in range(n_koc)]
    creator_fee = np.round(followers * p.creator_fee_per_follower * rng.lognormal(0, 0.2, len(followers)), -1)
    creator_seeding = rng.lognormal(0.0, p.creator_seeding_sigma, len(followers))
    creator_cat = rng.integers(0, len(cat_names), len(followers))

    # Campaigns, their creators and notes.
    camps: list[dict] = []
    for b, name in enumerate(brand_names):
        for channel in CHANNELS:
            if channel == "organic":
                continue
            ch = p.channels[channel]
            for k, (s, e) in enumerate(_flights(rng, p, channel, festival_days)):
                creators: list[int] = []
                if ch.creators_per_campaign[1] > 0:
                    offset = 0 if channel == "kol_note" else n_kol
                    count = n_kol if channel == "kol_note" else n_koc
                    pool = [offset + i for i in range(count) if creator_cat[offset + i] == brand_cat[b]]
                    pool = pool or list(range(offset, offset + count))
                    want = int(rng.integers(ch.creators_per_campaign[0], ch.creators_per_campaign[1] + 1))
                    creators = sorted(rng.choice(pool, size=min(want, len(pool)), replace=False).tolist())
                camps.append({
                    "id": f"{name.lower()}-{channel.replace('_', '-')}-{k + 1}",
                    "brand": b, "channel": CHANNELS.index(channel), "start": s, "end": e,
                    "intensity": ch.intensity * float(rng.lognormal(0, 0.25)), "cpm": ch.cpm,
                    "creators": creators,
                })
    n_c = len(camps)

    note_rows: list[tuple] = []  # (id, brand, channel, campaign, creator, format, spu, weight)
    pool_start, pool_stop = [], []

    def add_notes(prefix, b, channel, camp, creator, n, weight):
        fmts = p.channels[CHANNELS[channel]].formats
        codes = _categorical(rng, fmts, n)
        spus = brand_spus[b]
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
                          float(followers[cr]) ** 0.6)
        else:
            add_notes(c["id"], c["brand"], c["channel"], ci, -1, ch.notes_per_campaign, 1.0)
        pool_stop.append(len(note_rows))
    org = CHANNELS.index("organic")
    for b, name in enumerate(brand_names):
        pool_start.append(len(note_rows))
        add_notes(f"{name.lower()}-organic", b, org, -1, -1, p.channels["organic"].notes_per_campaign, 1.0)
        pool_stop.append(len(note_rows))

    cols = list(zip(*note_rows, strict=True))
    note_channel = np.asarray(cols[2], dtype=np.int8)
    note_creator = np.asarray(cols[4], dtype=np.int32)
    note_format = np.asarray(cols[5], dtype=np.int8)
    effect = np.asarray([p.channels[c].effect for c in CHANNELS])[note_channel]
    effect = effect * np.asarray([p.format_effects[f] for f in FORMATS])[note_format]
    effect = effect * np.where(note_creator >= 0, creator_seeding[np.maximum(note_creator, 0)], 1.0)[:, None]

    # Exposure slots: (day, pool) intensities per (brand, holdout) group.
    camp_brand = np.asarray([c["brand"] for c in camps], dtype=np.int32)
    camp_channel = np.asarray([c["channel"] for c in camps], dtype=np.int8)
    camp_start = np.asarray([c["start"] for c in camps], dtype=np.int32)
    camp_end = np.asarray([c["end"] for c in camps], dtype=np.int32)
    camp_intensity = np.asarray([c["intensity"] for c in camps])
    search = CHANNELS.index("search_ad")
    slot_w, slot_day, slot_pool = [], [], []
    group_total = np.zeros(n_b)
    days = np.arange(p.days)
    for b in range(n_b):
        group_w, group_day, group_pool = [], [], []
        pools = [(n_c + b, np.full(p.days, p.channels["organic"].intensity * popularity[b]))]
        for ci in np.flatnonzero((camp_brand == b) & (camp_channel != search)):
            on = (days >= camp_start[ci]) & (days <= camp_end[ci])
            pools.append((ci, np.where(on, camp_intensity[ci], 0.0)))
        for pool, rate in pools:
            w = rate * day_factor
            keep = w > 0
            group_w.append(w[keep])
            group_day.append(days[keep])
            group_pool.append(np.full(keep.sum(), pool))
        slot_w.append(np.concatenate(group_w))
        slot_day.extend(group_day)
        slot_pool.extend(group_pool)
        group_total[b] = slot_w[-1].sum()

    search_camp = np.full((n_b, p.days), -1, dtype=np.int32)
    for ci in np.flatnonzero(camp_channel == search):
        search_camp[camp_brand[ci], camp_start[ci]: camp_end[ci] + 1] = ci

    # Planned budgets: expected delivery to the population at the planned intensity.
    mean_weight = _mean_targeting(p, rng)
    camp_budget = np.zeros(n_c)
    for ci in range(n_c):
        flight = day_factor[camp_start[ci]: camp_end[ci] + 1].sum()
        if camp_channel[ci] == search:
            flight = (camp_end[ci] - camp_start[ci] + 1) * p.search_rate[1] * 0.05
        impressions = camp_intensity[ci] * flight * p.users * (1 - p.holdout_share) * mean_weight[brand_cat[camp_brand[ci]]]
        camp_budget[ci] = round(impressions * camps[ci]["cpm"] / 1000, 2)

    # Keywords.
    vocab: dict[str, int] = {}

    def kw(text: str) -> int:
        return vocab.setdefault(text, len(vocab))

    brand_keywords = []
    for b, name in enumerate(brand_names):
        cat = p.categories[brand_cat[b]]
        rivals = [brand_names[o] for o in np.flatnonzero(brand_cat == brand_cat[b]) if o != b]
        brand_keywords.append({
            "brand": np.asarray([kw(name), kw(name.lower())]),
            "spu": np.asarray([kw(spu_names[s]) for s in brand_spus[b]]),
            "category": np.asarray([kw(k) for k in (cat.keywords or (cat.name.replace("_", " "),))]),
            "competitor": np.asarray([kw(r) for r in rivals] or [kw(name)]),
        })

    genders, tiers = tuple(p.gender_mix), tuple(p.tier_mix)
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

    weights = np.asarray(cols[7])
    return World(
        params=p, origin_utc=origin, dates=dates, day_factor=day_factor,
        purchase_boost=purchase_boost, cat_names=cat_names,
        cat_cycle=np.asarray([c.decision_cycle_days for c in p.categories], dtype=float),
        brand_names=brand_names, brand_cat=brand_cat, brand_mult=brand_mult,
        brand_young=brand_young, brand_tier1=brand_tier1, brand_norm=brand_norm,
        brand_spus=brand_spus, spu_names=spu_names, spu_brand=np.asarray(spu_brand),
        spu_price=np.asarray(spu_price), creator_ids=creator_ids, creator_tier=creator_tier,
        creator_followers=followers, creator_fee=creator_fee, creator_seeding=creator_seeding,
        creator_cat=creator_cat, camp_ids=[c["id"] for c in camps], camp_brand=camp_brand,
        camp_channel=camp_channel, camp_start=camp_start, camp_end=camp_end,
        camp_intensity=camp_intensity, camp_cpm=np.asarray([c["cpm"] for c in camps]),
        camp_budget=camp_budget,
        camp_creators=[c["creators"] for c in camps], note_ids=list(cols[0]),
        note_brand=np.asarray(cols[1], dtype=np.int32), note_channel=note_channel,
        note_campaign=np.asarray(cols[3], dtype=np.int32), note_creator=note_creator,
        note_format=note_format, note_spu=np.asarray(cols[6], dtype=np.int32),
        note_effect=effect, pool_start=np.asarray(pool_start), pool_stop=np.asarray(pool_stop),
        note_alias=Alias.build([weights[a:b] for a, b in zip(pool_start, pool_stop, strict=True)]),
        slots=Alias.build(slot_w), slot_day=np.concatenate(slot_day).astype(np.int32),
        slot_pool=np.concatenate(slot_pool).astype(np.int32), hours=Alias.build([hour]),
        group_total=group_total, search_camp=search_camp, keywords=list(vocab),
        brand_keywords=brand_keywords, skews=skews, genders=genders, tiers=tiers,
    )


def _interest_logit(p: SimulationParams, cat: int, female, age, tier1, baby, noise):
    coef = p.categories[cat].interest
    z = coef.get("intercept", 0.0) + coef.get("female", 0.0) * female
    z = z + np.asarray([coef.get(k, 0.0) for k in _AGE_KEYS])[age]
    z = z + coef.get("tier1", 0.0) * tier1 + coef.get("has_baby", 0.0) * baby
    return 1.0 / (1.0 + np.exp(-(z + noise)))


def _mean_targeting(p: SimulationParams, rng) -> np.ndarray:
    """Population mean of the interest part of the targeting weight, per category."""
    u = _draw_users(p, rng, 20_000, 0)
    return 0.15 + u.interest.mean(axis=0)


def _draw_users(p: SimulationParams, rng, n: int, first: int) -> Users:
    gender = _categorical(rng, p.gender_mix, n)
    age = _categorical(rng, p.age_mix, n)
    tier = _categorical(rng, p.tier_mix, n)
    baby_p = np.asarray([p.has_baby_by_age.get(a, 0.0) for a in AGE_BANDS])[age]
    has_baby = rng.random(n) < baby_p
    sigma = p.activity_sigma
    activity = rng.lognormal(-sigma * sigma / 2, sigma, n)
    holdout = rng.random(n) < p.holdout_share
    female = (np.asarray(list(p.gender_mix)) == "F")[gender]
    tier1 = tier == 0
    noise = rng.standard_normal((n, len(p.categories)))
    interest = np.stack(
        [_interest_logit(p, c, female, age, tier1, has_baby, noise[:, c]) for c in range(len(p.categories))],
        axis=1,
    )
    return Users(first, gender, age, tier, has_baby, holdout, activity, interest)


def block_users(world: World, block: int) -> Users:
    """The users of block ``block`` (deterministic in the seed and the block index)."""
    p = world.params
    first = block * p.block_users
    n = min(p.block_users, p.users - first)
    return _draw_users(p, rng_for(p.seed, block, 0), n, first)
