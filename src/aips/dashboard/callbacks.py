"""The dashboard's callbacks, one ``register_*`` function per group (see :func:`aips.dashboard.app.create_app`).

Each group reads its sections through the :class:`~aips.dashboard.service.DataService`
``svc``; ``d`` is the Dash namespace of :func:`aips._compat.dash.load_dash`.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd

from aips.config.model import STAGE_ORDER
from aips.dashboard.layout import PANELS, cards, level_options, placeholder, table
from aips.dashboard.planner_page import PAGE, register_planner
from aips.io import csv_safe
from aips.reporting import charts
from aips.reporting.html import audience_rows, content_rows, creator_rows
from aips.reporting.labels import fmt_count, stage_label, t

_PICKERS = (("brand", "value"), ("dates", "start_date"), ("dates", "end_date"), ("level", "value"))


def parse_selection(trigger: str | None, stages_click: dict | None, sankey_click: dict | None) -> dict | None:
    """A drill-down selection from a stage bar or a Sankey link click (``None`` otherwise).

    Dash keeps only scalar fields of a Sankey point, so a link is read from its label.

    >>> parse_selection("g-sankey", None, {"points": [{"label": "flow:I:TI", "pointNumber": 3}]})
    {'kind': 'flow', 'from': 'I', 'to': 'TI'}
    >>> parse_selection("g-stages", {"points": [{"customdata": "TI"}]}, None)
    {'kind': 'stage', 'stage': 'TI'}
    """
    if trigger == "g-stages" and stages_click:
        point = (stages_click.get("points") or [{}])[0]
        stage = point.get("customdata")
        if isinstance(stage, list):
            stage = stage[0] if stage else None
        if stage in STAGE_ORDER:
            return {"kind": "stage", "stage": stage}
    if trigger == "g-sankey" and sankey_click:
        point = (sankey_click.get("points") or [{}])[0]
        label = point.get("label")
        if isinstance(label, str) and label.startswith("flow:") and label.count(":") == 2:
            _, a, b = label.split(":")
            return {"kind": "flow", "from": a, "to": b}
        cd = point.get("customdata")
        if isinstance(cd, list) and len(cd) >= 2:
            return {"kind": "flow", "from": cd[0], "to": cd[1]}
    return None


def register_all(app, d, svc) -> None:
    """Every callback of the dashboard."""
    register_labels(app, d)
    register_core(app, d, svc)
    register_slow(app, d, svc)
    register_drilldown(app, d, svc)
    register_report(app, d, svc)
    register_planner(app, d, svc)


def register_labels(app, d) -> None:
    """Panel titles, picker labels and buttons follow the language picker."""
    labelled = [(pid, key) for pid, key, _ in PANELS if pid != "flows"]

    @app.callback([d.Output(f"t-{pid}", "children") for pid, _ in labelled]
                  + [d.Output(x, "children") for x in ("l-brand", "l-dates", "l-level", "l-lang", "export", "aud-hint",
                                                       "report-btn")] + [d.Output("level", "options")],
                  d.Input("lang", "value"))
    def _labels(lg):
        titles = [t(key, lg, category="") for _, key in labelled]
        return titles + [t("dash.brand", lg), t("dash.dates", lg), t("dash.level", lg), t("dash.lang", lg),
                         t("dash.export", lg), t("dash.click_hint", lg), t("dash.report", lg), level_options(lg)]


def register_core(app, d, svc) -> None:
    """The cards, stages, trend and flows; when done, ``core-done`` starts the slow sections
    (none of them while the planner page is shown)."""

    @app.callback([d.Output("cards", "children"), d.Output("g-stages", "figure"), d.Output("g-trend", "figure"),
                   d.Output("g-sankey", "figure"), d.Output("g-flowcmp", "figure"), d.Output("t-flows", "children"),
                   d.Output("core-done", "data")],
                  [*(d.Input(*p) for p in _PICKERS), d.Input("lang", "value"), d.Input("url", "hash")])
    def _core(brand, start, end, level, lg, fragment):
        if fragment == PAGE:  # the planner page is shown: leave the store to it (the report's turn comes on return)
            return (d.no_update,) * 7
        card_list, _ = svc.section("cards", brand, start, end, level)
        stages, why_s = svc.section("stages", brand, start, end, level)
        trend, why_t = svc.section("trend", brand, start, end, level)
        flows, why_f = svc.section("flows", brand, start, end, level)
        compare = flows.get("compare") if flows else None
        return (
            cards(d, card_list or [], lg, svc.ws.model.currency),
            charts.stage_bars(stages, lg) if stages else placeholder(why_s, lg),
            charts.trend_chart(trend, lg) if trend else placeholder(why_t, lg),
            charts.sankey_chart(flows, lg) if flows else placeholder(why_f, lg),
            charts.flow_compare_chart(flows, brand, lg) if compare is not None and len(compare)
            else placeholder(why_f or t("dash.no_peers", lg), lg),
            t("sec.flows", lg, t0=str(flows["t0"]), t1=str(flows["t1"])) if flows else t("sec.flows", lg, t0="t0", t1="t1"),
            f"{brand}|{start}|{end}|{level}|{dt.datetime.now().timestamp()}",
        )


def register_slow(app, d, svc) -> None:
    """The slower sections, after the core ones: outcomes, attribution, activation, insight."""
    slow_in = [d.Input("core-done", "data"), d.Input("lang", "value"), *(d.State(*p) for p in _PICKERS)]

    @app.callback([d.Output("g-cycles", "figure"), d.Output("g-roi", "figure")], slow_in)
    def _outcomes(_done, lg, brand, start, end, level):
        cycles, why_c = svc.section("cycles", brand, start, end, level)
        roi, why_r = svc.section("roi", brand, start, end, level)
        return (charts.cycle_chart(cycles, lg) if cycles else placeholder(why_c, lg),
                charts.roi_chart(roi, lg) if roi else placeholder(why_r, lg))

    @app.callback([d.Output("g-attr-p", "figure"), d.Output("g-attr-ti", "figure")], slow_in)
    def _attribution(_done, lg, brand, start, end, level):
        attr, why = svc.section("attribution", brand, start, end, level)
        return [_attribution_figure(attr, why, target, lg) for target in ("purchase", "TI")]

    @app.callback([d.Output("diag-text", "children"), d.Output("g-diag", "figure"),
                   d.Output("tbl-creators", "children"), d.Output("tbl-audiences", "children")], slow_in)
    def _activation(_done, lg, brand, start, end, level):
        creators, why_c = svc.section("creators", brand, start, end, level)
        diag, why_d = svc.section("diagnosis", brand, start, end, level)
        auds, why_a = svc.section("audiences", brand, start, end, level)
        text, fig = _diagnosis_view(d, diag, why_d, brand, lg)
        ctable = _creators_table(d, creators, lg) if creators else _na(d, why_c, lg)
        atable = _audiences_table(d, auds, svc.period(start, end), lg) if auds else _na(d, why_a, lg)
        return text, fig, ctable, atable

    @app.callback([d.Output("g-portrait", "figure"), d.Output("tbl-content", "children")], slow_in)
    def _insight(_done, lg, brand, start, end, level):
        portrait, why_p = svc.section("portrait", brand, start, end, level)
        content, why_c = svc.section("content", brand, start, end, level)
        fig = charts.portrait_chart(portrait, lg) if portrait else placeholder(why_p, lg)
        return fig, _content_table(d, content, lg) if content else _na(d, why_c, lg)


def _na(d, why: Any, lg: str):
    return d.html.P(f"{t('na', lg)}: {why}", className="note")


def _attribution_figure(attr: dict | None, why: str | None, target: str, lg: str):
    if not (attr and target in attr):
        return placeholder(why or t("dash.no_data", lg), lg)
    fig = charts.attribution_chart(attr[target], lg)
    fig.update_layout(title={"text": t("sec.attribution." + ("purchase" if target == "purchase" else "ti"), lg),
                             "x": 0.01, "y": 0.98, "font": {"size": 13}})
    return fig


def _diagnosis_view(d, diag: dict | None, why: str | None, brand: str, lg: str):
    """The diagnosis' headline text and chart."""
    h = d.html
    if not diag:
        return h.P(f"{t('na', lg)}: {why}", className="note"), placeholder(why, lg)
    focus = (diag["focus"] or "").replace("->", " → ")
    head = t("diag.leak" if diag["is_leak"] else "diag.focus", lg) + f": {focus}" if diag["focus"] else t("diag.none", lg)
    summary = (diag.get("summary") or {}).get(lg, "")
    text = h.P([h.B(head), f" — {summary}" if summary else ""])
    return text, charts.diagnosis_chart({**diag, "brand": brand}, lg)


