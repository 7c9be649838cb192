"""Small worlds with known truth for incremental attribution (shared by the validation scripts).

A world is a population of (user, brand) units walking a stage chain of K steps (K = 1:
exposure then purchase; K = 2: reach Interest, then purchase). In step k a unit is
exposed to a set of channels S_k and advances with probability ``f_k(S_k)``; a unit that
completed the chain converted. The data is what :func:`aips.engine.chains.chain_cells`
returns: per step, units and advances by (exposure, holdout), and the converters'
profiles (``e1 .. eK, holdout, converters``).

**Truth.** A converter with exposures S_1..S_K would have converted with probability
``v(∅) = prod f_k(∅)`` without any exposure; the rest of ``v(S) = prod f_k(S_k)`` is split
over its channels by their exact Shapley values over the true ``v`` (the split the
incremental model estimates; for additive responses it equals "switch the channel off").
A channel's **true share** is its expected credit over the sum across channels, computed
exactly from the generator's probabilities (no sampling noise).

Families (``FAMILIES``):

- ``additive``: ``f_k`` is a base rate plus one effect per channel (K = 2);
- ``logistic``: ``f_k``'s log-odds are additive, effects multiply the odds (K = 2);
- ``stage_skipping``: exposure then purchase, no Interest in between (K = 1), with a
  hazard response ``1 - exp(-(h0 + sum h_c))`` (the simulator's), neither additive nor
  logistic: the response must be chosen by the data;
- ``confounded``: search ads are shown mostly to people already interested (reach 4 % in
  step 1, 70 % in step 2 where every unit has reached Interest), who buy far more often:
  a one-step model over the whole journey credits search ads with the interest;
- ``lowering``: a channel that really lowers conversion (a pushy ad), with untouched
  units, so the data can say so: its credit must be negative and the output explain it.

Each family runs with and without a **holdout** (20 % of units never shown paid channels:
they only see organic) and with and without **untouched** units. Without untouched units,
every unit outside the holdout is exposed to at least one channel (its exposure is
redrawn until non-empty, as in a log of impressions then purchases); holdout units that
would only have seen paid channels are still untouched: that is what a holdout is.
"""

from __future__ import annotations

import functools
import itertools
from dataclasses import dataclass

import numpy as np
import pandas as pd

CHANNELS = ("feed_ad", "kol_note", "koc_note", "search_ad", "organic")
PAID = np.array([c != "organic" for c in CHANNELS])
FAMILIES = ("additive", "logistic", "stage_skipping", "confounded", "lowering")


@dataclass(frozen=True)
class Spec:
    """A family's true chain: per step the reach of each channel and the response."""

    kind: str
    """``additive``, ``logistic`` or ``hazard`` (the response of every step)."""
    reach: tuple[np.ndarray, ...]
    """Per step, each channel's probability of touching a unit in the step."""
    base: tuple[float, ...]
    """Per step, the no-exposure rate."""
    effect: tuple[np.ndarray, ...]
    """Per step, each channel's effect (probability, log-odds or hazard units)."""

    @property
    def K(self) -> int:
        return len(self.reach)

    def f(self, k: int, bits: np.ndarray) -> np.ndarray:
        """Advance probability of step ``k`` for exposure bit rows ``bits`` (n x channels)."""
        b, e = self.base[k], self.effect[k]
        if self.kind == "additive":
            return np.clip(b + bits @ e, 0.0, 1.0)
        if self.kind == "logistic":
            return 1 / (1 + np.exp(-(np.log(b / (1 - b)) + bits @ e)))
        return 1 - np.exp(-(-np.log(1 - b) + bits @ e))


