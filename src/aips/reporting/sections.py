"""One function per report section, each reading the workspace's Python API.

Every ``section_<name>(ctx)`` returns small pandas frames and plain dicts, or ``None`` when
there is nothing to show; :func:`aips.reporting.data.collect` runs them in
:data:`SECTIONS` order and turns errors into notes. This module holds the context, the
crowd-asset and outcome sections and the methods footnote; the attribution, activation
and insight sections are in :mod:`aips.reporting.sections_activation`. With
:mod:`aips.reporting.data` they are the only code of the report and of the dashboard that
calls the API: charts and templates only see what these functions return.

Which API call feeds which section:

============  ==============================================================================
section       API
============  ==============================================================================
cards         ``assets`` (AIPS total, TI), ``seeded_crowd`` (I+TI), ``new_ti_counts``,
              ``penetration``, ``roi`` (pooled over the period's campaigns)
stages        ``assets(at, cumulative=False/True, level=)``
trend         ``asset_series(start, end, level=)``
flows         ``flow_matrix``, ``flow_rates`` (t0 -> t1), per brand of the category
competitors   ``competitors(at, category=)``, ``penetration(at)``
cycles        ``decision_cycle(category)`` per category
roi           ``roi(campaign)`` per campaign of the brand launched in the two periods
attribution   ``attribute(target="purchase"|"TI", compare=[...])``, ``attribute(model="incremental")``
creators      ``creators("TI", at=, brand=)``
diagnosis     ``diagnose(brand, at, period=)``, the playbook, Markov credits of the next stage
audiences     stage counts and the flow matrix (same numbers as ``audience(...).size()``),
              ``audience(competitors_of=)``
portrait      ``portrait({"brand", "at", "stage": "TI"})``
content       ``content_strategy(brand, by=("format", "keyword"))``
plan          ``planner(brand)``: the recommended split against the current one, forecasts
              (:mod:`aips.reporting.sections_plan`)
methods       the model, ``loads`` and ``quarantine`` tables, the events' date range
============  ==============================================================================
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from aips.config.model import STAGE_ORDER, STAGE_RANK, STAGES
from aips.dates import as_date
from aips.engine.durations import campaigns_touches
from aips.reporting.period import Period, data_range
from aips.store.cache import materialised

SECTIONS: tuple[str, ...] = (
    "cards", "stages", "trend", "flows", "competitors", "cycles", "roi", "attribution",
    "creators", "diagnosis", "audiences", "portrait", "content", "plan", "methods",
)
"""Every section, in the order they are computed (the template orders the display)."""

PATH_MODELS = ("first", "last", "linear", "position", "time_decay", "markov", "shapley")
"""Attribution models compared side by side (plus ``incremental`` for purchases)."""
FROM_STAGE = {"A->I": "A", "I->TI": "I", "TI->P": "TI", "P->S": "P"}
"""The stage a transition leaves (its stuck crowd)."""
INTERESTS = ("category", "keyword", "creator")
"""Portrait dimensions read from events (the rest are attributes of the ``users`` table)."""


@dataclass
class Context:
    """What every section function receives: the workspace, brand, period, and a memo."""

    ws: Any
    brand: str
    period: Period
    level: str = "brand"
    langs: tuple[str, ...] = ("en",)
    memo: dict = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def once(self, key: Any, build: Callable[[], Any]) -> Any:
        """``build()``, computed once per context."""
        if key not in self.memo:
            self.memo[key] = build()
        return self.memo[key]


# --- helpers -----------------------------------------------------------------------------------


def _rows(expr) -> list[dict]:
    return expr.to_pyarrow().to_pylist()


def _frame(expr) -> pd.DataFrame:
    if isinstance(expr, pd.DataFrame):
        return expr
    return expr.to_pyarrow().to_pandas()


def _num(value: Any) -> float | None:
    try:
        f = float(value)
    except (TypeError, ValueError):
        return None
    return None if f != f else f


def _first_day(ctx: Context) -> dt.date | None:
    return ctx.once("first_day", lambda: data_range(ctx.ws)[0])


def _has_data(ctx: Context, day: dt.date) -> bool:
    first = _first_day(ctx)
    return first is not None and day >= first


def _assets(ctx: Context, at: dt.date, cumulative: bool = False, level: str = "brand") -> pd.DataFrame:
    return ctx.once(("assets", at, cumulative, level),
                    lambda: _frame(ctx.ws.assets(at, cumulative=cumulative, level=level)))


def _stage_counts(ctx: Context, at: dt.date, cumulative: bool = False) -> dict[str, int]:
    df = _assets(ctx, at, cumulative)
    df = df[df["brand"] == ctx.brand]
    return {s: int(df.loc[df["stage"] == s, "users"].sum()) for s in STAGE_ORDER}


def brand_category(ctx: Context) -> str | None:
    """The brand's main category on the period's last day (competitors table, else events)."""

    def build() -> str | None:
        try:
            comp = _competitors_all(ctx)
            hit = comp[comp["brand"] == ctx.brand]
            if len(hit) and hit["category"].iloc[0] is not None:
                return str(hit["category"].iloc[0])
        except Exception as err:  # noqa: BLE001 - fall back to the events
            ctx.notes.append(f"competitors: {err}")
        ev = ctx.ws.events
        ev = ev.filter((ev.brand == ctx.brand) & ev.category.notnull())
        rows = _rows(ev.group_by("category").aggregate(n=ev.count()))
        rows.sort(key=lambda r: (-r["n"], str(r["category"])))
        return rows[0]["category"] if rows else None

    return ctx.once("category", build)


def _competitors_all(ctx: Context) -> pd.DataFrame:
    return ctx.once("competitors_all", lambda: _frame(ctx.ws.competitors(ctx.period.end)))


def configured_x(ctx: Context, category: str | None) -> int:
    """The configured decision cycle x of a category (model, else ``categories`` table)."""
    model = ctx.ws.model
    if category in model.categories or category is None:
        return int(model.cycle_days(category))
    table = ctx.once("categories_table", lambda: _frame(ctx.ws.store.table("categories"))
                     if ctx.ws.store.has("categories") else pd.DataFrame())
    if len(table) and "category" in table:
        hit = table[table["category"] == category]
        if len(hit) and _num(hit["decision_cycle_days"].iloc[0]) is not None:
            return int(hit["decision_cycle_days"].iloc[0])
    return int(model.default_cycle_days)


# --- crowd assets --------------------------------------------------------------------------------


def _card(metric: str, kind: str, value: Any, previous: Any, **extra: Any) -> dict[str, Any]:
    return {"metric": metric, "kind": kind, "value": value, "previous": previous, **extra}


def section_cards(ctx: Context) -> list[dict] | None:
    """Headline cards: AIPS total, TI, new TI, I+TI, penetration, ROI(T+x); each with the
    previous period's value (None when the previous period has no data)."""
    ws, p, brand = ctx.ws, ctx.period, ctx.brand
    prev_ok = _has_data(ctx, p.prev_end)
    cards: list[dict] = []
    now, before = _stage_counts(ctx, p.end), (_stage_counts(ctx, p.prev_end) if prev_ok else None)
    cards.append(_card("aips_total", "count", sum(now.values()), sum(before.values()) if before else None))
    cards.append(_card("ti", "count", now["TI"], before["TI"] if before else None))

    def try_metric(name: str, fn: Callable[[], dict | None]) -> None:
        try:
            card = fn()
        except Exception as err:  # noqa: BLE001 - one card must not hide the others
            ctx.notes.append(f"card {name}: {type(err).__name__}: {err}")
            return
        if card is not None:
            cards.append(card)

    def new_ti() -> dict | None:
        def count(a, b) -> int:
            df = _frame(ws.new_ti_counts(a, b, level="brand"))
            return int(df.loc[df["brand"] == brand, "new_ti"].sum())

        prev = count(p.prev_start, p.prev_end) if _has_data(ctx, p.prev_start) else None
        return _card("new_ti", "count", count(p.start, p.end), prev)

    def seeded() -> dict | None:
        def count(at) -> int:
            df = _frame(ws.seeded_crowd(at, level="brand"))
            return int(df.loc[df["brand"] == brand, "users"].sum())

        return _card("i_ti", "count", count(p.end), count(p.prev_end) if prev_ok else None)

    def penetration() -> dict | None:
        def rate(at) -> float | None:
            df = ctx.once(("penetration", at), lambda: _frame(ws.penetration(at)))
            hit = df[df["brand"] == brand]
            return _num(hit["penetration"].iloc[0]) if len(hit) else None

        return _card("penetration", "rate", rate(p.end), rate(p.prev_end) if prev_ok else None)

    def roi() -> dict | None:
        data = _roi_results(ctx)
        if data is None:
            return None
        cur = [c for c in data["campaigns"] if p.start <= c["T"] <= p.end]
        prev = [c for c in data["campaigns"] if p.prev_start <= c["T"] <= p.prev_end]
        return _card("roi", "ratio", pooled_roi(cur), pooled_roi(prev),
                     campaigns=[c["campaign"] for c in cur],
                     partial=any(not c["complete"] for c in cur))

    try_metric("new_ti", new_ti)
    try_metric("i_ti", seeded)
    try_metric("penetration", penetration)
    try_metric("roi", roi)
    order = ["aips_total", "ti", "new_ti", "i_ti", "penetration", "roi"]
    return sorted(cards, key=lambda c: order.index(c["metric"]))


