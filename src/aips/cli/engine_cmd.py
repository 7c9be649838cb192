"""``aips assets`` and ``aips series``: stage assets on a day, and their daily/weekly series."""

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
    LevelOpt,
    LockTimeoutOpt,
    OutputFormat,
    SpuOpt,
    StoreOpt,
    ToOpt,
    emit,
    open_ws,
    store_exists,
)
from aips.config.labels import t, word
from aips.exceptions import ConfigError


class Freq(StrEnum):
    day = "day"
    week = "week"


def _stage_order(table):
    import ibis

    from aips.config.model import STAGE_RANK

    return ibis.cases(*((table.stage == s, r) for s, r in STAGE_RANK.items()), else_=0)


def filter_entities(table, brand: str | None, spu: str | None, level: str, events=None):
    """Rows of ``brand`` (the brand column) and, at SPU level, of ``spu``.

    A table keyed by ``spu`` alone (flows at SPU level) keeps the SPUs of ``brand``'s events.
    """
    if brand is not None and "brand" in table.columns:
        table = table.filter(table.brand == brand)
    elif brand is not None:
        spus = events.filter(events.brand == brand).select("spu").distinct()
        table = table.semi_join(spus, "spu")
    if spu is not None:
        if level != "spu":
            raise ConfigError("--spu needs --level spu (or a model at SPU level)")
        table = table.filter(table.spu == spu)
    return table


def assets_command(
    at: AtOpt,
    brand: BrandOpt = None,
    spu: SpuOpt = None,
    level: LevelOpt = None,
    cumulative: Annotated[bool, typer.Option("--cumulative", help="Users at or above each stage.")] = False,
    recompute: Annotated[bool, typer.Option(
        "--recompute", help="Compute the snapshot from the rollup or the events even when the stored stage "
                            "timelines are current (the same numbers; a check of the stored table).")] = False,
    store: StoreOpt = None,
    config: ConfigOpt = None,
    fmt: FormatOpt = OutputFormat.table,
    lang: LangOpt = Lang.en,
) -> None:
    """Users per brand (or SPU) and stage on a day: exclusive levels A, I, TI, P, S.

    Read off the stored stage timelines when `aips series --update` has kept them current
    (a filter), else computed from the rollup or the events (an aggregate).
    """
    with open_ws(store, config, read_only=True) as ws:
        lvl = level.value if level else ws.model.level
        ws.view.require(at=at, brands=brand, level=lvl)
        table = filter_entities(ws.assets(at, cumulative=cumulative, level=lvl, stored=not recompute), brand, spu, lvl,
                                ws.events)
        keys = ["brand"] if lvl == "brand" else ["brand", "spu"]
        table = table.select(*keys, "stage", "users")
        kind = t("cli.cumulative" if cumulative else "cli.exclusive", lang)
        emit(table.order_by([*keys, _stage_order(table)]), fmt, title=t("cli.title.assets", lang, at=at, kind=kind),
             lang=lang)


def series_command(
    start: FromOpt = None,
    end: ToOpt = None,
    freq: Annotated[Freq, typer.Option("--freq", help="day, or week (each ISO week's last day).")] = Freq.day,
    update: Annotated[bool, typer.Option("--update", help="First extend the stored asset_history to the last day with events.")] = False,
    backfill: Annotated[bool, typer.Option("--backfill", help="First recompute the stored asset_history for --from..--to.")] = False,
    brand: BrandOpt = None,
    spu: SpuOpt = None,
    level: LevelOpt = None,
    store: StoreOpt = None,
    config: ConfigOpt = None,
    fmt: FormatOpt = OutputFormat.table,
    lock_timeout: LockTimeoutOpt = None,
    lang: LangOpt = Lang.en,
) -> None:
    """Users per brand (or SPU) x stage for every day or week of a range.

    With --update (daily production run) or --backfill the stored series is written first;
    without --from/--to, --update only reports what it did.
    """
    # An existing store is read while the series is computed: the write lock is taken for
    # the final writes only (other commands and the dashboard read meanwhile).
    writes = update or backfill
    with open_ws(store, config, read_only=not writes or store_exists(store), lock_timeout=lock_timeout) as ws:
        lvl = level.value if level else ws.model.level
        ws.view.require(start=start, end=end, brands=brand, level=lvl)
        if backfill:
            if not (start and end):
                raise ConfigError("--backfill needs --from and --to")
            typer.echo(ws.backfill_series(start, end, level=lvl).describe(lang), err=True)
        if update:
            typer.echo(ws.update_series(level=lvl).describe(lang), err=True)
            if not (start or end):
                return
        if not (start and end):
            raise ConfigError("give --from and --to (local dates, YYYY-MM-DD)")
        table = filter_entities(ws.asset_series(start, end, freq=freq.value, level=lvl), brand, spu, lvl,
                                ws.events)
        keys = ["brand"] if lvl == "brand" else ["brand", "spu"]
        table = table.select("date", *keys, "stage", "users")
        emit(table.order_by(["date", *keys, _stage_order(table)]), fmt,
             title=t("cli.title.series", lang, start=start, end=end, freq=word("cli.freq", freq.value, lang)),
             lang=lang)
