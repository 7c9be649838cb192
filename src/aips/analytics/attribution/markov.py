r"""Markov-chain attribution: removal effects in closed form on the absorbing chain.

The paths define a Markov chain of order k (ChannelAttribution's construction):

* **states** are ``(start)``, the k-grams of consecutive touches, ``(conversion)`` and
  ``(null)``. A path of n >= k touches visits its n - k + 1 windows in order; a path
  shorter than k is one state of its own (padded), and consecutive repeats of a state are
  collapsed (at k = 1: ``a > a > b`` is ``a > b``, no self-loops);
* **transitions** are counted over the paths, each weighted by the path's journeys
  (conversions + nulls); the last state goes to ``(conversion)`` with the path's
  conversions and to ``(null)`` with its nulls, so a path with both counts both.

With ``Q`` the transition probabilities among transient states and ``r`` the
probabilities into ``(conversion)``, the expected visits from the start are
``n = e_start (I - Q)^{-1}`` and the conversion probability is :math:`P = n \cdot r`.
**Removing** a channel sends all traffic into states that contain it to ``(null)``: the
same solve on the kept states gives :math:`P_{-c}`. The removal effect is
:math:`RE_c = 1 - P_{-c}/P` (this equals the probability that a converting walk visits
c, which ChannelAttribution estimates by simulation), and the credits are

.. math:: \text{credit}_c = \frac{RE_c}{\sum_d RE_d} \times \text{conversions}.

Value uses the same chain with each state's conversions weighted by the mean value of the
conversions that end there (``n . (value_end / out)``), again as ChannelAttribution does.
Nothing is simulated: one sparse LU solve per channel, deterministic and exact.

The classic example: ``google`` x2 and ``mailing`` x1 and ``google > mailing`` x1
converting, ``google`` x1 not. P = 0.8; without google 0.2, without mailing 0.4; removal
effects 0.75 and 0.5; credits 4 x 0.75/1.25 = 2.4 and 1.6.

>>> import pandas as pd
>>> paths = pd.DataFrame({"path": ["google", "mailing", "google > mailing", "google"],
...                       "conversions": [2, 1, 1, 0], "nulls": [0, 0, 0, 1]})
>>> m = Markov().fit(paths)
>>> m.removal_effects_.round(4).to_dict("list")["removal_effect"]
[0.75, 0.5]
>>> m.credits_.set_index("channel")["conversions"].round(6).to_dict()
{'google': 2.4, 'mailing': 1.6}
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.sparse.linalg import splu

from aips.analytics.attribution.base import AttributionModel, Paths, credits_frame
from aips.exceptions import ConfigError


def chain_states(paths: Paths, order: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each path's sequence of state ids and each state's channels.

    Returns:
        ``(state, owner, members)``: the state id of each step (paths one after the other,
        consecutive repeats collapsed), the path of each step, and a (states x order) array
        of the channel codes in each state (-1 for padding).
    """
    lengths = paths.lengths
    n_ch = len(paths.channels)
    if order == 1:  # states are the channels themselves
        owner = paths.path_of_touch
        state = paths.codes
        keep = np.ones(len(state), dtype=bool)
        keep[1:] = (state[1:] != state[:-1]) | (owner[1:] != owner[:-1])
        return state[keep], owner[keep], np.arange(n_ch, dtype=np.int64)[:, None]
    nwin = np.maximum(lengths - order + 1, 1)
    owner = np.repeat(np.arange(paths.n_paths), nwin)
    first_win = np.concatenate([[0], np.cumsum(nwin)[:-1]])
    wstart = paths.starts[:-1][owner] + (np.arange(nwin.sum()) - first_win[owner])
    wend = paths.starts[1:][owner]
    digits = np.empty((len(wstart), order), dtype=np.int64)
    for j in range(order):
        idx = wstart + j
        digits[:, j] = np.where(idx < wend, paths.codes[np.minimum(idx, len(paths.codes) - 1)], -1)
    if (n_ch + 1) ** order < 2**62:
        key = np.zeros(len(wstart), dtype=np.int64)
        for j in range(order):
            key = key * (n_ch + 1) + (digits[:, j] + 1)
        uniq, first_of, state = np.unique(key, return_index=True, return_inverse=True)
        members = digits[first_of]
    else:  # pragma: no cover - astronomically many channels x order
        members, state = np.unique(digits, axis=0, return_inverse=True)
    state = state.ravel()
    keep = np.ones(len(state), dtype=bool)
    keep[1:] = (state[1:] != state[:-1]) | (owner[1:] != owner[:-1])
    return state[keep], owner[keep], members


