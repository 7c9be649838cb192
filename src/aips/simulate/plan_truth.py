r"""The simulator's own answer to "what would this plan yield?" (issue 17's truth).

:class:`PlanTruth` values a plan (daily spend per paid channel for one brand, from day
``start`` over ``horizon`` days) by **running the simulator's journey model on it**
(:func:`aips.simulate.journeys.run_journeys`, the code that makes the simulated events):

* **History.** Days before ``start`` are the world as simulated: the same users, exposures,
  decision clocks and uniforms, drawn from the same random streams as
  :func:`aips.simulate.block.run_block`, so every pair's state on the start day is the
  simulated one (:meth:`PlanTruth.as_run` checks it: with the world's own campaigns the
  run reproduces the simulated first purchases exactly).
* **The plan window** ``[start, start + horizon)``: the brand's own campaigns stop; one
  campaign per paid channel runs instead (notes and creators drawn as the simulator draws
  them), and organic delivery goes on. A push channel delivers the impressions that the
  simulator would charge the plan's spend for (:func:`aips.simulate.delivery.campaign_spend`'s
  rule: spread over the days by activity, each day priced on the channel's saturating
  delivery curve), as the simulator delivers them (Poisson per user by targeting weight,
  holdout users get "ghost" exposures). Search ads show on the share of the brand's searches
  whose ads cost the plan's spend (two rounds of a fixed point: searches depend on the plan).
  The world is extended past its last day when the window needs it.
* **Common random numbers.** Each window is drawn once at the largest delivery any plan
  within ``budget`` can buy, and a plan keeps each exposure when its uniform is below the
  plan's share of that delivery (Poisson thinning; a search shows an ad when its uniform is
  below the plan's show share). Plans therefore differ only by what they change, and more
  spend never removes an exposure.
* **Outcomes** are expectations over the decisions inside the window (the realised history
  kept), averaged over ``replicates`` independent draws of the window: first purchases and
  new TI users with the decision inside the window, their revenue (orders dated in the
  window), latent TI users on the last day and the users a paid plan exposure reached.

>>> from aips.simulate.params import SimulationParams
>>> truth = PlanTruth(SimulationParams(users=400, days=60, seed=1), "Lumiere", start=30,
...                   horizon=20, budget=4000.0, replicates=2)
>>> none, some = truth.outcome({}), truth.outcome({"feed_ad": 100.0, "kol_note": 100.0})
>>> some["purchases"] > none["purchases"], none["reach"] == 0.0 < some["reach"]
(True, True)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from scipy.optimize import brentq

from aips.exceptions import ConfigError
from aips.simulate.delivery import cost
from aips.simulate.journeys import (
    Exposures,
    Pairs,
    Searches,
    campaign_held,
    draw_pairs,
    draw_searches,
    push_exposures,
    run_journeys,
)
from aips.simulate.params import SimulationParams
from aips.simulate.parts import CHANNELS, FORMATS
from aips.simulate.sampling import Alias, categorical, rng_for
from aips.simulate.schedule import calendar
from aips.simulate.world import DAY, World, _hire, block_users, build_world

PAID = tuple(c for c in CHANNELS if c != "organic")
"""Channels a plan spends on."""
GOALS = ("TI", "purchases", "revenue")
"""What a plan can maximise: the TI crowd on the last day, first purchases or revenue."""
REPLICATES = 4
"""Independent draws of the plan window averaged by default."""
OUTCOMES = ("reach", "new_ti", "TI", "purchases", "revenue")
"""Keys of an outcome."""

_PLAN_KEY = 17_017
_SEARCH = CHANNELS.index("search_ad")
_DELIVERY_CAP = 0.97
"""Delivery a day stops at this share of a saturating channel's ceiling (priced as at it)."""


