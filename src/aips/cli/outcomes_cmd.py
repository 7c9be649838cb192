"""``aips funnel``, ``aips cycle``, ``aips roi`` and ``aips loyalty``.

Each prints a table (default), CSV or JSON. Funnel, cycle and ROI JSON is one object (not a
list of records): ``{"steps": [...], "breakdown": [...]}``, the decision cycle's summary with
its ``curve``, the ROI summary with ``curve`` and ``incremental``. CSV prints the main table:
funnel steps (or, with a breakdown, one row per value), the KM curve, the ROI curve, the
loyalty rows.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from aips.cli.common import (
    BrandOpt,
    ConfigOpt,
    FormatOpt,
    FromOpt,
    Lang,
    LangOpt,
    OutputFormat,
    StoreOpt,
    ToOpt,
    emit,
    open_ws,
    print_json,
)
from aips.config.labels import dimension_label, t, word

_TEXT_VALUES = {"x_source": "cli.x_source", "roi_kind": "cli.kind", "kind": "cli.kind", "start": "cli.start",
                "method": "cli.method", "contrast": "cli.contrast"}
"""Measures whose values are words aips names (translated in the table); notes are whole texts."""


def _key_values(summary: dict[str, Any], lang: str = "en") -> list[dict[str, Any]]:
    """A summary as ``measure, value`` rows (formatted for people by ``emit``); in a language
    other than English the words and notes aips writes come from the catalogue."""
    from aips.config.labels import cycle_note

    rows = []
    for key, value in summary.items():
        if lang != "en" and isinstance(value, str):
            if key in _TEXT_VALUES:
                value = word(_TEXT_VALUES[key], value, lang)
            elif key == "roi_note":
                value = t("cli.roi.note_attributed", lang)
            elif key == "note" and summary.get("kind") == "incremental":
                own = summary.get("contrast") == "campaign_holdout"
                value = t("cli.roi.note_campaign_holdout" if own else "cli.roi.note_incremental", lang)
            elif key == "note":
                value = cycle_note(value, lang)
        rows.append({"measure": key, "value": value})
    return rows


def funnel_command(
    steps: Annotated[str, typer.Option("--steps", help="Event types in order, comma-separated: read,collect,purchase.")],
    window: Annotated[str, typer.Option("--window", help="Conversion window from the first step: 14d, 12h, 30m, 90s.")] = "14d",
    order: Annotated[str, typer.Option("--order", help="ordered, strict or unordered.")] = "ordered",
    exclude: Annotated[list[str] | None, typer.Option("--exclude", help="EVENT (whole funnel) or EVENT:FROM-TO (0-based steps); repeatable.")] = None,
    breakdown: Annotated[str | None, typer.Option("--breakdown", help="An events column (channel, category, campaign_id...) or a users column.")] = None,
    attribution: Annotated[str, typer.Option("--attribution", help="Breakdown value: first_touch, last_touch or step_N.")] = "first_touch",
    date_from: FromOpt = None,
    date_to: ToOpt = None,
    brand: BrandOpt = None,
    users: Annotated[str | None, typer.Option("--users", help="Print user ids instead: STEP:converted or STEP:dropped (STEP 0-based).")] = None,
    store: StoreOpt = None,
    config: ConfigOpt = None,
    fmt: FormatOpt = OutputFormat.table,
    lang: LangOpt = Lang.en,
) -> None:
    """Funnel over event types with a conversion window (PostHog semantics).

    --from/--to bound the days of the users' first step; --brand keeps that brand's events.
    """
    from aips.exceptions import ConfigError

    with open_ws(store, config, read_only=True) as ws:
        ws.view.require(start=date_from, end=date_to, brands=brand)
        result = ws.funnel(
            steps, window=window, order=order, exclude=exclude or None, breakdown=breakdown,
            attribution=attribution, start=date_from, end=date_to, brand=brand,
        )
        if users is not None:
            step, _, kind = users.partition(":")
            if not step.isdigit():
                raise ConfigError(f"--users {users!r}: STEP:converted or STEP:dropped, STEP a 0-based index")
            emit(result.users(int(step), kind or "converted").order_by("user_id"), fmt, lang=lang)
            return
        if OutputFormat(fmt) is OutputFormat.json:
            print_json(result.asdict())
            return
        rows = [
            {k: s[k] for k in ("index", "step", "count", "conversion_rate", "avg_conversion_s", "median_conversion_s")}
            for s in result.steps
        ]
        if result.breakdown is not None:
            split = [
                {"value": b["value"], **{f"{k}_{name}": c for k, (name, c) in enumerate(zip(result.spec.steps, b["steps"], strict=True))}}
                for b in result.breakdown
            ]
            if OutputFormat(fmt) is OutputFormat.csv:
                emit(split, fmt)
                return
        title = t("cli.title.funnel", lang, order=word("cli.order", result.spec.order, lang), window=window)
        emit(rows, fmt, title=title, lang=lang)
        if result.breakdown is not None:
            emit(split, fmt, title=t("cli.title.breakdown", lang, breakdown=dimension_label(breakdown, lang),
                                     attribution=word("cli.attribution", attribution, lang)), lang=lang)


def cycle_command(
    category: Annotated[str | None, typer.Option("--category", help="The category (default, or 'none': the events without one).")] = None,
    start: Annotated[str, typer.Option("--start", help="first_touch (first event of the brand) or ti (first TI day).")] = "first_touch",
    method: Annotated[str, typer.Option("--method", help="km (Kaplan-Meier) or cure (parametric mixture-cure).")] = "km",
    brand: BrandOpt = None,
    store: StoreOpt = None,
    config: ConfigOpt = None,
    fmt: FormatOpt = OutputFormat.table,
    lang: LangOpt = Lang.en,
) -> None:
    """Decision cycle of a category: converters' time to purchase from Kaplan-Meier."""
    from aips.config.model import NO_CATEGORY

    if category is None or category.lower() == "none":
        category = NO_CATEGORY
    with open_ws(store, config, read_only=True) as ws:
        fit = ws.decision_cycle(category, start=start, method=method, brand=brand)
        out = {"category": category, "start": start, **fit.asdict()}
        curve = out.pop("curve", None)
        if OutputFormat(fmt) is OutputFormat.json:
            print_json({**out, "curve": curve})
        elif OutputFormat(fmt) is OutputFormat.csv:
            emit(curve if curve is not None else [out], fmt)
        else:
            emit(_key_values(out, lang), fmt, title=t("cli.title.cycle", lang, category=category), lang=lang)


