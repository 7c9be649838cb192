"""The stage diagnosis: where a brand's funnel leaks against its category, and what to do.

For a brand on day ``at`` and a period of P days (``t0 = at - P``), against the other brands
of its category (the category most of its events carry in the 30 days before ``at``):

**Metrics** (per brand; the benchmark is the other brands' median and top quartile, i.e.
the 75th percentile, linear interpolation):

* stage sizes on ``at`` (exclusive levels, metrics ``A`` .. ``S``), ``aips_total``, **TI
  ratio** (TI / AIPS total), ``new_ti`` (count);
* **penetration** (AIPS users / the category audience, :mod:`aips.engine.penetration`);
* **new TI rate**: pairs that first reached TI (or above) in ``(t0, at]`` / AIPS total;
* for each transition X->Y (``A->I``, ``I->TI``, ``TI->P``, ``P->S``) the **advance
  rate**: of the pairs at stage X on some day of ``[t0, at)`` (from the engine's timelines
  cut at ``at``), the share whose level rose directly out of X to a higher stage on a day
  of ``(t0, at]``. It uses every pair that passed through X during the period, so it is
  steadier than the snapshot **flow rate** (pairs in X on t0 that are higher on ``at``,
  Lingxi's definition, :mod:`aips.engine.flows`), which is reported beside it.

**The leak rule.** A transition *leaks* when, for the brand, (1) at least ``min_base`` pairs
were at X during the period, (2) its advance rate is at least ``tolerance`` (20 %) below the
category median in relative terms (``rate / median - 1 <= -tolerance``), and (3) the gap is
significant: a one-sided two-proportion z-test of the brand's advances against the other
brands' pooled advances gives ``p < alpha`` (0.05). The **leaking stage** is the leaking
transition with the worst relative gap; the others are listed too. When nothing leaks, the
transition with the worst gap below the median (if any) is reported as the *focus*, not as
a leak. TI ratio, penetration and the new TI rate are shown against the benchmark as
context; they do not decide the leak (they depend on the brand's size and reach).

**Playbook and next actions.** The leaking (or focus) transition attaches the playbook
entries of its stage(s) (:mod:`aips.activation.playbook`), and the data's next actions:

* the audience to retarget: the pairs *stuck* in X (at X on t0 and still at X on ``at``),
  with its size and the ``aips audience`` command that exports it;
* the creators to book: the top creators for that crowd (:mod:`aips.activation.creators`);
* the channel that moves this stage best: the paid channel (organic left out) credited with
  most advances to Y by attribution (``attribute(view, target=Y, by="channel")``, Markov: it
  credits reach, not cause), when the attribution module is available.

**The stages are the model's.** A leak is found in the stages as the model's rules define
them. For example, in the simulator's worlds latent-I users search and read on separate
occasions, which the default TI clause ``search >= 1 and read >= 1`` (within 30 days, any
order) already counts as TI; a latent I->TI leak then shows as a weak I->TI *and* a weaker
TI->P (those "TI" pairs do not buy), and TI->P can have the worse gap. Every leaking
transition is listed with its evidence, so such a pair of leaks is visible.
"""

from __future__ import annotations

import datetime as dt
import math
import shlex
from dataclasses import dataclass, field
from typing import Any

import ibis
import numpy as np
import pandas as pd

from aips.activation.playbook import TRANSITIONS, Playbook, load_playbook
from aips.config import labels
from aips.config.labels import LANGS, check_lang, group
from aips.config.model import STAGE_ORDER
from aips.engine.flows import stage_rank
from aips.exceptions import AipsError, ConfigError
from aips.view import View

FROM_STAGE = {"A->I": "A", "I->TI": "I", "TI->P": "TI", "P->S": "P"}

_WORDS = {lang: group("diagnose", lang) for lang in LANGS}
"""The diagnosis's templates by language, from the catalogue (``diagnose.*`` in labels.yaml)."""


def _pct(x: float | None, lang: str = "en") -> str:
    return labels.t("na", lang) if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.1%}"


def _p(x: float | None, lang: str = "en") -> str:
    w = _WORDS[lang]
    return labels.t("na", lang) if x is None else (w["p_below"] if x < 0.001 else w["p_equal"].format(p=x))


