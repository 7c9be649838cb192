"""Scratch space where a load's mapped rows wait until they are published in one step.

Nothing of a load reaches the store's tables before every file has been read and
validated; then dedupe and insert run on the backend (see :mod:`aips.ingest.load`).
A crash while reading leaves only scratch data, which the next load removes.

The scratch area differs by backend, because what is cheap differs:

* **DuckDB**: Parquet files in a directory beside the store file (a temporary directory
  for ``:memory:``), read back through Ibis ``read_parquet``. Staging into a DuckDB table
  would write and compress every row twice; this path costs about a fifth of that
  (measured in ``bench/ingest.py``) and keeps memory bounded.
* **Spark**: scratch tables ``_aips_scratch_<run>_<pid>_{rows,quarantine}`` in the
  session's catalog (executors of a cluster cannot read the driver's local files).

Both expose the staged rows as an Ibis table, so dedupe and insert are one code path.
"""

from __future__ import annotations

import abc
import contextlib
import os
import re
import shutil
import tempfile
from pathlib import Path

import ibis
import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.parquet as pq

from aips.store.connect import Store

_DICTIONARY_COLUMNS = [
    "load_id", "brand", "category", "event_type", "channel", "content_format",
    "table_name", "source_file", "column_name", "reason",
]  # fmt: skip
_RUN = re.compile(r"^_?aips_scratch_(?P<run>[0-9A-Za-z]+)_(?P<pid>\d+)")


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class Scratch(abc.ABC):
    """Staged rows and quarantine rows of one load."""

    def __init__(self, store: Store, run_id: str, schema: pa.Schema, quarantine_schema: pa.Schema):
        self.store = store
        self.name = f"aips_scratch_{run_id.replace('-', '')}_{os.getpid()}"
        self.schema = schema
        self.quarantine_schema = quarantine_schema
        self.rows = 0

    @abc.abstractmethod
    def append(self, rows: pa.Table, quarantine: pa.Table) -> None:
        """Stage a chunk of mapped rows and its quarantined rows."""

    @abc.abstractmethod
    def staged(self) -> ibis.Table:
        """The staged rows as an Ibis table."""

    @abc.abstractmethod
    def quarantined(self) -> ibis.Table:
        """The quarantine rows as an Ibis table."""

    @abc.abstractmethod
    def drop(self) -> None:
        """Remove the scratch data (safe to call twice)."""


class ParquetScratch(Scratch):
    """Parquet files beside a DuckDB store."""

    def __init__(self, store: Store, run_id: str, schema: pa.Schema, quarantine_schema: pa.Schema):
        super().__init__(store, run_id, schema, quarantine_schema)
        self.root = scratch_root(store)
        self.dir = self.root / self.name
        self.dir.mkdir(parents=True, exist_ok=True)
        self._writers: dict[str, pq.ParquetWriter] = {}
        self._views: list[str] = []

    def _write(self, kind: str, table: pa.Table, schema: pa.Schema) -> None:
        writer = self._writers.get(kind)
        if writer is None:
            dictionary = [c for c in _DICTIONARY_COLUMNS if c in schema.names]
            writer = pq.ParquetWriter(
                self.dir / f"{kind}.parquet", schema, compression="lz4", use_dictionary=dictionary
            )
            self._writers[kind] = writer
        if table.num_rows:
            writer.write_table(table.cast(schema), row_group_size=max(table.num_rows, 1))

    def append(self, rows: pa.Table, quarantine: pa.Table) -> None:
        self._write("rows", rows, self.schema)
        self._write("quarantine", quarantine, self.quarantine_schema)
        self.rows += rows.num_rows

    def _read(self, kind: str, schema: pa.Schema) -> ibis.Table:
        writer = self._writers.pop(kind, None)
        if writer is not None:
            writer.close()
        path = self.dir / f"{kind}.parquet"
        if not path.exists():
            pq.write_table(schema.empty_table(), path)
        view = f"{self.name}_{kind}"
        self._views.append(view)
        return self.store.backend.read_parquet(str(path), table_name=view)

    def staged(self) -> ibis.Table:
        return self._read("rows", self.schema)

    def quarantined(self) -> ibis.Table:
        return self._read("quarantine", self.quarantine_schema)

    def drop(self) -> None:
        for writer in self._writers.values():
            with contextlib.suppress(Exception):
                writer.close()
        self._writers.clear()
        for view in self._views:
            with contextlib.suppress(Exception):
                self.store.backend.drop_view(view, force=True)
        self._views.clear()
        shutil.rmtree(self.dir, ignore_errors=True)
        with contextlib.suppress(OSError):
            self.root.rmdir()  # only when no other load is using it

    @staticmethod
    def cleanup_stale(store: Store, tables: set[str]) -> list[str]:
        root = scratch_root(store)
        removed = []
        if root.is_dir():
            for entry in root.iterdir():
                match = _RUN.match(entry.name)
                if match and not _pid_alive(int(match["pid"])):
                    shutil.rmtree(entry, ignore_errors=True)
                    removed.append(entry.name)
            with contextlib.suppress(OSError):
                root.rmdir()  # only when empty
        return removed


