"""The dashboard's planner page (``aips serve``, ``#planner``): move a channel's slider and
see the forecast of that split.

Pickers: brand, budget (CNY over the horizon; default the brand's spend over the last 30
days of data), horizon (days) and goal (TI, purchases, revenue). One slider per channel the
planner's curves cover, in CNY over the horizon, starting at the last period's split of the
budget; **recommend** fills them with the planner's split
(:meth:`aips.planner.plan.Planner.recommend`). Every slider move redraws the TI fan chart
and the expected TI and purchases (revenue for that goal) with their 90 % intervals, beside
the last period's split at the same total. The brand's planner is fitted once and cached by
the :class:`~aips.dashboard.service.DataService`; a slider move only re-runs the forecast
(arithmetic on the fitted curves, no backend query).

``d`` is the Dash namespace of :func:`aips._compat.dash.load_dash`.
"""

from __future__ import annotations

from typing import Any

from aips.exceptions import AipsError
from aips.reporting.charts_plan import fan_chart
from aips.reporting.labels import fmt_count, fmt_money, fmt_pct, t

PAGE = "#planner"
"""The URL fragment of the planner page (the report's panels are the page without one)."""
SLIDER = "pl-slider"
"""The ``type`` of the sliders' pattern-matching ids (``{"type": SLIDER, "channel": c}``)."""
GOALS = ("TI", "purchases", "revenue")
LABELS = (  # (component id, label key) filled in the page's language
    ("pl-l-brand", "dash.brand"), ("pl-l-budget", "dash.plan.budget"), ("pl-l-horizon", "dash.plan.horizon"),
    ("pl-l-goal", "dash.plan.goal"), ("pl-recommend", "dash.plan.recommend"), ("pl-t-split", "dash.plan.sliders"),
    ("pl-t-outcome", "plan.sec.outcome"), ("pl-t-last", "dash.plan.last"), ("pl-t-fan", "plan.sec.fan"),
    ("nav-report", "dash.nav.report"), ("nav-planner", "dash.nav.planner"),
)


def nav(d):
    """Links between the report's panels and the planner page (texts set by language)."""
    h = d.html
    return h.Div(className="nav", children=[h.A(id="nav-report", href="#"), " · ", h.A(id="nav-planner", href=PAGE)])


def planner_layout(d, brands: list[str], brand: str | None, graph_config: dict):
    """The planner page, hidden until the URL's fragment is :data:`PAGE`."""
    h, dcc = d.html, d.dcc
    return h.Div(id="planner-page", style={"display": "none"}, children=[
        h.Div(className="top", children=[
            h.Div([h.Label(id="pl-l-brand"), dcc.Dropdown(id="pl-brand", options=brands, value=brand or brands[0],
                                                          clearable=False)], className="ctl brand"),
            h.Div([h.Label(id="pl-l-budget"), dcc.Input(id="pl-budget", type="number", min=0, debounce=True)],
                  className="ctl"),
            h.Div([h.Label(id="pl-l-horizon"), dcc.Input(id="pl-horizon", type="number", min=1, max=365, value=30,
                                                         debounce=True)], className="ctl"),
            h.Div([h.Label(id="pl-l-goal"), dcc.RadioItems(id="pl-goal", value="purchases", inline=True)],
                  className="ctl"),
            h.Div([h.Button(id="pl-recommend", className="export", n_clicks=0)], className="ctl"),
        ]),
        h.P(id="pl-status", className="note"),
        h.Div(className="grid2", children=[
            h.Div(className="panel", children=[h.H2(id="pl-t-split"), dcc.Loading(h.Div(id="pl-sliders")),
                                               h.P(id="pl-total", className="note")]),
            h.Div(className="panel", children=[h.H2(id="pl-t-outcome"), h.Div(id="pl-outcome"),
                                               h.H3(id="pl-t-last"), h.Div(id="pl-last")]),
        ]),
        h.Div(className="panel", children=[h.H2(id="pl-t-fan"), dcc.Graph(id="pl-fan", config=graph_config)]),
    ])


def split_forecast(planner, split: dict[str, float], horizon: int, goal: str) -> dict:
    """What the page shows for a split (CNY per channel over ``horizon`` days): its expected
    outcome, the last period's split at the same total and its outcome, and both fans."""
    total = float(sum(split.values()))
    current = planner.last_split(total, horizon) if total > 0 else {c: 0.0 for c in planner.channels}
    return {"total": total, "current": current,
            "expected": {"sliders": planner.outcome(split, horizon, goal),
                         "current": planner.outcome(current, horizon, goal)},
            "fan": {"sliders": planner.fan(split, horizon), "current": planner.fan(current, horizon)}}


def _horizon(value: Any) -> int:
    try:
        return min(max(int(value), 1), 365)
    except (TypeError, ValueError):
        return 30


def _interval(e: dict, key: str, lang: str) -> str:
    return f"{fmt_count(e[key], lang)} [{fmt_count(e[key + '_low'], lang)}, {fmt_count(e[key + '_high'], lang)}]"