def _rows(expr) -> list[dict]:
    return expr.to_pyarrow().to_pylist()


@dataclass
class Diagnosis:
    """A brand's diagnosis (see the module docstring).

    Attributes:
        brand, category, at, t0, peers: what was compared.
        metrics: one row per metric: ``metric, brand, category_median, top_quartile, gap
            (relative to the median), n, x, p_value, leaking``.
        brands: the per-brand table the benchmarks come from.
        leaks: leaking transitions, worst first: ``{transition, gap, evidence}``.
        focus: the leaking transition (or the weakest, when nothing leaks), or None.
        playbook: the attached stage entries (in ``lang``).
        actions: ``{audience, creators, channel}`` for the focus transition.
    """

    brand: str
    category: str | None
    at: dt.date
    t0: dt.date
    peers: list[str]
    lang: str
    metrics: pd.DataFrame
    brands: pd.DataFrame
    leaks: list[dict]
    focus: str | None
    is_leak: bool
    playbook: list[dict]
    actions: dict
    notes: list[str] = field(default_factory=list)
    summary: str = ""

    def asdict(self) -> dict[str, Any]:
        from aips.activation.creators import json_records

        return {
            "brand": self.brand, "category": self.category, "at": self.at.isoformat(),
            "t0": self.t0.isoformat(), "peers": self.peers, "lang": self.lang,
            "focus": self.focus, "leaking": self.is_leak, "summary": self.summary,
            "leaks": self.leaks, "metrics": json_records(self.metrics),
            "brands": json_records(self.brands), "playbook": self.playbook,
            "actions": self.actions, "notes": self.notes,
        }

    def __str__(self) -> str:
        w = _WORDS[self.lang]
        category = self.category if self.category is not None else w["no_category"]
        lines = [w["title"].format(brand=self.brand, at=self.at, category=category,
                                   n=len(self.peers), t0=self.t0)]
        if self.summary:
            lines.append(self.summary)
        for leak in self.leaks:
            lines.append("  - " + leak["evidence"])
        if self.is_leak is False and self.focus:
            ev = self.metrics.set_index("metric").loc[f"{self.focus} advance rate"]
            lines.append("  - " + _evidence(self.focus, ev, self.lang))
        for entry in self.playbook:
            lines.append(w["playbook"].format(name=entry["name"], goal=entry["goal"]))
            for key in ("strategies", "content", "metrics"):
                lines.append(f"  {w[key]}:")
                lines += [f"    * {s}" for s in entry[key]]
        if self.actions:
            lines.append(w["actions"] + ":")
            for key in ("audience", "creators", "channel"):
                if self.actions.get(key, {}).get("text"):
                    lines.append("  - " + self.actions[key]["text"])
        lines += [w["note"].format(note=n) for n in self.notes]
        return "\n".join(lines)


def _evidence(transition: str, row: Any, lang: str) -> str:
    w = _WORDS[lang]
    return w["evidence"].format(
        t=transition.replace("->", " -> "), rate=_pct(row["brand"], lang), median=_pct(row["category_median"], lang),
        top=_pct(row["top_quartile"], lang), x=int(row["x"]) if not pd.isna(row["x"]) else "?",
        n=int(row["n"]) if not pd.isna(row["n"]) else "?",
        p=_p(None if pd.isna(row["p_value"]) else row["p_value"], lang))


def _z_test(x: int, n: int, xo: int, no: int) -> float | None:
    """One-sided p-value that the brand's rate x/n is below the others' pooled xo/no."""
    if n == 0 or no == 0:
        return None
    p = (x + xo) / (n + no)
    if p in (0.0, 1.0):
        return None
    se = math.sqrt(p * (1 - p) * (1 / n + 1 / no))
    z = (x / n - xo / no) / se
    return 0.5 * math.erfc(-z / math.sqrt(2))