class PlanTruth:
    """The expected outcome of plans for ``brand`` from day index ``start`` (module doc).

    Args:
        params: the world.
        brand: a brand of the world.
        start: first planned day (day index from the world's first day, at most ``days``).
        horizon: planned days.
        budget: the most a plan may spend in all (CNY over the horizon); default three times
            what the brand's campaigns were planned to spend per ``horizon`` days.
        replicates: independent draws of the plan window averaged.
    """

    def __init__(self, params: SimulationParams, brand: str, start: int, horizon: int = 30,
                 budget: float | None = None, replicates: int = REPLICATES):
        world = build_world(params)
        if brand not in world.brand_names:
            raise ConfigError(f"brand {brand!r} is not in the world (brands: {', '.join(world.brand_names)})")
        if not 0 <= int(start) <= params.days or horizon < 1:
            raise ConfigError(f"start day {start} must lie in 0..{params.days} and the horizon ({horizon}) be >= 1")
        self.params, self.brand, self.start, self.horizon = params, brand, int(start), int(horizon)
        self.end = self.start + self.horizon
        self.b = world.brand_names.index(brand)
        self.replicates = max(1, int(replicates))
        mine = world.camp_brand == self.b
        if budget is None:
            budget = 3.0 * float(world.camp_budget[mine].sum()) * horizon / params.days
        if budget <= 0:
            raise ConfigError(f"the budget must be positive, got {budget}")
        self.budget = float(budget)
        self.world = world
        self.plan_world = _extend(world, self.b, self.start, self.end)
        self._factor = self.plan_world.day_factor[self.start:self.end]
        self._blocks = [_Block(world, self.plan_world, self.b, k, self.start, self.end)
                        for k in range(params.n_blocks)]
        weights = np.sum([blk.shown_weight for blk in self._blocks], axis=0)  # (paid channels,)
        self._shown_weight = weights
        self._max_delivery = np.asarray([self._delivery(j, self.budget) for j in range(len(PAID))])
        self._max_rate = np.where(weights > 0, self._max_delivery / (self._factor.sum() * np.maximum(weights, 1e-12)), 0.0)
        for blk in self._blocks:
            blk.draw_window(self._max_rate, self.replicates)
        self._searches0 = self._search_counts(np.zeros(len(PAID)), np.zeros(self.replicates))

    # --- spend -> delivery ---------------------------------------------------------------

    def _delivery(self, j: int, spend: float) -> float:
        """Impressions of paid channel ``PAID[j]`` that ``spend`` (CNY over the horizon) buys,
        priced as :func:`~aips.simulate.delivery.campaign_spend` prices a campaign."""
        if spend <= 0:
            return 0.0
        p = self.params
        ch = p.channels[PAID[j]]
        scale = ch.saturation * p.users / 1000
        share = np.ones(self.horizon) if j == _SEARCH else self._factor
        share = share / share.sum()

        def price(d: float) -> float:
            return float(np.sum(cost(d * share, ch.cpm, scale)))

        if scale <= 0:
            return 1000.0 * spend / ch.cpm
        top = _DELIVERY_CAP * 1000.0 * scale / ch.cpm / share.max()
        if price(top) <= spend:
            return top
        return float(brentq(lambda d: price(d) - spend, 0.0, top, xtol=1e-9, rtol=1e-10))

    def delivery(self, daily_spend: Mapping[str, float]) -> dict[str, float]:
        """Impressions each paid channel delivers over the horizon for a plan of daily CNY."""
        row = self._row(daily_spend)
        return {c: self._delivery(j, row[j] * self.horizon) for j, c in enumerate(PAID)}

    # --- running plans -------------------------------------------------------------------

    def _run(self, row: np.ndarray) -> list[list[_Result]]:
        """Results per replicate and block for daily spend ``row`` (PAID order); each
        replicate's first result carries the search ads shown in ``delivered``."""
        total = row * self.horizon
        if total.sum() > self.budget * (1 + 1e-6):
            raise ConfigError(f"the plan spends {total.sum():,.0f}, more than the truth's budget {self.budget:,.0f}")
        deliv = np.asarray([self._delivery(j, total[j]) for j in range(len(PAID))])
        keep = np.where(self._max_delivery > 0, deliv / np.maximum(self._max_delivery, 1e-12), 0.0)
        searches = self._searches0
        for _ in range(2):  # the fixed point of the search ads' show share
            show = np.minimum(1.0, deliv[_SEARCH] / np.maximum(searches, 1e-9))
            results = [[blk.evaluate(r, keep, show[r]) for blk in self._blocks] for r in range(self.replicates)]
            if deliv[_SEARCH] <= 0:
                break
            searches = np.asarray([sum(res.searches for res in rep) for rep in results])
        for r, rep in enumerate(results):
            rep[0].delivered[_SEARCH] = show[r] * sum(res.searches for res in rep)
        return results

    def _search_counts(self, keep: np.ndarray, show: np.ndarray) -> np.ndarray:
        return np.asarray([sum(blk.evaluate(r, keep, show[r]).searches for blk in self._blocks)
                           for r in range(self.replicates)])

    def outcome(self, daily_spend: Mapping[str, float]) -> dict[str, float]:
        """Expected outcome of one plan: daily CNY by channel (missing channels spend 0)."""
        results = self._run(self._row(daily_spend))
        return {k: float(np.mean([sum(getattr(res, k) for res in rep) for rep in results])) for k in OUTCOMES}

    def outcomes(self, spend: np.ndarray) -> dict[str, np.ndarray]:
        """Expected outcomes of many plans: ``spend`` is daily CNY, shape (plans, channels in
        :data:`PAID` order); arrays (plans,) per key of :data:`OUTCOMES`."""
        spend = np.atleast_2d(np.asarray(spend, dtype=float))
        if spend.shape[1] != len(PAID) or (spend < 0).any():
            raise ConfigError(f"a plan is a non-negative daily spend for each of {', '.join(PAID)}")
        rows = [self.outcome(dict(zip(PAID, row, strict=True))) for row in spend]
        return {k: np.asarray([r[k] for r in rows]) for k in OUTCOMES}

    def delivered(self, daily_spend: Mapping[str, float]) -> dict[str, float]:
        """Impressions the plan's runs delivered per paid channel (mean over the replicates;
        search ads: the show share times the searches that could show one), to compare
        with :meth:`delivery`, what the spend buys."""
        results = self._run(self._row(daily_spend))
        out = np.mean([sum(res.delivered for res in rep) for rep in results], axis=0)
        return dict(zip(PAID, out.tolist(), strict=True))

    def as_run(self) -> dict[str, float]:
        """The window as the world ran it (its own campaigns; ``start + horizon <= days``):
        the expected outcome given the simulated exposures, and ``purchases_realised``, the
        first purchases the simulation made in the window (its events show the same)."""
        if self.end > self.params.days:
            raise ConfigError(f"the world ran {self.params.days} days; the window ends on day {self.end}")
        res = [blk.as_run() for blk in self._blocks]
        out = {k: float(sum(getattr(r, k) for r in res)) for k in OUTCOMES}
        out["purchases_realised"] = float(sum(r.realised for r in res))
        return out

    def _row(self, daily_spend: Mapping[str, float]) -> np.ndarray:
        unknown = sorted(set(daily_spend) - set(PAID))
        if unknown:
            raise ConfigError(f"unknown channel(s) {', '.join(unknown)} (paid channels: {', '.join(PAID)})")
        row = np.asarray([float(daily_spend.get(c, 0.0)) for c in PAID])
        if (row < 0).any() or not np.isfinite(row).all():
            raise ConfigError("a plan's daily spend must be finite and non-negative")
        return row

    # --- the optimum ---------------------------------------------------------------------

    def optimum(self, budget: float, goal: str, channels=PAID, steps: int = 4,
                rounds: int = 3) -> tuple[dict[str, float], float]:
        """The best split of ``budget`` (CNY over the horizon) among ``channels`` for ``goal``:
        every split on a grid of ``1/steps`` of the budget, then ``rounds`` of moves of half
        the last step between two channels around the best. Returns (total CNY by channel,
        expected goal value)."""
        if goal not in GOALS:
            raise ConfigError(f"unknown goal {goal!r} (one of {', '.join(GOALS)})")
        cols = [PAID.index(c) for c in channels]
        grid = _simplex(len(cols), steps)
        seen: dict[tuple, float] = {}

        def value(share: np.ndarray) -> float:
            key = tuple(np.round(share, 9))
            if key not in seen:
                daily = {PAID[c]: float(share[j] * budget / self.horizon) for j, c in enumerate(cols)}
                seen[key] = self.outcome(daily)[goal]
            return seen[key]

        best = max(grid, key=value)
        step = 1.0 / steps
        for _ in range(rounds):
            step /= 2
            moves = [best]
            for a in range(len(cols)):
                for z in range(len(cols)):
                    if a != z:
                        mv = best.copy()
                        mv[a] += step
                        mv[z] -= step
                        if mv[z] >= -1e-12:
                            moves.append(np.maximum(mv, 0.0))
            best = max(moves, key=value)
        return {c: float(best[j] * budget) for j, c in enumerate(channels)}, value(best)


