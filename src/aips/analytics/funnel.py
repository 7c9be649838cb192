"""Funnels over event types, from a view: :func:`funnel` and its :class:`FunnelResult`.

Per-event work runs in the backend (:mod:`aips.engine.funnel`); Python receives the step
counts only.

>>> import aips, datetime as dt, pyarrow as pa
>>> from aips.view import View
>>> view = View(aips.open(":memory:").store, aips.default_model())
>>> ts = [dt.datetime(2024, 1, 1, 8), dt.datetime(2024, 1, 1, 9), dt.datetime(2024, 1, 2, 9)]
>>> _ = view.store.write("events", pa.table({"event_id": ["1", "2", "3"], "user_id": ["u"] * 3,
...     "brand": ["b"] * 3, "event_type": ["read", "collect", "purchase"], "ts": ts,
...     "local_date": [t.date() for t in ts]}))
>>> [s["count"] for s in funnel(view, ["read", "collect", "purchase"]).steps]
[1, 1, 1]
"""

from __future__ import annotations

import datetime as dt
from functools import cached_property
from typing import Any

import ibis

from aips.dates import as_date
from aips.exceptions import ConfigError
from aips.view import View


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


def check_event_types(view: View, types: list[str], what: str) -> None:
    """A :class:`~aips.exceptions.ConfigError` for an event type the model's taxonomy lacks."""
    known = view.model.event_types
    if view.model.taxonomy:
        for t in types:
            if t not in known:
                raise ConfigError(f"unknown event type {t!r} in {what} (canonical: {', '.join(sorted(known))})")


def funnel(
    view: View,
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
        view: the store as the model reads it.
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
    check_event_types(view, list(steps) + [x.event for x in exclusions], "the funnel")
    spec = FunnelSpec(
        tuple(steps), parse_window(window), order, exclusions,
        None if start is None else as_date(start, "start"),
        None if end is None else as_date(end, "end"), brand,
    )
    events = view.events
    users = None
    if breakdown is not None and breakdown not in events.columns:
        users = view.optional("users")
    per_user = funnel_users(events, spec, breakdown, attribution, users)
    return FunnelResult(spec, per_user, breakdown)