def _creators_table(d, creators: dict, lg: str):
    rows = [[r["creator"], r["tier"], r["followers"], r["reach"], r["rate"], r["expected"]]
            for r in creator_rows(creators, lg)]
    return table(d, [t(k, lg) for k in ("col.creator", "col.tier", "col.followers", "col.reach",
                                        "col.seeding_rate", "col.expected")], rows)


def _audiences_table(d, auds: list[dict], period: Any, lg: str):
    rows = [[r["name"], r["size"], d.html.Code(r["command"])] for r in audience_rows(auds, period.t0, lg)]
    return table(d, [t("col.audience", lg), t("col.size", lg), t("col.command", lg)], rows)


def _content_table(d, content: dict, lg: str):
    rows = [[r["stage"], r["advance"], r["dimension"], r["value"], r["touched"], r["rate"], r["lift"]]
            for r in content_rows(content, lg)]
    return table(d, [t(k, lg) for k in ("col.stage", "col.advance", "col.dimension", "col.value",
                                        "col.touched_users", "col.rate", "col.lift_ratio")], rows)


def register_drilldown(app, d, svc) -> None:
    """A clicked stage bar or Sankey link selects an audience: shown (hashed ids) and exported as CSV."""
    from aips.dashboard.service import hash_ids

    h, dcc = d.html, d.dcc
    pickers = [d.State(*p) for p in _PICKERS]

    @app.callback(d.Output("selection", "data"),
                  [d.Input("g-stages", "clickData"), d.Input("g-sankey", "clickData"), *(d.Input(*p) for p in _PICKERS)])
    def _select(stages_click, sankey_click, *_):
        trigger = d.ctx.triggered_id
        if trigger not in ("g-stages", "g-sankey"):
            return None  # new pickers: clear the selection
        return parse_selection(trigger, stages_click, sankey_click)

    @app.callback(d.Output("aud-body", "children"), [d.Input("selection", "data"), d.Input("lang", "value")], pickers)
    def _audience(sel, lg, brand, start, end, level):
        if not sel:
            return h.P(t("dash.none_selected", lg), className="note")
        ids = svc.audience(brand, start, end, level, sel)
        what = (stage_label(sel["stage"], lg) if sel["kind"] == "stage"
                else f"{stage_label(sel['from'], lg)} → {stage_label(sel['to'], lg)}")
        shown = ids.head(20).copy()
        shown["user_id"] = hash_ids(shown["user_id"]).str[:16]
        header = ["sha256"] + (["spu"] if "spu" in shown else [])
        rows = shown[["user_id", *(["spu"] if "spu" in shown else [])]].to_numpy().tolist()
        return [h.P([h.B(f"{brand} · {what}: "), h.Span(t("dash.size", lg, size=fmt_count(len(ids), lg)),
                                                        id="aud-size", **{"data-value": str(len(ids))})]),
                h.P(t("dash.hashed", lg), className="note"), table(d, header, rows)]

    @app.callback(d.Output("download", "data"), d.Input("export", "n_clicks"),
                  [d.State("selection", "data"), *pickers], prevent_initial_call=True)
    def _export(n, sel, brand, start, end, level):
        if not n or not sel:
            return d.no_update
        ids = svc.audience(brand, start, end, level, sel)
        out = pd.DataFrame({"sha256": hash_ids(ids["user_id"])})
        if "spu" in ids:  # SPU names are user data: a spreadsheet must not run them as formulas
            out["spu"] = ids["spu"].map(csv_safe)
        name = sel["stage"] if sel["kind"] == "stage" else f"{sel['from']}_to_{sel['to']}"
        return dcc.send_data_frame(out.to_csv, f"{brand}_{name}.csv".replace(" ", "_"), index=False)


def register_report(app, d, svc) -> None:
    """The report button downloads the HTML report of the pickers' brand, period, level and language."""

    @app.callback(d.Output("report-download", "data"), d.Input("report-btn", "n_clicks"),
                  [*(d.State(*p) for p in _PICKERS), d.State("lang", "value")], prevent_initial_call=True)
    def _report(n, brand, start, end, level, lg):
        from aips.reporting.html import render_report

        if not n:
            return d.no_update
        data = svc.report_data(brand, start, end, level)
        name = f"{brand}_report_{data.period.start}_{data.period.end}_{lg}.html".replace(" ", "_")
        return {"content": render_report(data, lg), "filename": name, "type": "text/html"}
