"""Plotly figures of the report and the dashboard, built from the sections' small frames.

Each builder takes what :mod:`aips.reporting.sections` returned for its section and a
language, and returns a ``plotly.graph_objects.Figure``; none of them reads the store.
Stage colours are the same in every chart. Clickable elements carry ``customdata`` (a stage,
or a ``[from, to]`` stage pair for a Sankey link) that the dashboard reads for drill-down.

>>> import pandas as pd
>>> df = pd.DataFrame({"stage": ["A", "I", "TI"], "exclusive": [50, 20, 5], "cumulative": [75, 25, 5]})
>>> fig = stage_bars({"level": "brand", "frame": df}, "en")
>>> [t.name for t in fig.data], list(fig.data[0].customdata)
(['Exclusive', 'Cumulative (at or above)'], ['A', 'I', 'TI'])
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from aips.config.model import STAGE_ORDER
from aips.reporting.labels import fmt_count, fmt_pct, stage_label, t

STAGE_COLORS = {"A": "#9FB3C8", "I": "#4E9BD6", "TI": "#F28E2B", "P": "#4C9F50", "S": "#9B6BB5",
                "none": "#CFCFCF"}
MOVE_COLORS = {"up": "rgba(76,159,80,0.45)", "down": "rgba(214,80,80,0.40)", "stay": "rgba(150,150,150,0.30)",
               "new": "rgba(78,155,214,0.40)", "churned": "rgba(190,190,190,0.40)"}
BRAND_COLOR = "#E4572E"
PEER_COLORS = ["#8C9BAB", "#B9C3CD", "#6B7A89", "#D2D8DE", "#56626E"]
MODEL_COLORS = {"first": "#C7D3DF", "last": "#A9BCCF", "last_non_organic": "#8FA7BF", "linear": "#7592AF",
                "position": "#5B7D9F", "time_decay": "#41688F", "markov": "#F28E2B", "shapley": "#B07AA1",
                "incremental": "#2F4858"}
FONT = "Noto Sans CJK SC, Noto Sans SC, PingFang SC, Microsoft YaHei, Helvetica Neue, Arial, sans-serif"
PALETTE = ["#4E79A7", "#F28E2B", "#59A14F", "#E15759", "#76B7B2", "#EDC948", "#B07AA1", "#FF9DA7",
           "#9C755F", "#BAB0AC"]


def _layout(fig: go.Figure, height: int = 360, **kw: Any) -> go.Figure:
    settings: dict[str, Any] = {
        "template": "plotly_white", "height": height, "margin": {"l": 60, "r": 20, "t": 40, "b": 50},
        "font": {"family": FONT, "size": 12, "color": "#2B2B2B"},
        "legend": {"orientation": "h", "yanchor": "bottom", "y": 1.02, "xanchor": "left", "x": 0},
        "hoverlabel": {"font": {"family": FONT}},
    }
    settings.update(kw)
    fig.update_layout(**settings)
    return fig


def _stages_in(values) -> list[str]:
    present = set(values)
    return [s for s in STAGE_ORDER if s in present]


# --- crowd assets ------------------------------------------------------------------------------


def stage_bars(stages: dict, lang: str = "en") -> go.Figure:
    """Exclusive and cumulative pairs per stage (per SPU at SPU level); bars carry the stage."""
    df = stages["frame"]
    fig = go.Figure()
    if stages.get("level") == "spu" and "spu" in df:
        for i, (spu, g) in enumerate(df.groupby("spu", sort=True)):
            g = g.set_index("stage").reindex(_stages_in(df["stage"])).fillna(0)
            fig.add_bar(x=[stage_label(s, lang) for s in g.index], y=g["exclusive"], name=str(spu),
                        customdata=list(g.index), marker_color=PALETTE[i % len(PALETTE)],
                        hovertemplate="%{x}<br>" + str(spu) + ": %{y:,}<extra></extra>")
        fig.update_layout(barmode="group")
    else:
        g = df.set_index("stage").reindex(_stages_in(df["stage"])).fillna(0)
        labels = [stage_label(s, lang) for s in g.index]
        fig.add_bar(x=labels, y=g["exclusive"], name=t("legend.exclusive", lang), customdata=list(g.index),
                    marker_color=[STAGE_COLORS[s] for s in g.index],
                    text=[fmt_count(v, lang) for v in g["exclusive"]], textposition="outside",
                    hovertemplate="%{x}: %{y:,}<extra>" + t("legend.exclusive", lang) + "</extra>")
        fig.add_bar(x=labels, y=g["cumulative"], name=t("legend.cumulative", lang), customdata=list(g.index),
                    marker_color=[STAGE_COLORS[s] for s in g.index], opacity=0.45,
                    text=[fmt_count(v, lang) for v in g["cumulative"]], textposition="outside",
                    hovertemplate="%{x}: %{y:,}<extra>" + t("legend.cumulative", lang) + "</extra>")
        fig.update_layout(barmode="group")
    fig.update_yaxes(title_text=t("axis.pairs", lang), rangemode="tozero")
    fig.update_traces(cliponaxis=False)
    return _layout(fig, 340)


def trend_chart(trend: dict, lang: str = "en") -> go.Figure:
    """Daily exclusive counts: A on the left (it dwarfs the rest), I/TI/P/S stacked on the right."""
    df = trend["frame"].copy()
    df["date"] = pd.to_datetime(df["date"])
    wide = df.pivot_table(index="date", columns="stage", values="users", aggfunc="sum").fillna(0).sort_index()
    fig = make_subplots(rows=1, cols=2, column_widths=[0.36, 0.64], horizontal_spacing=0.08,
                        subplot_titles=(stage_label("A", lang), " + ".join(s for s in ("I", "TI", "P", "S"))))
    if "A" in wide:
        fig.add_scatter(x=wide.index, y=wide["A"], mode="lines", name=stage_label("A", lang),
                        line={"color": STAGE_COLORS["A"], "width": 2}, row=1, col=1)
    for s in ("I", "TI", "P", "S"):
        if s in wide:
            fig.add_scatter(x=wide.index, y=wide[s], mode="lines", name=stage_label(s, lang), stackgroup="deep",
                            line={"color": STAGE_COLORS[s], "width": 0.5}, fillcolor=STAGE_COLORS[s],
                            row=1, col=2)
    start = pd.Timestamp(trend["period_start"])
    end = pd.Timestamp(trend["end"]) + pd.Timedelta(hours=12)
    for col in (1, 2):
        fig.add_vrect(x0=start - pd.Timedelta(hours=12), x1=end, fillcolor="#F5E6C8", opacity=0.45,
                      line_width=0, layer="below", row=1, col=col)
    fig.update_yaxes(title_text=t("axis.pairs", lang), row=1, col=1, rangemode="tozero")
    fig.update_layout(hovermode="x unified")
    if lang == "zh":
        fig.update_xaxes(tickformat="%m-%d")
    fig.update_annotations(font={"size": 12, "color": "#555"}, yshift=4)
    return _layout(fig, 360, margin={"l": 60, "r": 20, "t": 80, "b": 40},
                   legend={"orientation": "h", "yanchor": "bottom", "y": 1.14, "xanchor": "left", "x": 0})


def sankey_chart(flows: dict, lang: str = "en") -> go.Figure:
    """The flows t0 -> t1 as a Sankey: left the level on t0 (with the flow rate), right on t1.

    Links carry ``customdata = [from_stage, to_stage, hover text]`` and the label
    ``flow:FROM:TO`` (what the dashboard's click data keeps); nodes carry ``t0:X`` / ``t1:X``.
    """
    mat = flows["matrix"]
    rates = flows["rates"].set_index("stage") if flows.get("rates") is not None else pd.DataFrame()
    order = ["none", *STAGE_ORDER]
    left = [s for s in order if s in set(mat["from_stage"])]
    right = [s for s in order if s in set(mat["to_stage"])]
    in_left = mat.groupby("from_stage")["users"].sum()
    in_right = mat.groupby("to_stage")["users"].sum()

    def left_label(s: str) -> str:
        text = f"{stage_label(s, lang)}  {fmt_count(in_left.get(s, 0), lang)}"
        if s in rates.index and pd.notna(rates.loc[s, "flow_rate"]) and s not in ("S", "none"):
            text += f"  ↑{fmt_pct(rates.loc[s, 'flow_rate'], 1, lang)}"
        return text

    labels = [left_label(s) for s in left] + [f"{stage_label(s, lang)}  {fmt_count(in_right.get(s, 0), lang)}"
                                              for s in right]
    colors = [STAGE_COLORS.get(s, "#CCC") for s in left] + [STAGE_COLORS.get(s, "#CCC") for s in right]
    index_l = {s: i for i, s in enumerate(left)}
    index_r = {s: len(left) + i for i, s in enumerate(right)}
    src, dst, val, col, cdata, hover = [], [], [], [], [], []
    for r in mat.itertuples():
        src.append(index_l[r.from_stage])
        dst.append(index_r[r.to_stage])
        val.append(int(r.users))
        col.append(MOVE_COLORS.get(r.movement, "rgba(180,180,180,0.4)"))
        text = (f"{stage_label(r.from_stage, lang)} → {stage_label(r.to_stage, lang)}: "
                f"{fmt_count(r.users, lang)} ({t('move.' + r.movement, lang)})")
        cdata.append([r.from_stage, r.to_stage, text])
        hover.append(f"flow:{r.from_stage}:{r.to_stage}")
    n = max(len(left), len(right), 1)
    fig = go.Figure(go.Sankey(
        arrangement="snap",
        node={"label": labels, "color": colors, "pad": 24 if n <= 6 else 16, "thickness": 16,
              "customdata": [f"t0:{s}" for s in left] + [f"t1:{s}" for s in right],
              "hovertemplate": "%{label}<extra></extra>"},
        link={"source": src, "target": dst, "value": val, "color": col, "customdata": cdata,
              "hovertemplate": "%{customdata[2]}<extra></extra>", "label": hover},
    ))
    fig.add_annotation(x=0, y=1.08, xref="paper", yref="paper", showarrow=False, text=str(flows["t0"]),
                       font={"size": 12, "color": "#555"})
    fig.add_annotation(x=1, y=1.08, xref="paper", yref="paper", showarrow=False, text=str(flows["t1"]),
                       font={"size": 12, "color": "#555"})
    return _layout(fig, 480, margin={"l": 10, "r": 10, "t": 40, "b": 10})


def flow_compare_chart(flows: dict, brand: str, lang: str = "en") -> go.Figure:
    """Flow rate per stage of every brand in the category, the report's brand highlighted."""
    df = flows["compare"]
    df = df[df["stage"].isin(STAGE_ORDER[:-1])]  # stages with an onward flow
    fig = go.Figure()
    brands = [brand] + sorted(b for b in df["brand"].unique() if b != brand)
    stages = _stages_in(df["stage"])
    for i, b in enumerate(brands):
        g = df[df["brand"] == b].set_index("stage").reindex(stages)
        color = BRAND_COLOR if b == brand else PEER_COLORS[(i - 1) % len(PEER_COLORS)]
        fig.add_bar(x=[stage_label(s, lang) for s in stages], y=g["flow_rate"], name=str(b), marker_color=color,
                    text=[fmt_pct(v, 1, lang) for v in g["flow_rate"]], textposition="outside",
                    hovertemplate=str(b) + " %{x}: %{y:.1%}<extra></extra>")
    fig.update_yaxes(title_text=t("axis.flow_rate", lang), tickformat=".0%", rangemode="tozero")
    fig.update_layout(barmode="group")
    fig.update_traces(cliponaxis=False)
    return _layout(fig, 320)


# --- outcomes ----------------------------------------------------------------------------------------


def cycle_chart(cycles: list[dict], lang: str = "en") -> go.Figure:
    """Per category the converters' KM curve (eventual buyers not yet bought), with the median
    (where it crosses 50 %) and the configured x (dashed)."""
    fig = go.Figure()
    xmax = 0
    for i, c in enumerate(cycles):
        color = PALETTE[i % len(PALETTE)]
        curve = c["curve"]
        name = str(c["category"])
        fig.add_scatter(x=curve["t"], y=curve["not_bought"], mode="lines", line={"shape": "hv", "color": color,
                        "width": 3 if c.get("is_brand_category") else 1.8}, name=name,
                        hovertemplate=name + " t=%{x}: %{y:.1%}<extra></extra>")
        if c.get("median") is not None:
            fig.add_scatter(x=[c["median"]], y=[0.5], mode="markers", marker={"color": color, "size": 9},
                            name=f"{name} {t('legend.median', lang)} {c['median']}", showlegend=False,
                            hovertemplate=f"{name} {t('legend.median', lang)}: {c['median']}<extra></extra>")
        x = c.get("configured_x")
        if x is not None:
            fig.add_vline(x=x, line={"color": color, "dash": "dash", "width": 1.2})
            fig.add_annotation(x=x, y=0, yref="y", text=f"x={x}", showarrow=False, xshift=14,
                               yshift=10 + 13 * (i % 4), font={"size": 10, "color": color})
        xmax = max(xmax, int(curve["t"].max()), int(x or 0))
    fig.add_hline(y=0.5, line={"color": "#999", "dash": "dot", "width": 1})
    fig.update_xaxes(title_text=t("axis.days_since_first_touch", lang), range=[0, xmax + 2])
    fig.update_yaxes(title_text=t("axis.not_bought", lang), tickformat=".0%", range=[0, 1.08])
    return _layout(fig, 360)


def roi_chart(roi: dict, lang: str = "en") -> go.Figure:
    """Attributed ROI(T+x) curves by campaign; incremental ROI at x with its interval."""
    fig = go.Figure()
    xs = set()
    for i, c in enumerate(roi["campaigns"]):
        color = PALETTE[i % len(PALETTE)]
        curve = c["curve"]
        name = str(c["campaign"])
        fig.add_scatter(x=curve["x"], y=curve["roi"], mode="lines", line={"shape": "hv", "color": color},
                        name=name, legendgroup=name,
                        hovertemplate=name + " T+%{x}: %{y:.2f}<extra>" + t("legend.attributed", lang) + "</extra>")
        inc = c.get("incremental")
        if inc and inc.get("roi") is not None:
            lo, hi = (inc.get("ci") or [None, None])[:2]
            err = None
            if lo is not None and hi is not None:
                err = {"type": "data", "symmetric": False, "array": [hi - inc["roi"]],
                       "arrayminus": [inc["roi"] - lo], "color": color, "thickness": 1.2}
            fig.add_scatter(x=[c["x"]], y=[inc["roi"]], mode="markers", legendgroup=name, showlegend=False,
                            marker={"symbol": "diamond", "size": 10, "color": color, "line": {"color": "#333", "width": 1}},
                            error_y=err, name=f"{name} {t('legend.incremental', lang)}",
                            hovertemplate=name + ": %{y:.2f}<extra>" + t("legend.incremental", lang) + "</extra>")
        xs.add(c["x"])
    for x in sorted(xs):
        fig.add_vline(x=x, line={"color": "#777", "dash": "dash", "width": 1})
        fig.add_annotation(x=x, y=1, yref="paper", text=f"x={x}", showarrow=False, yshift=6, font={"size": 10})
    fig.add_hline(y=1, line={"color": "#C44", "dash": "dot", "width": 1})
    fig.update_xaxes(title_text=t("axis.days_since_launch", lang), rangemode="tozero")
    # the range follows the curves and the points; wide holdout intervals may run off it
    ys = [v for c in roi["campaigns"] for v in c["curve"]["roi"].dropna().tolist()]
    ys += [c["incremental"]["roi"] for c in roi["campaigns"] if c.get("incremental") and c["incremental"].get("roi") is not None]
    if ys:
        lo, hi = min(0.0, min(ys)), max(1.2, max(ys))
        pad = 0.08 * (hi - lo)
        fig.update_yaxes(range=[lo - (pad if lo < 0 else 0), hi + pad])
    fig.update_yaxes(title_text=t("axis.roi", lang))
    return _layout(fig, 380)


def attribution_chart(long: pd.DataFrame, lang: str = "en") -> go.Figure:
    """Share of credited conversions per channel (x) and model (bars side by side)."""
    df = long.copy()
    order_src = df[df["model"] == "markov"] if (df["model"] == "markov").any() else df
    channels = order_src.groupby("channel")["share"].sum().sort_values(ascending=False).index.tolist()
    channels += [c for c in df["channel"].unique() if c not in channels]
    fig = go.Figure()
    for m in [m for m in MODEL_COLORS if m in set(df["model"])]:
        g = df[df["model"] == m].set_index("channel").reindex(channels)
        name = t(f"model.{m}", lang)
        fig.add_bar(x=channels, y=g["share"], name=name, marker_color=MODEL_COLORS[m],
                    hovertemplate=name + " %{x}: %{y:.1%}<extra></extra>")
    fig.update_yaxes(title_text=t("axis.share", lang), tickformat=".0%")
    fig.update_layout(barmode="group", bargap=0.18, bargroupgap=0.04)
    return _layout(fig, 340)


# --- insight -----------------------------------------------------------------------------------------


def portrait_chart(portrait: dict, lang: str = "en", per_dimension: int = 3) -> go.Figure:
    """TGI of the TI crowd's most over-represented values per dimension (100 = the category)."""
    df = portrait["frame"]
    if "interest" in df and (~df["interest"]).any():
        df = df[~df["interest"]]
    df = df[df["crowd_users"] > 0].copy()
    df = df.sort_values(["dimension", "tgi"], ascending=[True, False]).groupby("dimension").head(per_dimension)
    df = df.sort_values("tgi")
    labels = [f"{d}: {v}" for d, v in zip(df["dimension"], df["value"], strict=True)]
    colors = [STAGE_COLORS["TI"] if s else "#C9C9C9" for s in df["supported"].fillna(False)]
    fig = go.Figure(go.Bar(x=df["tgi"], y=labels, orientation="h", marker_color=colors,
                           text=[f"{v:.0f}" for v in df["tgi"]], textposition="outside",
                           customdata=df[["crowd_share", "baseline_share"]].to_numpy(),
                           hovertemplate="%{y}: TGI %{x:.0f}<br>%{customdata[0]:.1%} vs %{customdata[1]:.1%}"
                                         "<extra></extra>"))
    fig.add_vline(x=100, line={"color": "#555", "dash": "dash", "width": 1})
    fig.update_xaxes(title_text=t("axis.tgi", lang), rangemode="tozero")
    fig.update_traces(cliponaxis=False)
    return _layout(fig, max(260, 22 * len(labels) + 80), margin={"l": 170, "r": 40, "t": 30, "b": 50})


def diagnosis_chart(diagnosis: dict, lang: str = "en") -> go.Figure:
    """Advance rate per transition: the brand against the category median and top quartile."""
    mt = diagnosis["metrics"]
    rows = mt[mt["metric"].str.endswith("advance rate")].copy()
    rows["transition"] = rows["metric"].str.split(" ").str[0]
    leaking = set(x["transition"] for x in diagnosis.get("leaks", []))
    x = [r.replace("->", " → ") for r in rows["transition"]]
    fig = go.Figure()
    fig.add_bar(x=x, y=rows["brand"], name=str(diagnosis.get("brand", "")) or t("col.brand", lang),
                marker_color=[("#D64545" if tr in leaking else BRAND_COLOR) for tr in rows["transition"]],
                text=[fmt_pct(v, 1, lang) for v in rows["brand"]], textposition="outside",
                hovertemplate="%{x}: %{y:.1%}<extra></extra>")
    fig.add_bar(x=x, y=rows["category_median"], name=t("legend.category_median", lang), marker_color="#9AA7B4",
                hovertemplate="%{x}: %{y:.1%}<extra></extra>")
    fig.add_bar(x=x, y=rows["top_quartile"], name=t("legend.top_quartile", lang), marker_color="#D5DBE1",
                hovertemplate="%{x}: %{y:.1%}<extra></extra>")
    fig.update_yaxes(title_text=t("axis.advance_rate", lang), tickformat=".0%", rangemode="tozero")
    fig.update_layout(barmode="group")
    fig.update_traces(cliponaxis=False)
    return _layout(fig, 320)


def figures(data, lang: str = "en", notes: list[str] | None = None) -> dict[str, go.Figure]:
    """Every figure a :class:`~aips.reporting.data.ReportData` has data for, by name.

    A figure that cannot be drawn is left out, with the reason appended to ``notes``.
    """
    from aips.reporting.charts_plan import (  # it builds on this module's layout
        fan_chart,
        split_chart,
    )

    s = data.sections
    out: dict[str, go.Figure] = {}
    builders = {
        "stages": lambda: stage_bars(s["stages"], lang),
        "trend": lambda: trend_chart(s["trend"], lang),
        "sankey": lambda: sankey_chart(s["flows"], lang),
        "flow_compare": lambda: flow_compare_chart(s["flows"], data.brand, lang)
        if s["flows"].get("compare") is not None and len(s["flows"]["compare"]) else None,
        "cycles": lambda: cycle_chart(s["cycles"], lang),
        "roi": lambda: roi_chart(s["roi"], lang),
        "attribution_purchase": lambda: attribution_chart(s["attribution"]["purchase"], lang)
        if "purchase" in s["attribution"] else None,
        "attribution_ti": lambda: attribution_chart(s["attribution"]["TI"], lang)
        if "TI" in s["attribution"] else None,
        "portrait": lambda: portrait_chart(s["portrait"], lang),
        "diagnosis": lambda: diagnosis_chart({**s["diagnosis"], "brand": data.brand}, lang),
        "plan_split": lambda: None if s["plan"].get("error") else split_chart(s["plan"]["rows"], lang),
        "plan_fan": lambda: None if s["plan"].get("error") else fan_chart(s["plan"]["fan"], lang),
    }
    needs = {"stages": "stages", "trend": "trend", "sankey": "flows", "flow_compare": "flows",
             "cycles": "cycles", "roi": "roi", "attribution_purchase": "attribution",
             "attribution_ti": "attribution", "portrait": "portrait", "diagnosis": "diagnosis",
             "plan_split": "plan", "plan_fan": "plan"}
    for name, build in builders.items():
        if s.get(needs[name]) is None:
            continue
        try:
            fig = build()
        except Exception as err:  # noqa: BLE001 - a chart that cannot be drawn is noted, not fatal
            if notes is not None:
                notes.append(f"chart {name}: {type(err).__name__}: {err}")
            continue
        if fig is not None:
            out[name] = fig
    return out