def _outcome_table(d, view: dict, goal: str, lang: str):
    h = d.html
    keys = ["TI", "purchases", *(["revenue"] if goal == "revenue" else [])]
    e = view["expected"]
    rows = [h.Tr([h.Td(t(f"plan.m.{k}", lang)),
                  h.Td(_interval(e["sliders"], k, lang), **{"data-measure": k, "data-value": repr(float(e["sliders"][k]))}),
                  h.Td(_interval(e["current"], k, lang))]) for k in keys]
    head = h.Tr([h.Th(""), h.Th(t("plan.sec.sliders", lang)), h.Th(t("plan.sec.current", lang))])
    return h.Table(className="t", id="pl-outcome-table", children=[h.Thead(head), h.Tbody(rows)])


def _last_table(d, planner, horizon: int, lang: str, currency: str):
    h = d.html
    spent = planner.last_spend(horizon)
    total = sum(spent.values())
    rows = [h.Tr([h.Td(c), h.Td(fmt_money(v, lang, currency)), h.Td(fmt_pct(v / total if total else None, 1, lang))])
            for c, v in spent.items()]
    head = h.Tr([h.Th(t("col.channel", lang)), h.Th(t("dash.plan.spent", lang, horizon=horizon)),
                 h.Th(t("dash.plan.share", lang))])
    return h.Table(className="t", children=[h.Thead(head), h.Tbody(rows)])


def register_planner(app, d, svc) -> None:
    """The planner page's callbacks: page switch, labels, budget, sliders, recommend, forecast."""
    h, dcc, ALL = d.html, d.dcc, d.ALL

    @app.callback([d.Output("report-page", "style"), d.Output("planner-page", "style")], d.Input("url", "hash"))
    def _page(fragment):
        on = fragment == PAGE
        return ({"display": "none"} if on else {}), ({} if on else {"display": "none"})

    @app.callback([d.Output(i, "children") for i, _ in LABELS] + [d.Output("pl-goal", "options")],
                  d.Input("lang", "value"))
    def _labels(lg):
        return [t(k, lg) for _, k in LABELS] + [[{"label": t(f"plan.m.{g}", lg), "value": g} for g in GOALS]]

    @app.callback([d.Output("pl-budget", "value"), d.Output("pl-status", "children")],
                  [d.Input("pl-brand", "value"), d.Input("url", "hash"), d.Input("lang", "value")])
    def _budget(brand, fragment, lg):
        if fragment != PAGE:  # fit only when the page is shown
            return d.no_update, d.no_update
        try:
            planner = svc.planner(brand)
        except AipsError as err:
            return None, t("plan.sec.error", lg, brand=brand, reason=str(err).strip().splitlines()[0][:300])
        budget = round(sum(planner.last_spend(30).values()))
        return budget, t("dash.plan.note", lg, brand=brand, day=str(planner.start))

    @app.callback([d.Output("pl-sliders", "children"), d.Output("pl-last", "children")],
                  [d.Input("pl-budget", "value"), d.Input("pl-horizon", "value"), d.Input("lang", "value")],
                  d.State("pl-brand", "value"))
    def _sliders(budget, horizon, lg, brand):
        if budget is None or float(budget) <= 0:
            return [], h.P(t("dash.plan.no_budget", lg), className="note")
        try:
            planner = svc.planner(brand, latest=True)
        except AipsError:
            return [], None
        horizon = _horizon(horizon)
        start = planner.last_split(float(budget), horizon)
        sliders = [h.Div([h.Label(c), dcc.Slider(id={"type": SLIDER, "channel": c}, min=0, max=float(budget),
                                                 value=round(start[c], 2), marks=None, updatemode="mouseup",
                                                 tooltip={"placement": "bottom"})]) for c in planner.channels]
        return sliders, _last_table(d, planner, horizon, lg, svc.model.currency)

    @app.callback(d.Output({"type": SLIDER, "channel": ALL}, "value"), d.Input("pl-recommend", "n_clicks"),
                  [d.State({"type": SLIDER, "channel": ALL}, "id"), d.State("pl-brand", "value"),
                   d.State("pl-budget", "value"), d.State("pl-horizon", "value"), d.State("pl-goal", "value")],
                  prevent_initial_call=True)
    def _recommend(n, ids, brand, budget, horizon, goal):
        if not n or not ids or budget is None or float(budget) <= 0:
            return [d.no_update] * len(ids or [])
        split = svc.planner(brand, latest=True).recommend(float(budget), _horizon(horizon), goal)
        return [round(split.get(i["channel"], 0.0), 2) for i in ids]

    @app.callback([d.Output("pl-fan", "figure"), d.Output("pl-outcome", "children"), d.Output("pl-total", "children")],
                  [d.Input({"type": SLIDER, "channel": ALL}, "value"), d.Input("pl-goal", "value"),
                   d.Input("lang", "value")],
                  [d.State({"type": SLIDER, "channel": ALL}, "id"), d.State("pl-brand", "value"),
                   d.State("pl-horizon", "value"), d.State("pl-budget", "value")])
    def _forecast(values, goal, lg, ids, brand, horizon, budget):
        from aips.dashboard.layout import placeholder

        if not ids:
            return placeholder(t("dash.plan.no_budget", lg), lg), None, ""
        split = {i["channel"]: float(v or 0.0) for i, v in zip(ids, values, strict=True)}
        horizon = _horizon(horizon)
        view = split_forecast(svc.planner(brand, latest=True), split, horizon, goal)
        cur = svc.model.currency
        total = t("dash.plan.total", lg, total=fmt_money(view["total"], lg, cur),
                  budget=fmt_money(budget, lg, cur), horizon=horizon)
        return fan_chart(view["fan"], lg), _outcome_table(d, view, goal, lg), total
