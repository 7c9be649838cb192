"""Render a :class:`~aips.reporting.data.ReportData` to one self-contained HTML file.

Plotly's JavaScript is embedded once (``plotly.offline.get_plotlyjs()``) and every figure is
a ``<div>`` with its own small ``Plotly.newPlot`` call, so the file works offline and when
e-mailed: it loads nothing from the network. Tables are formatted for the language
(万/亿 in Chinese); each headline card carries ``data-metric`` and the raw value in
``data-value`` (``data-previous`` for the previous period), so tests and scripts can read
the numbers back. The file is written atomically (:func:`aips.io.atomic_write_text`).
"""

from __future__ import annotations

import datetime as dt
import math
import os
from pathlib import Path
from typing import Any

from aips.config.model import CURRENCY, STAGE_ORDER
from aips.reporting import labels as L
from aips.reporting.charts import figures
from aips.reporting.data import ReportData
from aips.reporting.labels import fmt_count, fmt_money, fmt_pct, fmt_ratio, stage_label, t

PLOTLY_CONFIG = {"displaylogo": False, "responsive": True,
                 "modeBarButtonsToRemove": ["lasso2d", "select2d"]}

SECTION_TITLES = {
    "stages": "sec.stages", "trend": "sec.trend", "flows": "sec.flows", "competitors": "sec.competitors",
    "cycles": "sec.cycles", "roi": "sec.roi", "attribution": "sec.attribution", "creators": "sec.creators",
    "audiences": "sec.audiences", "portrait": "sec.portrait", "content": "sec.content",
    "diagnosis": "sec.diagnosis", "cards": "sec.summary", "methods": "sec.methods", "plan": "sec.plan",
}


def _env():
    import jinja2

    return jinja2.Environment(
        loader=jinja2.PackageLoader("aips.reporting", "templates"),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
        trim_blocks=True, lstrip_blocks=True,
    )


def plotly_js() -> str:
    """Plotly's JavaScript bundle (embedded once per report)."""
    from plotly.offline import get_plotlyjs

    return get_plotlyjs()


def figure_html(fig, div_id: str) -> str:
    """A figure as a ``<div>`` and its script, without Plotly's bundle."""
    return fig.to_html(full_html=False, include_plotlyjs=False, div_id=div_id, config=PLOTLY_CONFIG,
                       default_width="100%")