def pooled_roi(campaigns: list[dict]) -> float | None:
    """Σ revenue ÷ Σ spend over campaigns with spend (None without any)."""
    spend = sum(c["spend"] or 0.0 for c in campaigns)
    if not campaigns or spend <= 0:
        return None
    return sum(c["revenue"] or 0.0 for c in campaigns) / spend


def section_stages(ctx: Context) -> dict | None:
    """Exclusive and cumulative counts per stage on the period's last day (per SPU at SPU level)."""
    level = ctx.level
    keys = ["spu", "stage"] if level == "spu" else ["stage"]
    ex = _assets(ctx, ctx.period.end, False, level)
    cu = _assets(ctx, ctx.period.end, True, level)
    ex, cu = ex[ex["brand"] == ctx.brand], cu[cu["brand"] == ctx.brand]
    if ex.empty:
        return None
    df = ex[keys + ["users"]].rename(columns={"users": "exclusive"}).merge(
        cu[keys + ["users"]].rename(columns={"users": "cumulative"}), on=keys, how="outer").fillna(0)
    df["exclusive"] = df["exclusive"].astype(int)
    df["cumulative"] = df["cumulative"].astype(int)
    if level == "brand" and _has_data(ctx, ctx.period.prev_end):
        before = _stage_counts(ctx, ctx.period.prev_end)
        df["previous"] = df["stage"].map(before).fillna(0).astype(int)
    return {"level": level, "at": ctx.period.end, "prev_at": ctx.period.prev_end, "frame": df}


