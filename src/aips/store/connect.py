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
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import ibis
import pyarrow as pa
import sqlglot as sg
import sqlglot.expressions as sge

from aips._compat import spark as spark_compat
from aips.exceptions import StoreError, StoreLockedError
from aips.polling import poll
from aips.store import settings as store_settings
from aips.store import spark as spark_store
from aips.store.capabilities import CAPABILITIES, Capabilities
from aips.store.tables import SCHEMAS

BACKUP_SUFFIX = "__aips_old"
"""Spark keeps the replaced table under this suffix until the new one is in place."""
DEFAULT_STORE = "aips.duckdb"
STORE_ENV = "AIPS_STORE"
LOCK_TIMEOUT_ENV = "AIPS_LOCK_TIMEOUT"
DEFAULT_LOCK_TIMEOUT = 60.0
"""Seconds a command waits for another process to release the store's file."""
LOCK_RETRY = 0.25
"""Seconds between two attempts to open a locked store."""


class Store:
    """An Ibis backend plus what aips needs to know about it.

    Attributes:
        backend: the Ibis backend (``ibis.duckdb`` or ``ibis.pyspark``).
        kind: ``"duckdb"`` or ``"pyspark"``.
        location: the DuckDB file path, ``":memory:"`` or the Spark master.
        capabilities: the backend's :class:`Capabilities`.
        settings: the DuckDB resource settings in force (:mod:`aips.store.settings`);
            None for other backends.
    """

    def __init__(self, backend: Any, kind: str, location: str, *, read_only: bool = False,
                 timeout: float | None = None, settings: store_settings.StoreSettings | None = None):
        self.backend = backend
        self.settings = settings
        self.kind = kind
        self.location = location
        self.capabilities: Capabilities = CAPABILITIES[kind]
        self.read_only = read_only
        self.timeout = timeout

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

    def delete_matching(self, name: str, keys: ibis.Table, on: Sequence[str]) -> None:
        """Delete the rows of ``name`` whose ``on`` columns equal a row of ``keys`` (an
        expression of this backend), in place: ``DELETE ... USING``. Needs ``delete_rows``.

        >>> store = connect(":memory:")
        >>> _ = store.write("t", ibis.memtable({"u": ["a", "a", "b"], "n": [1, 2, 3]}))
        >>> store.delete_matching("t", ibis.memtable({"u": ["a"]}), ["u"])
        >>> store.table("t").n.to_pyarrow().to_pylist()
        [3]
        """
        if not self.capabilities.delete_rows:
            raise StoreError(f"the {self.kind} backend cannot delete rows in place; "
                             "rebuild the table and publish it with Store.swap instead")
        dialect = self.backend.compiler.dialect
        keys = keys.select(*on)
        self.backend._run_pre_execute_hooks(keys)  # registers in-memory tables, as execute() does
        source = sg.parse_one(str(self.backend.compile(keys)), dialect=dialect)
        target = sg.table(name, quoted=True)
        conds = [sg.column(c, table=name, quoted=True).eq(sg.column(c, table="_keys", quoted=True)) for c in on]
        stmt = sge.Delete(this=target, using=[source.subquery("_keys")], where=sge.Where(this=sge.and_(*conds)))
        self.backend.raw_sql(stmt.sql(dialect=dialect))

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

    @contextlib.contextmanager
    def writing(self) -> Iterator[None]:
        """Hold the file's write lock for this block only.

        A DuckDB file opened read-only is reopened read-write for the block (waiting, within
        the store's lock timeout, for readers to let go) and read-only again after it, so a
        long load reads and stages its files while other processes still read the store and
        takes the write lock only for its final transaction. A store opened read-write (or
        in memory, or Spark) is used as it is.
        """
        if not self.read_only:
            yield
            return
        self._reopen(read_only=False)
        try:
            yield
        finally:
            self._reopen(read_only=True)

    def _reopen(self, *, read_only: bool) -> None:
        self.close()
        self.backend = _open_duckdb(self.location, read_only=read_only,
                                    timeout=lock_timeout(self.timeout))
        if self.settings is not None:
            store_settings.apply(self.backend.con, self.settings)
        self.read_only = read_only

    def watch_jobs(self, report: Any, interval: float = 0.5) -> Any:
        """Call ``report`` with the progress of the running work until the returned function
        is called: on Spark the running job's (:class:`aips._compat.spark.JobStatus`), on a
        DuckDB store the running query's percentage done (a float, DuckDB's
        ``query_progress()``, polled every ``interval`` seconds); None between jobs or
        queries."""
        if self.kind == "pyspark":
            return spark_compat.watch_jobs(self.backend._session, report, interval)
        if self.kind != "duckdb":
            return None

        def share_done() -> float | None:
            try:  # the connection changes under :meth:`writing` and closes at the end
                done = float(self.backend.con.query_progress())
            except Exception:  # noqa: BLE001 - a closed or reopening connection: no query
                return None
            return done if done >= 0 else None

        return poll(share_done, report, interval=interval, name="aips-duckdb-progress")

    def close(self) -> None:
        """Release the connection (DuckDB file lock); Spark sessions are left running."""
        if self.kind == "duckdb":
            with contextlib.suppress(Exception):
                # cached (temporary) tables die with the connection: their finalizers must
                # not try to drop them from a closed one later
                entries = getattr(self.backend, "_cache_name_to_entry", {})
                for entry in list(entries.values()):
                    entry.finalizer.detach()
                entries.clear()
                getattr(self.backend, "_cache_op_to_entry", {}).clear()
            with contextlib.suppress(Exception):
                self.backend.disconnect()


