"""``aips portrait``, ``aips content`` and ``aips engagement``: insight from the command line.

Thin wrappers over the Workspace's insight methods (:mod:`aips.insight`); each prints a
table, CSV or JSON.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer

from aips.cli.common import (
    AtOpt,
    BrandOpt,
    ConfigOpt,
    FormatOpt,
    FromOpt,
    Lang,
    LangOpt,
    OutputFormat,
    StageOpt,
    StoreOpt,
    ToOpt,
    emit,
    open_ws,
    split_list,
)
from aips.config.labels import t, word


def portrait_command(
    brand: BrandOpt,
    at: AtOpt = None,
    stage: StageOpt = None,
    baseline: Annotated[str, typer.Option("--baseline", help="category (the brand's category audience), all, or brand:NAME.")] = "category",
    by: Annotated[str | None, typer.Option("--by", help="Dimensions: users attributes (gender,age_band,...), crosses (gender*age_band), category, keyword, creator. Default: all.")] = None,
    reached: Annotated[bool, typer.Option("--reached", help="Crowd = users at --stage or above on any day up to --at (not only on --at).")] = False,
    compare: Annotated[str | None, typer.Option("--compare", help="Show this brand's crowd (same stage and day) side by side.")] = None,
    min_support: Annotated[int, typer.Option("--min-support", help="Crowd users a value needs to rank first and be significant.")] = 30,
    top: Annotated[int, typer.Option("--top", help="Values kept per dimension (most crowd users).")] = 20,
    store: StoreOpt = None,
    config: ConfigOpt = None,
    fmt: FormatOpt = OutputFormat.table,
    lang: LangOpt = Lang.en,
) -> None:
    """Crowd portrait: who is in a brand's stage crowd against a baseline, with TGI and z-tests.

    The crowd is the brand's pairs in --stage (default TI) on --at (default: the last day with
    events), or with --reached those at that stage or above on any day up to --at.
    """
    stage = ",".join(split_list(stage) or ["TI"])  # one text: the crowd spec's stage, the titles
    if reached and len(stage.split(",")) > 1:
        from aips.exceptions import ConfigError

        raise ConfigError("--reached takes one --stage (users at that stage or above)")
    with open_ws(store, config, read_only=True) as ws:
        ws.view.require(at=at, brands=brand)
        day = at or ws.view.last_day().isoformat()
        spec = {"brand": brand, "reached": stage, "end": day} if reached else {"brand": brand, "at": day, "stage": stage}
        crowd = t("cli.crowd.reached" if reached else "cli.crowd.at", lang, stage=stage, day=day)
        base = word("cli.baseline", baseline, lang)
        if compare:
            table = ws.portrait_compare(spec, f"brand:{compare}", by=by, baseline=baseline, at=day,
                                        min_support=min_support, top=top)
            title = t("cli.title.portrait_compare", lang, brand=brand, compare=compare, crowd=crowd, baseline=base)
            keep = ["dimension", "value", "crowd_users", "crowd_share", "crowd_tgi", "other_users", "other_share",
                    "other_tgi", "p_value", "significant"]
        else:
            table = ws.portrait(spec, by=by, baseline=baseline, at=day, min_support=min_support, top=top)
            title = t("cli.title.portrait", lang, brand=brand, crowd=crowd, baseline=base)
            keep = ["dimension", "value", "crowd_users", "crowd_share", "baseline_share", "tgi", "p_value",
                    "significant"]
        emit(_compact(table, keep, fmt), fmt, title=title, lang=lang)


def _compact(table, keep: list[str], fmt: OutputFormat):
    """For the rich table only: the key columns, and flags as ``yes`` / blank (CSV and JSON
    keep every column)."""
    if fmt is not OutputFormat.table:
        return table
    import ibis

    cols = {c: table[c] for c in keep if c in table.columns}
    for c in ("significant", "supported"):
        if c in cols:
            cols[c] = ibis.ifelse(table[c], "yes", "")
    return table.select(**cols)


class ContentView(StrEnum):
    advance = "advance"
    strategy = "strategy"
    sov = "sov"


def content_command(
    brand: BrandOpt,
    advance: Annotated[str, typer.Option("--advance", help="A-I, I-TI, TI-P, P-S, or all.")] = "I-TI",
    by: Annotated[str, typer.Option("--by", help="note, format, creator, keyword, channel or campaign (several: format,keyword).")] = "format",
    within: Annotated[int, typer.Option("--within", help="k: touches on the advance day or the k days before count.")] = 7,
    horizon: Annotated[int, typer.Option("--horizon", help="Days after reaching the from-stage within which the advance counts.")] = 30,
    start: FromOpt = None,
    end: ToOpt = None,
    view: Annotated[ContentView, typer.Option("--view", help="advance (per value), strategy (best values per stage), sov (search share of voice).")] = ContentView.advance,
    min_support: Annotated[int, typer.Option("--min-support", help="Touched users a value needs to rank first.")] = 30,
    top: Annotated[int, typer.Option("--top", help="Rows per stage and dimension in the strategy view.")] = 5,
    store: StoreOpt = None,
    config: ConfigOpt = None,
    fmt: FormatOpt = OutputFormat.table,
    lang: LangOpt = Lang.en,
) -> None:
    """The content that moves each stage: advance rate, lift and incremental effect per note, format, creator or keyword; the content-strategy table; search share of voice.

    --from/--to: the days users first reach the from-stage (default: all, up to the last day
    with events minus --horizon); for --view sov the searches' days.
    """
    with open_ws(store, config, read_only=True) as ws:
        ws.view.require(start=start, end=end, brands=brand)
        if view is ContentView.sov:
            emit(ws.search_share(brand, start=start, end=end), fmt, title=t("cli.title.sov", lang, brand=brand),
                 lang=lang)
            return
        if view is ContentView.strategy:
            table = ws.content_strategy(brand, by=by, within_days=within, top=top, horizon_days=horizon,
                                        start=start, end=end, min_support=min_support)
            keep = ["stage", "advance", "dimension", "value", "touched", "rate", "brand_rate", "lift", "significant"]
            emit(_compact(table, keep, fmt), fmt, title=t("cli.title.strategy", lang, brand=brand),
                 lang=lang)
            return
        table = ws.content_insight(brand, advance, by=by, within_days=within, horizon_days=horizon,
                                   start=start, end=end, min_support=min_support)
        keep = ["advance", "dimension", "value", "touched", "advanced", "rate", "brand_rate", "lift", "incremental",
                "significant"]
        emit(_compact(table, keep, fmt), fmt, title=t("cli.title.content", lang, brand=brand, advance=advance,
                                                                 by=_dimensions(by, lang)), lang=lang)


def _dimensions(by: str, lang: str) -> str:
    """``format,keyword`` as people read it (``内容形式、关键词`` in zh)."""
    from aips.config.labels import dimension_label

    if lang == "en":
        return by
    return t("cli.list_separator", lang).join(dimension_label(b.strip(), lang) for b in by.split(","))


class Freq(StrEnum):
    day = "day"
    week = "week"
    month = "month"
    total = "total"


def engagement_command(
    brand: BrandOpt,
    start: FromOpt,
    end: ToOpt,
    freq: Annotated[Freq, typer.Option("--freq", help="Periods: day, week, month or total.")] = Freq.week,
    store: StoreOpt = None,
    config: ConfigOpt = None,
    fmt: FormatOpt = OutputFormat.table,
    lang: LangOpt = Lang.en,
) -> None:
    """Engagement depth: dwell per reader, deep-read rate and interactions per reader, per period and reader stage."""
    with open_ws(store, config, read_only=True) as ws:
        ws.view.require(start=start, end=end, brands=brand)
        table = ws.engagement(brand, start, end, freq=freq.value)
        keep = ["period", "stage", "readers", "reads", "deep_read_rate", "dwell_per_reader", "dwell_per_read",
                "interactions_per_reader"]
        emit(_compact(table, keep, fmt), fmt, title=t("cli.title.engagement", lang, brand=brand, start=start,
                                                                 end=end), lang=lang)
