"""Report sections that read attribution, activation and insight: attribution by channel,
creators, the diagnosis, suggested audiences, the TI crowd's portrait, content.

The section functions follow the contract of :mod:`aips.reporting.sections`.
"""

from __future__ import annotations

import shlex
from typing import Any

import pandas as pd

from aips.reporting.sections import (
    FROM_STAGE,
    INTERESTS,
    PATH_MODELS,
    Context,
    _frame,
    _stage_counts,
)


def _long_credits(wide: pd.DataFrame, models: list[str]) -> pd.DataFrame:
    label = wide.columns[0]
    parts = []
    for m in models:
        if m in wide and f"{m}_share" in wide:
            parts.append(pd.DataFrame({"channel": wide[label], "model": m, "conversions": wide[m],
                                       "share": wide[f"{m}_share"]}))
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


def section_attribution(ctx: Context) -> dict | None:
    """Purchases and advances to TI credited to channels, models side by side."""
    ws, brand = ctx.ws, ctx.brand
    out: dict[str, Any] = {"notes": []}
    for target in ("purchase", "TI"):
        try:
            wide = ws.attribute(target=target, by="channel", brand=brand, compare=list(PATH_MODELS))
        except Exception as err:  # noqa: BLE001 - the other target may still work
            out["notes"].append(f"{target}: {type(err).__name__}: {err}")
            continue
        long = _long_credits(wide, list(PATH_MODELS))
        if target == "purchase":
            try:
                inc = ws.attribute(model="incremental", target="purchase", by="channel", brand=brand)
                extra = pd.DataFrame({"channel": inc[inc.columns[0]], "model": "incremental",
                                      "conversions": inc["conversions"], "share": inc["share"]})
                long = pd.concat([long, extra], ignore_index=True)
            except Exception as err:  # noqa: BLE001 - path models are still shown
                out["notes"].append(f"incremental: {type(err).__name__}: {str(err).splitlines()[0][:200]}")
        if not long.empty and long["conversions"].abs().sum() > 0:
            out[target] = long
            ctx.memo[("attribution", target)] = long
    ctx.notes.extend(f"attribution {n}" for n in out["notes"])
    return out if ("purchase" in out or "TI" in out) else None


# --- activation and insight ------------------------------------------------------------------------

CREATOR_COLUMNS = ["creator_id", "tier", "followers", "target_reach", "target_share", "seeding_rate",
                   "seeding_lift", "expected_seeded", "fee"]


def section_creators(ctx: Context) -> dict | None:
    """The top creators for the brand's TI crowd on the period's last day."""
    ranking = ctx.ws.creators("TI", at=ctx.period.end, brand=ctx.brand, attribution=None, top=10)
    table = ranking.table
    if table is None or table.empty:
        return None
    cols = [c for c in CREATOR_COLUMNS if c in table]
    ctx.memo["creators_top"] = table["creator_id"].head(5).tolist()
    return {"frame": table[cols].head(10).reset_index(drop=True), "notes": list(ranking.notes),
            "target_users": ranking.target.get("users")}


def _brand_matrix(ctx: Context) -> pd.DataFrame:
    """The brand-level flow matrix t0 -> t1 of the brand (whatever the report's level)."""

    def build() -> pd.DataFrame:
        mat = _frame(ctx.ws.flow_matrix(ctx.period.t0, ctx.period.t1, level="brand"))
        return mat[mat["brand"] == ctx.brand]

    return ctx.once("brand_matrix", build)


def _markov_credits(ctx: Context, target: str) -> pd.DataFrame | None:
    """Markov credits of ``target`` per channel (from the attribution section when it has them)."""
    long = ctx.memo.get(("attribution", target))
    if long is not None:
        m = long[long["model"] == "markov"]
        return m[["channel", "conversions"]] if len(m) else None
    df = ctx.ws.attribute(model="markov", target=target, by="channel", brand=ctx.brand)
    return df[[df.columns[0], "conversions"]].rename(columns={df.columns[0]: "channel"})


NOT_PAID = ("baseline", "(none)", "(no touch)")
"""Credit rows that are no channel at all; the model's organic channels are left out too."""


def section_diagnosis(ctx: Context) -> dict | None:
    """The leaking stage against the category, its evidence, the playbook entries (in every
    language of the report) and the next actions (stuck audience, creators, best channel)."""
    ws, p = ctx.ws, ctx.period
    d = ws.diagnose(ctx.brand, p.end, period=max(p.days, 7), lang="en", actions=False)
    focus = d.focus
    ctx.memo["diagnosis_focus"] = focus
    out: dict[str, Any] = {
        "focus": focus, "is_leak": bool(d.is_leak), "category": d.category, "peers": list(d.peers),
        "t0": d.t0, "at": d.at, "metrics": d.metrics,
        "leaks": [{"transition": x["transition"], "gap": x["gap"], "p_value": x.get("p_value")} for x in d.leaks],
        "summary": {}, "playbook": {}, "actions": {},
    }
    book = None
    try:
        from aips.activation.playbook import load_playbook

        book = load_playbook()
    except Exception as err:  # noqa: BLE001 - the diagnosis is still shown without it
        ctx.notes.append(f"playbook: {err}")
    if focus and book is not None and focus in book.transitions:
        for lang in ctx.langs:
            out["summary"][lang] = book.text(book.transitions[focus].get("summary"), lang)
            out["playbook"][lang] = book.entry(focus, lang)
    if focus:
        stuck = FROM_STAGE.get(focus)
        target = (book.transitions[focus].get("attribution_target") if book else None) or focus.split("->")[1]
        try:
            credits = _markov_credits(ctx, "purchase" if target == "purchase" else target)
            if credits is not None:
                not_paid = [*ctx.ws.model.organic_channels, *NOT_PAID]
                paid = credits[~credits["channel"].isin(not_paid)]
                total = float(credits["conversions"].clip(lower=0).sum())
                if total > 0 and len(paid) and paid["conversions"].max() > 0:
                    best = paid.sort_values("conversions", ascending=False).iloc[0]
                    out["actions"]["channel"] = {"channel": best["channel"], "target": target,
                                                 "share": float(best["conversions"]) / total}
        except Exception as err:  # noqa: BLE001 - the other actions are still shown
            ctx.notes.append(f"diagnosis channel: {err}")
        out["actions"]["stuck_stage"] = stuck
        creators = ctx.memo.get("creators_top")
        if creators:
            out["actions"]["creators"] = creators[:3]
    return out