def section_trend(ctx: Context) -> dict | None:
    """Daily exclusive counts per stage over the previous and current periods."""
    p = ctx.period
    start = max(p.prev_start, _first_day(ctx) or p.prev_start)
    df = _frame(ctx.ws.asset_series(start, p.end, level=ctx.level))
    df = df[df["brand"] == ctx.brand]
    if df.empty:
        return None
    df = df.groupby(["date", "stage"], as_index=False)["users"].sum()
    return {"frame": df, "start": start, "end": p.end, "period_start": p.start}


def section_flows(ctx: Context) -> dict | None:
    """The Sankey t0 -> t1, the brand's flow rates, and every brand of its category's rates."""
    ws, p, level = ctx.ws, ctx.period, ctx.level
    mat = _frame(ws.flow_matrix(p.t0, p.t1, level=level))
    mat = _of_brand(ctx, mat)
    if mat.empty:
        return None
    mat = mat.groupby(["from_stage", "to_stage", "movement"], as_index=False)["users"].sum()
    rates_all = _frame(ws.flow_rates(p.t0, p.t1, level="brand"))
    if level == "spu":
        mine = _of_brand(ctx, _frame(ws.flow_rates(p.t0, p.t1, level="spu")))
    else:
        mine = rates_all[rates_all["brand"] == ctx.brand]
    cols = ["at_t0", "moved_up", "stayed", "moved_down", "churned"]
    mine = mine.groupby("stage", as_index=False)[[c for c in cols if c in mine]].sum()
    mine["flow_rate"] = mine["moved_up"] / mine["at_t0"].where(mine["at_t0"] > 0)
    category = brand_category(ctx)
    compare = None
    if category is not None:
        comp = _competitors_all(ctx)
        peers = comp.loc[comp["category"] == category, "brand"].tolist()
        compare = rates_all[rates_all["brand"].isin(peers)][["brand", "stage", "at_t0", "moved_up", "flow_rate"]]
        # the backend returns rows in no particular order: brand, then stage order
        compare = compare.assign(_rank=compare["stage"].map(STAGE_RANK)).sort_values(
            ["brand", "_rank"]).drop(columns="_rank").reset_index(drop=True)
    return {"matrix": mat, "rates": mine, "compare": compare, "t0": p.t0, "t1": p.t1,
            "category": category}


