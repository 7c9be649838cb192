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


# --- datasets and tables registered as views (aips source) -----------------------------------------


def _quote(store: Any, name: str) -> str:
    import sqlglot as sg

    return sg.to_identifier(name, quoted=True).sql(dialect=store.backend.compiler.dialect)


def dataset_glob(location: str) -> str:
    """What DuckDB reads for a Parquet location: a folder means every ``.parquet`` file
    under it (hive partition folders included); a file or a glob is taken as it is.

    >>> import tempfile
    >>> dataset_glob(tempfile.gettempdir()).endswith("/**/*.parquet")
    True
    """
    path = Path(location).expanduser()
    if path.is_dir():
        return str(path.resolve() / "**" / "*.parquet")
    return str(path.resolve()) if path.exists() else location


def register_parquet(store: Any, name: str, location: str) -> ibis.Table:
    """A persistent view ``name`` over the Parquet dataset at ``location`` (a folder,
    hive-partitioned or not, a file or a glob), with :data:`FILE` and :data:`ROW` added;
    its rows are read from the files by every query on it (nothing is copied).

    DuckDB: ``read_parquet`` with hive partitioning detected, and files unified by column
    name when their columns differ (:func:`same_columns`); Spark: ``parquet.`location```
    with its partition discovery and the file's ``_metadata`` (``file_path``,
    ``row_index``).
    """
    import sqlglot as sg

    if store.kind == "duckdb":
        glob = dataset_glob(location)
        call = sg.func("read_parquet", sg.exp.Literal.string(glob),
                       sg.exp.EQ(this=sg.column("filename"), expression=sg.exp.Literal.string(FILE)),
                       sg.exp.EQ(this=sg.column("file_row_number"), expression=sg.exp.true()),
                       sg.exp.EQ(this=sg.column("union_by_name"),
                                 expression=sg.exp.false() if same_columns(store, glob) else sg.exp.true()))
        body = (f"SELECT * EXCLUDE (file_row_number), file_row_number AS {_quote(store, ROW)} "
                f"FROM {call.sql(dialect='duckdb')}")
    else:
        path = location if "://" in location else str(Path(location).expanduser().resolve())
        body = (f"SELECT *, _metadata.file_path AS {_quote(store, FILE)}, _metadata.row_index AS "
                f"{_quote(store, ROW)} FROM parquet.`{path.replace('`', '``')}`")
    store.backend.raw_sql(f"CREATE OR REPLACE VIEW {_quote(store, name)} AS {body}")
    return with_instants(store, name, store.backend.table(name))


def same_columns(store: Any, glob: str) -> bool:
    """True when every Parquet file of ``glob`` (DuckDB) has the same columns, by name and
    type: the files can then be read as one schema, without ``union_by_name``.

    ``union_by_name`` makes DuckDB read the footer of every file each time a query binds the
    view, and keep them while it runs: on the 7,920 files of a 1B-event world, 1.9 s and
    ~1 GiB per reference of the view, memory its limit does not count (a query with three
    references peaked at 3.04 GiB RSS, 0.10 GiB without). Without it, DuckDB takes the
    first file's columns and matches the others by name, so it is used only when the
    columns differ (a file without a column would otherwise lose it in every file).
    Reads every footer once.

    >>> import tempfile, pathlib, duckdb
    >>> from aips.store.connect import connect
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> con = duckdb.connect()
    >>> _ = con.execute(f"COPY (SELECT 1 AS x, 'a' AS y) TO '{d}/a.parquet'")
    >>> _ = con.execute(f"COPY (SELECT 'b' AS y, 2 AS x) TO '{d}/b.parquet'")
    >>> same_columns(connect(":memory:"), f"{d}/*.parquet")
    True
    >>> _ = con.execute(f"COPY (SELECT 'c' AS y) TO '{d}/c.parquet'")
    >>> same_columns(connect(":memory:"), f"{d}/*.parquet")
    False
    """
    import sqlglot as sg

    schema = sg.func("parquet_schema", sg.exp.Literal.string(glob)).sql(dialect="duckdb")
    # leaves only (a group node, the root included, has no type; writers name the root apart)
    differ = store.backend.con.execute(
        f"SELECT count(*) FROM (SELECT name, type, logical_type, count(DISTINCT file_name) AS n "
        f"FROM {schema} WHERE type IS NOT NULL GROUP BY ALL) "
        f"WHERE n <> (SELECT count(DISTINCT file_name) FROM {schema})").fetchone()[0]
    return differ == 0


def with_instants(store: Any, name: str, table: ibis.Table) -> ibis.Table:
    """``table`` (the table or view ``name``) with its instants typed as UTC timestamps.

    Spark has two timestamp types, ``TIMESTAMP`` (an instant: a zoned Parquet timestamp)
    and ``TIMESTAMP_NTZ`` (a wall-clock time), and Ibis reads both as a timestamp without a
    zone, which the ingest checks take for a wall-clock time in the source zone. DuckDB's
    types say it already."""
    if store.kind == "duckdb":
        return table
    quoted = ".".join(_quote(store, part) for part in name.split("."))  # name or database.name
    fields = store.backend._session.table(quoted).schema.fields
    instants = [f.name for f in fields if f.dataType.typeName() == "timestamp"]
    return table.mutate(**{c: table[c].cast(ibis.dtype("timestamp('UTC')")) for c in instants}) if instants \
        else table


