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
"""

from __future__ import annotations

import plotly.graph_objects as go

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
