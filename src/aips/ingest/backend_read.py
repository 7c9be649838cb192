"""``aips ingest`` into a store whose backend reads the files itself (Spark): no row
passes through this process.

On a Spark store (:attr:`~aips.store.capabilities.Capabilities.reads_files`) the files of
an ``events`` load are read by Spark's readers (:mod:`aips.store.files`), checked by the
Ibis expressions of :mod:`aips.ingest.checks` (those of ``aips source``, equal to
:mod:`aips.ingest.validate`'s), checked **once** into a scratch table, and published by
:func:`aips.ingest.publish.publish` (dedupe against the store, inserts of events,
quarantine rows and ``loads`` rows): the balance and the loaded rows are ingest's.

What Spark's readers cannot read as the Python reader does is read by the Python reader,
and the report says why (:attr:`IngestReport.reader_note`), never a silent difference:

* CSV/TSV text is read as lines and split at the delimiter (``,``, tab or ``;``), which is
  the Python reader's result only for plain lines. A file with a quote character on any
  line (quoted fields, stray quotes), an empty line, a line with another number of fields
  than the header, or text that is not UTF-8 (a BOM, undecodable bytes: Spark reads them as
  U+FFFD) goes to the Python reader: one aggregate job over the lines decides, per load.
* Parquet files are read with their own schema (one group per schema).
* JSON Lines and Excel files, files without a header line, ``--date-format`` and columns of
  types the checks do not take (:func:`aips.ingest.checks.unsupported`): the Python reader.

The quarantined rows go to the store's ``quarantine`` table (no quarantine CSV file: the
rows stay where Spark wrote them). File hashes (``loads.file_sha256``: a file loaded again
is recognised) are read from local files; a file Spark reads from elsewhere has none.
"""

from __future__ import annotations

import gzip
import hashlib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import ibis

from aips.ingest import checks
from aips.ingest.delimited import sniff_delimiter
from aips.ingest.report import FileReport
from aips.ingest.validate import LINE_BITS, Plan, staging_schema
from aips.store import files as store_files
from aips.store.tables import QUARANTINE

CHECKED_TABLE = "aips_ingest_checked"
"""Scratch: the checked rows of one load (dropped at its end)."""
DELIMITERS = (",", "\t", ";")
"""Delimiters split by the backend (``|`` would be a regular expression to Spark's split)."""
_TEXT_SUFFIXES = (".csv", ".tsv", ".txt")


@dataclass
class Note:
    """Why files were read in this process: a catalogue key (``ingest.why.KEY``) and its values."""

    key: str
    values: dict[str, str] = field(default_factory=dict)


@dataclass
class _Group:
    kind: str  # "csv" or "parquet"
    indexes: list[int]
    columns: list[str]
    delimiter: str = ","
    header: str | None = None
    """The header line (None: the file has none; every line is a row)."""


def _first_line(path: Path) -> bytes:
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    with opener(path, "rb") as f:
        return f.readline(1 << 20).rstrip(b"\r\n")


def plan_groups(paths: list[Path], mapping) -> list[_Group] | Note:
    """The files in groups the backend reads alike, or the :class:`Note` of the first file
    it cannot read as the Python reader does (from the file names and first lines only).

    >>> import tempfile, pathlib
    >>> from aips.ingest.mapping import Mapping
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "a.csv").write_text("ts;user_id;brand;event_type\\n")
    >>> _ = (d / "b.csv").write_text('ts,user_id,"brand",event_type\\n')
    >>> [(g.kind, g.delimiter, g.columns) for g in plan_groups([d / "a.csv"], Mapping())]
    [('csv', ';', ['ts', 'user_id', 'brand', 'event_type'])]
    >>> plan_groups([d / "a.csv", d / "b.csv"], Mapping()).key
    'quotes'
    """
    import pyarrow.parquet as pq

    groups: dict[tuple, _Group] = {}
    for i, path in enumerate(paths):
        name = path.name.lower().removesuffix(".gz")
        if name.endswith(".parquet"):
            try:
                schema = pq.read_schema(path)
            except Exception:  # noqa: BLE001 - the Python reader names the problem
                return Note("unreadable", {"file": str(path)})
            groups.setdefault(("parquet", str(schema)), _Group("parquet", [], schema.names)).indexes.append(i)
            continue
        if not name.endswith(_TEXT_SUFFIXES):
            return Note("format", {"file": str(path)})
        first = _first_line(path)
        try:
            text = first.decode("utf-8")
        except UnicodeDecodeError:
            return Note("encoding", {"file": str(path)})
        if text.startswith("\ufeff"):
            return Note("encoding", {"file": str(path)})
        delimiter = mapping.csv.delimiter or ("\t" if name.endswith(".tsv") else sniff_delimiter(text, mapping.csv.quote))
        if delimiter not in DELIMITERS:
            return Note("delimiter", {"file": str(path), "delimiter": delimiter})
        if mapping.csv.quote in text:
            return Note("quotes", {"file": str(path), "n": "1"})
        fields = text.split(delimiter)
        if mapping.csv.header:
            columns, header = [c.strip() for c in fields], text
        else:  # every line is a row; the mapping names the columns (else column_1, ...)
            columns, header = list(mapping.csv.names or [f"column_{k + 1}" for k in range(len(fields))]), None
            if len(columns) != len(fields):
                return Note("ragged", {"file": str(path), "n": "1"})
        key = ("csv", delimiter, header, tuple(columns))
        groups.setdefault(key, _Group("csv", [], columns, delimiter, header)).indexes.append(i)
    return list(groups.values())