def advance_rates(timeline: ibis.Table, t0: dt.date, at: dt.date) -> ibis.Table:
    """Per (brand, stage X): ``n`` pairs at X on a day of [t0, at), ``up`` of them rising
    directly out of X on a day of (t0, at] (see the module docstring)."""
    keys = ["user_id", "brand"]
    w = ibis.window(group_by=keys, order_by="start_date")
    tl = timeline.mutate(_ns=timeline.stage.lead().over(w), _nd=timeline.start_date.lead().over(w))
    d0, d1 = ibis.literal(t0), ibis.literal(at)
    adjacent = tl._nd.notnull() & (tl.end_date + ibis.interval(days=1) == tl._nd)
    rises = adjacent & (stage_rank(tl._ns) > stage_rank(tl.stage)) & (tl._nd > d0) & (tl._nd <= d1)
    tl = tl.mutate(_up=ibis.ifelse(rises, 1, 0))
    during = tl.filter((tl.start_date < d1) & (tl.end_date >= d0))
    per_pair = during.group_by([*keys, "stage"]).aggregate(up=during._up.max())
    return per_pair.group_by(["brand", "stage"]).aggregate(n=per_pair.count(), up=per_pair.up.sum())


def _benchmark(values: list[float]) -> tuple[float | None, float | None]:
    vals = [v for v in values if v is not None and not (isinstance(v, float) and math.isnan(v))]
    if not vals:
        return None, None
    return float(np.median(vals)), float(np.percentile(vals, 75))


def diagnose(view: View, brand: str, at: Any, *, period: int = 90, lang: str = "en",
             playbook: Any = None, tolerance: float = 0.2, alpha: float = 0.05, min_base: int = 30,
             actions: bool = True) -> Diagnosis:
    """Diagnose a brand's funnel on ``at`` against its category; attach the playbook.

    See the module docstring for the metrics and the leak rule.

    Args:
        view: the store as the model reads it.
        brand: the brand.
        at: the local date; flows run from ``at - period`` to ``at``.
        period: days between the two snapshots of the flow rates.
        lang: ``en`` or ``zh`` for texts.
        playbook: a playbook YAML path overriding the shipped one (or a loaded Playbook).
        tolerance: a stage leaks when its flow rate is at least this far below the
            category median (relative: 0.2 = 20 % lower) ...
        alpha: ... and the gap is significant (one-sided two-proportion z-test).
        min_base: ... and the brand had at least this many pairs in the stage at t0.
        actions: compute the next actions (audience size, creators, best channel).
    """
    from aips.dates import as_date
    from aips.engine.penetration import brand_categories

    check_lang(lang)
    if period < 1:
        raise ConfigError("the period must be at least one day")
    at = as_date(at, "at")
    t0 = at - dt.timedelta(days=period)
    book = load_playbook(playbook)
    notes: list[str] = []
    view.require(start=t0, end=at, brands=[brand])  # the period must hold data
    cats = {r["brand"]: r["category"] for r in _rows(brand_categories(view.audience_events(at), view.model, at))}
    if brand not in cats:
        raise ConfigError(f"brand {brand!r} has no events in the 30 days before {at}")
    category = cats[brand]
    peers = sorted(b for b, c in cats.items() if c == category and b != brand)  # None: one category too
    if not peers:
        notes.append(_WORDS[lang]["no_peers"])
    per_brand = _per_brand(view, [brand, *peers], t0, at, cats)
    mt = _metrics(per_brand, tolerance=tolerance, alpha=alpha, min_base=min_base)
    leaks, focus = _leaks(mt, lang, min_base)
    is_leak = bool(leaks)
    summary = _summary(book, leaks, focus, tolerance, lang)
    entries = book.entry(focus, lang) if focus else []
    act = _actions(view, book, brand, focus, t0, at, lang) if (actions and focus) else {}
    return Diagnosis(brand=brand, category=category, at=at, t0=t0, peers=peers, lang=lang,
                     metrics=mt, brands=per_brand, leaks=leaks, focus=focus, is_leak=is_leak,
                     playbook=entries, actions=act, notes=notes + act.pop("_notes", []),
                     summary=summary)


