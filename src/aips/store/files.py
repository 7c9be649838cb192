"""Source files read by the backend itself, with the file and row of every row.

The fast Parquet load (:mod:`aips.ingest.direct`) needs, for each row, the file it came
from and its row number, so that per-file bookkeeping (``loads``) and "the earlier file,
then the earlier row, wins" dedupe work without Python touching rows. How a backend
names them differs, so it is declared here, in the store layer:

* DuckDB: ``read_parquet([...], filename=..., file_row_number=true)``, with hive
  partitioning off (a ``date=2025-09-01/`` folder must not add a column the file lacks)
  and no schema unification (callers group files by schema).
* other backends: not supported yet (:func:`read_parquet_files` returns None and callers
  take their row-by-row path).

>>> import tempfile, pathlib, pyarrow as pa, pyarrow.parquet as pq
>>> from aips.store.connect import connect
>>> d = pathlib.Path(tempfile.mkdtemp())
>>> pq.write_table(pa.table({"x": [10, 20]}), d / "a.parquet")
>>> t = read_parquet_files(connect(":memory:"), [d / "a.parquet"])
>>> t.order_by(ROW).select("x", ROW).to_pyarrow().to_pylist()
[{'x': 10, '_aips_row': 0}, {'x': 20, '_aips_row': 1}]
>>> t[FILE].to_pyarrow().to_pylist() == [str(d / "a.parquet")] * 2
True
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import ibis

FILE = "_aips_file"
"""The column holding each row's source file (the path as given)."""
ROW = "_aips_row"
"""The column holding each row's 0-based row number within its file."""


@ibis.udf.scalar.builtin(name="epoch_us")
def _epoch_us(value) -> ibis.expr.datatypes.int64:  # type: ignore[empty-body]
    """DuckDB's microseconds since the epoch of a timestamp (no calendar involved)."""


@ibis.udf.scalar.builtin(name="make_timestamp")
def _make_timestamp(micros: ibis.expr.datatypes.int64) -> ibis.expr.datatypes.Timestamp(scale=6):  # type: ignore[empty-body]
    """DuckDB's naive timestamp of microseconds since the epoch."""


def naive_utc(store: Any, value: ibis.Value) -> ibis.Value:
    """A zoned timestamp as the naive UTC timestamp the ``events`` table stores.

    DuckDB casts a zoned timestamp through its ICU calendar (~0.2 us a row: 2.4 CPU s of
    12M rows); its instant in microseconds converts back without it (0.03 s), and does not
    depend on the session's time zone. Other backends cast.
    """
    if getattr(store, "kind", None) == "duckdb":
        return _make_timestamp(_epoch_us(value))
    return value.cast("timestamp")


def can_read_parquet(store: Any) -> bool:
    """True when :func:`read_parquet_files` works on ``store``'s backend."""
    return getattr(store, "kind", None) == "duckdb"


def read_parquet_files(store: Any, paths: Sequence[str | Path]) -> ibis.Table | None:
    """The rows of Parquet files with the same schema as one Ibis table, with the columns
    :data:`FILE` and :data:`ROW` added; None on a backend that cannot (see the module doc).

    The table is a view over the files: nothing is read until a query runs.
    """
    if not can_read_parquet(store):
        return None
    table = store.backend.read_parquet(
        [str(p) for p in paths],
        hive_partitioning=False,
        union_by_name=False,
        filename=FILE,
        file_row_number=True,
    )
    return table.rename({ROW: "file_row_number"})
