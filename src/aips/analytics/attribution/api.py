"""Attribution from a view: :func:`attribute`, :func:`attribution_paths`, :func:`attribution_chain`.

Journeys are built and aggregated in the backend (:mod:`aips.engine.paths`); only the
aggregated paths (or exposure cells) come to Python, where a model of
:mod:`aips.analytics.attribution` credits them. Spend comes from the store's
``campaigns``: per channel or campaign directly; per creator, each campaign's spend is
shared among its creators by their impressions in it (the simulator's and most platforms'
campaign spend includes the creators' fees; ``creators.fee`` is a list price and is not
used).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import ibis
import numpy as np
import pandas as pd

# The package's __init__ imports this module last, so these names exist already.
from aips.analytics.attribution import PATH_MODELS, compare_models, make_model, read_paths
from aips.analytics.attribution.base import NO_TOUCH
from aips.analytics.attribution.incremental import BASELINE, ChainData, Incremental
from aips.engine import chains as _chains
from aips.engine import paths as _paths
from aips.engine.reach import first_reach
from aips.store.cache import materialised
from aips.store.staging import parquet_stager
from aips.view import View

LABEL_COLUMN = {"channel": "channel", "campaign": "campaign", "creator": "creator"}
"""Name of the label column in the output, per ``by``."""

Brands = str | Sequence[str] | None


# --- backend steps (unexecuted Ibis tables) -------------------------------------------------


def _brands(brand: Brands) -> list[str] | None:
    return None if brand is None else ([brand] if isinstance(brand, str) else list(brand))


def _events(view: View, brand: Brands) -> ibis.Table:
    ev = view.events
    return ev if brand is None else ev.filter(ev.brand.isin(_brands(brand)))


def _timeline(view: View, brand: Brands) -> ibis.Table:
    """Brand-level stage timelines of the brands (the view's, cached when it caches; every
    timeline's brand has events, so all brands need no filter: a semi-join with the events'
    brands was a scan of every event, in each query that read the timelines)."""
    tl = view.timelines(level="brand")
    return tl if brand is None else tl.filter(tl.brand.isin(_brands(brand)))


def _source(view: View, brand: Brands) -> ibis.Table:
    """The engine's input (rollup or events) of the brands."""
    source = view.engine_source()
    return source if brand is None else source.filter(source.brand.isin(_brands(brand)))


def _conversions(view: View, events: ibis.Table, target: str, brand: Brands = None) -> ibis.Table:
    """The target's conversions: every purchase, or the first day at a stage (read off the
    view's timelines when it caches them, else found without the stage sweep)."""
    if target == "purchase":
        return _paths.purchase_conversions(events, view.model.purchase_event)
    timeline = _timeline(view, brand) if view.cache else None
    reach = first_reach(_source(view, brand), view.model, [target], categories=view.categories,
                        timeline=timeline)
    return _paths.reach_conversions(reach, target)


def attribution_paths(
    view: View,
    target: str = "purchase",
    by: str = "channel",
    lookback: int | None = None,
    *,
    brand: Brands = None,
    transform: str | Sequence[str] = "keep",
    half_life: float | None = None,
    organic: Sequence[str] | None = None,
) -> ibis.Table:
    """The aggregated paths of a target: ``path, conversions, value, nulls``.

    The journey ends (read twice by the query) are materialised in the backend first; the
    returned table itself is unexecuted. On a store with a memory limit (DuckDB), the
    touches are counted first and, when the journeys might not fit, the paths are built a
    bucket of users at a time (:func:`aips.engine.paths.path_buckets`, issue 13), from the
    touches staged to Parquet beside the store filed by bucket
    (:func:`aips.store.staging.parquet_stager`).

    See :func:`aips.engine.paths.build_paths` for journeys, lookback and transforms.
    """
    _paths._check("target", target, _paths.TARGETS)
    ev = _events(view, brand)
    # bucketed paths stage the touches in files that go with the block: the table returned
    # then reads only materialised sums (build_paths' ``stage``)
    with parquet_stager(view.store) as stage:
        return _paths.build_paths(
            ev, view.model, target=target, by=by, lookback=lookback, transform=transform,
            organic=organic, half_life=half_life, conversions=_conversions(view, ev, target, brand),
            categories=view.categories, materialise=materialised,
            memory_limit=_memory_limit(view), stage=stage,
            # the censoring day of every brand's journeys is the store's last day: given, not a
            # max over every event inside the query (with a brand filter, that brand's last day)
            last_day=view.last_day() if brand is None else None,
        )


