r"""The simulator's own answer to "what would this plan yield?" (issue 17's truth).

:class:`PlanTruth` evaluates a plan of daily spend per paid channel for one brand, from a
start day over a horizon, as the **expected value** of the simulator's causal model, with
no random draws: the same users (block 0 of the world, scaled to the world's size), the
same channel effects, CPMs, delivery curves (:mod:`aips.simulate.delivery`), format and
creator multipliers, baseline hazards, interest and leak multipliers, festival pushes and
the brand's real campaign history before the start day.

It is the mean-field form of :mod:`aips.simulate.journeys`, a daily chain per user over
the latent stages none, A, I, TI, P, and a *stalled* copy of A, I and TI (a failed
decision stalls a journey). On a day a user at stage k with Poisson(λ_c) exposures a day
of channel c, summed over the hazard window W, advances with probability

.. math:: q_k = 1 - \exp\Big(-\frac{m_k b_k}{T_k}
              - \sum_c \lambda_c W \big(1 - e^{-m_k e_{kc} / T_k}\big)\Big)

(the Poisson expectation of ``1 - exp(-H)`` with the decision's hazard spread over the T_k
days a stage lasts), and otherwise stalls with probability ``1 - exp(-1/T_k)``. A user
without a level becomes aware (A) with probability ``1 - exp(-sum_c λ_c)``. Push channels
spread their impressions over the non-holdout users by targeting weight; search ads reach
I and TI users through their searches (at most one ad a search). The journeys' exact
timing (decisions anchored at the first touch) and the segment skews are left out: the
expectation is of the chain, not of the event log, and is what the planner is judged
against.

>>> from aips.simulate.params import SimulationParams
>>> truth = PlanTruth(SimulationParams(users=400, days=60, seed=1), "Lumiere", start=30)
>>> none = truth.outcome({})
>>> some = truth.outcome({"feed_ad": 50.0, "kol_note": 50.0})
>>> some["purchases"] > none["purchases"], some["reach"] > none["reach"] == 0.0
(True, True)
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from aips.exceptions import ConfigError
from aips.simulate.delivery import impressions
from aips.simulate.params import SimulationParams
from aips.simulate.parts import CHANNELS, FORMATS
from aips.simulate.users import block_users
from aips.simulate.world import World, build_world

PAID = tuple(c for c in CHANNELS if c != "organic")
"""Channels a plan spends on."""
GOALS = ("TI", "purchases", "revenue")
"""What a plan can maximise: the TI crowd on the last day, first purchases or revenue."""
SAMPLE_USERS = 600
"""Users of block 0 the expectation runs over (scaled to the world's size)."""

_NONE, _A, _I, _TI, _P, _SA, _SI, _STI = range(8)
_SEARCH = PAID.index("search_ad")


class PlanTruth:
    """The expected outcome of plans for ``brand`` from day index ``start`` (see module doc).

    Args:
        params: the world.
        brand: a brand of the world.
        start: first planned day (day index from the world's first day); the brand's real
            campaigns run before it.
        horizon: planned days.
    """

    def __init__(self, params: SimulationParams, brand: str, start: int, horizon: int = 30):
        self.params, self.brand, self.start, self.horizon = params, brand, int(start), int(horizon)
        world = build_world(params)
        if brand not in world.brand_names:
            raise ConfigError(f"brand {brand!r} is not in the world (brands: {', '.join(world.brand_names)})")
        if not 0 <= self.start <= params.days:
            raise ConfigError(f"start day {start} is outside the world's 0..{params.days}")
        self._setup(world, world.brand_names.index(brand))
        self._state0 = self._history(world)

    # --- the world's pieces ------------------------------------------------------------

    def _setup(self, world: World, b: int) -> None:
        p = self.params
        users = block_users(world, 0)
        n = min(users.n, SAMPLE_USERS)
        cat = int(world.brand_cat[b])
        young, tier1 = (users.age[:n] == 0), (users.tier[:n] == 0)
        demo = np.exp(world.brand_young[b] * young + world.brand_tier1[b] * tier1) / world.brand_norm[b]
        interest = users.interest[:n, cat]
        self.weight = (0.15 + interest) * demo * users.activity[:n]
        self.paid_ok = ~users.holdout[:n]
        self.scale = p.users / n
        self.world_weight = float((self.weight * self.paid_ok).sum() * self.scale)
        self.search_act = np.sqrt(users.activity[:n])
        self.mult = (0.3 + 1.4 * interest)[:, None] * world.brand_mult[b, :3][None, :]
        fmt = np.asarray([p.format_effects[f] for f in FORMATS])
        seeding = np.exp(p.creator_seeding_sigma ** 2 / 2)
        eff = []
        for c in CHANNELS:
            ch = p.channels[c]
            share = np.asarray([ch.formats.get(f, 0.0) for f in FORMATS]) / sum(ch.formats.values())
            e = np.asarray(ch.effect) * (share @ fmt)
            eff.append(e[:3] * (seeding if ch.creators_per_campaign[1] > 0 else 1.0))
        self.effect = np.asarray(eff)  # (channels, 3)
        category = p.categories[cat]
        (a1, b1), (a2, b2) = p.stage_fractions
        f_i = a1 / (a1 + b1)
        f_ti = f_i + (1 - f_i) * a2 / (a2 + b2)
        cycle = category.decision_cycle_days
        self.days_in = np.maximum(1.0, np.asarray([f_i, f_ti - f_i, 1 - f_ti]) * cycle)
        self.base = np.asarray(p.base_hazard[:3])
        self.boost = world.purchase_boost
        self.price = float(world.spu_price[world.brand_spus[b]].mean()) * 1.12  # 12 % buy two
        self.b = b
        self.world = world

    def _organic_rate(self, world: World) -> float:
        """The brand's organic delivery per unit weight a day (its popularity x intensity)."""
        b = self.b
        camp = np.flatnonzero((world.camp_brand == b) & (world.camp_channel != CHANNELS.index("search_ad")))
        flights = sum(world.camp_intensity[k] * world.day_factor[world.camp_start[k]: world.camp_end[k] + 1].sum()
                      for k in camp)
        return float((world.group_total[b] - flights) / world.day_factor.sum())

    def _history(self, world: World) -> np.ndarray:
        """Each sampled user's state distribution on the start day, under the real campaigns."""
        n = len(self.weight)
        state = np.zeros((1, n, 8))
        state[..., _NONE] = 1.0
        self._organic = self._organic_rate(world)
        for d in range(self.start):
            push = np.zeros((1, len(PAID)))
            search = 0.0
            for k in np.flatnonzero((world.camp_brand == self.b) & (world.camp_start <= d) & (world.camp_end >= d)):
                c = int(world.camp_channel[k])
                if c == CHANNELS.index("search_ad"):
                    search = float(world.camp_intensity[k])
                else:
                    push[0, PAID.index(CHANNELS[c])] += world.camp_intensity[k] * world.day_factor[d]
            state, _ = self._step(state, d, push, np.asarray([search]), self._organic * world.day_factor[d])
        return state

    # --- one day of the chain ----------------------------------------------------------

    def _step(self, state: np.ndarray, day: int, push: np.ndarray, show: np.ndarray, organic: float):
        """Advance ``state`` (plans, users, 8) by one day. ``push``: paid delivery per unit of
        targeting weight, (plans, channels); ``show``: share of searches showing the ad."""
        p = self.params
        lam = self.weight[None, :, None] * push[:, None, :] * self.paid_ok[None, :, None]  # (P, n, paid)
        lam_org = self.weight * organic
        searches = np.asarray(p.search_rate)[None, :] * self.search_act[:, None]  # (n, 2): in I, TI
        window = p.hazard_window_days
        mult = np.repeat(self.mult[None], len(state), 0)
        if day < len(self.boost):
            mult[..., 2] *= self.boost[day]
        new = state.copy()
        aware = 1.0 - np.exp(-(lam.sum(-1) + lam_org[None]))
        moved = state[..., _NONE] * aware
        new[..., _NONE] -= moved
        new[..., _A] += moved
        flows = []
        for k, (src, dst, stalled) in enumerate(((_A, _I, _SA), (_I, _TI, _SI), (_TI, _P, _STI))):
            m = mult[..., k]  # (P, n)
            t = self.days_in[k]
            gain = -np.expm1(-m[..., None] * self.effect[None, None, :, k] / t)  # (P, n, channels)
            rate = m * self.base[k] / t + window * (lam * gain[..., :len(PAID)]).sum(-1) \
                + window * lam_org[None] * gain[..., CHANNELS.index("organic")]
            if k >= 1:  # search ads reach I and TI users through their searches
                rate = rate + window * searches[None, :, k - 1] * show[:, None] * self.paid_ok[None] \
                    * gain[..., CHANNELS.index("search_ad")]
            q = -np.expm1(-rate)
            stall = -np.expm1(-1.0 / t)
            adv = state[..., src] * q
            new[..., src] -= adv + state[..., src] * (1 - q) * stall
            new[..., stalled] += state[..., src] * (1 - q) * stall
            new[..., dst] += adv
            flows.append(adv)
        return new, flows

    # --- plans -------------------------------------------------------------------------

    def delivery(self, spend: np.ndarray) -> np.ndarray:
        """Push delivery per unit weight a day (plans, channels) and the search ads' share of
        searches, for daily spend (plans, channels) in :data:`PAID` order."""
        p = self.params
        out = np.zeros_like(spend, dtype=float)
        for j, c in enumerate(PAID):
            ch = p.channels[c]
            imp = impressions(spend[:, j], ch.cpm, ch.saturation * p.users / 1000)
            out[:, j] = imp / self.world_weight if c != "search_ad" else imp
        return out

    def outcomes(self, spend: np.ndarray) -> dict[str, np.ndarray]:
        """Expected outcomes of many plans at once: ``spend`` is daily CNY, shape (plans,
        channels in :data:`PAID` order). Returns arrays (plans,) of ``reach`` (users with a
        paid feed exposure within the horizon), ``new_ti``, ``TI`` (latent TI users on the last
        day), ``purchases`` (first purchases within the horizon) and ``revenue``."""
        spend = np.atleast_2d(np.asarray(spend, dtype=float))
        if spend.shape[1] != len(PAID) or (spend < 0).any():
            raise ConfigError(f"a plan is a non-negative daily spend for each of {', '.join(PAID)}")
        deliv = self.delivery(spend)
        state = np.repeat(self._state0, len(spend), 0)
        push = deliv.copy()
        push[:, _SEARCH] = 0.0
        new_ti = purchases = 0.0
        for d in range(self.start, self.start + self.horizon):
            occupancy = state[..., _I] * self.params.search_rate[0] + state[..., _TI] * self.params.search_rate[1]
            searches = (occupancy * self.search_act * self.paid_ok).sum(-1) * self.scale  # (P,)
            show = np.minimum(1.0, deliv[:, _SEARCH] / np.maximum(searches, 1e-9))
            factor = self.world.day_factor[d] if d < len(self.world.day_factor) else 1.0
            state, flows = self._step(state, d, push, show, self._organic * factor)
            new_ti = new_ti + flows[1].sum(-1)
            purchases = purchases + flows[2].sum(-1)
        exposures = push.sum(-1)[:, None] * self.weight[None] * self.horizon
        reach = (-np.expm1(-exposures) * self.paid_ok).sum(-1) * self.scale
        purchases = purchases * self.scale
        return {
            "reach": reach, "new_ti": new_ti * self.scale,
            "TI": (state[..., _TI] + state[..., _STI]).sum(-1) * self.scale,
            "purchases": purchases, "revenue": purchases * self.price,
        }

    def outcome(self, daily_spend: Mapping[str, float]) -> dict[str, float]:
        """Expected outcome of one plan: daily CNY by channel (missing channels spend 0)."""
        unknown = sorted(set(daily_spend) - set(PAID))
        if unknown:
            raise ConfigError(f"unknown channel(s) {', '.join(unknown)} (paid channels: {', '.join(PAID)})")
        row = np.asarray([[float(daily_spend.get(c, 0.0)) for c in PAID]])
        return {k: float(v[0]) for k, v in self.outcomes(row).items()}

    def optimum(self, budget: float, goal: str, channels=PAID, steps: int = 5) -> tuple[dict[str, float], float]:
        """The best split of ``budget`` (CNY over the horizon) among ``channels`` for ``goal``:
        every split on a grid of ``1/steps`` of the budget, then a finer grid around the best.
        Returns (total CNY by channel, expected goal value)."""
        if goal not in GOALS:
            raise ConfigError(f"unknown goal {goal!r} (one of {', '.join(GOALS)})")
        cols = [PAID.index(c) for c in channels]
        grid = _simplex(len(cols), steps).astype(float)
        best = None
        for _ in range(5):
            spend = np.zeros((len(grid), len(PAID)))
            spend[:, cols] = grid * budget / self.horizon
            values = self.outcomes(spend)[goal]
            i = int(np.argmax(values))
            if best is None or values[i] > best[1]:
                best = (grid[i], float(values[i]))
            # refine: move one step of 1/(2 steps) between any two channels
            steps *= 2
            centre = np.rint(best[0] * steps)
            moves = [np.zeros(len(cols))]
            for a in range(len(cols)):
                for z in range(len(cols)):
                    if a != z:
                        mv = np.zeros(len(cols))
                        mv[a], mv[z] = 1, -1
                        moves += [mv, 2 * mv]
            cand = centre[None] + np.asarray(moves)
            grid = cand[(cand >= 0).all(1)] / steps
        split = {c: float(best[0][j] * budget) for j, c in enumerate(channels)}
        return split, best[1]


def _simplex(n: int, steps: int) -> np.ndarray:
    """All splits of ``steps`` units among ``n`` parts, as shares (rows sum to 1)."""
    if n == 1:
        return np.ones((1, 1))
    rows = []

    def rec(prefix, left, k):
        if k == 1:
            rows.append([*prefix, left])
            return
        for i in range(left + 1):
            rec([*prefix, i], left - i, k - 1)

    rec([], steps, n)
    return np.asarray(rows, dtype=float) / steps