@dataclass
class _Result:
    """One run of one block: the outcomes, and the searches that could show the plan's ad."""

    reach: float
    new_ti: float
    TI: float
    purchases: float
    revenue: float
    searches: float
    realised: float = 0.0
    delivered: np.ndarray | None = None
    """Shown plan impressions per paid channel (push channels; search ads: filled by the caller)."""


class _Block:
    """One block of users for the brand: its simulated history, and the drawn windows."""

    def __init__(self, world: World, plan_world: World, b: int, block: int, start: int, end: int):
        p = world.params
        self.world, self.plan_world, self.b, self.start, self.end = world, plan_world, b, start, end
        self.block = block
        users = block_users(world, block)
        self.users = users
        n = users.n
        # The simulator's own draws for this block (run_block's streams), cut to the brand.
        ex = push_exposures(world, users, rng_for(p.seed, block, 1))
        pairs = draw_pairs(world, users, ex, rng_for(p.seed, block, 2))
        searches = draw_searches(world, users, pairs, rng_for(p.seed, block, 3))
        mine = np.flatnonzero(pairs.brand == b)
        self.pairs = _take_pairs(pairs, mine)
        self.searches = _take_searches(searches, mine, len(pairs))
        rows = np.flatnonzero(np.isin(ex.ap, mine))
        remap = np.full(len(pairs), -1, np.int64)
        remap[mine] = np.arange(len(mine))
        self.hist = (ex.t[rows], ex.note[rows], remap[ex.ap[rows]], ex.ghost[rows])
        # Targeting weights of every user for the brand (push_exposures' formula).
        cat = world.brand_cat[b]
        demo = np.exp(world.brand_young[b] * (users.age == 0) + world.brand_tier1[b] * (users.tier == 0))
        self.weight = (0.15 + users.interest[:, cat]) * demo / world.brand_norm[b] * users.activity
        self.plan_camp = len(world.camp_ids) + np.arange(len(PAID))
        held = np.stack([users.holdout | campaign_held(plan_world, users, np.arange(n), np.full(n, c, np.int32))
                         for c in self.plan_camp], axis=1)
        self.held = held  # (users, paid channels): a plan exposure would be a ghost
        factor = plan_world.day_factor[start:end]
        present = np.ones(n)
        if users.arrival is not None:  # share of the window's activity after joining
            after = np.clip(np.arange(start, end)[None, :] + 1 - users.arrival[:, None], 0.0, 1.0)
            present = after @ factor / factor.sum()
        self.shown_weight = ((self.weight * present)[:, None] * ~held).sum(0)
        self.pair_user = self.pairs.user
        self.runs: list[_Window] = []

    def draw_window(self, max_rate: np.ndarray, replicates: int) -> None:
        """Draw ``replicates`` plan windows at the largest delivery (``max_rate`` per unit
        weight and activity, per paid channel), each with its new pairs and searches."""
        for r in range(replicates):
            self.runs.append(_Window(self, max_rate, rng_for(self.world.params.seed, self.block, _PLAN_KEY, r)))

    def evaluate(self, r: int, keep: np.ndarray, show: float) -> _Result:
        return self.runs[r].evaluate(keep, show)

    def as_run(self) -> _Result:
        """The simulated world itself over the window (no plan, no redraw)."""
        t, note, pidx, ghost = self.hist
        ok = t < self.end * DAY
        ex = _Candidates(t[ok], note[ok], pidx[ok], ghost[ok], np.zeros(ok.sum(), np.int8), np.zeros(ok.sum()))
        world = dataclasses.replace(self.world, params=self.world.params.replace(days=self.end))
        return _outcome(world, self, self.pairs, self.searches, ex, np.zeros(0), None, realised=True)