def _raw(value: Any) -> str:
    """The ``data-value`` text: repr of the number, empty when missing."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return ""
    if isinstance(value, bool):
        return str(int(value))
    if isinstance(value, int) or (isinstance(value, float) and value.is_integer() and abs(value) < 1e15):
        return str(int(value))
    return repr(float(value))


def card_views(cards: list[dict], lang: str, currency: str = CURRENCY) -> list[dict]:
    """Formatted cards: label, value (amounts in ``currency``), change against the previous
    period, raw values."""
    out = []
    for c in cards:
        kind = c["kind"]
        d = L.delta(c["value"], c["previous"], kind)
        note = ""
        if c["metric"] == "roi":
            if c["value"] is None:
                note = t("cards.no_campaigns", lang)
            elif c.get("partial"):
                note = t("cards.partial", lang)
        out.append({
            "metric": c["metric"], "label": t(f"cards.{c['metric']}", lang),
            "value": L.fmt_value(c["value"], kind, lang, currency), "raw": _raw(c["value"]), "raw_prev": _raw(c["previous"]),
            "delta": L.fmt_delta(c["value"], c["previous"], kind, lang) if d is not None else t("cards.no_prev", lang),
            "direction": "" if d is None else ("up" if d > 0 else "down" if d < 0 else "flat"),
            "prev": L.fmt_value(c["previous"], kind, lang, currency) if c["previous"] is not None else "",
            "note": note,
        })
    return out


def _date(value: Any) -> str:
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()[:10]
    return "" if value is None else str(value)


def _flow_rate_rows(flows: dict, data: ReportData, lang: str, cur: str) -> list[dict]:
    rates = flows["rates"]
    rates = rates[rates["stage"].isin(STAGE_ORDER[:-1])]  # stages with an onward flow
    return [
        {"stage": stage_label(r.stage, lang), "at_t0": fmt_count(r.at_t0, lang),
         "moved_up": fmt_count(r.moved_up, lang), "rate": fmt_pct(r.flow_rate, 1, lang)}
        for r in rates.set_index("stage").reindex([x for x in STAGE_ORDER if x in set(rates.stage)]).reset_index().itertuples()
    ]


def _competitor_rows(competitors: dict, data: ReportData, lang: str, cur: str) -> list[dict]:
    return [
        {"brand": r["brand"], "mine": r["brand"] == data.brand, "aips": fmt_count(r.get("aips_users"), lang),
         "i_ti": fmt_count(r.get("i_ti_users"), lang), "ti": fmt_count(r.get("ti_users"), lang),
         "ti_share": fmt_pct(r.get("ti_share"), 1, lang),
         "penetration": fmt_pct(r.get("penetration"), 1, lang)}
        for r in competitors["frame"].to_dict(orient="records")
    ]


def _cycle_rows(cycles: list[dict], data: ReportData, lang: str, cur: str) -> list[dict]:
    rows = []
    for c in cycles:
        lo, hi = (c.get("median_ci") or (None, None))[:2]
        ci = f" [{lo}–{hi}]" if lo is not None and hi is not None else ""
        rows.append({"category": c["category"], "mine": c.get("is_brand_category"),
                     "median": ("" if c["median"] is None else str(c["median"])) + ci,
                     "p80": "" if c["p80"] is None else str(c["p80"]), "x": c["configured_x"],
                     "converted": fmt_pct(c["converted_share"], 1, lang), "n": fmt_count(c["n"], lang),
                     "note": L.cycle_note(c.get("note"), lang)})
    return rows


def _roi_rows(roi: dict, data: ReportData, lang: str, cur: str) -> list[dict]:
    rows = []
    for c in roi["campaigns"]:
        inc = c.get("incremental") or {}
        ci = inc.get("ci") or [None, None]
        iroi = fmt_ratio(inc.get("roi"), lang) if inc.get("roi") is not None else "—"
        if inc.get("roi") is not None and ci[0] is not None:
            iroi += f" [{fmt_ratio(ci[0], lang)}, {fmt_ratio(ci[1], lang)}]"
        rows.append({"campaign": c["campaign"], "channel": c["channel"], "T": _date(c["T"]), "x": c["x"],
                     "spend": fmt_money(c["spend"], lang, cur), "revenue": fmt_money(c["revenue"], lang, cur),
                     "roi": fmt_ratio(c["roi"], lang), "iroi": iroi, "touched": fmt_count(c["touched"], lang),
                     "new_ti": fmt_count(c["new_ti"], lang), "complete": "✓" if c["complete"] else "…",
                     "own": bool(inc.get("own_holdout"))})
    return rows


def creator_rows(creators: dict, lang: str, cur: str = CURRENCY) -> list[dict]:
    """The creators section's rows, formatted (the report's table and the dashboard's)."""
    return [
        {"creator": r.get("creator_id"), "tier": r.get("tier"), "followers": fmt_count(r.get("followers"), lang),
         "reach": fmt_count(r.get("target_reach"), lang), "rate": fmt_pct(r.get("seeding_rate"), 1, lang),
         "lift": "—" if r.get("seeding_lift") is None or r.get("seeding_lift") != r.get("seeding_lift")
         else f"{r['seeding_lift']:.2f}",
         "expected": f"{r.get('expected_seeded') or 0:.1f}", "fee": fmt_money(r.get("fee"), lang, cur)}
        for r in creators["frame"].to_dict(orient="records")
    ]


def audience_rows(audiences: list[dict], t0: Any, lang: str) -> list[dict]:
    """The audiences section's rows (names read with the period's ``t0``; the report's and the dashboard's)."""
    return [
        {"name": t(f"aud.{a['key']}", lang, stage=a.get("stage") or "", t0=_date(t0)),
         "size": fmt_count(a["size"], lang), "raw": a["size"], "command": a["command"], "key": a["key"]}
        for a in audiences
    ]


