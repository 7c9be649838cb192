"""Outcomes on the workspace: funnels, decision cycles, ROI(T+x) and loyalty.

:class:`OutcomesMixin` holds the :class:`~aips.workspace.Workspace` methods; they use
``self.store``, ``self.model`` and ``self.events``. Per-event work runs in the backend
(:mod:`aips.engine.funnel`, :mod:`aips.engine.durations`); Python receives step counts, a
KM table and per-campaign sums.

>>> import aips, datetime as dt, pyarrow as pa
>>> from aips.workspace import Workspace
>>> WS = Workspace
>>> ws = WS(aips.open(":memory:").store, aips.default_model())
>>> ts = [dt.datetime(2024, 1, 1, 8), dt.datetime(2024, 1, 1, 9), dt.datetime(2024, 1, 2, 9)]
>>> _ = ws.store.write("events", pa.table({"event_id": ["1", "2", "3"], "user_id": ["u"] * 3,
...     "brand": ["b"] * 3, "event_type": ["read", "collect", "purchase"], "ts": ts,
...     "local_date": [t.date() for t in ts]}))
>>> [s["count"] for s in ws.funnel(["read", "collect", "purchase"]).steps]
[1, 1, 1]
"""

from __future__ import annotations

import datetime as dt
from functools import cached_property
from typing import Any

import ibis

from aips.exceptions import AipsError, ConfigError


def _date(value: Any, name: str) -> dt.date | None:
    if value is None or isinstance(value, dt.date):
        return value.date() if isinstance(value, dt.datetime) else value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise ConfigError(f"{name}: {value!r} is not a date (YYYY-MM-DD)") from None


def _rows(expr: ibis.Table) -> list[dict[str, Any]]:
    return expr.to_pyarrow().to_pylist()


class FunnelResult:
    """A computed funnel: step counts, breakdown, and user lists for audiences.

    Attributes:
        spec: the :class:`~aips.engine.funnel.FunnelSpec`.
        per_user: one row per counted user (unexecuted Ibis table, see
            :func:`~aips.engine.funnel.funnel_users`).
        steps: ``[{"step", "index", "count", "conversion_rate", "avg_conversion_s",
            "median_conversion_s"}, ...]`` (conversion_rate: of the first step's users).
        breakdown: ``[{"value", "steps": [counts]}, ...]`` (largest first) or None.
    """

    def __init__(self, spec, per_user: ibis.Table, breakdown: str | None):
        self.spec = spec
        self.per_user = per_user
        self.breakdown_by = breakdown

    @cached_property
    def steps(self) -> list[dict[str, Any]]:
        from aips.engine.funnel import funnel_counts

        row = _rows(funnel_counts(self.per_user, self.spec.n))[0]
        first = row["count_0"] or 0
        out = []
        for k, name in enumerate(self.spec.steps):
            count = int(row[f"count_{k}"] or 0)
            out.append(
                {
                    "step": name,
                    "index": k,
                    "count": count,
                    "conversion_rate": count / first if first else None,
                    "avg_conversion_s": row.get(f"avg_s_{k}") if k else None,
                    "median_conversion_s": row.get(f"median_s_{k}") if k else None,
                }
            )
        return out

    @cached_property
    def breakdown(self) -> list[dict[str, Any]] | None:
        from aips.engine.funnel import funnel_counts

        if self.breakdown_by is None:
            return None
        rows = _rows(funnel_counts(self.per_user, self.spec.n, by="value"))
        out = [
            {"value": r["value"], "steps": [int(r[f"count_{k}"] or 0) for k in range(self.spec.n)]}
            for r in rows
        ]
        return sorted(out, key=lambda r: (-r["steps"][0], str(r["value"])))

    def users(self, step: int | str, kind: str = "converted") -> ibis.Table:
        """``user_id`` of users who reached ``step`` (index or event type; ``converted``) or
        stopped just before it (``dropped``). Unexecuted, ready for an audience export."""
        from aips.engine.funnel import funnel_user_list

        if isinstance(step, str):
            if step not in self.spec.steps:
                raise ConfigError(f"{step!r} is not a step of this funnel ({', '.join(self.spec.steps)})")
            step = self.spec.steps.index(step)
        if not 0 <= step < self.spec.n:
            raise ConfigError(f"step index {step} out of range 0..{self.spec.n - 1}")
        return funnel_user_list(self.per_user, step, kind)

    def asdict(self) -> dict[str, Any]:
        """``{"steps": [...], "breakdown": [...] or None}`` (the CLI's JSON)."""
        steps = [
            {k: s[k] for k in ("step", "count", "avg_conversion_s", "median_conversion_s")}
            for s in self.steps
        ]
        return {"steps": steps, "breakdown": self.breakdown}

    def __str__(self) -> str:
        lines = [f"funnel ({self.spec.order}, window {self.spec.window_s} s)"]
        for s in self.steps:
            rate = "" if s["conversion_rate"] is None else f" {s['conversion_rate']:.1%}"
            lines.append(f"  {s['index']}. {s['step']}: {s['count']}{rate}")
        return "\n".join(lines)


