r"""Exact Shapley attribution over the channels of each converting journey.

The game (Shao & Li 2011; the "data-driven" model of ad platforms): the worth of a
coalition S of channels is the **conversion rate of the journeys exposed to exactly S**,
:math:`v(S) = \frac{conv(S)}{conv(S) + nulls(S)}` (0 for a set no journey had, and for
the empty set). A converting journey with channel set T shares its conversions among the
channels of T in proportion to their Shapley values in the game restricted to subsets of
T:

.. math::
   \phi_i(T) = \sum_{S \subseteq T \setminus \{i\}}
       \frac{|S|!\,(|T|-|S|-1)!}{|T|!}\,\bigl(v(S \cup \{i\}) - v(S)\bigr)
   \qquad \text{credit}_i = \sum_T conv(T)\,\frac{\phi_i(T)}{v(T)}

By efficiency :math:`\sum_i \phi_i(T) = v(T)`, so every journey's conversions (and
value) are conserved exactly. Shapley values are computed exactly from Harsanyi
dividends (a Möbius transform over the :math:`2^{|T|}` subsets, vectorised over all
journeys with the same number of channels), so the cost grows as :math:`2^m` in the
number m of distinct channels in a journey: journeys may touch up to ``max_channels``
(default 15) distinct channels, with a clear error beyond. The total number of channels
is not limited.

A channel whose presence lowers the conversion rate gets a negative Shapley value, and
so negative credit: that is the method, not a bug.

**Ordered** variant (``ordered=True``): coalitions are ordered. A journey's coalition is
its sequence of distinct channels in order of first touch (``b > a > b`` is ``(b, a)``),
the worth of a sequence is the conversion rate of the journeys with exactly that
sequence, and the sub-coalitions of T are its subsequences (order kept). ``(a, b)`` and
``(b, a)`` are then different coalitions with their own rates.

>>> import pandas as pd
>>> paths = pd.DataFrame({"path": ["a", "b", "a > b"], "conversions": [1, 1, 6],
...                       "nulls": [9, 3, 4]})
>>> Shapley().fit(paths).credits_.set_index("channel")["conversions"].round(4).to_dict()
{'b': 4.75, 'a': 3.25}
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from aips.analytics.attribution.base import AttributionModel, Paths, credits_frame
from aips.exceptions import ConfigError

MAX_CHANNELS = 15
"""Default limit of distinct channels in one journey (2^15 coalitions)."""
_CHUNK = 1 << 22
"""Coalition values held in memory at once (rows x 2^m)."""


def coalitions(paths: Paths, ordered: bool) -> tuple[np.ndarray, np.ndarray]:
    """Each path's coalition: its distinct channel codes (sorted, or in first-touch order).

    Returns ``(digits, size)``: a (paths x m_max) int64 array of codes (-1 padding) and
    the number of distinct channels per path.
    """
    n_ch = max(len(paths.channels), 1)
    if not ordered and n_ch <= 62 and paths.n_paths:  # fast path: a bitmask per path
        mask = np.bitwise_or.reduceat(np.left_shift(np.int64(1), paths.codes), paths.first_index)
        bits = (mask[:, None] >> np.arange(n_ch, dtype=np.int64)) & 1
        size = bits.sum(axis=1)
        digits = np.full((paths.n_paths, max(int(size.max(initial=0)), 1)), -1, dtype=np.int64)
        rank = np.cumsum(bits, axis=1) - 1
        rows, cols = np.nonzero(bits)
        digits[rows, rank[rows, cols]] = cols
        return digits, size
    owner = paths.path_of_touch
    pair = owner * n_ch + paths.codes
    _, first = np.unique(pair, return_index=True)  # first touch of each (path, channel)
    if not ordered:
        first = first[np.lexsort((paths.codes[first], owner[first]))]
    else:
        first = np.sort(first)
    own, code = owner[first], paths.codes[first]
    size = np.bincount(own, minlength=paths.n_paths)
    offs = np.concatenate([[0], np.cumsum(size)[:-1]])
    rank = np.arange(len(own)) - offs[own]
    digits = np.full((paths.n_paths, max(int(size.max(initial=0)), 1)), -1, dtype=np.int64)
    digits[own, rank] = code
    return digits, size


def _encode(digits: np.ndarray, base: int) -> np.ndarray:
    key = np.zeros(len(digits), dtype=np.int64)
    for j in range(digits.shape[1]):
        d = digits[:, j]
        key = np.where(d >= 0, key * base + d + 1, key)
    return key


def _subset_keys(digits: np.ndarray, base: int) -> np.ndarray:
    """Keys of every subsequence of each row (rows of m digits): shape (rows, 2^m).

    Bit j of the mask selects digit j; digits keep their order, so the key of a subset of
    a sorted row is the key of that (sorted) set.
    """
    rows, m = digits.shape
    keys = np.zeros((rows, 1 << m), dtype=np.int64)
    # the highest set bit is the last digit of the subsequence
    for j in range(m):
        lo, hi = 1 << j, 1 << (j + 1)
        keys[:, lo:hi] = keys[:, 0:lo] * base + (digits[:, j : j + 1] + 1)
    return keys


def _shapley_rows(worth: np.ndarray, m: int) -> np.ndarray:
    """Shapley values of m players for many games at once: ``worth`` is (rows, 2^m)."""
    rows = worth.shape[0]
    d = worth.reshape((rows,) + (2,) * m)
    for ax in range(1, m + 1):  # Möbius transform: Harsanyi dividends
        d = np.diff(d, axis=ax, prepend=0)
    d = d.reshape(rows, 1 << m)
    masks = np.arange(1 << m)
    pop = np.bitwise_count(masks) if hasattr(np, "bitwise_count") else np.array(
        [bin(x).count("1") for x in masks])
    share = d / np.maximum(pop, 1)
    return np.stack([share[:, (masks >> j) & 1 == 1].sum(axis=1) for j in range(m)], axis=1)


class Shapley(AttributionModel):
    """Exact Shapley credits on the conversion-rate game of each converting journey.

    Args:
        ordered: coalitions are first-touch sequences instead of sets (default False).
        max_channels: most distinct channels allowed in one journey (default 15).
    """

    name = "shapley"

    def __init__(self, ordered: bool = False, max_channels: int = MAX_CHANNELS):
        self.ordered = ordered
        self.max_channels = max_channels

    def _credit(self, paths: Paths) -> pd.DataFrame:
        n_ch = len(paths.channels)
        digits, size = coalitions(paths, bool(self.ordered))
        m_max = int(size.max(initial=0))
        if m_max > self.max_channels:
            raise ConfigError(
                f"shapley: a journey touches {m_max} distinct channels, more than "
                f"max_channels={self.max_channels} (exact Shapley costs 2^m per journey); "
                "group channels (e.g. --by channel instead of creator), shorten the lookback, "
                "or use markov"
            )
        base = n_ch + 1
        if m_max * np.log2(base) >= 62:
            raise ConfigError(
                f"shapley: {n_ch} channels x {m_max} per journey is too many to index "
                "coalitions; group channels or use markov"
            )
        key = _encode(digits, base)
        uniq, inv = np.unique(key, return_inverse=True)
        inv = inv.ravel()
        conv = np.bincount(inv, weights=paths.conversions, minlength=len(uniq))
        nulls = np.bincount(inv, weights=paths.nulls, minlength=len(uniq))
        value = np.bincount(inv, weights=paths.value, minlength=len(uniq))
        trials = conv + nulls
        rate = np.divide(conv, trials, out=np.zeros_like(conv), where=trials > 0)
        first = np.zeros(len(uniq), dtype=np.int64)
        first[inv] = np.arange(len(inv))
        out_conv, out_val = np.zeros(n_ch), np.zeros(n_ch)
        rows_all = np.flatnonzero(conv > 0)
        msize = size[first[rows_all]]
        for m in np.unique(msize):
            m = int(m)
            sel = rows_all[msize == m]
            step = max(1, _CHUNK >> m)
            for lo in range(0, len(sel), step):
                rows = sel[lo : lo + step]
                dig = digits[first[rows], :m]
                keys = _subset_keys(dig, base)
                pos = np.clip(np.searchsorted(uniq, keys), 0, len(uniq) - 1)
                worth = np.where(uniq[pos] == keys, rate[pos], 0.0)
                worth[:, 0] = 0.0
                phi = _shapley_rows(worth, m)
                frac = phi / worth[:, -1:]
                np.add.at(out_conv, dig, frac * conv[rows, None])
                np.add.at(out_val, dig, frac * value[rows, None])
        return credits_frame(paths.channels, out_conv, out_val)