def catalog_table(store: Any, qualified: str) -> ibis.Table | None:
    """The table (or view) ``qualified`` (``name`` or ``database.name``) of the store's
    catalog, or None when there is none."""
    database, _, name = qualified.rpartition(".")
    try:
        if database:
            if name not in store.backend.list_tables(database=database):
                return None
            return with_instants(store, qualified, store.backend.table(name, database=database))
        if name not in store.backend.list_tables():
            return None
        return with_instants(store, name, store.backend.table(name))
    except Exception:  # noqa: BLE001 - an unknown database: no such table
        return None


def create_view(store: Any, name: str, expr: ibis.Table) -> ibis.Table:
    """A persistent view ``name`` defined by ``expr`` (replacing one of that name). Ibis
    makes temporary views on Spark; these outlive the session (the catalog keeps them)."""
    sql = store.backend.compile(expr)
    store.backend.raw_sql(f"CREATE OR REPLACE VIEW {_quote(store, name)} AS {sql}")
    return store.backend.table(name)


def read_text_lines(store: Any, name: str, paths: Sequence[str | Path]) -> ibis.Table | None:
    """The lines of text files (gzipped or not) read by the backend's own reader, as the
    temporary view ``name``: ``_aips_file`` (the file as the backend names it), ``_blk``
    and ``_mono`` (order the lines of each file: its block's start, then an id that grows
    within a block), ``_line`` (the text, without its line end). None on a backend whose
    ingest reads files in this process (DuckDB: :attr:`Capabilities.reads_files`).

    Spark: ``text.`path``` per file (its line reader: ``\\n``, ``\\r\\n`` and ``\\r`` end a
    line; UTF-8, undecodable bytes read as U+FFFD), with the file's ``_metadata``."""
    if not store.capabilities.reads_files:
        return None
    parts = []
    for p in paths:
        path = str(p) if "://" in str(p) else str(Path(p).expanduser().resolve())
        parts.append(f"SELECT value AS _line, _metadata.file_path AS {_quote(store, FILE)}, "
                     f"_metadata.file_block_start AS _blk, monotonically_increasing_id() AS _mono "
                     f"FROM text.`{path.replace('`', '``')}`")
    store.backend.raw_sql(f"CREATE OR REPLACE TEMPORARY VIEW {_quote(store, name)} AS {' UNION ALL '.join(parts)}")
    return store.backend.table(name)


def read_parquet_dataset(store: Any, name: str, paths: Sequence[str | Path]) -> ibis.Table | None:
    """Parquet files of one schema read by the backend's own reader, as the temporary view
    ``name`` with :data:`FILE` and :data:`ROW`; None where ingest reads files in this
    process (see :func:`read_text_lines`)."""
    if not store.capabilities.reads_files:
        return None
    # one relation over every file (a UNION of one per file ran the Connect server out of
    # memory on 59 files): the session's reader, as classic and Connect sessions both have it
    files = [str(p) if "://" in str(p) else str(Path(p).expanduser().resolve()) for p in paths]
    frame = store.backend._session.read.parquet(*files).selectExpr(
        "*", f"_metadata.file_path AS {_quote(store, FILE)}", f"_metadata.row_index AS {_quote(store, ROW)}")
    frame.createOrReplaceTempView(name)
    return with_instants(store, name, store.backend.table(name))


def local_path(name: str) -> str:
    """A file as the backend names it (``file:/tmp/a%20b.csv``) as a local path (``/tmp/a b.csv``).

    >>> local_path("file:/tmp/a%20b.csv"), local_path("/tmp/x.csv")
    ('/tmp/a b.csv', '/tmp/x.csv')
    """
    from urllib.parse import unquote, urlparse

    return unquote(urlparse(name).path) if name.startswith("file:") else name


SOURCE_INFO_TABLE = "aips_source_info"
"""What ``aips source`` registered: ``key``, ``value`` rows (location, kind, ...)."""


def source_kind(store: Any) -> str | None:
    """``parquet`` or ``table``: what the store's ``events`` view reads (``aips source``),
    else None (stored events).

    >>> from aips.store import connect
    >>> source_kind(connect(":memory:")) is None
    True
    """
    if not store.has(SOURCE_INFO_TABLE):
        return None
    info = store.table(SOURCE_INFO_TABLE)
    kind = info.filter(info.key == "kind").value.to_pyarrow().to_pylist()
    return kind[0] if kind else None


def is_view(store: Any, name: str) -> bool:
    """True when ``name`` is a view (of ``aips source``) rather than a stored table."""
    if store.kind == "duckdb":
        rows = store.backend.con.execute(
            "SELECT count(*) FROM duckdb_views() WHERE view_name = ? AND NOT internal", [name]).fetchone()
        return bool(rows and rows[0])
    session = store.backend._session
    return any(t.name == name and t.tableType == "VIEW" for t in session.catalog.listTables())
