"""Result files written by the backend itself, not through this process.

A Spark store's rows live on a cluster: a large output (an audience of millions of ids)
is written by Spark's own writers, in parallel, straight from the executors, instead of
being collected into the driver and through Python. :func:`write_file_set` writes one
sorted column as a set of files (CSV, text or Parquet; at most ``max_rows`` rows each) and
returns the files in row order; a backend without that ability (DuckDB, whose rows are
already in this process) returns None and callers stream batches themselves.

The folder must be one that this process and the Spark executors both see (a local
folder for ``local[N]`` or a Connect server on this machine; a shared or mounted file
system on a cluster).

>>> import ibis
>>> write_file_set(ibis.memtable({"id": ["a"]}), "/tmp/x", "csv") is None  # DuckDB: not this way
True
"""

from __future__ import annotations

from pathlib import Path

import ibis

from aips.exceptions import StoreError
from aips.store.capabilities import CAPABILITIES


def write_file_set(table: ibis.Table, folder: str | Path, fmt: str, *, header: bool = True,
                   max_rows: int | None = None) -> list[Path] | None:
    """Write ``table`` (sorted; one column) into the new folder ``folder`` with the
    backend's writers: ``fmt`` ``csv`` (every value quoted, ``""`` escaping, a header per
    file when ``header``), ``txt`` (one value per line, as is) or ``parquet``; at most
    ``max_rows`` rows a file. Returns the non-empty files in row order, or None when the
    backend cannot (see the module docstring).

    Raises:
        StoreError: the backend wrote the files where this process cannot see them.
    """
    backend = ibis.get_backend(table)
    caps = CAPABILITIES.get(getattr(backend, "name", ""))
    if caps is None or not caps.writes_file_sets:
        return None
    folder = Path(folder).resolve()
    options = {"maxRecordsPerFile": str(max_rows)} if max_rows else {}
    if fmt == "parquet":
        backend.to_parquet_dir(table, folder, options=options)
        suffix = ".parquet"
    else:
        options.update(header=str(header and fmt == "csv").lower(), quoteAll=str(fmt == "csv").lower(),
                       escape='"', quote='"' if fmt == "csv" else "", lineSep="\n")
        backend.to_csv_dir(table, folder, options=options)
        suffix = ".csv"
    if not folder.is_dir():
        raise StoreError(f"Spark wrote the files into {folder} on its own file system, which this process "
                         "cannot see: give a folder that both share (or a Spark store on this machine)")
    # part-00000-<uuid>-c000.csv, -c001 (maxRecordsPerFile) ...: the order of the sorted rows
    return sorted(p for p in folder.glob(f"part-*{suffix}") if p.stat().st_size > 0)
