"""``aips curves``, ``aips forecast`` and ``aips plan`` (issue 17): the planner's faces.

Each prints a table (default), CSV or JSON; JSON of ``forecast`` and ``plan`` is one object.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from aips.cli.common import (
    ConfigOpt,
    FormatOpt,
    Lang,
    LangOpt,
    OutputFormat,
    StoreOpt,
    emit,
    open_ws,
    print_json,
)
from aips.config.labels import note_text, t

BrandReq = Annotated[str, typer.Option("--brand", help="The brand to plan for.")]
HorizonOpt = Annotated[int, typer.Option("--horizon", help="Days ahead.")]


def _headers(rows: list[dict], lang: str) -> dict[str, str]:
    return {k: t(f"plan.m.{k}", lang) for k in (rows[0] if rows else {})}


def _pairs(split: dict, other: dict | None = None) -> list[dict]:
    return [{"channel": c, "recommended": v, **({"last_split": other.get(c, 0.0)} if other else {})}
            for c, v in split.items()]


def _amounts(spec: list[str] | None, flag: str) -> dict[str, float]:
    from aips.exceptions import ConfigError

    out = {}
    for item in spec or []:
        name, _, amount = item.partition("=")
        try:
            out[name.strip()] = float(amount)
        except ValueError:
            raise ConfigError(f"{flag} {item!r}: expected channel=amount, e.g. {flag} kol_note=100000") from None
    return out


def curves_command(
    brand: BrandReq,
    plot: Annotated[Path | None, typer.Option(
        "--plot", metavar="FILE.html",
        help="Also draw the curves (a panel per transition, 90 % bands) to this self-contained HTML file.")] = None,
    store: StoreOpt = None, config: ConfigOpt = None,
    fmt: FormatOpt = OutputFormat.table, lang: LangOpt = Lang.en,
) -> None:
    """Response curves per channel and transition (A->I, I->TI, TI->P) of a brand."""
    from aips.planner.plan import fit_curves

    with open_ws(store, config, read_only=True) as ws:
        cv = fit_curves(ws.view, brand)
    rows = cv.table()
    emit(rows, fmt, title=t("plan.curves.title", lang.value, brand=brand), lang=lang.value,
         headers=_headers(rows, lang.value))
    if plot is not None:
        from aips.io import atomic_write_text
        from aips.reporting.charts_plan import curves_chart

        fig = curves_chart(cv.grid(), brand, lang.value)
        atomic_write_text(plot, fig.to_html(include_plotlyjs=True, full_html=True))
        typer.echo(t("plan.curves.wrote", lang.value, path=plot), err=True)


def forecast_command(
    brand: BrandReq,
    date_from: Annotated[str | None, typer.Option("--from", help="Start day (default: the last day of data).")] = None,
    horizon: HorizonOpt = 30,
    backtest: Annotated[bool, typer.Option("--backtest", help="Forecast from a past day with the spend that ran; compare with what happened.")] = False,
    store: StoreOpt = None, config: ConfigOpt = None, fmt: FormatOpt = OutputFormat.table, lang: LangOpt = Lang.en,
) -> None:
    """Forecast the TI crowd on the last day and purchases over the horizon (90 % intervals)."""
    from aips.planner.plan import forecast

    with open_ws(store, config, read_only=True) as ws:
        res = forecast(ws.view, brand, date_from, horizon, backtest=backtest)
    if fmt == OutputFormat.json:
        print_json(res)
        return
    rows = []
    for key in ("TI", "purchases"):
        row = {"measure": t(f"plan.m.{key}", lang.value), "forecast": res[key],
               "low": res[f"{key}_low"], "high": res[f"{key}_high"]}
        if backtest:
            row.update(actual=res["actual"][key], error=res["error"][key], inside=res["inside"][key])
        rows.append(row)
    title = "plan.backtest.title" if backtest else "plan.forecast.title"
    emit(rows, fmt, title=t(title, lang.value, brand=brand, day=res["from"], horizon=horizon), lang=lang.value,
         headers=_headers(rows, lang.value))


def plan_command(
    brand: BrandReq,
    budget: Annotated[float, typer.Option("--budget", help="Total CNY over the horizon.")],
    horizon: HorizonOpt = 30,
    goal: Annotated[str, typer.Option("--goal", help="TI, purchases or revenue.")] = "purchases",
    low: Annotated[list[str] | None, typer.Option("--min", help="channel=amount: spend at least this; repeatable.")] = None,
    high: Annotated[list[str] | None, typer.Option("--max", help="channel=amount: spend at most this; repeatable.")] = None,
    creators: Annotated[bool, typer.Option("--creators", help="Also which KOL/KOC creators to book within the kol_note/koc_note shares (needs the creators table).")] = False,
    store: StoreOpt = None, config: ConfigOpt = None, fmt: FormatOpt = OutputFormat.table, lang: LangOpt = Lang.en,
) -> None:
    """Split a budget across channels to maximise a goal; compare with the last period's split."""
    from aips.exceptions import ConfigError
    from aips.planner.plan import plan

    if creators and fmt == OutputFormat.csv:
        raise ConfigError("--creators prints a second table: use --format table or json (key \"creators\")")
    with open_ws(store, config, read_only=True) as ws:
        res = plan(ws.view, brand, budget, horizon, goal, _amounts(low, "--min"), _amounts(high, "--max"),
                   creators=creators)
    if fmt == OutputFormat.json:
        print_json(res)
        return
    rows = _pairs(res["split"], res["last_split"])
    for key in ("TI", "purchases", *(("revenue",) if goal == "revenue" else ())):
        e, p = res["expected"], res["last_expected"]
        rows.append({"channel": t(f"plan.m.{key}", lang.value),
                     "recommended": f"{e[key]:,.1f} [{e[key + '_low']:,.1f}, {e[key + '_high']:,.1f}]",
                     "last_split": f"{p[key]:,.1f} [{p[key + '_low']:,.1f}, {p[key + '_high']:,.1f}]"})
    emit(rows, fmt, title=t("plan.plan.title", lang.value, brand=brand, budget=f"{budget:,.0f}", horizon=horizon,
                            goal=t(f"plan.m.{goal}", lang.value)), lang=lang.value, headers=_headers(rows, lang.value))
    if creators:
        booked = res["creators"]
        emit(booked, fmt, title=t("plan.creators.title", lang.value, brand=brand), lang=lang.value,
             headers=_headers(booked, lang.value))
        for note in res["creator_notes"]:
            typer.echo(t("cli.note", lang.value, note=note_text(note, lang.value)))