@dataclass
class _Candidates:
    """Exposures a run may use, sorted by (pair, time); ``kind`` 0 always kept, 1 + j: paid
    channel j's plan exposure, kept when ``v`` is below the plan's share of the most."""

    t: np.ndarray
    note: np.ndarray
    pidx: np.ndarray
    ghost: np.ndarray
    kind: np.ndarray
    v: np.ndarray

    def sorted(self) -> _Candidates:
        order = np.lexsort((self.t, self.pidx))
        return _Candidates(*(getattr(self, f.name)[order] for f in dataclasses.fields(self)))


class _Window:
    """One draw of the plan window for a block: new pairs, their searches, organic and
    (largest) plan exposures."""

    def __init__(self, blk: _Block, max_rate: np.ndarray, rng: np.random.Generator):
        world, pw, b = blk.world, blk.plan_world, blk.b
        users, n = blk.users, blk.users.n
        start, end = blk.start, blk.end
        # Pairs the simulation never touched get their own draws (same law as run_block's).
        fresh = np.setdiff1d(np.arange(n), blk.pair_user)
        fake = Exposures(t=np.zeros(len(fresh), np.int64), note=np.zeros(len(fresh), np.int32),
                         ap=np.arange(len(fresh), dtype=np.int32), ghost=np.zeros(len(fresh), bool),
                         pair=b * n + fresh.astype(np.int64))
        new_pairs = draw_pairs(pw, users, fake, rng)
        new_searches = draw_searches(pw, users, new_pairs, rng)
        base = len(blk.pairs)
        self.pairs = _concat_pairs(blk.pairs, new_pairs)
        self.searches = _concat_searches(blk.searches, new_searches, base)
        user_pidx = np.full(n, -1, np.int64)
        user_pidx[self.pairs.user] = np.arange(len(self.pairs))
        # Exposures: the history before the window, organic and the plan's inside it.
        t, note, pidx, ghost = blk.hist
        ok = t < start * DAY
        parts = [(t[ok], note[ok], pidx[ok], ghost[ok], np.zeros(ok.sum(), np.int8), np.zeros(ok.sum()))]
        factor = pw.day_factor[start:end]
        org = world.params.channels["organic"].intensity * world.brand_popularity[b]
        pools = [(pw.organic_pool + b, org, 0)] + [(blk.plan_camp[j], max_rate[j], 1 + j)
                                                   for j in range(len(PAID)) if j != _SEARCH]
        for pool, rate, kind in pools:
            counts = rng.poisson(blk.weight * rate * factor.sum())
            user = np.repeat(np.arange(n), counts)
            k = len(user)
            day = start + np.minimum(np.searchsorted(np.cumsum(factor / factor.sum()), rng.random(k), "right"),
                                     len(factor) - 1)
            hour = pw.hours.sample(np.zeros(k, np.int64), rng.random(k))
            when = day.astype(np.int64) * DAY + hour * 3600 + (rng.random(k) * 3600).astype(np.int64)
            notes = pw.note_alias.sample(np.full(k, pool, np.int64), rng.random(k)).astype(np.int32)
            gh = blk.held[user, kind - 1] if kind else np.zeros(k, bool)
            v = rng.random(k) if kind else np.zeros(k)
            here = when >= (users.arrival[user] * DAY).astype(np.int64) if users.arrival is not None else slice(None)
            parts.append((when[here], notes[here], user_pidx[user][here], gh[here], np.full(k, kind, np.int8)[here], v[here]))
        self.ex = _Candidates(*(np.concatenate(col) for col in zip(*parts, strict=True))).sorted()
        self.blk = blk

    def evaluate(self, keep: np.ndarray, show: float) -> _Result:
        c = self.ex
        ratio = np.r_[2.0, keep]
        sel = c.v < ratio[c.kind]
        ex = _Candidates(c.t[sel], c.note[sel], c.pidx[sel], c.ghost[sel], c.kind[sel], c.v[sel])
        return _outcome(self.blk.plan_world, self.blk, self.pairs, self.searches, ex, keep, show)