def _literal(value: Any) -> sge.Expression:
    if isinstance(value, dt.date):
        return sge.cast(sge.Literal.string(value.isoformat()), "DATE")
    if isinstance(value, str):
        return sge.Literal.string(value)
    return sge.Literal.number(value)


def lock_timeout(value: float | None = None) -> float:
    """The lock timeout in seconds: ``value``, else ``$AIPS_LOCK_TIMEOUT``, else 60.

    >>> lock_timeout(5)
    5.0
    """
    if value is None:
        text = os.environ.get(LOCK_TIMEOUT_ENV, "").strip()
        if not text:
            return DEFAULT_LOCK_TIMEOUT
        try:
            value = float(text)
        except ValueError:
            raise StoreError(f"${LOCK_TIMEOUT_ENV} must be a number of seconds, got {text!r}") from None
    value = float(value)
    if value < 0 or value != value:
        raise StoreError(f"the lock timeout must be 0 or more seconds, got {value}")
    return value


def _is_lock_error(err: Exception) -> bool:
    text = str(err)
    return "Could not set lock" in text or "Conflicting lock" in text


WAIT_SUFFIX = ".aips-writer-waiting"
"""A writer waiting for readers touches ``<store>`` + this suffix; readers let it go first."""
WAIT_FRESH = 2.0
"""Seconds a waiting writer's mark counts (it is touched at every retry; a killed writer's
mark goes stale on its own)."""


def writer_waiting(path: str | Path) -> bool:
    """True while a writer is waiting for the readers of the DuckDB file ``path``."""
    try:
        age = time.time() - Path(f"{path}{WAIT_SUFFIX}").stat().st_mtime
    except OSError:
        return False
    return age < WAIT_FRESH


def _mark_waiting(path: str) -> None:
    with contextlib.suppress(OSError):
        Path(f"{path}{WAIT_SUFFIX}").touch()


def _unmark_waiting(path: str) -> None:
    with contextlib.suppress(OSError):
        Path(f"{path}{WAIT_SUFFIX}").unlink()


def _quiet_progress(backend: Any) -> Any:
    """DuckDB tracks each query's progress (read by :meth:`Store.watch_jobs` for the
    command's progress line on stderr) but never prints its own bar: DuckDB's default
    depends on the process and would write it to stdout, into a command's JSON."""
    backend.con.execute("SET enable_progress_bar = true")
    backend.con.execute("SET enable_progress_bar_print = false")
    return backend


