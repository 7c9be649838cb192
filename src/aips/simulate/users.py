"""The simulated users: their attributes, activity and category interests.

Users are drawn per block (:func:`block_users`), deterministically in the seed and the
block index, so that memory never holds them all.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from aips.simulate.params import SimulationParams
from aips.simulate.sampling import categorical, rng_for

if TYPE_CHECKING:
    from aips.simulate.world import World

AGE_BANDS = ("18-24", "25-34", "35-44", "45+")
_AGE_KEYS = ("age_18_24", "age_25_34", "age_35_44", "age_45_plus")


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
    arrival: np.ndarray | None = None
    """Day each user joins (``arrival_days``); None: all there from day 0."""

    @property
    def n(self) -> int:
        return len(self.gender)


def _interest_logit(p: SimulationParams, cat: int, female, age, tier1, baby, noise):
    coef = p.categories[cat].interest
    z = coef.get("intercept", 0.0) + coef.get("female", 0.0) * female
    z = z + np.asarray([coef.get(k, 0.0) for k in _AGE_KEYS])[age]
    z = z + coef.get("tier1", 0.0) * tier1 + coef.get("has_baby", 0.0) * baby
    return 1.0 / (1.0 + np.exp(-(z + noise)))


def mean_targeting(p: SimulationParams, rng) -> np.ndarray:
    """Population mean of the interest part of the targeting weight, per category."""
    u = draw_users(p, rng, 20_000, 0)
    return 0.15 + u.interest.mean(axis=0)


def draw_users(p: SimulationParams, rng, n: int, first: int) -> Users:
    """``n`` users numbered from ``first``, drawn from ``rng``."""
    gender = categorical(rng, p.gender_mix, n)
    age = categorical(rng, p.age_mix, n)
    tier = categorical(rng, p.tier_mix, n)
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
    users = draw_users(p, rng_for(p.seed, block, 0), n, first)
    if p.arrival_days > 0:  # its own stream: worlds without arrivals stay byte-identical
        users.arrival = rng_for(p.seed, block, 7).uniform(0.0, p.arrival_days, n)
    return users
