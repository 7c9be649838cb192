"""Read source files in chunks: CSV/TSV, JSON Lines, Parquet and Excel, gzipped or not.

A reader yields :class:`Chunk` objects: the source columns of a block of rows, the
1-based source line of each row and the rows that could not even be split into fields
(``ragged row``, ``malformed json``). Memory is bounded by the chunk size. Line numbers:

* CSV/TSV and JSON Lines: the physical line where the row starts (the header is line 1;
  quoted newlines and blank lines are counted).
* Parquet: the row number (1-based).
* Excel: the worksheet row number (the header row is 1).

Blank lines (rows whose fields are all empty) are skipped and are not counted as rows.
A file that cannot be read at all raises :class:`~aips.exceptions.IngestError` naming the
file and what is wrong; so does a file whose size or modification time changed between
opening it and reading its end (it was written or truncated during the load). :class:`Chunk` and :class:`Reject` live in :mod:`aips.ingest.chunk`,
the CSV/TSV machinery in :mod:`aips.ingest.delimited` (JSON Lines blocks in
:mod:`aips.ingest.jsonl`, worksheets in :mod:`aips.ingest.excel`); this module opens a file
and picks the reader.
"""

from __future__ import annotations

import codecs
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa

from aips.exceptions import IngestError
from aips.ingest import encodings as enc
from aips.ingest.chunk import (
    MALFORMED_JSON,
    RAGGED,
    UNDECODABLE,
    Chunk,
    Reject,
    all_null,
    empty_table,
)
from aips.ingest.delimited import (
    CSV_BLOCK,
    FieldLimits,
    LineCounter,
    LineState,
    check_line_count,
    csv_chunk,
    csv_layout,
    open_csv,
    read_batches,
    sniff_delimiter,
)
from aips.ingest.mapping import Mapping

__all__ = [
    "CSV_BLOCK",
    "MALFORMED_JSON",
    "RAGGED",
    "ROWS_PER_CHUNK",
    "UNDECODABLE",
    "Chunk",
    "Reject",
    "Source",
    "file_sha256",
    "guess_format",
    "sniff_delimiter",
]

ROWS_PER_CHUNK = 131_072
_EXTENSIONS = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".tab": "tsv",
    ".txt": "csv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".xlsx": "xlsx",
    ".xlsm": "xlsx",
    ".xls": "xlsx",
}


