"""Small helpers shared by the insight functions: result frames as Ibis tables, a cache."""

from __future__ import annotations

import ibis
import pandas as pd


def memtable(df: pd.DataFrame, schema: dict[str, str]) -> ibis.Table:
    """An in-memory Ibis table from a small result frame, with a stable schema even when empty.

    >>> memtable(pd.DataFrame({"a": [1]}), {"a": "int64"}).schema()["a"]
    Int64(nullable=True)
    """
    data = {c: df[c].tolist() for c in schema}
    return ibis.memtable(data, schema=schema)


def cache(expr: ibis.Table):
    """``expr.cache()`` (use as a context manager: released on exit).

    Ibis 12's PySpark backend caches without registering the in-memory tables an expression
    uses (the engine's timelines use one), so run an empty query first: it registers them,
    and ``LIMIT 0`` computes nothing.
    """
    expr.limit(0).to_pyarrow()
    return expr.cache()