def read_group(store: Any, group: _Group, paths: list[Path], view: str) -> ibis.Table | Note:
    """The rows of a group's files as the backend reads them, with :data:`FILE` (the given
    path), :data:`ROW` (a CSV file's 0-based line, a header being line 0; a Parquet
    file's row), ``_rec`` (the 0-based row number among the file's rows) and ``_raw``
    (the row's text); or the :class:`Note` of a file whose lines are not plain (one
    aggregate job)."""
    files = [paths[i] for i in group.indexes]
    if group.kind == "parquet":
        raw = store_files.read_parquet_dataset(store, view, files)
        cols = [c for c in raw.columns if c not in (store_files.FILE, store_files.ROW)]
        text = ibis.literal(",").join([raw[c].cast("string").fill_null("") for c in cols])
        raw = raw.mutate(_raw=text, _rec=raw[store_files.ROW])
    else:
        lines = store_files.read_text_lines(store, view, files)
        w = ibis.window(group_by=store_files.FILE, order_by=["_blk", "_mono"])
        lines = lines.mutate(**{store_files.ROW: ibis.row_number().over(w)})
        quirks = _quirks(lines, group)
        for row in quirks:
            for key in ("quotes", "empty", "ragged", "encoding", "header_differs"):
                if row[key]:
                    return Note(key, {"file": store_files.local_path(row[store_files.FILE]), "n": f"{row[key]:,}"})
        first = 0 if group.header is None else 1
        body = lines.filter(lines[store_files.ROW] >= first)
        parts = body._line.split(group.delimiter)
        raw = body.select(store_files.FILE, store_files.ROW, _raw=body._line, _rec=body[store_files.ROW] - first,
                          **{c: parts[i] for i, c in enumerate(group.columns)})
    # the backend's file names (file:/tmp/a%20b.csv) back to the paths given
    found = raw.select(store_files.FILE).distinct().to_pyarrow()[store_files.FILE].to_pylist()
    by_local = {str(p.resolve()): str(p) for p in files}
    mapping = ibis.memtable({"_backend": found, "_given": [by_local.get(store_files.local_path(f), f) for f in found]})
    raw = raw.inner_join(mapping, raw[store_files.FILE] == mapping._backend)
    return raw.mutate(**{store_files.FILE: raw._given}).drop("_backend", "_given")


def _quirks(lines: ibis.Table, group: _Group) -> list[dict]:
    """Per file: lines that Spark's line splitting would read otherwise than the Python
    CSV reader (quotes, empty lines, another field count, undecodable text, a header that
    differs from the first file's)."""
    fields = lines._line.length() - lines._line.replace(group.delimiter, "").length()
    has_header = group.header is not None
    body = lines[store_files.ROW] > (0 if has_header else -1)
    header = (lines[store_files.ROW] == 0) & (lines._line != (group.header or "")) & has_header
    return (lines.group_by(store_files.FILE)
            .aggregate(quotes=lines._line.contains('"').sum(),
                       empty=(body & (lines._line.length() == 0)).sum(),
                       ragged=(body & (lines._line.length() > 0) & (fields != len(group.columns) - 1)).sum(),
                       encoding=lines._line.contains("\ufffd").sum(),
                       header_differs=header.sum())
            .to_pyarrow().to_pylist())


def file_sha256(path: Path) -> str | None:
    """The SHA-256 of a local file (its bytes, not its rows), None when this process cannot see it."""
    try:
        h = hashlib.sha256()
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
        return h.hexdigest()
    except OSError:
        return None