class Source:
    """An opened source file; iterate :meth:`chunks` once, then read :attr:`sha256`."""

    def __init__(self, path: Path, mapping: Mapping, encoding: str | None = None, sheet=None):
        self.path = path
        self.mapping = mapping
        stat = path.stat()
        self.size = stat.st_size
        self._stamp = (stat.st_size, stat.st_mtime_ns)
        self.format = mapping.format or guess_format(path)
        self.encoding: str | None = None
        self.sha256: str | None = None
        self.columns: list[str] = []
        self.position = 0
        self._sheet = sheet if sheet is not None else mapping.sheet
        self._encoding_hint = encoding or mapping.encoding
        if self.size == 0:
            raise IngestError(f"{path}: the file is empty (0 bytes); nothing to load")

    def __repr__(self) -> str:
        return f"Source({str(self.path)!r}, {self.format}, {self.encoding})"

    def chunks(self) -> Iterator[Chunk]:
        """The file's rows, chunk by chunk."""
        reader = {
            "csv": self._csv,
            "tsv": self._csv,
            "jsonl": self._jsonl,
            "parquet": self._parquet,
            "xlsx": self._excel,
        }[self.format]
        yield from reader()
        self._check_unchanged()

    def _check_unchanged(self) -> None:
        """A file that changed (written, appended, truncated) while it was read fails the load:
        what was read matches neither version."""
        try:
            stat = self.path.stat()
        except OSError:
            stat = None
        now = (stat.st_size, stat.st_mtime_ns) if stat else None
        if now != self._stamp:
            was = f"{self._stamp[0]:,} bytes"
            became = f"{now[0]:,} bytes" if now else "gone"
            raise IngestError(
                f"{self.path}: the file changed while it was read ({was} before, {became} "
                "after, or a new modification time); nothing of it is loaded. Load it again "
                "once whatever writes it has finished"
            )

    # --- delimited text ------------------------------------------------------------------

    def _text_setup(self) -> str:
        sample = enc.read_sample(self.path)
        if not sample.strip():
            raise IngestError(
                f"{self.path}: the file has no data (only blank lines); nothing to load"
            )
        self.encoding = self._encoding_hint or enc.detect_encoding(sample)
        return enc.decode_sample(sample, self.encoding)

    def _open_text(self):
        raw, stream = enc.open_stream(self.path)
        if not enc.is_utf8(self.encoding):
            stream = pa.PythonFile(enc.Transcoder(stream, self.encoding), mode="r")
        return raw, stream

    def _csv(self) -> Iterator[Chunk]:
        opts = self.mapping.csv
        sample = self._text_setup()
        layout = csv_layout(self.path, sample, opts, self.format)
        cr_only = "\r" in sample and "\n" not in sample
        _check_names(self.path, layout.names, layout.delimiter)
        self.columns = layout.names
        transcoded = not enc.is_utf8(self.encoding)
        rejects: list[tuple[int | None, str]] = []
        limits = FieldLimits(self.path, opts.max_field_lines, opts.max_field_kib)
        raw, stream = self._open_text()
        counter = LineCounter(stream, b"\r" if cr_only else b"\n")
        stream = pa.PythonFile(counter, mode="r")
        try:
            reader = open_csv(stream, self.path, opts, layout, rejects)
            state = LineState(
                next_record=1 + (1 if opts.header else 0),
                extra=layout.header_lines - (1 if opts.header else 0),
            )
            for batch in read_batches(reader, self.path):
                table = pa.Table.from_batches([batch]).rename_columns(layout.names)
                chunk = csv_chunk(table, rejects, state, False, transcoded, limits)
                self.position = chunk.position = raw.position
                yield chunk
            if rejects:  # rejects after the last good row
                chunk = csv_chunk(
                    empty_table(layout.names), rejects, state, True, transcoded, limits
                )
                self.position = chunk.position = raw.position
                yield chunk
            self._check_unchanged()  # first: a changed file explains a line mismatch
            check_line_count(self.path, counter, state)
            self.sha256 = raw.drain()
        finally:
            raw.close()

    # --- JSON Lines --------------------------------------------------------------------------

    def _jsonl(self) -> Iterator[Chunk]:
        from aips.ingest.jsonl import json_block

        text = self._text_setup()
        if text.lstrip().startswith("["):
            raise IngestError(
                f"{self.path}: line 1: the file is a JSON array; aips reads JSON Lines (one object per line)"
            )
        raw, stream = self._open_text()
        line_no, rest = 1, b""
        try:
            while True:
                try:
                    data = stream.read(CSV_BLOCK)
                except (pa.ArrowException, OSError) as err:
                    raise enc.unreadable(self.path, err) from None
                data = bytes(data)
                block = rest + data
                if data:
                    cut = block.rfind(b"\n") + 1
                    block, rest = block[:cut], block[cut:]
                if block:
                    if line_no == 1 and block.startswith(codecs.BOM_UTF8):
                        block = block[len(codecs.BOM_UTF8) :]
                    chunk = json_block(block, line_no)
                    line_no += block.count(b"\n") + (0 if block.endswith(b"\n") else 1)
                    self.position = chunk.position = raw.position
                    self.columns = sorted(set(self.columns) | set(chunk.data.column_names))
                    yield chunk
                if not data:
                    break
            self.sha256 = raw.drain()
        finally:
            raw.close()

    # --- Parquet ------------------------------------------------------------------------------

    def _parquet(self) -> Iterator[Chunk]:
        import pyarrow.parquet as pq

        try:
            pf = pq.ParquetFile(self.path)
        except (pa.ArrowException, OSError) as err:
            raise IngestError(f"{self.path}: not a readable Parquet file: {err}") from None
        self.columns = pf.schema_arrow.names
        _check_names(self.path, self.columns, None)
        row = 1
        try:
            for batch in pf.iter_batches(batch_size=ROWS_PER_CHUNK):
                table = pa.Table.from_batches([batch])
                lines = np.arange(row, row + table.num_rows, dtype=np.int64)
                row += table.num_rows
                yield Chunk(
                    table,
                    lines,
                    position=int(self.size * min(1.0, row / max(pf.metadata.num_rows, 1))),
                )
        except (pa.ArrowException, OSError) as err:
            raise IngestError(
                f"{self.path}: cannot read the Parquet file near row {row}: {err}"
            ) from None
        self.sha256 = file_sha256(self.path)

    # --- Excel ---------------------------------------------------------------------------------

    def _excel(self) -> Iterator[Chunk]:
        from aips.ingest.excel import read_sheet

        names, rows, first_line = read_sheet(self.path, self._sheet, self.mapping.csv.header)
        self.columns = names
        _check_names(self.path, names, None)
        width = len(names)
        for start in range(0, len(rows), ROWS_PER_CHUNK):
            part = rows[start : start + ROWS_PER_CHUNK]
            lines = np.arange(first_line + start, first_line + start + len(part), dtype=np.int64)
            long = np.array([any(v is not None for v in r[width:]) for r in part], dtype=bool)
            rejects = [
                Reject(int(line), RAGGED, ",".join("" if v is None else v for v in r))
                for line, r, bad in zip(lines, part, long, strict=True)
                if bad
            ]
            cols = [pa.array([r[i] for r in part], pa.string()) for i in range(width)]
            data = pa.table(cols, names=names).filter(pa.array(~long))
            lines = lines[~long]
            blank = all_null(data)
            if blank is not None:
                data, lines = data.filter(pa.array(~blank)), lines[~blank]
            position = int(self.size * (start + len(part)) / max(len(rows), 1))
            yield Chunk(data, lines, rejects=rejects, position=position)
        if not rows:
            yield Chunk(empty_table(names, pa.string()), np.zeros(0, dtype=np.int64))
        self.sha256 = file_sha256(self.path)


def guess_format(path: Path) -> str:
    """The format from the file name (``.gz`` stripped), else from the content."""
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] in (".gz", ".gzip"):
        suffixes = suffixes[:-1]
    if suffixes and suffixes[-1] in _EXTENSIONS:
        return _EXTENSIONS[suffixes[-1]]
    head = enc.read_sample(path, 8)
    if head.startswith(b"PAR1"):
        return "parquet"
    if head.startswith(b"PK"):
        return "xlsx"
    if head.lstrip()[:1] == b"{":
        return "jsonl"
    return "csv"


def file_sha256(path: Path) -> str:
    import hashlib

    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def _check_names(path: Path, names: list[str], delimiter: str | None) -> None:
    seen: set[str] = set()
    for i, name in enumerate(names):
        if name in seen:
            raise IngestError(
                f"{path}: line 1: column {i + 1}: duplicate column name {name!r} in the header"
            )
        seen.add(name)