def spec(family: str) -> Spec:
    """The true chain of a family."""
    r = np.array
    if family == "additive":
        return Spec("additive", (r([0.5, 0.3, 0.35, 0.05, 0.4]), r([0.4, 0.3, 0.3, 0.3, 0.4])),
                    (0.10, 0.08), (r([0.06, 0.09, 0.05, 0.03, 0.02]), r([0.03, 0.04, 0.05, 0.08, 0.01])))
    if family == "logistic":
        return Spec("logistic", (r([0.5, 0.3, 0.35, 0.05, 0.4]), r([0.4, 0.3, 0.3, 0.3, 0.4])),
                    (0.05, 0.04), (r([0.6, 0.9, 0.5, 0.4, 0.2]), r([0.5, 0.6, 0.7, 0.9, 0.15])))
    if family == "stage_skipping":
        return Spec("hazard", (r([0.55, 0.35, 0.4, 0.15, 0.3]),),
                    (0.01,), (r([0.02, 0.03, 0.015, 0.04, 0.005]),))
    if family == "confounded":
        return Spec("logistic", (r([0.5, 0.3, 0.35, 0.04, 0.4]), r([0.3, 0.25, 0.25, 0.7, 0.4])),
                    (0.08, 0.15), (r([0.5, 0.8, 0.4, 0.2, 0.2]), r([0.3, 0.4, 0.4, 0.35, 0.1])))
    if family == "lowering":  # kol_note lowers the purchase step
        return Spec("logistic", (r([0.5, 0.3, 0.35, 0.05, 0.4]), r([0.4, 0.3, 0.3, 0.3, 0.4])),
                    (0.08, 0.06), (r([0.6, 0.3, 0.5, 0.4, 0.2]), r([0.5, -0.6, 0.7, 0.9, 0.15])))
    raise ValueError(f"unknown family {family!r} (expected one of {', '.join(FAMILIES)})")


def _label(bits: np.ndarray) -> np.ndarray:
    """Exposure labels as the engine writes them (sorted names joined by ``" + "``)."""
    code = bits.astype(np.int64) @ (1 << np.arange(len(CHANNELS)))
    names = np.array(CHANNELS)
    text = np.array([" + ".join(sorted(names[[(c >> j) & 1 == 1 for j in range(len(CHANNELS))]]))
                     for c in range(1 << len(CHANNELS))], dtype=object)
    return text[code]


def _exposure(rng, reach, n, holdout, untouched: bool, first: bool) -> np.ndarray:
    """Exposure bits of ``n`` units; without untouched units, step 1's exposure outside
    the holdout is redrawn until non-empty (holdout units keep only their organic part)."""
    bits = (rng.random((n, len(CHANNELS))) < reach).astype(np.int8)
    if first and not untouched:
        todo = np.flatnonzero(bits.sum(axis=1) == 0)
        while len(todo):
            bits[todo] = rng.random((len(todo), len(CHANNELS))) < reach
            todo = todo[bits[todo].sum(axis=1) == 0]
    bits[holdout] &= ~PAID
    return bits


def simulate_cells(family: str, n: int, seed: int, holdout: bool, untouched: bool):
    """``(steps, profiles, journeys)`` of ``n`` units drawn from the family (see the module
    docstring); ``journeys`` is the same units as one step (exposure: every channel seen
    on the journey; advances: converted), what a model without the stage chain sees."""
    s = spec(family)
    rng = np.random.default_rng(seed)
    hold = rng.random(n) < 0.2 if holdout else np.zeros(n, bool)
    alive = np.ones(n, bool)
    seen = np.zeros((n, len(CHANNELS)), np.int8)
    steps, labels = [], []
    for k in range(s.K):
        idx = np.flatnonzero(alive)
        bits = _exposure(rng, s.reach[k], len(idx), hold[idx], untouched, k == 0)
        seen[idx] |= bits
        adv = rng.random(len(idx)) < s.f(k, bits.astype(float))
        lab = np.full(n, "", dtype=object)
        lab[idx] = _label(bits)
        labels.append(lab)
        df = pd.DataFrame({"exposure": lab[idx], "holdout": hold[idx], "adv": adv})
        cells = df.groupby(["exposure", "holdout"], as_index=False).agg(units=("adv", "size"),
                                                                         advances=("adv", "sum"))
        steps.append(cells.assign(step=k + 1))
        nxt = np.zeros(n, bool)
        nxt[idx[adv]] = True
        alive = nxt
    conv = pd.DataFrame({f"e{k + 1}": labels[k][alive] for k in range(s.K)})
    conv["holdout"] = hold[alive]
    profiles = conv.groupby([*(f"e{k + 1}" for k in range(s.K)), "holdout"], as_index=False).size()
    profiles = profiles.rename(columns={"size": "converters"})
    profiles["conversions"] = profiles["converters"].astype(float)
    profiles["value"] = 0.0
    one = pd.DataFrame({"exposure": _label(seen), "holdout": hold, "converters": alive})
    journeys = one.groupby(["exposure", "holdout"], as_index=False).agg(
        units=("converters", "size"), converters=("converters", "sum"))
    return pd.concat(steps, ignore_index=True), profiles, journeys


