"""The interactive dashboard (``aips serve``): the report's charts with pickers and drill-down.

Brand, period and level (brand or SPU) pickers drive the same sections and charts as the
HTML report (:mod:`aips.reporting.sections`, :mod:`aips.reporting.charts`). The headline
cards, stages, trend and flows come first; the slower sections (decision cycles, ROI,
attribution, creators, diagnosis, portrait, content) load after them, each behind a
spinner. Clicking a stage bar or a Sankey link shows that audience below the charts (its
size and the first ids, SHA-256 hashed) with a button that downloads it as CSV.

Dash is imported only through :mod:`aips._compat.dash`.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd

from aips.config.model import STAGE_ORDER
from aips.reporting import charts
from aips.reporting.html import card_views
from aips.reporting.labels import LANGS, fmt_count, fmt_pct, stage_label, t

SLOW = ("cycles", "roi", "attribution", "creators", "diagnosis", "audiences", "portrait", "content")

CSS = """
body { margin: 0; font-family: 'Noto Sans CJK SC','Noto Sans SC','PingFang SC','Microsoft YaHei',
  'Helvetica Neue',Arial,sans-serif; color: #23262B; background: #FAFBFC; }
.wrap { max-width: 1280px; margin: 0 auto; padding: 16px 24px 40px; }
.top { display: flex; flex-wrap: wrap; gap: 16px; align-items: flex-end; border-bottom: 3px solid #E4572E;
  padding-bottom: 12px; margin-bottom: 14px; }
.top h1 { margin: 0 12px 0 0; font-size: 1.5rem; }
.ctl { display: flex; flex-direction: column; font-size: 0.8rem; color: #6A717B; min-width: 120px; }
.ctl.brand { min-width: 220px; }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(170px, 1fr)); gap: 12px; }
.card { border: 1px solid #E3E6EA; border-radius: 10px; padding: 10px 14px; background: #fff; }
.card .label { font-size: 0.8rem; color: #6A717B; }
.card .value { font-size: 1.6rem; font-weight: 700; font-variant-numeric: tabular-nums; }
.card .delta { font-size: 0.8rem; color: #6A717B; }
.panel { background: #fff; border: 1px solid #E3E6EA; border-radius: 10px; padding: 8px 14px 12px; margin: 14px 0; }
.panel h2 { font-size: 1.1rem; margin: 6px 0; }
.grid2 { display: grid; grid-template-columns: minmax(0, 1fr) minmax(0, 1fr); gap: 14px; }
.note { color: #6A717B; font-size: 0.82rem; }
table.t { border-collapse: collapse; width: 100%; font-size: 0.84rem; }
table.t th, table.t td { padding: 4px 8px; border-bottom: 1px solid #E3E6EA; text-align: left; }
table.t th { background: #F6F7F9; }
code { font-size: 0.78rem; background: #F6F7F9; padding: 1px 4px; border-radius: 4px; }
button.export { background: #E4572E; color: #fff; border: 0; border-radius: 6px; padding: 6px 14px; cursor: pointer; }
@media (max-width: 900px) { .grid2 { grid-template-columns: 1fr; } }
"""

INDEX = """<!DOCTYPE html>
<html>
<head>{%metas%}<title>{%title%}</title>{%favicon%}{%css%}<style>""" + CSS + """</style></head>
<body>{%app_entry%}<footer>{%config%}{%scripts%}{%renderer%}</footer></body>
</html>"""

PANELS = [  # (id, title key, graphs)
    ("stages", "sec.stages", ["g-stages"]),
    ("trend", "sec.trend", ["g-trend"]),
    ("flows", "sec.flows", ["g-sankey", "g-flowcmp"]),
    ("audience", "dash.audience", []),
    ("cycles", "sec.cycles", ["g-cycles"]),
    ("roi", "sec.roi", ["g-roi"]),
    ("attribution", "sec.attribution", ["g-attr-p", "g-attr-ti"]),
    ("diagnosis", "sec.diagnosis", ["g-diag"]),
    ("creators", "sec.creators", []),
    ("audiences", "sec.audiences", []),
    ("portrait", "sec.portrait", ["g-portrait"]),
    ("content", "sec.content", []),
]


def _placeholder(reason: str | None, lang: str):
    import plotly.graph_objects as go

    fig = go.Figure()
    fig.add_annotation(text=f"{t('na', lang)}: {reason or ''}", showarrow=False, x=0.5, y=0.5,
                       xref="paper", yref="paper", font={"color": "#888"})
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return charts._layout(fig, 160)


def _table(d, header: list[str], rows: list[list[Any]]):
    h = d.html
    return h.Table(className="t", children=[
        h.Thead(h.Tr([h.Th(x) for x in header])),
        h.Tbody([h.Tr([h.Td(c) for c in r]) for r in rows]),
    ])


def _cards(d, cards: list[dict], lang: str, currency: str):
    h = d.html
    out = []
    for c in card_views(cards, lang, currency):
        out.append(h.Div(className="card", **{"data-metric": c["metric"], "data-value": c["raw"],
                                              "data-previous": c["raw_prev"]}, children=[
            h.Div(c["label"], className="label"), h.Div(c["value"], className="value"),
            h.Div(f"{c['delta']} {t('cards.vs_prev', lang)}" + (f" ({c['prev']})" if c["prev"] else ""),
                  className="delta"),
        ]))
    return out


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


def create_app(store: Any = None, config: Any = None, *, password: str | None = None, token: str | None = None,
               lang: str = "en", brand: str | None = None, service=None):
    """The Dash app over a store (see the module docstring).

    Args:
        store, config: what :func:`aips.open` takes.
        password, token: required on every request when given (see :mod:`aips.dashboard.security`).
        lang: the starting language (``en`` or ``zh``).
        brand: the starting brand (default: the brand with the most events).
        service: a :class:`~aips.dashboard.service.DataService` to share (tests, notebooks).
    """
    from aips._compat.dash import load_dash
    from aips.dashboard.security import install_auth
    from aips.dashboard.service import DataService, hash_ids

    d = load_dash()
    h, dcc = d.html, d.dcc
    svc = service or DataService(store, config)
    brand_list = svc.brands()
    if not brand_list:
        from aips.exceptions import AipsError

        raise AipsError(f"the store {svc.ws.store.location} has no events yet (load data first: aips ingest FILE)")
    if brand is not None and brand not in brand_list:
        from aips.exceptions import ConfigError

        raise ConfigError(f"no events of brand {brand!r} in the store (brands: {', '.join(brand_list[:20])})")
    first, last = svc.data_range()
    period = svc.period()
    app = d.dash.Dash(__name__, title="aips dashboard", update_title=None, serve_locally=True,
                      suppress_callback_exceptions=True)
    app.index_string = INDEX
    app.aips_password, app.aips_token, app.aips_service = password, token, svc
    install_auth(app.server, password, token)

    graph_cfg = {"displaylogo": False, "responsive": True}

    def panel(pid: str, graphs: list[str]):
        body: list[Any] = [h.H2(id=f"t-{pid}")]
        if pid == "audience":
            body += [h.Div(id="aud-hint", className="note"),
                     dcc.Loading(h.Div(id="aud-body")),
                     h.Button(id="export", className="export", n_clicks=0), dcc.Download(id="download")]
        elif pid in ("creators", "audiences", "content"):
            body.append(dcc.Loading(h.Div(id=f"tbl-{pid}")))
        else:
            if pid == "diagnosis":
                body.append(dcc.Loading(h.Div(id="diag-text")))
            inner = [dcc.Loading(dcc.Graph(id=g, config=graph_cfg)) for g in graphs]
            body.append(h.Div(inner, className="grid2") if len(inner) > 1 else inner[0])
        return h.Div(body, className="panel", id=f"p-{pid}")

    app.layout = h.Div(className="wrap", children=[
        h.Div(className="top", children=[
            h.H1("AIPS"),
            h.Div([h.Label(id="l-brand"), dcc.Dropdown(id="brand", options=brand_list, value=brand or brand_list[0],
                                                       clearable=False)], className="ctl brand"),
            h.Div([h.Label(id="l-dates"), dcc.DatePickerRange(
                id="dates", min_date_allowed=first, max_date_allowed=last, start_date=period.start,
                end_date=period.end, display_format="YYYY-MM-DD")], className="ctl"),
            h.Div([h.Label(id="l-level"), dcc.RadioItems(id="level", options=["brand", "spu"], value="brand",
                                                         inline=True)], className="ctl"),
            h.Div([h.Label(id="l-lang"), dcc.RadioItems(id="lang", options=list(LANGS), value=lang, inline=True)],
                  className="ctl"),
            h.Div([h.Button(id="report-btn", className="export", n_clicks=0), dcc.Download(id="report-download")],
                  className="ctl"),
        ]),
        dcc.Loading(h.Div(id="cards", className="cards")),
        dcc.Store(id="core-done"), dcc.Store(id="selection"),
        *[panel(pid, graphs) for pid, _, graphs in PANELS],
    ])

    params = [d.Input("brand", "value"), d.Input("dates", "start_date"), d.Input("dates", "end_date"),
              d.Input("level", "value")]

    labelled = [(pid, key) for pid, key, _ in PANELS if pid != "flows"]

    @app.callback([d.Output(f"t-{pid}", "children") for pid, _ in labelled]
                  + [d.Output(x, "children") for x in ("l-brand", "l-dates", "l-level", "l-lang", "export", "aud-hint",
                                                       "report-btn")],
                  d.Input("lang", "value"))
    def _labels(lg):
        titles = [t(key, lg, category="") for _, key in labelled]
        return titles + [t("dash.brand", lg), t("dash.dates", lg), t("dash.level", lg), t("dash.lang", lg),
                         t("dash.export", lg), t("dash.click_hint", lg), t("dash.report", lg)]

    def get(name, brand, start, end, level):
        return svc.section(name, brand, start, end, level)

    @app.callback([d.Output("cards", "children"), d.Output("g-stages", "figure"), d.Output("g-trend", "figure"),
                   d.Output("g-sankey", "figure"), d.Output("g-flowcmp", "figure"), d.Output("t-flows", "children"),
                   d.Output("core-done", "data")],
                  [*params, d.Input("lang", "value")])
    def _core(brand, start, end, level, lg):
        cards, _ = get("cards", brand, start, end, level)
        stages, why_s = get("stages", brand, start, end, level)
        trend, why_t = get("trend", brand, start, end, level)
        flows, why_f = get("flows", brand, start, end, level)
        compare = flows.get("compare") if flows else None
        return (
            _cards(d, cards or [], lg, svc.ws.model.currency),
            charts.stage_bars(stages, lg) if stages else _placeholder(why_s, lg),
            charts.trend_chart(trend, lg) if trend else _placeholder(why_t, lg),
            charts.sankey_chart(flows, lg) if flows else _placeholder(why_f, lg),
            charts.flow_compare_chart(flows, brand, lg) if compare is not None and len(compare)
            else _placeholder(why_f or "no peers", lg),
            t("sec.flows", lg, t0=str(flows["t0"]), t1=str(flows["t1"])) if flows else t("sec.flows", lg, t0="t0", t1="t1"),
            f"{brand}|{start}|{end}|{level}|{dt.datetime.now().timestamp()}",
        )

    slow_in = [d.Input("core-done", "data"), d.Input("lang", "value"), d.State("brand", "value"),
               d.State("dates", "start_date"), d.State("dates", "end_date"), d.State("level", "value")]

    @app.callback([d.Output("g-cycles", "figure"), d.Output("g-roi", "figure")], slow_in)
    def _outcomes(_done, lg, brand, start, end, level):
        cycles, why_c = get("cycles", brand, start, end, level)
        roi, why_r = get("roi", brand, start, end, level)
        return (charts.cycle_chart(cycles, lg) if cycles else _placeholder(why_c, lg),
                charts.roi_chart(roi, lg) if roi else _placeholder(why_r, lg))

    @app.callback([d.Output("g-attr-p", "figure"), d.Output("g-attr-ti", "figure")], slow_in)
    def _attribution(_done, lg, brand, start, end, level):
        attr, why = get("attribution", brand, start, end, level)
        out = []
        for target in ("purchase", "TI"):
            if attr and target in attr:
                fig = charts.attribution_chart(attr[target], lg)
                fig.update_layout(title={"text": t("sec.attribution." + ("purchase" if target == "purchase" else "ti"), lg),
                                         "x": 0.01, "y": 0.98, "font": {"size": 13}})
                out.append(fig)
            else:
                out.append(_placeholder(why or "no data", lg))
        return out

    @app.callback([d.Output("diag-text", "children"), d.Output("g-diag", "figure"),
                   d.Output("tbl-creators", "children"), d.Output("tbl-audiences", "children")], slow_in)
    def _activation(_done, lg, brand, start, end, level):
        creators, why_c = get("creators", brand, start, end, level)
        diag, why_d = get("diagnosis", brand, start, end, level)
        auds, why_a = get("audiences", brand, start, end, level)
        if diag:
            focus = (diag["focus"] or "").replace("->", " → ")
            head = t("diag.leak" if diag["is_leak"] else "diag.focus", lg) + f": {focus}" if diag["focus"] else t("diag.none", lg)
            summary = (diag.get("summary") or {}).get(lg, "")
            text = h.P([h.B(head), f" — {summary}" if summary else ""])
            fig = charts.diagnosis_chart({**diag, "brand": brand}, lg)
        else:
            text, fig = h.P(f"{t('na', lg)}: {why_d}", className="note"), _placeholder(why_d, lg)
        if creators:
            rows = [[r["creator_id"], r.get("tier"), fmt_count(r.get("followers"), lg), fmt_count(r.get("target_reach"), lg),
                     fmt_pct(r.get("seeding_rate"), 1, lg), f"{r.get('expected_seeded') or 0:.1f}"]
                    for r in creators["frame"].to_dict(orient="records")]
            ctable = _table(d, [t(k, lg) for k in ("col.creator", "col.tier", "col.followers", "col.reach",
                                                   "col.seeding_rate", "col.expected")], rows)
        else:
            ctable = h.P(f"{t('na', lg)}: {why_c}", className="note")
        if auds:
            period = svc.period(start, end)
            rows = [[t(f"aud.{a['key']}", lg, stage=a.get("stage") or "", t0=str(period.t0)), fmt_count(a["size"], lg),
                     h.Code(a["command"])] for a in auds]
            atable = _table(d, [t("col.audience", lg), t("col.size", lg), t("col.command", lg)], rows)
        else:
            atable = h.P(f"{t('na', lg)}: {why_a}", className="note")
        return text, fig, ctable, atable

    @app.callback([d.Output("g-portrait", "figure"), d.Output("tbl-content", "children")], slow_in)
    def _insight(_done, lg, brand, start, end, level):
        portrait, why_p = get("portrait", brand, start, end, level)
        content, why_c = get("content", brand, start, end, level)
        fig = charts.portrait_chart(portrait, lg) if portrait else _placeholder(why_p, lg)
        if content:
            df = content["frame"]
            rows = [[stage_label(r.get("stage"), lg), str(r.get("advance", "")).replace("->", " → "), r.get("dimension"),
                     r.get("value"), fmt_count(r.get("touched"), lg), fmt_pct(r.get("rate"), 1, lg),
                     f"{r.get('lift'):.2f}" if r.get("lift") is not None else ""] for r in df.to_dict(orient="records")]
            table = _table(d, [t(k, lg) for k in ("col.stage", "col.advance", "col.dimension", "col.value",
                                                  "col.touched_users", "col.rate")] + ["Lift"], rows)
        else:
            table = h.P(f"{t('na', lg)}: {why_c}", className="note")
        return fig, table

    @app.callback(d.Output("selection", "data"),
                  [d.Input("g-stages", "clickData"), d.Input("g-sankey", "clickData"), *params])
    def _select(stages_click, sankey_click, *_):
        trigger = d.ctx.triggered_id
        if trigger not in ("g-stages", "g-sankey"):
            return None  # new pickers: clear the selection
        return parse_selection(trigger, stages_click, sankey_click)

    @app.callback(d.Output("aud-body", "children"), [d.Input("selection", "data"), d.Input("lang", "value")],
                  [d.State("brand", "value"), d.State("dates", "start_date"), d.State("dates", "end_date"),
                   d.State("level", "value")])
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
                h.P(t("dash.hashed", lg), className="note"), _table(d, header, rows)]

    @app.callback(d.Output("download", "data"), d.Input("export", "n_clicks"),
                  [d.State("selection", "data"), d.State("brand", "value"), d.State("dates", "start_date"),
                   d.State("dates", "end_date"), d.State("level", "value")], prevent_initial_call=True)
    def _export(n, sel, brand, start, end, level):
        if not n or not sel:
            return d.no_update
        ids = svc.audience(brand, start, end, level, sel)
        out = pd.DataFrame({"sha256": hash_ids(ids["user_id"])})
        if "spu" in ids:
            out["spu"] = ids["spu"]
        name = sel["stage"] if sel["kind"] == "stage" else f"{sel['from']}_to_{sel['to']}"
        return dcc.send_data_frame(out.to_csv, f"{brand}_{name}.csv".replace(" ", "_"), index=False)

    @app.callback(d.Output("report-download", "data"), d.Input("report-btn", "n_clicks"),
                  [d.State("brand", "value"), d.State("dates", "start_date"), d.State("dates", "end_date"),
                   d.State("level", "value"), d.State("lang", "value")], prevent_initial_call=True)
    def _report(n, brand, start, end, level, lg):
        from aips.reporting.html import render_report

        if not n:
            return d.no_update
        data = svc.report_data(brand, start, end, level)
        name = f"{brand}_report_{data.period.start}_{data.period.end}_{lg}.html".replace(" ", "_")
        return {"content": render_report(data, lg), "filename": name, "type": "text/html"}

    return app
