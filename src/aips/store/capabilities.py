"""What each backend can do: the only place that knows one backend from another.

Engine code never asks "is this Spark?"; it asks the capabilities record.

>>> CAPABILITIES["duckdb"].transactions
True
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Capabilities:
    """Feature flags of a backend."""

    name: str
    transactions: bool
    """A load can be made atomic with BEGIN/COMMIT."""
    delete_rows: bool
    """Rows can be deleted in place (incremental rollups replace touched days)."""
    transactional_ddl: bool = False
    """Dropping and renaming tables can happen inside a transaction, so a rebuilt table
    replaces the old one atomically (:meth:`aips.store.Store.swap`)."""
    cache_registers_memtables: bool = True
    """``expr.cache()`` registers the in-memory tables ``expr`` uses (Ibis 12's PySpark
    backend does not: :func:`aips.store.cache.cached`)."""


CAPABILITIES: dict[str, Capabilities] = {
    "duckdb": Capabilities("duckdb", transactions=True, delete_rows=True, transactional_ddl=True),
    "pyspark": Capabilities("pyspark", transactions=False, delete_rows=False,
                            cache_registers_memtables=False),
}