def _per_brand(view: View, brands: list[str], t0: dt.date, at: dt.date,
               cats: dict[str, str | None]) -> pd.DataFrame:
    """One row per brand (the first is the diagnosed one): stage sizes, penetration, new TI,
    and per transition the pairs at the from-stage, those advancing, the rates.

    Two queries: the counts of :func:`~aips.activation.brand_stages.brand_stage_counts` over
    the brands' timelines (the view's cached ones when it caches, as in the report), and the
    category audiences (the penetration's denominators)."""
    from aips.activation.brand_stages import brand_stage_counts
    from aips.engine.penetration import category_audience
    from aips.engine.timelines import timelines

    stored = view.stored_timelines()
    if view.cache or stored is not None:  # stored, or the report's one build per run
        tl = stored if stored is not None else view.timelines(level="brand")
        tl = tl.filter(tl.brand.isin(brands))
    else:
        source = view.engine_source()
        source = source.filter(source.brand.isin(brands))
        tl = timelines(source, view.model, level="brand", categories=view.categories, end=at,
                       bounds=view.sweep_bounds("brand"))
    counts = {r["brand"]: r for r in _rows(brand_stage_counts(tl, t0, at))}
    audience = {r["category"]: r["audience"] for r in _rows(category_audience(view.audience_events(at), view.model, at))}

    table = []
    for b in brands:
        c = counts.get(b, {})
        row: dict[str, Any] = {"brand": b}
        for s in STAGE_ORDER:
            row[s] = int(c.get(f"size_{s}", 0))
        total = sum(row[s] for s in STAGE_ORDER)
        row["aips_total"] = total
        row["ti_ratio"] = row["TI"] / total if total else None
        aud = audience.get(cats.get(b)) or 0
        row["penetration"] = total / float(aud) if total and aud > 0 else None
        row["new_ti"] = int(c.get("new_ti", 0))
        row["new_ti_rate"] = row["new_ti"] / total if total else None
        for t, x in FROM_STAGE.items():
            n, up = int(c.get(f"n_{x}", 0)), int(c.get(f"adv_{x}", 0))
            row[f"{t} n"], row[f"{t} up"] = n, up
            row[f"{t} advance rate"] = up / n if n else None
            at_t0 = int(c.get(f"t0_{x}", 0))
            row[f"{t} flow rate"] = int(c[f"up0_{x}"]) / at_t0 if at_t0 else None
        table.append(row)
    return pd.DataFrame(table)


def _metrics(per_brand: pd.DataFrame, *, tolerance: float, alpha: float, min_base: int) -> pd.DataFrame:
    """Each metric of the first brand against the others' median and top quartile; advance
    rates with their z-test and the leak flag."""
    metrics = []
    own = per_brand.iloc[0]
    others = per_brand.iloc[1:]
    names = [*STAGE_ORDER, "aips_total", "new_ti", "ti_ratio", "penetration",
             "new_ti_rate"] + [
        f"{t} {kind}" for t in TRANSITIONS for kind in ("advance rate", "flow rate")]
    for name in names:
        med, top = _benchmark(list(others[name])) if len(others) else (None, None)
        value = own[name]
        value = None if value is None or pd.isna(value) else float(value)
        gap = value / med - 1 if value is not None and med else None
        row = {"metric": name, "brand": value, "category_median": med, "top_quartile": top,
               "gap": gap, "n": None, "x": None, "p_value": None, "leaking": False}
        if name.endswith("advance rate"):
            t = name.split(" ")[0]
            n, x = int(own[f"{t} n"]), int(own[f"{t} up"])
            no, xo = int(others[f"{t} n"].sum()), int(others[f"{t} up"].sum())
            p = _z_test(x, n, xo, no)
            row.update(n=n, x=x, p_value=p)
            row["leaking"] = bool(n >= min_base and gap is not None and gap <= -tolerance
                                  and p is not None and p < alpha)
        metrics.append(row)
    return pd.DataFrame(metrics)


def _leaks(mt: pd.DataFrame, lang: str, min_base: int) -> tuple[list[dict], str | None]:
    """The leaking transitions, worst first, with their evidence; and the focus transition
    (the worst leak, else the weakest advance below the median on enough pairs)."""
    adv_rows = mt[mt.metric.str.endswith("advance rate")].copy()
    adv_rows["transition"] = adv_rows.metric.str.split(" ").str[0]
    leaking = adv_rows[adv_rows.leaking].sort_values("gap")
    by_metric = mt.set_index("metric")
    leaks = []
    for r in leaking.itertuples():
        ev = _evidence(r.transition, by_metric.loc[r.metric], lang)
        flow = by_metric.loc[f"{r.transition} flow rate"]
        if flow["brand"] is not None and not pd.isna(flow["brand"]):
            ev += " " + _WORDS[lang]["flow"].format(rate=_pct(flow["brand"], lang),
                                                      median=_pct(flow["category_median"], lang))
        leaks.append({"transition": r.transition, "gap": float(r.gap), "p_value": r.p_value, "evidence": ev})
    if leaks:
        return leaks, leaks[0]["transition"]
    below = adv_rows[(adv_rows.gap < 0) & adv_rows.n.fillna(0).ge(min_base)].sort_values("gap")
    return leaks, (below.iloc[0]["transition"] if len(below) else None)


