"""The report's data, collected from the workspace's Python API.

:func:`collect` runs the section functions of :mod:`aips.reporting.sections`,
:mod:`aips.reporting.sections_activation` and :mod:`aips.reporting.sections_plan` (one per
section; with this module the only code of the report and the dashboard that calls the
API) and records why a section is missing
in :attr:`ReportData.omitted`: no data, or the error a section raised. A report never
fails because one part cannot be shown; the methods footnote lists what was left out.

The sections read a caching workspace on the same store (:meth:`Workspace.cached
<aips.workspace.Workspace.cached>`), so that the many sections that need the same
snapshot or timelines compute them once.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aips.exceptions import ConfigError
from aips.reporting import sections as _sections
from aips.reporting import sections_activation as _sections_activation
from aips.reporting import sections_plan as _sections_plan
from aips.reporting.period import DEFAULT_DAYS, Period, data_range, resolve_period
from aips.reporting.sections import SECTIONS, Context

# --- the result ------------------------------------------------------------------------------


@dataclass
class ReportData:
    """A brand report's data: ``sections[name]``, or ``omitted[name]`` saying why not."""

    brand: str
    period: Period
    level: str
    langs: tuple[str, ...]
    category: str | None = None
    sections: dict[str, Any] = field(default_factory=dict)
    omitted: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)

    def has(self, name: str) -> bool:
        return self.sections.get(name) is not None

    def card_values(self) -> dict[str, float | None]:
        """``{metric: value}`` of the headline cards (what their ``data-value`` carries)."""
        return {c["metric"]: c["value"] for c in (self.sections.get("cards") or [])}


def collect(
    ws,
    brand: str,
    start: Any = None,
    end: Any = None,
    *,
    level: str = "brand",
    langs: tuple[str, ...] | list[str] = ("en",),
    sections: tuple[str, ...] | list[str] | None = None,
    progress: Callable[[str, int, int], None] | None = None,
    cache: bool = True,
    days: int = DEFAULT_DAYS,
) -> ReportData:
    """Collect the sections of a brand report.

    Args:
        ws: a workspace (``aips.open(...)``).
        brand: the brand.
        start, end: the period, local dates (default: the last ``days`` days with data).
        level: ``brand`` or ``spu`` for the crowd-asset sections (stages, trend, flows).
        langs: languages whose texts (diagnosis, playbook) to collect.
        sections: a subset of :data:`~aips.reporting.sections.SECTIONS` (default: all).
        progress: called as ``progress(section, done, total)`` before each section.
        cache: materialise timelines and snapshots once (faster; on by default).

    Returns:
        A :class:`ReportData`.
    """
    api = ws.cached() if cache else ws
    period = resolve_period(api, start, end, days=days)
    check_brand(api, brand)
    if level not in ("brand", "spu"):
        raise ConfigError(f"unknown level {level!r} (brand or spu)")
    ctx = Context(api, brand, period, level=level, langs=tuple(langs))
    return assemble(ctx, sections=sections, progress=progress)


def assemble(
    ctx: Context,
    *,
    sections: tuple[str, ...] | list[str] | None = None,
    progress: Callable[[str, int, int], None] | None = None,
    run: Callable[[Context, str, dict], Any] | None = None,
) -> ReportData:
    """Run the sections of a :class:`~aips.reporting.sections.Context` into a :class:`ReportData`.

    ``run(ctx, name, omitted)`` computes one section (default :func:`run_section`; the
    dashboard passes its cached version).
    """
    started = time.perf_counter()
    run = run or run_section
    names = [s for s in SECTIONS if sections is None or s in sections]
    data = ReportData(brand=ctx.brand, period=ctx.period, level=ctx.level, langs=tuple(ctx.langs))
    for i, name in enumerate(names):
        if progress is not None:
            progress(name, i, len(names))
        t = time.perf_counter()
        value = run(ctx, name, data.omitted)
        data.seconds[name] = round(time.perf_counter() - t, 2)
        if value is not None:
            data.sections[name] = value
    data.category = ctx.memo.get("category")
    data.notes.extend(ctx.notes)
    data.seconds["total"] = round(time.perf_counter() - started, 2)
    ws = ctx.ws
    data.meta.update(store=str(getattr(ws.store, "location", "")),
                     generated_at=dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"),
                     timezone=ws.model.timezone, currency=ws.model.currency)
    if progress is not None:
        progress("done", len(names), len(names))
    return data


def run_section(ctx: Context, name: str, omitted: dict[str, str] | None = None) -> Any:
    """One section's data, or None with the reason in ``omitted[name]``."""
    omitted = {} if omitted is None else omitted
    try:
        value = section_function(name)(ctx)
    except Exception as err:  # noqa: BLE001 - a section must never break the report
        omitted[name] = f"{type(err).__name__}: {_first_line(err)}"
        return None
    if value is None:
        omitted[name] = "no data"
    return value


def section_function(name: str) -> Callable[[Context], Any]:
    """The function computing section ``name`` (looked up at call time)."""
    for module in (_sections, _sections_activation, _sections_plan):
        func = getattr(module, f"section_{name}", None)
        if func is not None:
            return func
    raise ConfigError(f"unknown report section {name!r} (one of {', '.join(SECTIONS)})")


def _first_line(err: Exception) -> str:
    lines = str(err).strip().splitlines()
    return lines[0][:300] if lines else ""


def _rows(expr) -> list[dict]:
    return expr.to_pyarrow().to_pylist()


def check_brand(ws, brand: str) -> None:
    """A :class:`~aips.exceptions.ConfigError` naming the known brands when ``brand`` has no events."""
    ev = ws.events
    if not _rows(ev.filter(ev.brand == brand).select("brand").limit(1)):
        known = brands(ws)
        shown = ", ".join(known[:20]) + (" ..." if len(known) > 20 else "")
        raise ConfigError(f"no events of brand {brand!r} in the store (brands: {shown or 'none'})")


def brands(ws) -> list[str]:
    """Brands in the store, most events first."""
    if not ws.store.has("events"):
        return []
    ev = ws.events
    rows = _rows(ev.group_by("brand").aggregate(n=ev.count()))
    return [r["brand"] for r in sorted(rows, key=lambda r: (-r["n"], str(r["brand"])))]


__all__ = [
    "Context", "Period", "ReportData", "SECTIONS", "assemble",
    "brands", "check_brand", "collect", "data_range", "resolve_period", "run_section",
]