def _open_duckdb(path: str, *, read_only: bool, timeout: float) -> Any:
    """``ibis.duckdb.connect``, retried while another process holds a conflicting lock
    (a writer blocks everyone; readers block a writer), for at most ``timeout`` seconds,
    with one progress line on stderr while waiting.

    Writers go first: a waiting writer marks the file (:func:`writer_waiting`) and a
    reader does not take the file while the mark is fresh, so a stream of readers (the
    dashboard) cannot starve a writer (a daily ingest).
    """
    deadline = time.monotonic() + timeout
    told = marked = False
    try:
        while True:
            err: Exception | None = None
            if read_only and writer_waiting(path):
                err = StoreError("a writer is waiting: Could not set lock")
            else:
                try:
                    return _quiet_progress(ibis.duckdb.connect(path, read_only=read_only))
                except Exception as exc:  # duckdb raises IOException on a locked or corrupt file
                    err = exc
                if "different configuration" in str(err):  # this process has the file open already
                    if read_only:  # read through this process's read-write connection
                        return _quiet_progress(ibis.duckdb.connect(path))
                    raise StoreError(f"cannot open store {path} for writing: this process has it open "
                                     "read-only (close that workspace first)") from None
            if not _is_lock_error(err):
                raise StoreError(f"cannot open store {path}: {err}") from None
            if not read_only:
                _mark_waiting(path)
                marked = True
            left = deadline - time.monotonic()
            if left <= 0:
                held = "a process writing to it" if read_only else "another process (reading or writing)"
                raise StoreLockedError(
                    f"the store {path} is in use by {held}; waited {timeout:g} s for it "
                    f"(wait longer with --lock-timeout SECONDS or ${LOCK_TIMEOUT_ENV})") from None
            if not told:
                what = "a writer to finish" if read_only else "other processes to release it"
                print(f"aips: the store {path} is in use; waiting up to {timeout:g} s for {what}...",
                      file=sys.stderr, flush=True)
                told = True
            time.sleep(min(LOCK_RETRY, left))
    finally:
        if marked:
            _unmark_waiting(path)


def connect(store: Any = None, *, read_only: bool = False, timeout: float | None = None,
            spark: spark_store.SparkOptions | None = None,
            settings: store_settings.StoreSettings | None = None) -> Store:
    """Open a store.

    Args:
        store: ``None`` (``$AIPS_STORE`` or ``./aips.duckdb``), a DuckDB file path,
            ``":memory:"``, a Spark URL (``local[2]``, ``sc://HOST:PORT``, ``spark://HOST:PORT``,
            ``yarn``, ``k8s://...``: see :mod:`aips.store.spark`), a ``SparkSession``, an
            Ibis backend, or a :class:`Store`.
        read_only: open a DuckDB file read-only: it must exist (nothing is created), and
            any number of read-only processes may hold it at once (but no writer).
        timeout: seconds to wait while another process holds a conflicting lock on the
            file (default ``$AIPS_LOCK_TIMEOUT`` or 60).
        spark: warehouse, database and settings of a Spark store (:class:`SparkOptions`).
        settings: a DuckDB store's memory limit, threads and spill folder (default:
            :func:`aips.store.settings.resolve` of the environment); applied to
            read-only opens too.

    Raises:
        StoreError: the file cannot be opened, or (``read_only``) does not exist.
        StoreLockedError: another process held the file for longer than ``timeout``.
        MissingDependencyError: Spark was asked for but pyspark is not installed.
    """
    if isinstance(store, Store):
        return store
    if store is None:
        store = os.environ.get(STORE_ENV) or DEFAULT_STORE
    if spark_compat.is_spark_session(store):
        return Store(ibis.pyspark.connect(store), "pyspark", spark_store.session_location(store))
    if hasattr(store, "list_tables") and hasattr(store, "name"):  # an Ibis backend
        kind = store.name
        if kind not in CAPABILITIES:
            raise StoreError(f"unsupported Ibis backend {kind!r} (supported: duckdb, pyspark)")
        return Store(store, kind, getattr(store, "database", kind) if kind == "pyspark" else "ibis")
    text = str(store)
    target = spark_store.spark_target(text)
    if target is not None:
        backend, location = spark_store.open_spark(target, spark)
        return Store(backend, "pyspark", location)
    settings = settings or store_settings.resolve()
    if text == ":memory:":
        return _tuned(Store(ibis.duckdb.connect(text), "duckdb", text, settings=settings))
    path = Path(text).expanduser()
    if path.is_dir():
        raise StoreError(f"store {path} is a directory; give a DuckDB file such as {path / DEFAULT_STORE}")
    if read_only and not path.exists():
        raise StoreError(f"no store at {text} (load data first: aips ingest FILE --store {text})")
    if not read_only:
        path.parent.mkdir(parents=True, exist_ok=True)
    text = str(path)
    backend = _open_duckdb(text, read_only=read_only, timeout=lock_timeout(timeout))
    return _tuned(Store(backend, "duckdb", text, read_only=read_only,
                        timeout=timeout, settings=settings.for_store(text)))


def _tuned(store: Store) -> Store:
    """``store`` with its settings applied to the DuckDB connection."""
    try:
        store_settings.apply(store.backend.con, store.settings)
    except BaseException:
        store.close()
        raise
    return store
