"""Open a store: an embedded DuckDB file by default, or a Spark session.

>>> store = connect(":memory:")
>>> store.ensure("events").count().execute()
0
>>> store.kind
'duckdb'
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import ibis
import pyarrow as pa
import sqlglot as sg
import sqlglot.expressions as sge

from aips._compat import spark as spark_compat
from aips.exceptions import StoreError
from aips.store.capabilities import CAPABILITIES, Capabilities
from aips.store.tables import SCHEMAS

BACKUP_SUFFIX = "__aips_old"
"""Spark keeps the replaced table under this suffix until the new one is in place."""
DEFAULT_STORE = "aips.duckdb"
STORE_ENV = "AIPS_STORE"


class Store:
    """An Ibis backend plus what aips needs to know about it.

    Attributes:
        backend: the Ibis backend (``ibis.duckdb`` or ``ibis.pyspark``).
        kind: ``"duckdb"`` or ``"pyspark"``.
        location: the DuckDB file path, ``":memory:"`` or the Spark master.
        capabilities: the backend's :class:`Capabilities`.
    """

    def __init__(self, backend: Any, kind: str, location: str):
        self.backend = backend
        self.kind = kind
        self.location = location
        self.capabilities: Capabilities = CAPABILITIES[kind]

    def __repr__(self) -> str:
        return f"Store({self.kind}, {self.location!r})"

    # --- tables ------------------------------------------------------------------------

    def has(self, name: str) -> bool:
        """True when the table exists."""
        return name in self.backend.list_tables()

    def table(self, name: str) -> ibis.Table:
        """A table of the store; a clear error when it does not exist yet."""
        if not self.has(name):
            hint = " (load data first: aips ingest FILE)" if name in SCHEMAS else ""
            raise StoreError(f"the store {self.location} has no table {name!r}{hint}")
        return self.backend.table(name)

    def ensure(self, name: str, schema: ibis.Schema | None = None) -> ibis.Table:
        """The table, created empty with its canonical schema when missing."""
        if not self.has(name):
            schema = schema or SCHEMAS[name]
            self.backend.create_table(name, schema=schema)
        return self.backend.table(name)

    def write(self, name: str, data: Any, *, overwrite: bool = False) -> ibis.Table:
        """Create or replace (``overwrite``) or append to a table from an Ibis table or Arrow data."""
        if isinstance(data, pa.Table) and data.num_rows == 0 and not self.has(name):
            self.backend.create_table(name, schema=ibis.Schema.from_pyarrow(data.schema))
        elif overwrite or not self.has(name):
            self.backend.create_table(name, data, overwrite=True)
        else:
            self.backend.insert(name, data)
        return self.backend.table(name)

    def drop(self, name: str) -> None:
        """Drop a table if it exists."""
        if self.has(name):
            self.backend.drop_table(name)

    def rename(self, old: str, new: str) -> None:
        """Rename a table (one catalog operation; DuckDB: transactional)."""
        stmt = sge.Alter(this=sg.table(old, quoted=True), kind="TABLE",
                         actions=[sge.AlterRename(this=sg.table(new, quoted=True))])
        self.backend.raw_sql(stmt.sql(dialect=self.backend.compiler.dialect))

    def swap(self, staging: str, name: str) -> None:
        """Make the complete table ``staging`` the table ``name``, replacing the old one.

        With ``transactional_ddl`` (DuckDB) the drop and the rename are one transaction:
        readers see the old table or the new one, never neither, and a failure leaves the
        old table as it was. Elsewhere (Spark, no transactions) the old table is first
        renamed to ``name + BACKUP_SUFFIX``, then ``staging`` to ``name``, then the backup
        dropped: each step is one atomic catalog rename, but between the two renames
        ``name`` is briefly missing. A failed rename is undone at once, and a crash there
        is repaired by :meth:`restore` (called by the next swap), so the old data is
        never lost.
        """
        if self.capabilities.transactional_ddl:
            with self.transaction():
                if self.has(name):
                    self.backend.drop_table(name)
                self.rename(staging, name)
            return
        self.restore(name)
        backup = name + BACKUP_SUFFIX
        self.drop(backup)
        if self.has(name):
            self.rename(name, backup)
        try:
            self.rename(staging, name)
        except BaseException:
            self.restore(name)
            raise
        self.drop(backup)

    def restore(self, name: str) -> bool:
        """Put back the table a swap interrupted between its renames; True when it did."""
        backup = name + BACKUP_SUFFIX
        if self.has(name) or not self.has(backup):
            return False
        self.rename(backup, name)
        return True

    def delete_where(self, name: str, where: dict[str, Any]) -> None:
        """Delete the rows of ``name`` matching every condition of ``where`` in place.

        ``where`` maps a column to a list of values or to an inclusive ``(lo, hi)`` tuple.
        Needs the ``delete_rows`` capability; run it inside :meth:`transaction` together
        with the insert of the replacement rows.
        """
        if not self.capabilities.delete_rows:
            raise StoreError(f"the {self.kind} backend cannot delete rows in place; "
                             "rebuild the table and publish it with Store.swap instead")
        conds = []
        for col, spec in where.items():
            column = sg.column(col, quoted=True)
            if isinstance(spec, tuple):
                conds.append(column.between(_literal(spec[0]), _literal(spec[1])))
            else:
                conds.append(column.isin(*[_literal(v) for v in spec]) if spec else sge.false())
        stmt = sg.delete(sg.table(name, quoted=True)).where(sge.and_(*conds) if conds else sge.true())
        self.backend.raw_sql(stmt.sql(dialect=self.backend.compiler.dialect))

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """All writes inside happen or none do (where the backend has transactions).

        On backends without transactions, callers stage into a scratch table and
        publish with one final write; this context then does nothing.
        """
        if not self.capabilities.transactions:
            yield
            return
        raw = self.backend.con
        raw.execute("BEGIN TRANSACTION")
        try:
            yield
        except BaseException:
            raw.execute("ROLLBACK")
            raise
        else:
            raw.execute("COMMIT")

    def close(self) -> None:
        """Release the connection (DuckDB file lock); Spark sessions are left running."""
        if self.kind == "duckdb":
            with contextlib.suppress(Exception):
                self.backend.disconnect()


def _literal(value: Any) -> sge.Expression:
    if isinstance(value, dt.date):
        return sge.cast(sge.Literal.string(value.isoformat()), "DATE")
    if isinstance(value, str):
        return sge.Literal.string(value)
    return sge.Literal.number(value)


def connect(store: Any = None) -> Store:
    """Open a store.

    Args:
        store: ``None`` (``$AIPS_STORE`` or ``./aips.duckdb``), a DuckDB file path,
            ``":memory:"``, ``"spark://local[2]"`` (a local Spark session), a
            ``SparkSession``, an Ibis backend, or a :class:`Store`.

    Raises:
        StoreError: the file cannot be opened (e.g. locked by another process).
        MissingDependencyError: Spark was asked for but pyspark is not installed.
    """
    if isinstance(store, Store):
        return store
    if store is None:
        store = os.environ.get(STORE_ENV) or DEFAULT_STORE
    if spark_compat.is_spark_session(store):
        return Store(ibis.pyspark.connect(store), "pyspark", str(store.sparkContext.master))
    if hasattr(store, "list_tables") and hasattr(store, "name"):  # an Ibis backend
        kind = store.name
        if kind not in CAPABILITIES:
            raise StoreError(f"unsupported Ibis backend {kind!r} (supported: duckdb, pyspark)")
        return Store(store, kind, getattr(store, "database", kind) if kind == "pyspark" else "ibis")
    text = str(store)
    if text.startswith("spark://"):
        master = text.removeprefix("spark://") or "local[2]"
        session = spark_compat.get_or_create_session(master)
        return Store(ibis.pyspark.connect(session), "pyspark", master)
    if text != ":memory:":
        path = Path(text).expanduser()
        if path.is_dir():
            raise StoreError(f"store {path} is a directory; give a DuckDB file such as {path / DEFAULT_STORE}")
        path.parent.mkdir(parents=True, exist_ok=True)
        text = str(path)
    try:
        backend = ibis.duckdb.connect(text)
    except Exception as err:  # duckdb raises IOException on a locked or corrupt file
        raise StoreError(f"cannot open store {text}: {err}") from None
    return Store(backend, "duckdb", text)
