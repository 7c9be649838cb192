"""Seeded random streams and fast discrete sampling, shared by the world and the journeys.

:func:`rng_for` gives every (seed, purpose) its own PCG64 stream, so blocks never share
one; :class:`Alias` samples many discrete distributions at once in O(1).
"""

from __future__ import annotations

import numpy as np


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


def categorical(rng: np.random.Generator, probs: dict[str, float], n: int) -> np.ndarray:
    """``n`` codes into ``probs``' keys, drawn with the (unnormalised) weights ``probs``."""
    p = np.asarray(list(probs.values()), dtype=float)
    cum = np.cumsum(p / p.sum())
    return np.minimum(np.searchsorted(cum, rng.random(n), side="right"), len(p) - 1).astype(np.int8)