def roi_command(
    campaign: Annotated[str, typer.Option("--campaign", help="The campaign id.")],
    x: Annotated[int | None, typer.Option("--x", help="Days after launch T (default: the category's decision cycle).")] = None,
    store: StoreOpt = None,
    config: ConfigOpt = None,
    fmt: FormatOpt = OutputFormat.table,
    lang: LangOpt = Lang.en,
) -> None:
    """ROI(T+x) of a campaign: attributed, and incremental where a holdout exists."""
    with open_ws(store, config, read_only=True) as ws:
        res = ws.roi(campaign, x=x)
        out = res.asdict()
        if OutputFormat(fmt) is OutputFormat.json:
            print_json(out)
            return
        if OutputFormat(fmt) is OutputFormat.csv:
            emit(out["curve"], fmt)
            return
        curve = out.pop("curve")
        inc = out.pop("incremental", None)
        emit(_key_values(out, lang), fmt, title=t("cli.title.roi", lang, campaign=campaign), lang=lang)
        if inc is not None:
            emit(_key_values(inc, lang), fmt, title=t("cli.title.roi_incremental", lang), lang=lang)
        else:
            typer.echo(t("cli.roi.no_holdout", lang))
        step = max(1, len(curve) // 12)
        emit(curve[::step], fmt, title=t("cli.title.roi_curve", lang), lang=lang)


def loyalty_command(
    t0: Annotated[str | None, typer.Option("--t0", help="Start of the retention interval (default t1 - 30 days).")] = None,
    t1: Annotated[str | None, typer.Option("--t1", help="Day of the measures (default: last day in the store).")] = None,
    x: Annotated[int | None, typer.Option("--x", help="Days for TI -> P (default: each brand's cycle).")] = None,
    brand: BrandOpt = None,
    store: StoreOpt = None,
    config: ConfigOpt = None,
    fmt: FormatOpt = OutputFormat.table,
    lang: LangOpt = Lang.en,
) -> None:
    """Repurchase rate, P-crowd retention and TI -> P conversion per brand."""
    with open_ws(store, config, read_only=True) as ws:
        ws.view.require(start=t0, end=t1, brands=brand, names=("t0", "t1"))
        table = ws.loyalty(t0=t0, t1=t1, x=x, brand=brand)
        emit(table.order_by("brand"), fmt, title=t("cli.title.loyalty", lang), lang=lang)