class TableScratch(Scratch):
    """Scratch tables in the backend's catalog (Spark).

    Chunks are buffered and written in batches of about :attr:`FLUSH_ROWS` rows; a load
    smaller than that never creates a table and is published from memory.
    """

    FLUSH_ROWS = 1_000_000

    def __init__(self, store: Store, run_id: str, schema: pa.Schema, quarantine_schema: pa.Schema):
        super().__init__(store, run_id, schema, quarantine_schema)
        self.tables = {"rows": f"_{self.name}_rows", "quarantine": f"_{self.name}_quarantine"}
        self._schemas = {"rows": schema, "quarantine": quarantine_schema}
        self._pending: dict[str, list[pa.Table]] = {"rows": [], "quarantine": []}
        self._created: set[str] = set()

    def _flush(self, kind: str) -> None:
        pending = self._pending[kind]
        if not pending:
            return
        data = pa.concat_tables(pending)
        self._pending[kind] = []
        name = self.tables[kind]
        if kind not in self._created:
            self.store.backend.create_table(name, data, overwrite=True)
            self._created.add(kind)
        else:
            self.store.backend.insert(name, data)

    def append(self, rows: pa.Table, quarantine: pa.Table) -> None:
        for kind, data in (("rows", rows), ("quarantine", quarantine)):
            if data.num_rows:
                self._pending[kind].append(data.cast(self._schemas[kind]))
                if sum(t.num_rows for t in self._pending[kind]) >= self.FLUSH_ROWS:
                    self._flush(kind)
        self.rows += rows.num_rows

    def _read(self, kind: str) -> ibis.Table:
        if kind in self._created:
            self._flush(kind)
            return self.store.backend.table(self.tables[kind])
        data = pa.concat_tables([self._schemas[kind].empty_table(), *self._pending[kind]])
        return ibis.memtable(data)

    def staged(self) -> ibis.Table:
        return self._read("rows")

    def quarantined(self) -> ibis.Table:
        return self._read("quarantine")

    def drop(self) -> None:
        self._pending = {"rows": [], "quarantine": []}
        for kind in list(self._created):
            with contextlib.suppress(Exception):
                self.store.backend.drop_table(self.tables[kind], force=True)
        self._created.clear()

    @staticmethod
    def cleanup_stale(store: Store, tables: set[str]) -> list[str]:
        removed = []
        for name in sorted(tables):
            match = _RUN.match(name)
            if match and name.startswith("_aips_scratch_") and not _pid_alive(int(match["pid"])):
                with contextlib.suppress(Exception):
                    store.backend.drop_table(name, force=True)
                removed.append(name)
        return removed


class QuarantineFile:
    """The quarantine CSV, streamed to a temporary file and renamed into place at the end."""

    def __init__(self, target: Path):
        self.target = target
        self._tmp: Path | None = None
        self._writer: pcsv.CSVWriter | None = None
        self._sink = None
        self.rows = 0

    def write(self, rows: pa.Table) -> None:
        if not rows.num_rows:
            return
        if self._writer is None:
            self.target.parent.mkdir(parents=True, exist_ok=True)
            self._tmp = self.target.with_name(f".{self.target.name}.{os.getpid()}.tmp")
            self._sink = open(self._tmp, "wb")  # noqa: SIM115 - closed in commit/discard
            self._writer = pcsv.CSVWriter(self._sink, rows.schema)
        self._writer.write_table(rows)
        self.rows += rows.num_rows

    def commit(self) -> str | None:
        if self._writer is None:
            return None
        self._writer.close()
        self._sink.close()
        self._writer = None
        os.replace(self._tmp, self.target)
        self._tmp = None
        return str(self.target)

    def discard(self) -> None:
        if self._writer is not None:
            with contextlib.suppress(Exception):
                self._writer.close()
                self._sink.close()
        if self._tmp is not None:
            with contextlib.suppress(FileNotFoundError):
                self._tmp.unlink()


_KINDS: dict[str, type[Scratch]] = {"duckdb": ParquetScratch, "pyspark": TableScratch}


def scratch_root(store: Store) -> Path:
    """Where a DuckDB store's scratch directories live."""
    if store.kind == "duckdb" and store.location not in (":memory:", "ibis", ""):
        path = Path(store.location)
        return path.parent / f".{path.name}.scratch"
    return Path(tempfile.gettempdir()) / "aips-scratch"


def open_scratch(
    store: Store,
    run_id: str,
    schema: pa.Schema,
    quarantine_schema: pa.Schema,
    tables: set[str] | None = None,
) -> Scratch:
    """A fresh scratch area for one load, after removing stale ones of dead processes.

    ``tables`` is the store's table list, when the caller has it at hand.
    """
    kind = _KINDS.get(store.kind, TableScratch)
    kind.cleanup_stale(store, set(store.backend.list_tables()) if tables is None else tables)
    return kind(store, run_id, schema, quarantine_schema)
