"""``aips flows``, ``aips competitors`` and ``aips penetration``."""

from __future__ import annotations

from enum import Enum
from typing import Annotated

import typer

from aips.cli.common import ConfigOpt, FormatOpt, OutputFormat, StoreOpt, emit, open_ws


class FlowView(str, Enum):
    matrix = "matrix"
    rates = "rates"
    movements = "movements"
    users = "users"


class Level(str, Enum):
    brand = "brand"
    spu = "spu"


def flows_command(
    t0: Annotated[str, typer.Option("--from", help="Local date t0 (YYYY-MM-DD).")],
    t1: Annotated[str, typer.Option("--to", help="Local date t1 (YYYY-MM-DD).")],
    view: Annotated[FlowView, typer.Option("--view", help="matrix (the Sankey), rates, movements or users.")] = FlowView.matrix,
    brand: Annotated[str | None, typer.Option("--brand", help="Only this brand (or SPU at --level spu).")] = None,
    level: Annotated[Level | None, typer.Option("--level", help="brand or spu (default: the model's).")] = None,
    store: StoreOpt = None,
    config: ConfigOpt = None,
    fmt: FormatOpt = OutputFormat.table,
) -> None:
    """Stage flows between two days: from-stage x to-stage (with `none`), flow rates, movements."""
    ws = open_ws(store, config)
    entity = level.value if level else ws.model.level
    table = {
        FlowView.matrix: ws.flow_matrix,
        FlowView.rates: ws.flow_rates,
        FlowView.users: ws.flows,
        FlowView.movements: lambda a, b, level: _movements(ws, a, b, level),
    }[view](t0, t1, level=entity)
    if brand is not None:
        table = table.filter(table[entity] == brand)
    order = {
        FlowView.matrix: [entity, "from_stage", "to_stage"],
        FlowView.rates: [entity, "stage"],
        FlowView.users: [entity, "user_id"],
        FlowView.movements: [entity, "movement"],
    }[view]
    emit(table.order_by(order), fmt, title=f"flows {t0} -> {t1}")


def _movements(ws, t0, t1, level):
    from aips.engine.flows import movement_counts

    return movement_counts(ws.flows(t0, t1, level=level), level)


def competitors_command(
    at: Annotated[str, typer.Option("--at", help="Local date (YYYY-MM-DD).")],
    category: Annotated[str | None, typer.Option("--category", help="Only this category.")] = None,
    store: StoreOpt = None,
    config: ConfigOpt = None,
    fmt: FormatOpt = OutputFormat.table,
) -> None:
    """Brands ranked by TI and by I+TI within each category, with their share of the TI crowd."""
    ws = open_ws(store, config)
    emit(ws.competitors(at, category=category), fmt, title=f"competitors at {at}")


def penetration_command(
    at: Annotated[str, typer.Option("--at", help="Local date (YYYY-MM-DD).")],
    store: StoreOpt = None,
    config: ConfigOpt = None,
    fmt: FormatOpt = OutputFormat.table,
) -> None:
    """Per brand: AIPS users / category audience (users active in the category in the window)."""
    ws = open_ws(store, config)
    emit(ws.penetration(at), fmt, title=f"penetration at {at}")
