"""Decision cycles per category: the length of ``window: cycle``.

The cycle of an event's category comes from, in order: the model's ``categories`` (YAML),
then the store's ``categories`` table (category, decision_cycle_days), then
``model.default_cycle_days``; an event with a null category gets the default. So a
purchase of a 70-day-cycle category keeps a user at P for 70 days.

>>> import ibis
>>> from aips.config.model import default_model
>>> t = ibis.memtable({"category": ["infant_food", None, "toys"]})
>>> with_cycle_days(t, default_model()).to_pyarrow()["cycle_days"].to_pylist()
[70, 30, 30]
"""

from __future__ import annotations

import ibis

from aips.config.model import Model


def cycle_days_table(model: Model, categories: ibis.Table | None = None) -> ibis.Table:
    """``(category, cycle_days)`` for every category with a known cycle (small).

    Args:
        model: its ``categories`` override the table's.
        categories: the store's ``categories`` table (``category``, ``decision_cycle_days``)
            or ``None``.
    """
    names = list(model.categories)
    yaml = ibis.memtable(
        {"category": names, "cycle_days": [int(model.categories[n]) for n in names]},
        schema={"category": "string", "cycle_days": "int64"},
    )
    if categories is None:
        return yaml
    stored = categories.filter(
        categories.category.notnull()
        & categories.decision_cycle_days.notnull()
        & ~categories.category.isin(names or [""])
    )
    stored = stored.group_by("category").aggregate(
        cycle_days=stored.decision_cycle_days.cast("int64").max()
    )
    return yaml.union(stored)


def with_cycle_days(
    table: ibis.Table, model: Model, categories: ibis.Table | None = None
) -> ibis.Table:
    """``table`` plus an int64 ``cycle_days`` column from its ``category``.

    Without a store table this is a CASE expression over the model's categories (no join);
    with one, a left join against the small :func:`cycle_days_table`.
    """
    if categories is None:
        mapping = {k: int(v) for k, v in model.categories.items()}
        if not mapping:
            return table.mutate(cycle_days=ibis.literal(model.default_cycle_days, "int64"))
        days = table.category.substitute(mapping, else_=model.default_cycle_days)
        return table.mutate(cycle_days=days.cast("int64"))
    cycles = cycle_days_table(model, categories).rename(_cat="category", _cyc="cycle_days")
    joined = table.left_join(cycles, table.category == cycles._cat)
    joined = joined.mutate(cycle_days=joined._cyc.fill_null(model.default_cycle_days).cast("int64"))
    # An explicit select, not drop(): drop's EXCLUDE order follows a set (varies by process).
    return joined.select(*[c for c in table.columns if c != "cycle_days"], "cycle_days")