def _memory_limit(view: View) -> int | None:
    """The store's memory limit in bytes (only a DuckDB store has resource settings: there
    list aggregates cannot spill)."""
    settings = getattr(view.store, "settings", None)
    return None if settings is None else int(settings.memory_limit)


def attribution_chain(
    view: View, target: str = "purchase", by: str = "channel", *, brand: Brands = None,
) -> ChainData:
    """Stage-chain exposure cells and converter profiles for the incremental model
    (aggregated in the backend, see :func:`aips.engine.chains.chain_cells`).

    The per-pair units are materialised once in the backend (both tables read them); stage
    days come from the stored timelines when current, or the view's when it caches them
    (the report), else from the rollup directly (:func:`aips.engine.reach.first_reach`, no
    stage sweep). On a store with a memory limit, touches larger than it are built a bucket
    of users at a time, staged to Parquet beside the store (issue 13). The touches'
    labels are read first (a small aggregate): up to
    :data:`~aips.engine.chains.MAX_MASK_LABELS` of them, exposures are bit masks.
    """
    ev = _events(view, brand)
    source = _source(view, brand)
    timeline = _timeline(view, brand) if view.cache or view.stored_timelines() is not None else None
    conv = _conversions(view, ev, target, brand)
    users = view.optional("users")
    labels = _chains.touch_labels(ev, view.model, by).to_pyarrow().column("label").to_pylist()
    labels = labels if len(labels) <= _chains.MAX_MASK_LABELS else None
    with parquet_stager(view.store) as stage:  # (staged chains read their files until fetched)
        steps, profiles = _chains.chain_cells(
            ev, view.model, target, users=users, by=by, conversions=conv, timeline=timeline,
            categories=view.categories, source=source, labels=labels, materialise=materialised,
            memory_limit=_memory_limit(view), stage=stage)
        return ChainData(steps.to_pyarrow().to_pandas(), profiles.to_pyarrow().to_pandas())


# --- the verb ----------------------------------------------------------------------------------


def attribute(
    view: View,
    model: str = "markov",
    target: str = "purchase",
    by: str = "channel",
    lookback: int | None = None,
    order: int = 1,
    *,
    brand: Brands = None,
    transform: str | Sequence[str] = "keep",
    half_life: float = 7.0,
    compare: bool | Sequence[str] = False,
    paths: Any = None,
    **params: Any,
) -> pd.DataFrame:
    """Credit the target's conversions to channels (or campaigns, creators).

    Args:
        view: the store as the model reads it.
        model: one of :data:`aips.analytics.attribution.MODELS`.
        target: ``purchase`` (every purchase ends a journey) or a stage advance
            ``I``, ``TI``, ``P`` (the day a user-brand's level first rises to it).
        by: ``channel``, ``campaign`` or ``creator``.
        lookback: days of touches before a conversion (default: the category's cycle).
        order: Markov order.
        brand: only these brands (default all, pooled).
        transform: path transform(s): keep, collapse, first, drop_organic.
        half_life: time decay's half-life in days.
        compare: True (every path model, plus incremental when events are used) or a
            list of model names: one wide table instead.
        paths: an aggregated path table or file (ChannelAttribution layout) instead
            of the store's events; no spend then.
        **params: other model parameters (``first``/``last`` of position, ``ordered``
            and ``max_channels`` of Shapley, ``response``, ``bootstrap``,
            ``calibrate`` of incremental).

    Returns:
        A DataFrame, one row per label: ``<by>, conversions, value, share,
        value_share, incremental, spend, cost_per_conversion, roas`` (stage targets:
        ``advances`` too). ``attrs`` holds ``model``, ``target``, ``incremental`` and
        a plain-language ``note``.
    """
    _paths._check("target", target, _paths.TARGETS)
    _paths._check("by", by, tuple(_paths.BY))
    if paths is None and brand is not None:
        view.require_brands(_brands(brand))
    params = {"order": order, "half_life": half_life, "organic": view.model.organic_channels, **params}
    if compare:
        names = ([*PATH_MODELS, "incremental"] if compare is True else list(compare))
        return _compare(view, names, target, by, lookback, brand, transform, paths, params)
    if paths is not None:
        data = _load_paths(paths)
    elif model == "incremental":
        data = attribution_chain(view, target, by, brand=brand)
    else:
        data = attribution_paths(
            view, target, by, lookback, brand=brand, transform=transform,
            half_life=half_life if model == "time_decay" else None,
            organic=params["organic"],
        ).to_pyarrow().to_pandas()
    m = make_model(model, **params).fit(data)
    out = _finish(view, m.credits_.copy(), target, by, brand, with_spend=paths is None)
    out.attrs.update(model=model, target=target, by=by, incremental=m.incremental,
                     note=_note(model, m), calibration=(getattr(m, "calibration_", 1.0)
                                                        if getattr(m, "holdout_lift_", None) is not None
                                                        and getattr(m, "calibrate", False) else None),
                     holdout_lift=getattr(m, "holdout_lift_", None),
                     paid_converters=getattr(m, "paid_converters_", None),
                     responses=list(getattr(m, "responses_", []) or []),
                     response=getattr(m, "response", None))
    return out


