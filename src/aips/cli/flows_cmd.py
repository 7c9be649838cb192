"""``aips flows``, ``aips competitors`` and ``aips penetration``."""

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
    OutputFormat,
    SpuOpt,
    StoreOpt,
    ToOpt,
    emit,
    open_ws,
)
from aips.cli.engine_cmd import filter_entities
from aips.config.labels import t


class FlowView(StrEnum):
    matrix = "matrix"
    rates = "rates"
    movements = "movements"
    users = "users"


def flows_command(
    t0: FromOpt,
    t1: ToOpt,
    view: Annotated[FlowView, typer.Option("--view", help="matrix (the Sankey), rates, movements or users.")] = FlowView.matrix,
    brand: BrandOpt = None,
    spu: SpuOpt = None,
    level: LevelOpt = None,
    store: StoreOpt = None,
    config: ConfigOpt = None,
    fmt: FormatOpt = OutputFormat.table,
    lang: LangOpt = Lang.en,
) -> None:
    """Stage flows between two days: from-stage x to-stage (with `none`), flow rates, movements.

    --brand keeps a brand's rows (the brand column; at --level spu its SPUs), --spu one SPU's.
    """
    with open_ws(store, config, read_only=True) as ws:
        entity = level.value if level else ws.model.level
        ws.view.require(start=t0, end=t1, brands=brand, level=entity)
        table = {
            FlowView.matrix: ws.flow_matrix,
            FlowView.rates: ws.flow_rates,
            FlowView.users: ws.flows,
            FlowView.movements: lambda a, b, level: _movements(ws, a, b, level),
        }[view](t0, t1, level=entity)
        table = filter_entities(table, brand, spu, entity, ws.events)
        order = {
            FlowView.matrix: [entity, "from_stage", "to_stage"],
            FlowView.rates: [entity, "stage"],
            FlowView.users: [entity, "user_id"],
            FlowView.movements: [entity, "movement"],
        }[view]
        emit(table.order_by(order), fmt, title=t("cli.title.flows", lang, t0=t0, t1=t1), lang=lang)


def _movements(ws, t0, t1, level):
    from aips.engine.flows import movement_counts

    return movement_counts(ws.flows(t0, t1, level=level), level)


def competitors_command(
    at: AtOpt,
    category: Annotated[str | None, typer.Option("--category", help="Only this category.")] = None,
    store: StoreOpt = None,
    config: ConfigOpt = None,
    fmt: FormatOpt = OutputFormat.table,
    lang: LangOpt = Lang.en,
) -> None:
    """Brands ranked by TI and by I+TI within each category, with their share of the TI crowd."""
    with open_ws(store, config, read_only=True) as ws:
        ws.view.require(at=at, category=category)
        emit(ws.competitors(at, category=category), fmt, title=t("cli.title.competitors", lang, at=at), lang=lang)


def penetration_command(
    at: AtOpt,
    store: StoreOpt = None,
    config: ConfigOpt = None,
    fmt: FormatOpt = OutputFormat.table,
    lang: LangOpt = Lang.en,
) -> None:
    """Per brand: AIPS users / category audience (users active in the category in the window)."""
    with open_ws(store, config, read_only=True) as ws:
        ws.view.require(at=at)
        emit(ws.penetration(at), fmt, title=t("cli.title.penetration", lang, at=at), lang=lang)
