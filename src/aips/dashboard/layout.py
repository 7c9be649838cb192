"""The dashboard's page: its style, the pickers and panels, and the pieces callbacks fill in.

Used by :func:`aips.dashboard.app.create_app` (the layout) and
:mod:`aips.dashboard.callbacks` (cards, tables and placeholders). ``d`` is the Dash
namespace of :func:`aips._compat.dash.load_dash`.
"""

from __future__ import annotations

from typing import Any

from aips.reporting import charts
from aips.reporting.html import card_views
from aips.reporting.labels import LANGS, t

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
.nav { font-size: 0.85rem; margin-bottom: 6px; }
.nav a { color: #E4572E; font-weight: 600; text-decoration: none; }
@media (max-width: 900px) { .grid2 { grid-template-columns: 1fr; } }
"""

INDEX = """<!DOCTYPE html>
<html>
<head>{%metas%}<title>{%title%}</title>{%favicon%}{%css%}<style>""" + CSS + """</style></head>
<body>{%app_entry%}<footer>{%config%}{%scripts%}{%renderer%}</footer></body>
</html>"""

GRAPH_CONFIG = {"displaylogo": False, "responsive": True}

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


def level_options(lang: str) -> list[dict[str, str]]:
    """The level picker's options (brand or SPU), labelled in ``lang``."""
    return [{"label": t(f"dash.level.{v}", lang), "value": v} for v in ("brand", "spu")]


def placeholder(reason: str | None, lang: str):
    """An empty figure saying why a chart is not available."""
    import plotly.graph_objects as go

    fig = go.Figure()
    fig.add_annotation(text=f"{t('na', lang)}: {reason or ''}", showarrow=False, x=0.5, y=0.5,
                       xref="paper", yref="paper", font={"color": "#888"})
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return charts._layout(fig, 160)


def table(d, header: list[str], rows: list[list[Any]]):
    """A plain HTML table."""
    h = d.html
    return h.Table(className="t", children=[
        h.Thead(h.Tr([h.Th(x) for x in header])),
        h.Tbody([h.Tr([h.Td(c) for c in r]) for r in rows]),
    ])


def cards(d, cards: list[dict], lang: str, currency: str):
    """The headline cards (the report's card views), with their raw values as data attributes."""
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


def _panel(d, pid: str, graphs: list[str]):
    h, dcc = d.html, d.dcc
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
        inner = [dcc.Loading(dcc.Graph(id=g, config=GRAPH_CONFIG)) for g in graphs]
        body.append(h.Div(inner, className="grid2") if len(inner) > 1 else inner[0])
    return h.Div(body, className="panel", id=f"p-{pid}")


def build_layout(d, brands: list[str], brand: str | None, first: Any, last: Any, period: Any, lang: str):
    """The page: the pickers (brand, period, level, language, report download), the cards, the
    panels; and the planner page (:mod:`aips.dashboard.planner_page`), shown at ``#planner``."""
    from aips.dashboard.planner_page import nav, planner_layout

    h, dcc = d.html, d.dcc
    return h.Div(className="wrap", children=[dcc.Location(id="url"), nav(d), h.Div(id="report-page", children=[
        h.Div(className="top", children=[
            h.H1("AIPS"),
            h.Div([h.Label(id="l-brand"), dcc.Dropdown(id="brand", options=brands, value=brand or brands[0],
                                                       clearable=False)], className="ctl brand"),
            h.Div([h.Label(id="l-dates"), dcc.DatePickerRange(
                id="dates", min_date_allowed=first, max_date_allowed=last, start_date=period.start,
                end_date=period.end, display_format="YYYY-MM-DD")], className="ctl"),
            h.Div([h.Label(id="l-level"), dcc.RadioItems(id="level", options=level_options(lang), value="brand",
                                                         inline=True)], className="ctl"),
            h.Div([h.Label(id="l-lang"), dcc.RadioItems(id="lang", options=list(LANGS), value=lang, inline=True)],
                  className="ctl"),
            h.Div([h.Button(id="report-btn", className="export", n_clicks=0), dcc.Download(id="report-download")],
                  className="ctl"),
        ]),
        dcc.Loading(h.Div(id="cards", className="cards")),
        dcc.Store(id="core-done"), dcc.Store(id="selection"),
        *[_panel(d, pid, graphs) for pid, _, graphs in PANELS],
    ]), planner_layout(d, brands, brand, GRAPH_CONFIG)])
