"""``aips attribute``: credit purchases or stage advances to channels, campaigns, creators."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from aips.cli.common import (
    BrandsOpt,
    ConfigOpt,
    FormatOpt,
    Lang,
    LangOpt,
    OutputFormat,
    StoreOpt,
    emit,
    open_ws,
    split_list,
)
from aips.config.labels import t, word


class ModelName(StrEnum):
    first = "first"
    last = "last"
    last_non_organic = "last_non_organic"
    linear = "linear"
    position = "position"
    time_decay = "time_decay"
    markov = "markov"
    shapley = "shapley"
    incremental = "incremental"


class Target(StrEnum):
    purchase = "purchase"
    I = "I"  # noqa: E741 - the stage's name
    TI = "TI"
    P = "P"


class By(StrEnum):
    channel = "channel"
    campaign = "campaign"
    creator = "creator"


def attribute_command(
    model: Annotated[ModelName, typer.Option("--model", help="Attribution model.")] = ModelName.markov,
    order: Annotated[int, typer.Option("--order", help="Markov order k.", min=1)] = 1,
    target: Annotated[Target, typer.Option("--target", help="purchase, or a stage advance I/TI/P.")] = Target.purchase,
    by: Annotated[By, typer.Option("--by", help="Credit channels, campaigns or creators.")] = By.channel,
    lookback: Annotated[int | None, typer.Option("--lookback", help="Days of touches before a conversion (default: the category's decision cycle).", min=1)] = None,
    paths: Annotated[Path | None, typer.Option("--paths", help="Aggregated path file (ChannelAttribution layout) instead of the store.")] = None,
    compare: Annotated[bool, typer.Option("--compare", help="All models side by side.")] = False,
    brand: BrandsOpt = None,
    transform: Annotated[str, typer.Option("--transform", help="Path transforms, comma-separated: keep, collapse, first, drop_organic.")] = "keep",
    half_life: Annotated[float, typer.Option("--half-life", help="Time decay half-life, days.")] = 7.0,
    ordered: Annotated[bool, typer.Option("--ordered", help="Shapley over ordered channel sequences.")] = False,
    bootstrap: Annotated[int, typer.Option("--bootstrap", help="Incremental: bootstrap resamples for intervals (0: none).")] = 100,
    store: StoreOpt = None,
    config: ConfigOpt = None,
    fmt: FormatOpt = OutputFormat.table,
    lang: LangOpt = Lang.en,
) -> None:
    """Which channels, campaigns and creators moved people: to purchase or between stages.

    Path models (first ... shapley) credit reach; `--model incremental` estimates caused
    conversions and a `baseline` that would have happened anyway.
    """
    steps = [s.strip() for s in transform.split(",") if s.strip()] or ["keep"]
    params = dict(ordered=ordered, bootstrap=bootstrap)
    if paths is not None:
        from aips.analytics.attribution import attribute_paths, compare_models, read_paths

        data = read_paths(paths)
        if compare:
            table = compare_models(data, order=order, half_life=half_life, **params)
        else:
            table = attribute_paths(data, model.value, order=order, half_life=half_life, **params)
        title = _title(model.value, compare, t("cli.attr.paths_file", lang), lang)
        emit(_readable(table, fmt), fmt, title=title, lang=lang)
        _footnote(fmt, model.value, compare, getattr(table, "attrs", {}), lang)
        return
    with open_ws(store, config, read_only=True) as ws:
        table = ws.attribute(
            model.value, target.value, by.value, lookback, order, brand=split_list(brand),
            transform=steps, half_life=half_life,
            compare=[*_path_models(), "incremental"] if compare else False, **params,
        )
    what = t("cli.attr.target", lang, target=word("cli.target", target.value, lang))
    emit(_readable(table, fmt), fmt, title=_title(model.value, compare, what, lang), lang=lang)
    _footnote(fmt, model.value, compare, table.attrs, lang)


TABLE_COLUMNS = ("conversions", "conversions_low", "conversions_high", "share", "value",
                 "spend", "cost_per_conversion", "roas", "advances")
"""Columns of the terminal table (JSON and CSV carry every column)."""


def _readable(table, fmt):
    """The terminal table keeps the label and :data:`TABLE_COLUMNS` (the title says whether
    the numbers are incremental); a comparison keeps the credited conversions per model."""
    if OutputFormat(fmt) is not OutputFormat.table or "conversions" not in table.columns:
        if OutputFormat(fmt) is OutputFormat.table:
            return table[[c for c in table.columns if not c.endswith("_share")]]
        return table
    label = table.columns[0]
    return table[[label, *[c for c in TABLE_COLUMNS if c in table.columns]]]


def _path_models() -> list[str]:
    from aips.analytics.attribution import PATH_MODELS

    return list(PATH_MODELS)


def _title(model: str, compare: bool, what: str, lang: str = "en") -> str:
    if compare:
        return t("cli.attr.title_compare", lang, what=what)
    kind = t("cli.attr.incremental" if model == "incremental" else "cli.attr.path_model", lang)
    return t("cli.attr.title", lang, model=word("model", model, lang), kind=kind, what=what)


def _footnote(fmt, model: str, compare: bool, attrs: dict, lang: str = "en") -> None:
    if OutputFormat(fmt) is not OutputFormat.table:
        return
    note = attrs.get("note")
    if note and lang != "en":  # the English note is the model's own; other languages say it from the catalogue
        if compare:
            note = t("cli.attr.note_compare", lang)
        elif attrs.get("incremental"):
            cal = attrs.get("calibration")
            if cal is not None:
                held = t("cli.attr.calibrated", lang, calibration=cal)
            elif attrs.get("holdout_lift") is not None:
                held = t("cli.attr.holdout_in_fits", lang, lift=attrs["holdout_lift"],
                         model=attrs.get("paid_converters") or 0.0)
            else:
                held = t("cli.attr.uncalibrated", lang)
            note = t("cli.attr.note_incremental", lang, held=held)
            if attrs.get("responses"):
                key = "cli.attr.response_auto" if attrs.get("response") == "auto" else "cli.attr.response_asked"
                names = ", ".join(word("response", r, lang) for r in attrs["responses"])
                note += t("maintain.join", lang) + t(key, lang, responses=names,
                                                     response=word("response", attrs.get("response"), lang))
        else:
            note = t("cli.attr.note_path", lang, model=word("model", model, lang))
    if note:
        typer.echo(note, err=True)
    for name, why in attrs.get("skipped", {}).items():
        typer.echo(t("cli.attr.skipped", lang, model=word("model", name, lang), why=why), err=True)