def _outcome(world: World, blk: _Block, pairs: Pairs, searches: Searches, ex: _Candidates,
             keep: np.ndarray, show: float | None, realised: bool = False) -> _Result:
    """Run the journeys of the pairs with kept exposures and sum the window's outcomes."""
    lo, hi = blk.start * DAY, blk.end * DAY
    active, first = np.unique(ex.pidx, return_index=True)
    if not len(active):
        return _Result(0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, np.zeros(len(PAID)))
    ap = np.searchsorted(active, ex.pidx).astype(np.int32)
    sub = _take_pairs(pairs, active)
    sub.start = np.r_[first, len(ex.t)].astype(np.int64)
    srch = _take_searches(searches, active, len(pairs))
    t0 = ex.t[first]
    if show is not None:  # plan window: the plan's search ad shows when u_show < show
        s_day = (t0[srch.ap] + srch.rel) // DAY
        inside = (s_day >= blk.start) & (s_day < blk.end)
        hist = world.params.channels["search_ad"].intensity
        scaled = srch.u_show * hist / show if show > 0 else np.full(len(srch.u_show), np.inf)
        srch.u_show = np.where(inside, scaled, srch.u_show)
    exp = Exposures(t=ex.t, note=ex.note, ap=ap, ghost=ex.ghost, pair=sub.pair)
    fact = run_journeys(world, blk.users, exp, sub, srch)
    when = fact.t0[:, None] + sub.rel
    prob = np.where(when < lo, (sub.u < fact.p).astype(float), fact.p)  # history realised
    chain = np.cumprod(prob[:, :3], axis=1) * fact.aware[:, None]
    in_win = (when >= lo) & (when < hi)
    new_ti = float((chain[:, 1] * in_win[:, 1]).sum())
    buy = chain[:, 2] * in_win[:, 2]
    times = when[:, 2:3] + sub.offset
    dated = np.where((times >= lo) & (times < hi), sub.amount, 0.0).sum(1)
    ti = float((chain[:, 1] * (when[:, 1] < hi) * (1 - prob[:, 2] * (when[:, 2] < hi))).sum())
    plan_ex = (ex.kind > 0) & ~ex.ghost
    reach = float(len(np.unique(ap[plan_ex])))
    # Searches that would show the plan's ad (made, inside the window, not held out).
    n_search = 0.0
    if len(keep) and len(srch.ap):
        s_when = fact.t0[srch.ap] + srch.rel
        made = chain[srch.ap, srch.stage - 1]
        user = sub.user[srch.ap]
        ok = (s_when >= lo) & (s_when < hi) & ~blk.held[user, _SEARCH]
        n_search = float((made * ok).sum())
    real = float((fact.adv[:, 2] & in_win[:, 2]).sum()) if realised else 0.0
    delivered = np.bincount(ex.kind[plan_ex].astype(np.int64) - 1, minlength=len(PAID)).astype(float)
    return _Result(reach, new_ti, ti, float(buy.sum()), float((chain[:, 2] * dated).sum()), n_search, real,
                   delivered)