def check(store: Any, raws: list[tuple[ibis.Table, Plan]], files: list[FileReport]) -> ibis.Table:
    """Check every row of every group once into :data:`CHECKED_TABLE`; fill each file's
    counts (``loaded``: the rows to load, split into loaded and duplicates on publication).
    Returns the scratch table joined with each file's index and load id."""
    index = {f.source_file: i for i, f in enumerate(files)}
    parts = []
    for raw, plan in raws:
        keep = (store_files.FILE, store_files.ROW, "_rec", "_raw")
        t = checks.checked_events(raw, plan, keep=keep, forms=checks.text_forms(raw, plan))
        bad = t._reason.notnull() & ~t._ignored
        parts.append(t.mutate(_raw=ibis.ifelse(bad, t._raw, ibis.null("string"))))
    checked = parts[0].union(*parts[1:], distinct=False) if len(parts) > 1 else parts[0]
    store.write(CHECKED_TABLE, checked, overwrite=True)
    staged = store.backend.table(CHECKED_TABLE)
    good = staged._reason.isnull() & ~staged._ignored
    stats = (staged.group_by([store_files.FILE, "_reason", "_ignored"])
             .aggregate(n=staged.count(), lo=staged.local_date.min(where=good), hi=staged.local_date.max(where=good))
             .to_pyarrow().to_pylist())
    reasons: dict[str, Counter] = {}
    for row in stats:
        f = files[index[row[store_files.FILE]]]
        f.rows_read += row["n"]
        if row["_ignored"]:
            f.ignored += row["n"]
        elif row["_reason"] is not None:
            f.quarantined += row["n"]
            reasons.setdefault(f.source_file, Counter())[row["_reason"]] += row["n"]
        else:
            f.loaded += row["n"]
    for f in files:
        f.reasons = dict(sorted(reasons.get(f.source_file, Counter()).items()))
    ids = ibis.memtable({store_files.FILE: [f.source_file for f in files],
                         "_file": list(range(len(files))), "load_id": [f.load_id for f in files]},
                        schema={store_files.FILE: "string", "_file": "int32", "load_id": "string"})
    return staged.inner_join(ids, store_files.FILE)


def staged_rows(checked: ibis.Table) -> ibis.Table:
    """The rows to load, in the staging schema (``_pos``: file, then row, as the Python path)."""
    rows = checked.filter(checked._reason.isnull() & ~checked._ignored)
    rows = rows.mutate(_pos=rows._file.cast("int64") * (1 << LINE_BITS) + rows[store_files.ROW].cast("int64") + 1,
                       _key=ibis.null("string"))  # event_id is filled: derived ids are hashed already
    return rows.select(*[rows[f.name].cast(ibis.dtype(f.type)).name(f.name) for f in staging_schema("events")])


def quarantine_rows(checked: ibis.Table) -> ibis.Table:
    """The quarantined rows in the ``quarantine`` schema: a CSV file's physical line (the
    header is line 1), a Parquet file's 1-based row."""
    bad = checked.filter(checked._reason.notnull() & ~checked._ignored)
    rows = bad.select(load_id=bad.load_id, table_name=ibis.literal("events"), source_file=bad[store_files.FILE],
                      source_line=(bad[store_files.ROW] + 1).cast("int64"), column_name=bad._column,
                      reason=bad._reason, raw=bad._raw)
    return rows.cast(QUARANTINE)


def early_stop(checked: ibis.Table, early_rows: int) -> tuple[str, str, str] | None:
    """(file, reason, column) of a file whose first ``early_rows`` rows are all quarantined
    for one reason (the mapping is wrong: ingest stops, as the Python path does), or None."""
    first = checked.filter(checked._rec < early_rows)
    rows = (first.group_by([store_files.FILE, "_reason", "_column"]).aggregate(n=first.count())
            .to_pyarrow().to_pylist())
    total: Counter = Counter()
    for r in rows:
        total[r[store_files.FILE]] += r["n"]
    for r in rows:
        if r["_reason"] is not None and r["n"] >= early_rows and total[r[store_files.FILE]] == r["n"]:
            return r[store_files.FILE], r["_reason"], r["_column"]
    return None


def plan_for(group: _Group, path: Path, make_plan) -> Plan:
    """The validation plan of a group (its columns; file index and load id unused)."""
    return make_plan(SimpleNamespace(columns=group.columns, format=group.kind, path=path))