def brand_spus(ctx: Context) -> list[str]:
    """The brand's SPUs (flows at SPU level carry ``spu`` only)."""

    def build() -> list[str]:
        ev = ctx.ws.events
        ev = ev.filter((ev.brand == ctx.brand) & ev.spu.notnull())
        return sorted(r["spu"] for r in _rows(ev.select("spu").distinct()))

    return ctx.once("spus", build)


def _of_brand(ctx: Context, df: pd.DataFrame) -> pd.DataFrame:
    """Rows of the brand: by ``brand`` when the frame has it, else by the brand's SPUs."""
    if "brand" in df:
        return df[df["brand"] == ctx.brand]
    if "spu" in df:
        return df[df["spu"].isin(brand_spus(ctx))]
    return df


def section_competitors(ctx: Context) -> dict | None:
    """The brand's category: every brand's AIPS, I+TI, TI, TI share, ranks and penetration."""
    category = brand_category(ctx)
    if category is None:
        return None
    comp = _competitors_all(ctx)
    comp = comp[comp["category"] == category].copy()
    if comp.empty:
        return None
    pen = ctx.once(("penetration", ctx.period.end), lambda: _frame(ctx.ws.penetration(ctx.period.end)))
    comp = comp.merge(pen[["brand", "penetration"]], on="brand", how="left")
    return {"category": category, "frame": comp.sort_values("ti_rank").reset_index(drop=True)}


# --- outcomes ------------------------------------------------------------------------------------


def _categories(ctx: Context) -> list[str]:
    ws = ctx.ws
    if ws.store.has("categories"):
        names = [r["category"] for r in _rows(ws.store.table("categories").select("category"))]
    else:
        ev = ws.events
        names = [r["category"] for r in _rows(ev.filter(ev.category.notnull()).select("category").distinct())]
    names = sorted({n for n in names if n})
    mine = brand_category(ctx)
    if mine in names:
        names.remove(mine)
        names.insert(0, mine)
    return names[:ws.model.report.max_categories]


def section_cycles(ctx: Context) -> list[dict] | None:
    """The decision cycle of each category (the brand's first): KM curve, median, P80, x."""
    from aips.analytics.decision_cycle import km_tables

    out = []
    mine = brand_category(ctx)
    categories = _categories(ctx)
    tables = km_tables(ctx.ws.view, categories)  # one pass over the events for all of them
    for category in categories:
        try:
            fit = ctx.ws.decision_cycle(category, n_bootstrap=200,
                                        km=tables.get(category, pd.DataFrame(columns=["duration"])))
        except Exception as err:  # noqa: BLE001 - a category without pairs is skipped
            ctx.notes.append(f"decision cycle of {category}: {err}")
            continue
        curve = fit.curve_[["t", "survival", "converted"]].copy()
        share = float(fit.converted_share_ or 0.0)
        curve["not_bought"] = 1.0 - curve["converted"] / share if share > 0 else 1.0
        out.append({
            "category": category, "curve": curve, "median": fit.median_days_, "p80": fit.p80_days_,
            "median_ci": tuple(fit.median_days_ci_), "converted_share": share, "n": fit.n_,
            "purchases": fit.purchases_, "configured_x": configured_x(ctx, category),
            "note": getattr(fit, "note_", None), "is_brand_category": category == mine,
        })
    return out or None