# --- the extended world ----------------------------------------------------------------------


def _extend(world: World, b: int, start: int, end: int) -> World:
    """The world run to day ``end``, with one plan campaign per paid channel for brand ``b``
    from day ``start`` (appended after the world's campaigns; their notes drawn as the
    simulator draws a campaign's). The brand's search ads in the window are the plan's.
    ``slots``/``group_total`` are left as they were: plan runs draw their own window."""
    p = world.params
    q = p.replace(days=end)
    _, dates, factor, boost, _ = calendar(q)
    rng = rng_for(p.seed, _PLAN_KEY, b)
    nc, nn = len(world.camp_ids), len(world.note_ids)
    rows, weights = [], []
    for j, c in enumerate(PAID):
        ch = p.channels[c]
        hired = (_hire(p, rng, c, world.creator_cat, world.brand_cat[b]) if ch.creators_per_campaign[1] > 0
                 else [-1])
        pool = []
        for cr in hired:
            codes = categorical(rng, ch.formats, ch.notes_per_campaign)
            scale = float(world.creator_followers[cr]) ** 0.6 if cr >= 0 else 1.0
            for f in codes:
                spus = world.brand_spus[b]
                spu = int(spus[rng.integers(len(spus))]) if rng.random() < 0.7 else -1
                fmt = FORMATS.index(list(ch.formats)[f])
                rows.append((CHANNELS.index(c), nc + j, cr, fmt, spu))
                pool.append(scale * float(rng.lognormal(0, 0.3)))
        weights.append(np.asarray(pool))
    chan, camp, creator, fmt, spu = (np.asarray(x) for x in zip(*rows, strict=True))
    effect = np.asarray([p.channels[CHANNELS[c]].effect for c in chan])
    effect = effect * np.asarray([p.format_effects[f] for f in FORMATS])[fmt]
    effect = effect * np.where(creator >= 0, world.creator_seeding[np.maximum(creator, 0)], 1.0)[:, None]
    plan_alias = Alias.build(weights)
    old = world.note_alias
    alias = Alias(np.r_[old.offset[:nc], plan_alias.offset + nn, old.offset[nc:]],
                  np.r_[old.size[:nc], plan_alias.size, old.size[nc:]],
                  np.r_[old.prob, plan_alias.prob], np.r_[old.alias, plan_alias.alias + nn])
    search_camp = np.full((len(world.brand_names), end), -1, np.int32)
    keep = min(p.days, end)
    search_camp[:, :keep] = world.search_camp[:, :keep]
    search_camp[b, start:end] = nc + _SEARCH
    k = len(PAID)
    return dataclasses.replace(
        world, params=q, dates=dates, day_factor=factor, purchase_boost=boost,
        camp_ids=[*world.camp_ids, *(f"{world.brand_names[b].lower()}-plan-{c.replace('_', '-')}" for c in PAID)],
        camp_brand=np.r_[world.camp_brand, np.full(k, b)].astype(np.int32),
        camp_channel=np.r_[world.camp_channel, [CHANNELS.index(c) for c in PAID]].astype(np.int8),
        camp_start=np.r_[world.camp_start, np.full(k, start)].astype(np.int32),
        camp_end=np.r_[world.camp_end, np.full(k, end - 1)].astype(np.int32),
        camp_intensity=np.r_[world.camp_intensity, np.zeros(k)],
        camp_cpm=np.r_[world.camp_cpm, [p.channels[c].cpm for c in PAID]],
        camp_budget=np.r_[world.camp_budget, np.zeros(k)],
        camp_creators=[*world.camp_creators, *([] for _ in PAID)],
        note_ids=[*world.note_ids, *(f"plan-n{i + 1}" for i in range(len(chan)))],
        note_brand=np.r_[world.note_brand, np.full(len(chan), b)].astype(np.int32),
        note_channel=np.r_[world.note_channel, chan].astype(np.int8),
        note_campaign=np.r_[world.note_campaign, camp].astype(np.int32),
        note_creator=np.r_[world.note_creator, creator].astype(np.int32),
        note_format=np.r_[world.note_format, fmt].astype(np.int8),
        note_spu=np.r_[world.note_spu, spu].astype(np.int32),
        note_effect=np.vstack([world.note_effect, effect]),
        note_alias=alias, search_camp=search_camp,
    )