def _shapley(v: np.ndarray, members: np.ndarray, n: int) -> np.ndarray:
    """Exact Shapley values of game ``v`` (indexed by subset bitmask over ``members``)."""
    from math import factorial

    m = len(members)
    out = np.zeros(n)
    for j in range(m):
        for sub in range(1 << m):
            if sub >> j & 1:
                continue
            size = bin(sub).count("1")
            w = factorial(size) * factorial(m - size - 1) / factorial(m)
            out[members[j]] += w * (v[sub | (1 << j)] - v[sub])
    return out


@functools.lru_cache(maxsize=64)
def true_credits(family: str, holdout: bool, untouched: bool) -> pd.Series:
    """Expected credit per channel per unit (and ``baseline``), exactly, from the truth."""
    s = spec(family)
    nc = len(CHANNELS)
    combos = np.array(list(itertools.product([0, 1], repeat=nc)), dtype=np.int8)
    credit = np.zeros(nc)
    base = 0.0
    for h, wh in ((False, 0.8 if holdout else 1.0), (True, 0.2 if holdout else 0.0)):
        if wh == 0:
            continue
        probs = []
        for k in range(s.K):
            bits = combos.copy()
            p = np.prod(np.where(bits == 1, s.reach[k], 1 - s.reach[k]), axis=1)
            if k == 0 and not untouched:  # redrawn until non-empty (before the holdout mask)
                p = np.where(bits.sum(axis=1) == 0, 0.0, p / (1 - p[bits.sum(axis=1) == 0].sum()))
            if h:  # holdout: paid bits are switched off
                code = (bits & ~PAID) @ (1 << np.arange(nc))
                moved = np.bincount(code, weights=p, minlength=len(combos))
                p = moved[combos @ (1 << np.arange(nc))]
            probs.append(p)
        # every exposure path (one combo per step), its probability and its split
        for path in itertools.product(range(len(combos)), repeat=s.K):
            w = wh * np.prod([probs[k][i] for k, i in enumerate(path)])
            if w == 0:
                continue
            union = np.bitwise_or.reduce([combos[i] for i in path])
            members = np.flatnonzero(union)
            subs = np.array([[(t >> j) & 1 for j in range(len(members))] for t in range(1 << len(members))])
            v = np.ones(len(subs))
            for k, i in enumerate(path):
                b = np.zeros((len(subs), nc))
                b[:, members] = subs * combos[i][members]
                v *= s.f(k, b)
            base += w * v[0]
            if len(members):
                credit += w * _shapley(v - v[0], members, nc)
    return pd.Series(np.append(credit, base), index=[*CHANNELS, "baseline"])


def true_shares(family: str, holdout: bool, untouched: bool) -> pd.Series:
    """True channel shares (expected credit over the sum across channels)."""
    c = true_credits(family, holdout, untouched).drop("baseline")
    return c / c.sum()