def content_rows(content: dict, lang: str) -> list[dict]:
    """The content section's rows, formatted (the report's table and the dashboard's)."""
    return [
        {"stage": stage_label(r.get("stage"), lang), "advance": str(r.get("advance", "")).replace("->", " → "),
         "dimension": L.dimension_label(r.get("dimension"), lang), "value": L.value_label(r.get("value"), lang),
         "touched": fmt_count(r.get("touched"), lang),
         "rate": fmt_pct(r.get("rate"), 1, lang), "lift": f"{r.get('lift'):.2f}" if r.get("lift") is not None else "",
         "significant": bool(r.get("significant"))}
        for r in content["frame"].to_dict(orient="records")
    ]


def _stage_table(stages: dict, data: ReportData, lang: str, cur: str) -> dict:
    df = stages["frame"].set_index("stage")
    df = df.reindex([x for x in STAGE_ORDER if x in df.index])
    rows = []
    for stage, r in df.iterrows():
        prev = r.get("previous") if "previous" in df else None
        rows.append({"stage": stage_label(stage, lang), "exclusive": fmt_count(r["exclusive"], lang),
                     "cumulative": fmt_count(r["cumulative"], lang),
                     "previous": "" if prev is None else fmt_count(prev, lang),
                     "change": "" if prev is None else L.fmt_delta(r["exclusive"], prev, "count", lang)})
    return {"rows": rows, "has_prev": "previous" in df,
            "prev_label": t("col.previous", lang, date=_date(stages["prev_at"]))}


def _portrait_rows(portrait: dict, data: ReportData, lang: str, cur: str) -> list[dict]:
    df = portrait["frame"]
    df = df[df["crowd_users"] > 0].sort_values(["dimension", "tgi"], ascending=[True, False])
    if "interest" in df and df["interest"].any() and (~df["interest"]).any():
        df = df[df["interest"]]
    return [
        {"dimension": L.dimension_label(r["dimension"], lang), "value": L.value_label(r["value"], lang),
         "crowd": fmt_pct(r["crowd_share"], 1, lang),
         "base": fmt_pct(r["baseline_share"], 1, lang), "tgi": f"{r['tgi']:.0f}" if r["tgi"] == r["tgi"] else "",
         "supported": bool(r.get("supported"))}
        for r in df.groupby("dimension").head(3).to_dict(orient="records")
    ]


_TABLES = (  # (section, the template's table name, the function formatting its rows)
    ("flows", "flow_rates", _flow_rate_rows),
    ("competitors", "competitors", _competitor_rows),
    ("cycles", "cycles", _cycle_rows),
    ("roi", "roi", _roi_rows),
    ("creators", "creators", lambda section, data, lang, cur: creator_rows(section, lang, cur)),
    ("audiences", "audiences", lambda section, data, lang, cur: audience_rows(section, data.period.t0, lang)),
    ("content", "content", lambda section, data, lang, cur: content_rows(section, lang)),
    ("stages", "stages", _stage_table),
    ("portrait", "portrait", _portrait_rows),
)


def _tables(data: ReportData, lang: str) -> dict[str, Any]:
    """The formatted rows of each section's table, by the template's table name (absent sections: none)."""
    cur = data.meta.get("currency", CURRENCY)
    out: dict[str, Any] = {}
    for section, name, rows in _TABLES:
        value = data.sections.get(section)
        if value is None or (section == "stages" and value["level"] != "brand"):  # stage table: brand level only
            continue
        out[name] = rows(value, data, lang, cur)
    return out