def _compare(view: View, names, target, by, lookback, brand, transform, paths, params) -> pd.DataFrame:
    """Several models side by side (``attribute(compare=...)``)."""
    if paths is not None:
        data = _load_paths(paths)
        names = [n for n in names if n != "incremental"]
        wide = compare_models(data, names, **params)
    else:
        need_decay = "time_decay" in names
        data = attribution_paths(
            view, target, by, lookback, brand=brand, transform=transform,
            half_life=params["half_life"] if need_decay else None,
        ).to_pyarrow().to_pandas()
        wide = compare_models(data, [n for n in names if n != "incremental"], **params)
        if "incremental" in names:
            chain = attribution_chain(view, target, by, brand=brand)
            # the comparison shows point credits only: no bootstrap for intervals it drops
            # (100 refits: measured -1.5 CPU s of ~24 for `aips attribute --compare` on 12M events)
            inc = make_model("incremental", **{**params, "bootstrap": 0}).fit(chain).credits_.set_index("channel")
            wide = wide.set_index("channel").join(
                inc[["conversions", "share"]].rename(
                    columns={"conversions": "incremental", "share": "incremental_share"}),
                how="outer").fillna(0.0).reset_index()
            models = [c for c in wide.columns if c != "channel" and not c.endswith("_share")]
            wide = wide[["channel", *models, *[f"{c}_share" for c in models]]]
    label = LABEL_COLUMN[by]
    wide = wide.rename(columns={"channel": label})
    wide.attrs.update(target=target, by=by, note=(
        "path models (all but 'incremental') credit reach, not cause; 'incremental' "
        "estimates caused conversions and puts the rest in 'baseline'"))
    return wide


def _finish(view: View, credits: pd.DataFrame, target: str, by: str, brand: Brands,
            with_spend: bool) -> pd.DataFrame:
    """Spend, cost per conversion and ROAS joined to the credits; the label column named."""
    label = LABEL_COLUMN[by]
    if with_spend:
        spend = _spend(view, by, brand)
        credits = credits.merge(spend, how="left", left_on="channel", right_on="_label")
        credits = credits.drop(columns="_label")
        credits["spend"] = credits["spend"].where(
            ~credits["channel"].isin([BASELINE, NO_TOUCH]), np.nan)
        credits["cost_per_conversion"] = credits["spend"] / credits["conversions"].where(
            credits["conversions"] > 0)
        credits["roas"] = credits["value"] / credits["spend"].where(credits["spend"] > 0)
    if target != "purchase":  # a stage advance: credits count advances, there is no revenue
        credits["advances"] = credits["conversions"]
        credits = credits.drop(columns=[c for c in ("roas",) if c in credits])
    return credits.rename(columns={"channel": label})


