"""Plotly figures of the planner: a split against another (grouped bars) and the forecast's
fan (TI per day, point and band, one fan per split). The report's Plan section
(:mod:`aips.reporting.sections_plan`) and the dashboard's planner page draw them; neither
reads the store.

>>> import datetime as dt
>>> days = [dt.date(2025, 1, 1), dt.date(2025, 1, 2)]
>>> band = {"dates": days, "TI": [10.0, 12.0], "TI_low": [8.0, 9.0], "TI_high": [12.0, 15.0]}
>>> fig = fan_chart({"recommended": band, "current": band}, "en")
>>> [t.name for t in fig.data if t.showlegend is not False]
['recommended', "last period's split"]
>>> fig = split_chart([{"channel": "kol_note", "recommended": 60.0, "current": 40.0}], "en")
>>> [(t.name, list(t.y)) for t in fig.data]
[('recommended', [60.0]), ("last period's split", [40.0])]
>>> rows = [{"channel": "feed_ad", "transition": tr, "daily_spend": x, "advances_per_day": x / 10,
...          "low": 0.0, "high": x / 5} for tr in ("A->I", "I->TI", "TI->P") for x in (0.0, 100.0)]
>>> fig = curves_chart(rows, "Serava", "en")
>>> len(fig.data), [list(t.y) for t in fig.data if t.name == "feed_ad"][0]  # band (2) + line, per panel
(9, [0.0, 10.0])
"""

from __future__ import annotations

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from aips.reporting.charts import _layout
from aips.reporting.labels import t

SPLITS = {"recommended": ("#E4572E", "rgba(228,87,46,0.18)"), "sliders": ("#E4572E", "rgba(228,87,46,0.18)"),
          "current": ("#6B7A89", "rgba(107,122,137,0.18)")}
"""Colours (line, band) of the recommended split (the dashboard's sliders) and the current one."""


def split_chart(rows: list[dict], lang: str = "en") -> go.Figure:
    """Spend per channel: the recommended split beside the current one (``rows``: ``channel,
    recommended, current``)."""
    fig = go.Figure()
    x = [r["channel"] for r in rows]
    for key, (color, _) in SPLITS.items():
        if rows and key in rows[0]:
            fig.add_bar(x=x, y=[r[key] for r in rows], name=t(f"plan.sec.{key}", lang), marker_color=color,
                        hovertemplate="%{x}: %{y:,.0f}<extra></extra>")
    fig.update_yaxes(title_text=t("plan.sec.axis_spend", lang), rangemode="tozero")
    fig.update_layout(barmode="group")
    return _layout(fig, 320)


def fan_chart(fans: dict[str, dict], lang: str = "en") -> go.Figure:
    """TI per day over the horizon for each split of ``fans`` (``recommended``, ``current``:
    :meth:`aips.planner.plan.Planner.fan`): the point forecast and its band."""
    fig = go.Figure()
    for key, band in fans.items():
        line, fill = SPLITS.get(key, ("#4E79A7", "rgba(78,121,167,0.18)"))
        name = t(f"plan.sec.{key}", lang)
        fig.add_scatter(x=band["dates"], y=band["TI_high"], mode="lines", line={"width": 0}, showlegend=False,
                        hoverinfo="skip", legendgroup=key)
        fig.add_scatter(x=band["dates"], y=band["TI_low"], mode="lines", line={"width": 0}, fill="tonexty",
                        fillcolor=fill, showlegend=False, hoverinfo="skip", legendgroup=key)
        fig.add_scatter(x=band["dates"], y=band["TI"], mode="lines", line={"color": line, "width": 2}, name=name,
                        legendgroup=key, hovertemplate="%{x}: %{y:,.0f}<extra>" + name + "</extra>")
    fig.update_yaxes(title_text=t("plan.sec.axis_ti", lang), rangemode="tozero")
    if lang == "zh":
        fig.update_xaxes(tickformat="%m-%d")
    return _layout(fig, 340, hovermode="x unified")


PALETTE = ("#4E79A7", "#F28E2B", "#E15759", "#76B7B2", "#59A14F", "#EDC948", "#B07AA1", "#FF9DA7")


def curves_chart(rows: list[dict], brand: str, lang: str = "en") -> go.Figure:
    """The response curves (``rows``: :meth:`aips.planner.curves.ResponseCurves.grid`): one
    panel per transition, a line per channel with its band."""
    transitions = list(dict.fromkeys(r["transition"] for r in rows))
    channels = list(dict.fromkeys(r["channel"] for r in rows))
    fig = make_subplots(rows=1, cols=len(transitions), subplot_titles=transitions, horizontal_spacing=0.06)
    for col, tr in enumerate(transitions, start=1):
        for i, c in enumerate(channels):
            pts = [r for r in rows if r["transition"] == tr and r["channel"] == c]
            x = [r["daily_spend"] for r in pts]
            color = PALETTE[i % len(PALETTE)]
            fill = "rgba({},{},{},0.15)".format(*(int(color[n:n + 2], 16) for n in (1, 3, 5)))
            fig.add_scatter(x=x, y=[r["high"] for r in pts], mode="lines", line={"width": 0}, showlegend=False,
                            hoverinfo="skip", legendgroup=c, row=1, col=col)
            fig.add_scatter(x=x, y=[r["low"] for r in pts], mode="lines", line={"width": 0}, fill="tonexty",
                            fillcolor=fill, showlegend=False, hoverinfo="skip", legendgroup=c, row=1, col=col)
            fig.add_scatter(x=x, y=[r["advances_per_day"] for r in pts], mode="lines", name=c, legendgroup=c,
                            line={"color": color, "width": 2}, showlegend=col == 1, row=1, col=col,
                            hovertemplate="%{x:,.0f}: %{y:.2f}<extra>" + c + "</extra>")
        fig.update_xaxes(title_text=t("plan.curves.axis_spend", lang), row=1, col=col)
    fig.update_yaxes(title_text=t("plan.curves.axis_advances", lang), rangemode="tozero", row=1, col=1)
    fig.update_layout(title_text=t("plan.curves.title", lang, brand=brand))
    return _layout(fig, 420)