def _diagnosis_view(data: ReportData, lang: str) -> dict | None:
    d = data.sections.get("diagnosis")
    if d is None:
        return None
    mt = d["metrics"].set_index("metric")
    evidence = []
    for tr in [x["transition"] for x in d["leaks"]] or ([d["focus"]] if d["focus"] else []):
        key = f"{tr} advance rate"
        if key not in mt.index:
            continue
        r = mt.loc[key]
        p = r.get("p_value")
        p_text = "" if p is None or p != p else ("p < 0.001" if p < 0.001 else f"p = {p:.3f}")
        flow = mt.loc[f"{tr} flow rate"] if f"{tr} flow rate" in mt.index else None
        evidence.append({
            "transition": tr.replace("->", " → "), "rate": fmt_pct(r["brand"], 1, lang),
            "median": fmt_pct(r["category_median"], 1, lang), "top": fmt_pct(r["top_quartile"], 1, lang),
            "x": "" if r.get("x") != r.get("x") or r.get("x") is None else int(r["x"]),
            "n": "" if r.get("n") != r.get("n") or r.get("n") is None else int(r["n"]), "p": p_text,
            "flow": None if flow is None else fmt_pct(flow["brand"], 1, lang),
            "flow_median": None if flow is None else fmt_pct(flow["category_median"], 1, lang),
        })
    actions = []
    act = d.get("actions") or {}
    auds = {a["key"]: a for a in data.sections.get("audiences") or []}
    if "stuck" in auds:
        a = auds["stuck"]
        actions.append({"text": t("diag.audience", lang, size=fmt_count(a["size"], lang), stage=a.get("stage"),
                                  t0=_date(data.period.t0)), "command": a["command"]})
    if act.get("creators"):
        actions.append({"text": t("diag.creators", lang, names=", ".join(act["creators"])), "command": None})
    if act.get("channel"):
        ch = act["channel"]
        actions.append({"text": t("diag.channel", lang, target=ch["target"], channel=ch["channel"],
                                  share=fmt_pct(ch["share"], 0, lang)), "command": None})
    return {
        "focus": d["focus"], "focus_text": (d["focus"] or "").replace("->", " → "), "is_leak": d["is_leak"],
        "summary": (d.get("summary") or {}).get(lang, ""), "evidence": evidence,
        "more": [x["transition"].replace("->", " → ") for x in d["leaks"][1:]],
        "playbook": (d.get("playbook") or {}).get(lang, []), "actions": actions,
        "peers": d.get("peers") or [], "t0": _date(d.get("t0")), "at": _date(d.get("at")),
    }


def _interval(e: dict, key: str, lang: str) -> str:
    return f"{fmt_count(e[key], lang)} [{fmt_count(e[key + '_low'], lang)}, {fmt_count(e[key + '_high'], lang)}]"


def plan_view(plan: dict | None, lang: str, cur: str = CURRENCY) -> dict | None:
    """The Plan section's texts and rows, formatted (the report's and the dashboard's): the
    note or the one-line reason the planner could not run, spend per channel of both splits,
    and the expected outcomes with their intervals."""
    if plan is None:
        return None
    if plan.get("error"):
        return {"error": t("plan.sec.error", lang, brand=plan.get("brand", ""), reason=plan["error"])}
    exp = plan["expected"]
    return {
        "error": None,
        "note": t("plan.sec.note", lang, budget=fmt_money(plan["budget"], lang, cur), brand=plan["brand"],
                  horizon=plan["horizon"], day=_date(plan["from"]), goal=t(f"plan.m.{plan['goal']}", lang)),
        "split_title": t("plan.sec.split", lang, horizon=plan["horizon"]),
        "rows": [{"channel": r["channel"], "recommended": fmt_money(r["recommended"], lang, cur),
                  "current": fmt_money(r["current"], lang, cur), "raw": _raw(r["recommended"]),
                  "change": L.fmt_delta(r["recommended"], r["current"], "count", lang) if r["current"] else "—"}
                 for r in plan["rows"]],
        "outcomes": [{"measure": t(f"plan.m.{k}", lang), "key": k, "raw": _raw(exp["recommended"][k]),
                      "recommended": _interval(exp["recommended"], k, lang),
                      "current": _interval(exp["current"], k, lang)} for k in ("TI", "purchases")],
    }