# --- pairs and searches as tables --------------------------------------------------------------


def _take_pairs(pairs: Pairs, idx: np.ndarray) -> Pairs:
    """Pairs ``idx`` (``start`` is left for the caller)."""
    out = {f.name: getattr(pairs, f.name) for f in dataclasses.fields(pairs)}
    for name, value in out.items():
        if name not in ("base", "start"):
            out[name] = value[idx]
    return Pairs(**out)


def _concat_pairs(a: Pairs, b: Pairs) -> Pairs:
    out = {}
    for f in dataclasses.fields(a):
        x, y = getattr(a, f.name), getattr(b, f.name)
        out[f.name] = x if f.name in ("base", "start") else np.concatenate([x, y])
    return Pairs(**out)


def _take_searches(searches: Searches, idx: np.ndarray, n_pairs: int) -> Searches:
    """Searches of pairs ``idx`` (sorted), re-indexed to positions in ``idx``."""
    remap = np.full(n_pairs, -1, np.int64)
    remap[idx] = np.arange(len(idx))
    ok = remap[searches.ap] >= 0
    out = {f.name: getattr(searches, f.name)[ok] for f in dataclasses.fields(searches)}
    out["ap"] = remap[out["ap"]].astype(np.int32)
    return Searches(**out)


def _concat_searches(a: Searches, b: Searches, offset: int) -> Searches:
    out = {f.name: np.concatenate([getattr(a, f.name), getattr(b, f.name)]) for f in dataclasses.fields(a)}
    out["ap"] = np.r_[a.ap, b.ap + offset].astype(np.int32)
    return Searches(**out)


def _simplex(n: int, steps: int) -> list[np.ndarray]:
    """All splits of ``steps`` units among ``n`` parts, as shares (each sums to 1)."""
    if n == 1:
        return [np.ones(1)]
    rows = []

    def rec(prefix, left, k):
        if k == 1:
            rows.append(np.asarray([*prefix, left], float) / steps)
            return
        for i in range(left + 1):
            rec([*prefix, i], left - i, k - 1)

    rec([], steps, n)
    return rows
