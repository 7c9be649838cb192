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
    """``expr`` computed once in the backend (use as a context manager: released on exit);
    see :func:`aips.store.cache.cached`."""
    from aips.store.cache import cached

    return cached(expr)