class OutcomesMixin:
    """Workspace methods turning stages and events into outcomes."""

    # --- helpers -----------------------------------------------------------------------------

    def _categories_table(self) -> ibis.Table | None:
        return self.store.table("categories") if self.store.has("categories") else None

    def _last_day(self) -> dt.date:
        from aips.engine.durations import last_local_day

        day = last_local_day(self.events).to_pyarrow().as_py()
        if day is None:
            raise AipsError("the store has no events yet (load data first: aips ingest FILE)")
        return day

    def _configured_cycle(self, category: str | None) -> int:
        if category in self.model.categories or category is None:
            return self.model.cycle_days(category)
        cats = self._categories_table()
        if cats is not None:
            hit = _rows(cats.filter(cats.category == category).select("decision_cycle_days"))
            if hit and hit[0]["decision_cycle_days"] is not None:
                return int(hit[0]["decision_cycle_days"])
        return self.model.default_cycle_days

    def _check_types(self, types: list[str], what: str) -> None:
        known = self.model.event_types
        if self.model.taxonomy:
            for t in types:
                if t not in known:
                    raise ConfigError(f"unknown event type {t!r} in {what} (canonical: {', '.join(sorted(known))})")

    def _timelines(
        self, brand: str | None = None, category: str | None = None, users: ibis.Table | None = None
    ) -> ibis.Table:
        """Brand-level stage timelines of some pairs (the stored rollup when it is current)."""
        from aips.engine.timelines import timelines

        source = self._engine_source()[0] if hasattr(self, "_engine_source") else self.events
        if brand is not None:
            source = source.filter(source.brand == brand)
        if category is not None:
            source = source.filter(source.category == category)
        if users is not None:
            source = source.semi_join(users, source.user_id == users.user_id)
        return timelines(source, self.model, level="brand", categories=self._categories_table())

    # --- funnels -----------------------------------------------------------------------------

    def funnel(
        self,
        steps: list[str] | str,
        window: str | int | dt.timedelta = "14d",
        order: str = "ordered",
        exclude: Any = None,
        breakdown: str | None = None,
        attribution: str = "first_touch",
        start: Any = None,
        end: Any = None,
        brand: str | None = None,
    ) -> FunnelResult:
        """A funnel over event types, after PostHog's semantics (see :mod:`aips.engine.funnel`).

        Args:
            steps: event types in order (a list, or a comma-separated string).
            window: conversion window from the first step: ``"14d"``, ``"12h"``, ``"30m"``,
                ``"90s"`` or seconds.
            order: ``ordered``, ``strict`` or ``unordered``.
            exclude: exclusion steps: ``"EVENT"`` (whole funnel) or ``"EVENT:FROM-TO"``
                (0-based step indices), an :class:`~aips.engine.funnel.Exclusion`, or a list.
            breakdown: an events column (channel, category, campaign_id, ...) or a column of
                the ``users`` table.
            attribution: ``first_touch``, ``last_touch`` or ``step_N``.
            start, end: local dates (inclusive) selecting users by their first step.
            brand: only this brand's events.
        """
        from aips.engine.funnel import Exclusion, FunnelSpec, funnel_users, parse_window

        if isinstance(steps, str):
            steps = [s.strip() for s in steps.split(",") if s.strip()]
        if exclude is None:
            exclude = []
        elif isinstance(exclude, (str, Exclusion)):
            exclude = [exclude]
        exclusions = tuple(x if isinstance(x, Exclusion) else Exclusion.parse(x) for x in exclude)
        self._check_types(list(steps) + [x.event for x in exclusions], "the funnel")
        spec = FunnelSpec(
            tuple(steps), parse_window(window), order, exclusions,
            _date(start, "start"), _date(end, "end"), brand,
        )
        users = None
        if breakdown is not None and breakdown not in self.events.columns and self.store.has("users"):
            users = self.store.table("users")
        per_user = funnel_users(self.events, spec, breakdown, attribution, users)
        return FunnelResult(spec, per_user, breakdown)

    # --- decision cycles -----------------------------------------------------------------------

    def km_table(self, category: str, start: str = "first_touch", brand: str | None = None) -> ibis.Table:
        """The aggregated KM table of a category (unexecuted): ``duration, purchases, censored``."""
        from aips.engine.durations import cycle_durations, km_table

        if start not in ("first_touch", "ti"):
            raise ConfigError(f"unknown start {start!r} (first_touch or ti)")
        starts = None
        if start == "ti":
            from aips.engine.timelines import first_reached

            first = first_reached(self._timelines(category=category), "TI")
            starts = first.select("user_id", "brand", start_date=first.first_date)
        return km_table(cycle_durations(self.events, category, starts=starts, brand=brand,
                                        purchase_event=self.model.purchase_event))

    def decision_cycle(
        self,
        category: str,
        start: str = "first_touch",
        method: str = "km",
        brand: str | None = None,
        **options: Any,
    ):
        """The decision cycle of a category from Kaplan-Meier (or a mixture-cure model).

        Args:
            category: the category.
            start: ``first_touch`` (first event of the brand) or ``ti`` (first day at TI or
                above, from the stage timelines).
            method: ``km`` (:class:`~aips.analytics.decision_cycle.DecisionCycleFitter`) or
                ``cure`` (:class:`~aips.analytics.decision_cycle.CureCycleFitter`).
            brand: only this brand's pairs.
            options: passed to the fitter (``q``, ``alpha``, ``n_bootstrap``, ``base``...).

        Returns:
            The fitted fitter (``median_days_``, ``p80_days_``, ``asdict()``...).
        """
        from aips.analytics.decision_cycle import CureCycleFitter, DecisionCycleFitter

        km = self.km_table(category, start, brand).to_pandas()
        if km.empty:
            raise AipsError(f"no (user, brand) pairs in category {category!r}: check the name")
        if method == "km":
            fitter = DecisionCycleFitter(**options).fit(km)
        elif method == "cure":
            fitter = CureCycleFitter(**options).fit(km)
        else:
            raise ConfigError(f"unknown method {method!r} (km or cure)")
        fitter.context_ = {"category": category, "start": start, "brand": brand}
        return fitter

    # --- ROI -----------------------------------------------------------------------------------

    def roi(self, campaign: str, x: int | None = None, lookback_days: int | None = None, alpha: float = 0.05):
        """ROI(T+x) of a campaign, attributed and (with a holdout) incremental.

        See :mod:`aips.analytics.roi` for the definitions. ``x`` defaults to the category's
        decision cycle: configured, or ``median_days`` of the KM decision cycle when the
        model says ``cycle: estimate``. ``lookback_days`` adjusts the holdout contrast by the
        users' events in the category over that many days before T (None: no adjustment,
        the default; only use it when no paid campaign ran in those days, see
        :mod:`aips.analytics.roi`).

        Returns:
            A fitted :class:`~aips.analytics.roi.CampaignROI`.
        """
        from aips.analytics.roi import CampaignROI
        from aips.engine import durations as du

        camps = self.store.table("campaigns")
        found = _rows(camps.filter(camps.campaign_id == campaign))
        if not found:
            raise AipsError(f"no campaign {campaign!r} in the campaigns table")
        c = found[0]
        T, brand, category = c["start_date"], c["brand"], c["category"]
        if T is None or brand is None:
            raise AipsError(f"campaign {campaign!r} has no start_date or brand")
        spend = float(c["spend"] or 0.0)
        cycle, x_source = self._configured_cycle(category), "configured"
        if self.model.cycle == "estimate" and category is not None:
            est = self.decision_cycle(category, n_bootstrap=0).median_days_
            if est is not None:
                cycle, x_source = int(est), "estimated"
        if x is None:
            x = cycle
        else:
            x_source = "argument"
        x = int(x)
        if x < 0:
            raise ConfigError(f"x must be >= 0 days, got {x}")
        curve_days = max(2 * cycle, x)
        last_day = self._last_day()
        ev = self.events
        touches = du.campaign_touches(ev, campaign)
        end = T + dt.timedelta(days=curve_days)
        purchases = du.attributed_purchases(ev, touches, brand, T, end, self.model.purchase_event)
        daily = du.campaign_revenue_by_day(purchases).to_pandas()
        touched = int(touches.count().to_pyarrow().as_py())
        new_p = new_ti = None
        if touched:
            from aips.engine.timelines import first_reached

            tl = self._timelines(brand=brand, users=touches)
            win_end = T + dt.timedelta(days=x)
            new_ti = du.first_reached_in_window(first_reached(tl, "TI"), touches, brand, T, win_end)
            new_p = du.first_reached_in_window(first_reached(tl, "P"), touches, brand, T, win_end)
            new_ti, new_p = (int(v.to_pyarrow().as_py()) for v in (new_ti, new_p))
        groups, overlapping = None, []
        if self.store.has("users") and "holdout" in self.store.table("users").columns:
            users = self.store.table("users")
            win_end = T + dt.timedelta(days=x)
            population = du.holdout_population(ev, users, category, T, lookback_days)
            groups = du.holdout_groups(ev, population, brand, T, win_end,
                                       self.model.purchase_event).to_pandas()
            other = camps.filter(
                (camps.brand == brand) & (camps.campaign_id != campaign) & (camps.spend.fill_null(0) > 0)
                & (camps.start_date <= win_end) & (camps.end_date >= T)
            )
            overlapping = sorted(r["campaign_id"] for r in _rows(other.select("campaign_id")))
        info = {
            "campaign": campaign, "brand": brand, "category": category,
            "T": T.isoformat(), "x_source": x_source, "cycle_days": cycle,
            "data_end": last_day.isoformat(),
            "complete": T + dt.timedelta(days=x) <= last_day,
        }
        result = CampaignROI(x, curve_days=curve_days, alpha=alpha).fit(
            daily, spend=spend, touched_users=touched, new_p=new_p, new_ti=new_ti,
            holdout_groups=groups, info=info,
        )
        if result.incremental_ is not None:
            result.incremental_["covariate"] = (
                f"events in {category} in the {lookback_days} days before T" if lookback_days else None
            )
            result.incremental_["overlapping_campaigns"] = overlapping
        return result

    # --- loyalty -------------------------------------------------------------------------------

    def loyalty(
        self,
        t0: Any = None,
        t1: Any = None,
        x: int | None = None,
        brand: str | None = None,
        ti: bool = True,
    ) -> ibis.Table:
        """Repurchase, P-crowd retention and TI -> P conversion per brand (unexecuted).

        Args:
            t0, t1: local dates (default: t1 the last day in the store, t0 = t1 - 30 days).
            x: days for TI -> P (default: the cycle of each brand's main category).
            brand: only this brand.
            ti: include TI -> P (needs the stage timelines).

        See :mod:`aips.analytics.loyalty` for the definitions.
        """
        from aips.analytics.loyalty import loyalty_table

        t1 = _date(t1, "t1") or self._last_day()
        t0 = _date(t0, "t0") or t1 - dt.timedelta(days=30)
        if t0 >= t1:
            raise ConfigError(f"t0 ({t0}) must be before t1 ({t1})")
        ev = self.events if brand is None else self.events.filter(self.events.brand == brand)
        timeline = self._timelines(brand=brand) if ti else None
        return loyalty_table(
            ev, self.model, t0, t1, timeline=timeline, x=x, categories=self._categories_table()
        )