def _summary(book: Playbook, leaks: list[dict], focus: str | None, tolerance: float, lang: str) -> str:
    w = _WORDS[lang]
    if leaks:
        summary = w["leak"].format(t=focus, summary=book.text(book.transitions[focus]["summary"], lang))
        if len(leaks) > 1:
            summary += "\n" + w["leaks_more"].format(ts=", ".join(x["transition"] for x in leaks[1:]))
        return summary
    if focus:
        return w["focus"].format(tol=tolerance, t=focus)
    return w["none"]


def _actions(view: View, book: Playbook, brand: str, transition: str, t0: dt.date, at: dt.date,
             lang: str) -> dict:
    from aips.activation.audiences import Audience
    from aips.crowd import AudienceSpec, FlowCell

    w = _WORDS[lang]
    spec_t = book.transitions[transition]
    stuck = spec_t.get("stuck") or FROM_STAGE[transition]
    notes: list[str] = []
    spec = AudienceSpec(name=f"{brand} stuck in {stuck}", brands=[brand], at=at,
                        flow=FlowCell(from_stages=[stuck], to_stages=[stuck], t0=t0, t1=at))
    audience = Audience(view, spec).cached()  # sized here, then read by the creator ranking
    size = audience.size()
    out_name = f"{brand.lower().replace(' ', '_')}_{stuck.lower()}_stuck.txt"
    cmd = (f"aips audience --brand {shlex.quote(brand)} --at {at} --flow {stuck}:{stuck} --from {t0} --to {at} "
           f"--out {shlex.quote(out_name)} --id sha256")
    out: dict[str, Any] = {"audience": {"spec": spec.to_dict(), "size": size, "command": cmd,
                                        "text": w["audience"].format(size=size, stage=stuck, t0=t0, cmd=cmd)}}
    # creators reaching the stuck crowd
    try:
        from aips.activation.creators import rank_creators

        ranking = rank_creators(view, audience, lookback=90, k=7, top=5, attribution=None)
        top = ranking.table.head(3)
        names = [w["creator"].format(id=r.creator_id, tier=r.tier, reach=r.target_reach)
                 for r in top.itertuples()]
        out["creators"] = {"creators": top["creator_id"].tolist(),
                           "text": w["creators"].format(names=", ".join(names)) if names else ""}
    except (AipsError, KeyError, ValueError) as err:
        notes.append(w["creators_unavailable"].format(error=err))
    # channel moving the next stage best
    target = spec_t.get("attribution_target")
    if target:
        from aips.analytics.attribution.api import attribute

        try:
            credits = attribute(view, model="markov", target=target, by="channel", brand=brand)
            from aips.analytics.attribution import BASELINE, NO_TOUCH

            unpaid = list(view.model.organic_channels)
            credits = credits[~credits["channel"].isin([BASELINE, NO_TOUCH])]
            total = float(credits["conversions"].sum())
            paid = credits[~credits["channel"].isin(unpaid)]
            if total > 0 and len(paid) and paid["conversions"].sum() > 0:
                best = paid.sort_values("conversions", ascending=False).iloc[0]
                share = float(best["conversions"] / total)
                organic = float(credits.loc[credits["channel"].isin(unpaid), "conversions"].sum() / total)
                out["channel"] = {"channel": best["channel"], "share": share, "organic_share": organic,
                                  "target": target, "model": "markov",
                                  "text": w["channel"].format(target=target, model="Markov",
                                                              channel=best["channel"], share=share)}
        except (AipsError, KeyError, ValueError) as err:
            notes.append(w["channel_unavailable"].format(error=err))
    out["_notes"] = notes
    return out


__all__ = ["Diagnosis", "advance_rates", "diagnose"]