def _spend(view: View, by: str, brand: Brands) -> pd.DataFrame:
    """Spend per label (``_label``, ``spend``) from the ``campaigns`` table."""
    empty = pd.DataFrame({"_label": pd.Series(dtype=str), "spend": pd.Series(dtype=float)})
    camp = view.optional("campaigns")
    if camp is None:
        return empty
    brands = _brands(brand)
    if brands is not None:
        camp = camp.filter(camp.brand.isin(brands))
    if by in ("channel", "campaign"):
        key = camp.channel if by == "channel" else camp.campaign_id
        out = camp.group_by(_label=key).aggregate(spend=camp.spend.sum())
        return out.to_pyarrow().to_pandas()
    # per creator: each campaign's spend shared by its creators' impressions in it
    ev = _events(view, brand)
    imp = ev.filter(ev.creator_id.notnull() & ev.campaign_id.notnull()
                    & (ev.event_type == "impression"))
    per = imp.group_by(["campaign_id", "creator_id"]).aggregate(_n=imp.count())
    tot = per.group_by("campaign_id").aggregate(_t=per._n.sum()).rename(_c="campaign_id")
    per = per.join(tot, per.campaign_id == tot._c)
    c = camp.select(_cc="campaign_id", _spend="spend")
    per = per.join(c, per.campaign_id == c._cc)
    part = per.mutate(_s=per._spend.fill_null(0.0) * per._n / per._t)
    out = part.group_by(_label=part.creator_id).aggregate(spend=part._s.sum())
    return out.to_pyarrow().to_pandas()


def _load_paths(paths: Any) -> Any:
    """A path file (str or path) is read; a table is used as it is."""
    return read_paths(paths) if isinstance(paths, (str, os.PathLike)) else paths


def _note(model: str, fitted) -> str:
    from aips.config.labels import t

    if isinstance(fitted, Incremental):
        cal = getattr(fitted, "calibration_", 1.0)
        lift = getattr(fitted, "holdout_lift_", None)
        model = getattr(fitted, "paid_converters_", None)
        held = ("no holdout: not calibrated" if lift is None
                else f"paid channels calibrated to the holdout (x{cal:.2f})" if fitted.calibrate
                else t("cli.attr.holdout_in_fits", "en", lift=lift, model=model or 0.0))
        note = ("INCREMENTAL: channel rows are conversions caused by the channel (Shapley over "
                f"a fitted response model; {held}); 'baseline' would have happened anyway; "
                + response_sentence(fitted))
        if getattr(fitted, "held_steps_", None):
            note += ("; no untouched units in the data (no users table or everyone touched), so "
                     "the no-exposure rate is extrapolated with channel effects held >= 0")
        return note + _negative_note(fitted)
    return (f"NOT incremental: {model} credits reach (who was on the paths), not cause; use "
            "--model incremental for caused conversions") + _negative_note(fitted)


def response_sentence(fitted, lang: str = "en") -> str:
    """Which response model each stage step used, and why (chosen by the data or asked for)."""
    from aips.config.labels import t

    steps = ", ".join(getattr(fitted, "responses_", None) or [])
    key = "cli.attr.response_auto" if fitted.response == "auto" else "cli.attr.response_asked"
    return t(key, lang, responses=steps, response=fitted.response)


def _negative_note(fitted) -> str:
    """Names the channels with negative credit and says why (issue 15: shown, never hidden)."""
    cr = getattr(fitted, "credits_", None)
    if cr is None or "conversions" not in cr:
        return ""
    neg = cr[(cr["conversions"] < -1e-9) & (cr["channel"] != BASELINE)]
    if neg.empty:
        return ""
    names = ", ".join(f"{r.channel} ({r.conversions:.1f})" for r in neg.itertuples())
    return (f". NEGATIVE credit: {names}: journeys (or units) with this channel converted less "
            "often than comparable ones without it, so by this model it lowered conversion "
            "(often a targeting effect: it is shown to people less likely to buy)")