def _audience_specs(ctx: Context) -> list[dict]:
    p, b = ctx.period, ctx.brand
    slug = b.lower().replace(" ", "_")
    base = f"aips audience --brand {shlex.quote(b)}"  # brands are user data: quoted for the shell

    def out(name: str) -> str:
        return shlex.quote(f"{slug}_{name}.csv")

    flow = f"--from {p.t0} --to {p.t1}"
    specs = []
    focus = ctx.memo.get("diagnosis_focus")
    if focus in FROM_STAGE:
        s = FROM_STAGE[focus]
        specs.append({"key": "stuck", "stage": s, "from": [s], "to": [s],
                      "command": f"{base} --flow {s}:{s} {flow} --out {out(s.lower() + '_stuck')} --id sha256"})
    specs += [
        {"key": "ti_not_bought", "stages": ["TI"],
         "command": f"{base} --at {p.end} --stage TI --out {out('ti')} --id sha256"},
        {"key": "seeded", "stages": ["I", "TI"],
         "command": f"{base} --at {p.end} --stage I+TI --out {out('seeded')} --id sha256"},
        {"key": "new_ti", "from": ["none", "A", "I"], "to": ["TI"],
         "command": f"{base} --flow none,A,I:TI {flow} --out {out('new_ti')} --id sha256"},
        {"key": "lapsed_ti", "from": ["TI"], "to": ["none", "A", "I"],
         "command": f"{base} --flow TI:none,A,I {flow} --out {out('lapsed_ti')} --id sha256"},
        {"key": "competitor_ti", "competitors": True,
         "command": f"{base} --competitors --at {p.end} --stage TI --out {out('competitor_ti')} --id sha256"},
    ]
    return specs


def section_audiences(ctx: Context) -> list[dict] | None:
    """Suggested audiences with their sizes and the command that exports each: the leak's
    stuck crowd, TI not yet bought, the seeded crowd, new and lapsed TI (sizes from the
    stage counts and the brand's flow matrix, the engine's same numbers as ``ws.audience``),
    and the competitors' TI crowd (``ws.audience(competitors_of=...)``)."""
    out = []
    counts = _stage_counts(ctx, ctx.period.end)
    mat = None
    try:
        mat = _brand_matrix(ctx)
    except Exception as err:  # noqa: BLE001 - flow audiences are left out
        ctx.notes.append(f"audiences: flow matrix: {err}")
    for spec in _audience_specs(ctx):
        size = None
        if "stages" in spec:
            size = sum(counts[s] for s in spec["stages"])
        elif "from" in spec and mat is not None:
            cell = mat[mat["from_stage"].isin(spec["from"]) & mat["to_stage"].isin(spec["to"])]
            size = int(cell["users"].sum())
        elif spec.get("competitors"):
            try:
                size = ctx.ws.audience(competitors_of=ctx.brand, at=ctx.period.end, stages="TI").size("user")
            except Exception as err:  # noqa: BLE001 - one audience must not hide the others
                ctx.notes.append(f"audience competitor_ti: {err}")
        if size is not None:
            out.append({"key": spec["key"], "stage": spec.get("stage"), "size": int(size),
                        "command": spec["command"]})
    return out or None


def section_portrait(ctx: Context) -> dict | None:
    """The TI crowd's attributes and interests against the category (TGI)."""
    crowd = {"brand": ctx.brand, "at": ctx.period.end, "stage": "TI"}
    ti = _stage_counts(ctx, ctx.period.end)["TI"]
    if ti == 0:
        return None
    # a value needs a quarter of a small crowd (at least 5 users, at most the API's 30) to rank
    support = min(30, max(5, ti // 4))
    df = _frame(ctx.ws.portrait(crowd, top=8, min_support=support))
    if df.empty:
        return None
    df["interest"] = df["dimension"].isin(INTERESTS)
    return {"frame": df, "crowd_size": int(df["crowd_size"].max()), "min_support": support}


def section_content(ctx: Context) -> dict | None:
    """Formats and keywords that move each stage (lift over the brand's average)."""
    df = _frame(ctx.ws.content_strategy(ctx.brand, by=("format", "keyword"), top=3))
    return {"frame": df} if not df.empty else None