def _roi_results(ctx: Context) -> dict | None:
    """ROI(T+x) of the brand's campaigns launched in the previous or current period (or the
    latest ones before, when none was)."""

    def build() -> dict | None:
        ws, p = ctx.ws, ctx.period
        if not ws.store.has("campaigns"):
            return None
        camps = ws.store.table("campaigns")
        rows = _rows(camps.filter(camps.brand == ctx.brand).select("campaign_id", "channel", "start_date", "spend"))
        rows = [r for r in rows if r["start_date"] is not None and r["start_date"] <= p.end]
        if not rows:
            return None
        rows.sort(key=lambda r: (r["start_date"], r["campaign_id"]), reverse=True)
        chosen = [r for r in rows if r["start_date"] >= p.prev_start] or rows[:3]
        # every chosen campaign's touched users from one pass over the events
        every = materialised(campaigns_touches(ws.events, [r["campaign_id"] for r in chosen]))
        out = []
        for r in chosen:
            try:
                mine = every.filter(every.campaign_id == r["campaign_id"]).drop("campaign_id")
                fit = ws.roi(r["campaign_id"], touches=mine)
            except Exception as err:  # noqa: BLE001 - one campaign must not hide the others
                ctx.notes.append(f"ROI of {r['campaign_id']}: {err}")
                continue
            s = fit.summary_
            inc = fit.incremental_
            curve = fit.curve_[["x", "roi", "revenue"]].copy()
            if s.get("data_end"):
                observed = (as_date(s["data_end"]) - r["start_date"]).days
                curve = curve[curve["x"] <= max(observed, 0)]
            out.append({
                "campaign": r["campaign_id"], "channel": r["channel"], "T": r["start_date"],
                "x": int(s["x"]), "spend": _num(s["spend"]), "revenue": _num(s["revenue"]),
                "roi": _num(s["roi"]), "touched": s.get("touched_users"), "new_ti": s.get("new_ti"),
                "complete": bool(s.get("complete", True)),
                "curve": curve,
                "incremental": None if inc is None else {
                    "roi": _num(inc.get("roi")), "ci": [_num(v) for v in inc.get("roi_ci") or [None, None]],
                    "revenue": _num(inc.get("incremental_revenue")),
                    "overlapping": inc.get("overlapping_campaigns") or [],
                    # only for the per-campaign contrast (brand-contrast data stay as they were)
                    **({"own_holdout": True} if inc.get("contrast") == "campaign_holdout" else {}),
                },
            })
        return {"campaigns": out} if out else None

    return ctx.once("roi", build)


def section_roi(ctx: Context) -> dict | None:
    """ROI(T+x) curves of the brand's recent campaigns (attributed, and incremental)."""
    data = _roi_results(ctx)
    if data is None:
        return None
    return {"campaigns": data["campaigns"][:ctx.ws.model.report.max_campaigns]}


# --- methods -------------------------------------------------------------------------------------


def section_methods(ctx: Context) -> dict:
    """Rules, windows, cycles, the data's date range, loads and quarantined rows."""
    ws, model = ctx.ws, ctx.ws.model
    rules = [{"stage": s, "rule": model.stages[s].rule, "window": model.stages[s].window}
             for s in STAGES if s in model.stages]
    first, last = data_range(ws)
    ev = ws.events
    n_events = int(ev.count().to_pyarrow().as_py())
    cycles = {c: configured_x(ctx, c) for c in _categories(ctx)}
    out: dict[str, Any] = {"rules": rules, "timezone": model.timezone, "first": first, "last": last,
                           "events": n_events, "cycles": cycles, "default_cycle": model.default_cycle_days,
                           "pairs": sum(_stage_counts(ctx, ctx.period.end).values()),
                           "loads": None, "quarantined": None, "reasons": []}
    if ws.store.has("loads"):
        loads = ws.store.table("loads")
        row = _rows(loads.aggregate(n=loads.count(), loaded=loads.loaded.sum(), quarantined=loads.quarantined.sum()))[0]
        out.update(loads=int(row["n"] or 0), loaded=int(row["loaded"] or 0), quarantined=int(row["quarantined"] or 0))
    if ws.store.has("quarantine"):
        q = ws.store.table("quarantine")
        reasons = _rows(q.group_by(["table_name", "reason"]).aggregate(n=q.count()))
        out["reasons"] = sorted(reasons, key=lambda r: -r["n"])[:8]
        if out["quarantined"] is None:
            out["quarantined"] = sum(r["n"] for r in reasons)
    return out