def _methods_view(data: ReportData, lang: str, extra_notes: list[str] = ()) -> dict | None:
    m = data.sections.get("methods")
    if m is None:
        return None
    p = data.period
    rules = []
    for r in m["rules"]:
        w = r["window"]
        window = t("methods.cycle_window", lang) if w == "cycle" else t("methods.days", lang, n=w)
        rules.append({"stage": stage_label(r["stage"], lang), "rule": r["rule"], "window": window})
    omitted = [{"section": t(SECTION_TITLES.get(k, k), lang, category=data.category or "", t0=_date(p.t0),
                             t1=_date(p.t1)), "reason": v} for k, v in data.omitted.items()]
    return {
        "rules": rules, "timezone": t("methods.timezone", lang, tz=m["timezone"]),
        "cycles": [{"category": k, "x": v} for k, v in m["cycles"].items()],
        "default_cycle": t("methods.default", lang, n=m["default_cycle"]),
        "data_range": t("methods.data_range", lang, first=_date(m["first"]), last=_date(m["last"]),
                        events=fmt_count(m["events"], lang), pairs=fmt_count(m["pairs"], lang), end=_date(p.end),
                        brand=data.brand),
        "loaded": t("methods.loaded", lang, n=fmt_count(m.get("loaded"), lang), loads=m["loads"])
        if m.get("loads") is not None else "",
        "quarantine": (t("methods.quarantine", lang, n=fmt_count(m["quarantined"], lang)) if m.get("quarantined")
                       else t("methods.quarantine_none", lang)),
        "reasons": [{"table": r["table_name"], "reason": r["reason"], "n": fmt_count(r["n"], lang)}
                    for r in m.get("reasons") or []],
        "period": t("methods.period", lang, **{k: _date(v) for k, v in p.asdict().items()}),
        "cards": t("methods.cards", lang, end=_date(p.end), prev_end=_date(p.prev_end)),
        "attribution": t("methods.attribution", lang),
        "omitted": omitted, "notes": list(dict.fromkeys([*data.notes, *extra_notes])),
        "timing": t("methods.timing", lang, seconds=f"{data.seconds.get('total', 0):.0f}"),
    }


def render_report(data: ReportData, lang: str = "en", *, embed_js: bool = True) -> str:
    """The report as one HTML page in ``lang`` (``en`` or ``zh``)."""
    L.check_lang(lang)
    p = data.period
    chart_notes: list[str] = []
    figs = {name: figure_html(fig, f"fig-{name}") for name, fig in figures(data, lang, chart_notes).items()}
    plan = plan_view(data.sections.get("plan"), lang, data.meta.get("currency", CURRENCY))
    tr = {k: t(k, lang) for k in L.LABELS["en"]}
    titles = {k: t(v, lang, category=data.category or "", t0=_date(p.t0), t1=_date(p.t1), end=_date(p.end),
                   start=_date(p.start)) for k, v in SECTION_TITLES.items()}
    notes = {
        "stages": t("sec.stages.note", lang, end=_date(p.end)),
        "trend": t("sec.trend.note", lang, start=_date((data.sections.get("trend") or {}).get("start", p.prev_start)),
                   end=_date(p.end)),
        "flows": t("sec.flows.note", lang, t0=_date(p.t0), t1=_date(p.t1)),
    }
    context = {
        "lang": lang, "brand": data.brand, "tr": tr, "titles": titles, "notes": notes,
        "title": t("title", lang, brand=data.brand),
        "subtitle": t("subtitle", lang, start=_date(p.start), end=_date(p.end), days=p.days,
                      prev_start=_date(p.prev_start), prev_end=_date(p.prev_end)),
        "generated": t("generated", lang, when=data.meta.get("generated_at", ""), store=data.meta.get("store", "")),
        "category": data.category, "level": data.level,
        "cards": card_views(data.sections.get("cards") or [], lang, data.meta.get("currency", CURRENCY)),
        "figs": figs, "tables": _tables(data, lang), "diagnosis": _diagnosis_view(data, lang),
        "methods": _methods_view(data, lang, chart_notes), "has": {k: data.has(k) for k in SECTION_TITLES},
        "plan": plan,
        "attribution_notes": (data.sections.get("attribution") or {}).get("notes", []),
        "plotly_js": plotly_js() if embed_js else "",
        "font_stack": "'Noto Sans CJK SC','Noto Sans SC','PingFang SC','Microsoft YaHei','Helvetica Neue',Arial,sans-serif",
    }
    return _env().get_template("report.html.j2").render(**context)


def write_report(data: ReportData, path: str | Path, lang: str = "en") -> Path:
    """Render and write the report atomically; returns the path."""
    from aips.io import atomic_write_text

    path = Path(path)
    atomic_write_text(path, render_report(data, lang))
    mask = os.umask(0)
    os.umask(mask)
    os.chmod(path, 0o666 & ~mask)  # readable like any file the user writes (mkstemp made it 0600)
    return path