def _transitions(prev: np.ndarray, state: np.ndarray, w: np.ndarray, n: int) -> sp.csr_matrix:
    """Summed weights of the (prev -> state) steps as a sparse n x n matrix."""
    key = prev.astype(np.int64) * n + state
    if n * n <= 1 << 24:
        dense = np.bincount(key, weights=w, minlength=n * n)
        nz = np.flatnonzero(dense)
        vals = dense[nz]
    else:
        nz, inv = np.unique(key, return_inverse=True)
        vals = np.bincount(inv.ravel(), weights=w, minlength=len(nz))
    return sp.csr_matrix((vals.astype(float), (nz // n, nz % n)), shape=(n, n), dtype=float)


class Markov(AttributionModel):
    """Removal-effect attribution on the order-k absorbing Markov chain (closed form).

    Args:
        order: k, the number of touches a state remembers (default 1).

    Attributes (after ``fit``, besides ``credits_``):
        removal_effects_: ``channel, removal_effect, removal_effect_value``.
        conversion_probability_: P(conversion) of the fitted chain from the start.
        transition_matrix_: ``state_from, state_to, probability`` (states of order k > 1
            are channel names joined by ``,``).
    """

    name = "markov"

    def __init__(self, order: int = 1):
        self.order = order

    def _credit(self, paths: Paths) -> pd.DataFrame:
        k = int(self.order)
        if k < 1:
            raise ConfigError(f"Markov order must be >= 1, got {self.order}")
        n_ch = len(paths.channels)
        weight = paths.conversions + paths.nulls
        state, owner, members = chain_states(paths, k)
        n_states = len(members) + 1  # + start (id 0)
        state = state + 1
        live = weight[owner] > 0
        state, owner = state[live], owner[live]
        newpath = np.ones(len(state), dtype=bool)
        newpath[1:] = owner[1:] != owner[:-1]
        prev = np.where(newpath, 0, np.roll(state, 1))
        last = np.ones(len(state), dtype=bool)
        last[:-1] = newpath[1:]
        w = weight[owner]
        counts = _transitions(prev, state, w, n_states)
        conv_in = np.bincount(state[last], weights=paths.conversions[owner[last]], minlength=n_states)
        null_in = np.bincount(state[last], weights=paths.nulls[owner[last]], minlength=n_states)
        value_in = np.bincount(state[last], weights=paths.value[owner[last]], minlength=n_states)
        out = (np.asarray(counts.sum(axis=1)).ravel() + conv_in + null_in).astype(float)
        inv = np.divide(1.0, out, out=np.zeros_like(out), where=out > 0)
        Q = sp.diags(inv) @ counts
        r_conv, r_value = conv_in * inv, value_in * inv

        def solve(kept: np.ndarray) -> tuple[float, float]:
            sub = Q[kept][:, kept]
            system = (sp.identity(len(kept), format="csc") - sub).T.tocsc()
            rhs = np.zeros(len(kept))
            rhs[0] = 1.0  # the start is kept[0]
            visits = splu(system).solve(rhs)
            return float(visits @ r_conv[kept]), float(visits @ r_value[kept])

        everything = np.arange(n_states)
        p_conv, p_value = solve(everything)
        re_conv, re_value = np.zeros(n_ch), np.zeros(n_ch)
        has = np.zeros((n_states, n_ch), dtype=bool)
        rows, cols = np.nonzero(members >= 0)
        has[rows + 1, members[rows, cols]] = True
        for c in range(n_ch):
            kept = everything[~has[:, c]]
            pc_, pv_ = solve(kept)
            re_conv[c] = 1 - pc_ / p_conv if p_conv > 0 else 0.0
            re_value[c] = 1 - pv_ / p_value if p_value > 0 else 0.0
        re_conv, re_value = np.clip(re_conv, 0, None), np.clip(re_value, 0, None)
        total_c, total_v = paths.conversions.sum(), paths.value.sum()
        conv = re_conv / re_conv.sum() * total_c if re_conv.sum() > 0 else np.zeros(n_ch)
        val = re_value / re_value.sum() * total_v if re_value.sum() > 0 else np.zeros(n_ch)
        self.conversion_probability_ = p_conv
        self.removal_effects_ = pd.DataFrame(
            {"channel": paths.channels, "removal_effect": re_conv, "removal_effect_value": re_value}
        )
        self.transition_matrix_ = self._matrix(paths, Q, r_conv, null_in * inv, members)
        if total_c > 0 and re_conv.sum() == 0:
            raise ConfigError("markov: no channel has a removal effect (every path converts "
                              "without touches?)")
        return credits_frame(paths.channels, conv, val)

    @staticmethod
    def _matrix(paths: Paths, Q, r_conv, r_null, members) -> pd.DataFrame:
        names = ["(start)"] + [
            ",".join(paths.channels[c] for c in row if c >= 0) for row in members
        ]
        coo = Q.tocoo()
        frm = [names[i] for i in coo.row] + [names[i] for i in np.flatnonzero(r_conv)]
        frm += [names[i] for i in np.flatnonzero(r_null)]
        to = [names[j] for j in coo.col] + ["(conversion)"] * int((r_conv > 0).sum())
        to += ["(null)"] * int((r_null > 0).sum())
        prob = np.concatenate([coo.data, r_conv[r_conv > 0], r_null[r_null > 0]])
        return pd.DataFrame({"state_from": frm, "state_to": to, "probability": prob})
