"""What each backend can do: the only place that knows one backend from another.

Engine code never asks "is this Spark?"; it asks the capabilities record. What a backend
cannot do at all is refused here, before a command starts any work (:func:`require`), with
the alternative: never after minutes of Spark jobs.

>>> CAPABILITIES["duckdb"].transactions
True
>>> require("local[2]", ["threads"])
Traceback (most recent call last):
...
aips.exceptions.CapabilityError: --threads does not run on the Spark store local[2]: it is DuckDB's thread count, and Spark's cores come from its master. Instead: run local[N] for N cores, or give --conf spark.executor.cores=N (a cluster).
>>> require("aips.duckdb", ["threads"])  # DuckDB does it
"""

from __future__ import annotations

from collections.abc import Iterable
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
    writes_file_sets: bool = False
    """Large results are written to files by the backend's own writers, in parallel, not
    streamed through this process (:func:`aips.store.writes.write_file_set`)."""
    reads_files: bool = False
    """``aips ingest`` reads CSV and Parquet files with the backend's own readers (a
    cluster's executors), not in this process (:mod:`aips.ingest.backend_read`)."""
    sweep_islands: bool = True
    """The timeline sweep counts the atoms tested only for being nonzero per island of rows
    (:func:`aips.engine.timelines._island_deltas`): one more window over the rollup's rows,
    four times fewer in the running sums. DuckDB: the 12M first build 15.7 -> 10.4 CPU s.
    Spark: each window is a shuffle; on the test suite's data its Spark tests got slower (the
    CLI spine on Spark Connect 598 -> 678 s), and it is not measured at scale: off."""
    cache_registers_memtables: bool = True
    """``expr.cache()`` registers the in-memory tables ``expr`` uses (Ibis 12's PySpark
    backend does not: :func:`aips.store.cache.cached`)."""
    cache_by_checkpoint: bool = False
    """A cached table is a checkpoint of its rows, not a plan the engine must recognise:
    Spark's ``DataFrame.cache()`` is looked up by plan, and a query that reads a cached
    table inside a CTE it does not inline (a ``WITH`` that ibis writes for an aggregate
    read twice) misses it when the cached plan has such a CTE too, so the whole cached
    plan runs again (:func:`aips.store.cache.cached`). Like a cache, a local checkpoint
    keeps its blocks on the executors (memory, then disk); unlike one, it cannot be
    recomputed when an executor that holds them is lost (the query fails; run it again)."""


CAPABILITIES: dict[str, Capabilities] = {
    "duckdb": Capabilities("duckdb", transactions=True, delete_rows=True, transactional_ddl=True),
    "pyspark": Capabilities("pyspark", transactions=False, delete_rows=False,
                            cache_registers_memtables=False, cache_by_checkpoint=True, writes_file_sets=True,
                            reads_files=True, sweep_islands=False),
}


UNSUPPORTED: dict[str, tuple[str, ...]] = {
    "duckdb": (),
    "pyspark": ("memory_limit", "threads"),
}
"""Per backend, what it cannot do at all: each name has its reason and its alternative in
the catalogue (``store.refuse.NAME.what`` / ``.why`` / ``.instead``). Every command and
every analysis method of aips runs on both backends (audited on local[2] and Spark
Connect; ``tests/store/test_spark_cli.py``); what remains are DuckDB's own settings."""


def backend_of(store: str | None) -> str:
    """The backend a ``--store`` value (or ``$AIPS_STORE``, or the default) opens, without opening it.

    >>> backend_of("sc://cluster:15002"), backend_of("out/aips.duckdb")
    ('pyspark', 'duckdb')
    """
    import os

    from aips.store.spark import spark_target

    text = store if store is not None else os.environ.get("AIPS_STORE", "")
    return "pyspark" if spark_target(str(text)) is not None else "duckdb"


def require(store: str | None, wanted: Iterable[str], lang: str = "en") -> None:
    """Refuse, before any work, what the store's backend cannot do (:data:`UNSUPPORTED`).

    Raises:
        CapabilityError: naming the first such option or method, why, and what to do instead.
    """
    from aips.config.labels import t
    from aips.exceptions import CapabilityError

    kind = backend_of(store)
    for name in wanted:
        if name in UNSUPPORTED.get(kind, ()):
            raise CapabilityError(t("store.refuse", lang, store=store or "", what=t(f"store.refuse.{name}.what", lang),
                                    why=t(f"store.refuse.{name}.why", lang),
                                    instead=t(f"store.refuse.{name}.instead", lang)))
