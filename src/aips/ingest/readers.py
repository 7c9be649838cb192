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
file and what is wrong.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from aips.exceptions import IngestError
from aips.ingest import encodings as enc
from aips.ingest.mapping import Mapping

RAGGED = "ragged row"
MALFORMED_JSON = "malformed json"
UNDECODABLE = "undecodable text"

CSV_BLOCK = 8 << 20
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


@dataclass
class Reject:
    """A row that could not be split into fields."""

    line: int
    reason: str
    raw: str


@dataclass
class Chunk:
    """A block of source rows."""

    data: pa.Table
    lines: np.ndarray
    undecodable: np.ndarray | None = None
    rejects: list[Reject] = field(default_factory=list)
    position: int = 0


class Source:
    """An opened source file; iterate :meth:`chunks` once, then read :attr:`sha256`."""

    def __init__(self, path: Path, mapping: Mapping, encoding: str | None = None, sheet=None):
        self.path = path
        self.mapping = mapping
        self.size = path.stat().st_size
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
        import pyarrow.csv as pcsv

        opts = self.mapping.csv
        text = self._text_setup()
        first = text.split("\n", 1)[0]
        delimiter = opts.delimiter or (
            "\t" if self.format == "tsv" else sniff_delimiter(first, opts.quote)
        )
        header_lines = 0
        header: list[str] = []
        if opts.header:
            header = next(
                csv.reader(io.StringIO(text), delimiter=delimiter, quotechar=opts.quote), []
            )
            header_lines = 1 + sum(h.count("\n") for h in header)
            if opts.names and len(opts.names) != len(header):
                raise IngestError(
                    f"{self.path}: line 1: the header has {len(header)} columns but the mapping's "
                    f"csv.names has {len(opts.names)}"
                )
            names = list(opts.names) if opts.names else [h.strip() for h in header]
        else:
            width = len(
                next(csv.reader(io.StringIO(text), delimiter=delimiter, quotechar=opts.quote), [])
            )
            names = list(opts.names) if opts.names else [f"column_{i + 1}" for i in range(width)]
        _check_names(self.path, names, delimiter)
        self.columns = names
        rejects: list[tuple[int | None, str]] = []

        def on_invalid(row) -> str:
            rejects.append((row.number, row.text))
            return "skip"

        raw, stream = self._open_text()
        try:
            try:
                reader = pcsv.open_csv(
                    stream,
                    read_options=pcsv.ReadOptions(
                        block_size=CSV_BLOCK,
                        use_threads=False,
                        column_names=None if opts.header else names,
                    ),
                    parse_options=pcsv.ParseOptions(
                        delimiter=delimiter,
                        quote_char=opts.quote,
                        newlines_in_values=True,
                        ignore_empty_lines=False,
                        invalid_row_handler=on_invalid,
                    ),
                    convert_options=pcsv.ConvertOptions(
                        column_types={n: pa.binary() for n in (header or names)},
                        null_values=[""],
                        strings_can_be_null=True,
                        quoted_strings_can_be_null=True,
                    ),
                )
            except (pa.ArrowException, OSError) as err:
                raise IngestError(
                    f"{self.path}: cannot read the file: {enc.gzip_hint(err)}"
                ) from None
            if opts.header and reader.schema.names != header:
                raise IngestError(f"{self.path}: line 1: cannot split the header into columns")
            state = _LineState(
                next_record=1 + (1 if opts.header else 0),
                extra=header_lines - (1 if opts.header else 0),
            )
            while True:
                try:
                    batch = reader.read_next_batch()
                except StopIteration:
                    batch = None
                except (pa.ArrowException, OSError) as err:
                    raise IngestError(
                        f"{self.path}: cannot read the file: {enc.gzip_hint(err)}"
                    ) from None
                if batch is None and not rejects:
                    break
                if batch is None:
                    table = _empty(names)
                else:
                    table = pa.Table.from_batches([batch]).rename_columns(names)
                chunk = self._csv_chunk(table, rejects, state, final=batch is None)
                self.position = raw.position
                chunk.position = raw.position
                yield chunk
                if batch is None:
                    break
            self.sha256 = raw.drain()
        finally:
            raw.close()

    def _csv_chunk(
        self, table: pa.Table, pending: list[tuple[int | None, str]], state: _LineState, final: bool
    ) -> Chunk:
        """Lines of a batch's rows, and the rejected rows that fall among them.

        pyarrow parses ahead, so ``pending`` may already hold rejects of later batches; each
        reject carries its record number, which places it (the batch spans the records from
        ``state.next_record`` up to its last good row, rejects included).
        """
        n_good = table.num_rows
        end = state.next_record + n_good  # one past the batch's last record
        taken = 0
        for number, _text in pending:
            if not final and number is not None and number >= end:
                break
            taken += 1
            end += 1
        rejects = pending[:taken]
        del pending[:taken]
        total = n_good + len(rejects)
        records = np.arange(state.next_record, state.next_record + total, dtype=np.int64)
        known = [r for r, _ in rejects if r is not None]
        good = ~np.isin(records, np.array(known, dtype=np.int64))
        if good.sum() != n_good:  # record numbers unknown: put the rejects after the good rows
            good = np.arange(total) < n_good
        newlines = np.zeros(total, dtype=np.int64)
        if n_good:
            newlines[good] = _embedded_newlines(table)
        newlines[~good] = [text.count("\n") for _, text in rejects]
        first_line = records + state.extra + np.cumsum(newlines) - newlines
        state.next_record += total
        state.extra += int(newlines.sum())
        columns, undecodable = _decode_columns(table, not enc.is_utf8(self.encoding))
        data = pa.table(columns, names=table.column_names)
        lines = first_line[good]
        blank = _all_null(data)
        if blank is not None:
            keep = ~blank
            data, lines = data.filter(pa.array(keep)), lines[keep]
            undecodable = undecodable[keep] if undecodable is not None else None
        rows = [
            Reject(int(line), RAGGED, text)
            for line, (_, text) in zip(first_line[~good], rejects, strict=True)
        ]
        return Chunk(data, lines, undecodable, rows)

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
                    raise IngestError(
                        f"{self.path}: cannot read the file: {enc.gzip_hint(err)}"
                    ) from None
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
            blank = _all_null(data)
            if blank is not None:
                data, lines = data.filter(pa.array(~blank)), lines[~blank]
            position = int(self.size * (start + len(part)) / max(len(rows), 1))
            yield Chunk(data, lines, rejects=rejects, position=position)
        if not rows:
            yield Chunk(_empty(names, pa.string()), np.zeros(0, dtype=np.int64))
        self.sha256 = file_sha256(self.path)


@dataclass
class _LineState:
    next_record: int
    extra: int


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


def sniff_delimiter(first_line: str, quote: str = '"') -> str:
    """The most frequent of ``,`` tab ``;`` ``|`` outside quotes in the header line.

    >>> sniff_delimiter('a;b;"c;d"'), sniff_delimiter("a,b"), sniff_delimiter("abc")
    (';', ',', ',')
    """
    counts = dict.fromkeys(",\t;|", 0)
    inside = False
    for ch in first_line:
        if ch == quote:
            inside = not inside
        elif not inside and ch in counts:
            counts[ch] += 1
    best = max(counts, key=lambda c: (counts[c], c == ","))
    return best if counts[best] else ","


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


def _empty(names: list[str], typ=None) -> pa.Table:
    return pa.table({n: pa.array([], typ or pa.binary()) for n in names})


def _embedded_newlines(table: pa.Table) -> np.ndarray:
    """Newlines inside the fields of each row (quoted newlines), 0 almost always."""
    total = np.zeros(table.num_rows, dtype=np.int64)
    for col in table.columns:
        col = col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col
        if col.null_count == len(col) or not _has_byte(col, 10):
            continue
        total += pc.fill_null(pc.count_substring(col, "\n"), 0).to_numpy()
    return total


def _has_byte(col: pa.Array, byte: int) -> bool:
    """Whether any value of a binary/string array contains ``byte`` (one numpy scan of its data)."""
    _validity, offsets, data = col.buffers()
    if data is None:
        return False
    bounds = np.frombuffer(offsets, dtype=np.int32, count=2, offset=col.offset * 4)
    last = np.frombuffer(offsets, dtype=np.int32, count=1, offset=(col.offset + len(col)) * 4)[0]
    values = np.frombuffer(data, dtype=np.uint8, count=int(last - bounds[0]), offset=int(bounds[0]))
    return bool((values == byte).any())


def _decode_columns(table: pa.Table, transcoded: bool) -> tuple[list[pa.Array], np.ndarray | None]:
    """Binary columns -> UTF-8 strings; rows with invalid UTF-8 (or, when the text was
    transcoded from another encoding, U+FFFD) are flagged."""
    out, bad = [], None
    for col in table.columns:
        col = col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col
        try:
            text = pc.cast(col, pa.string())
        except pa.ArrowInvalid:
            values = col.to_pylist()  # slow path: only for a chunk with broken bytes
            flags = np.zeros(len(values), dtype=bool)
            decoded = []
            for i, v in enumerate(values):
                if v is None:
                    decoded.append(None)
                    continue
                try:
                    decoded.append(v.decode("utf-8"))
                except UnicodeDecodeError:
                    flags[i] = True
                    decoded.append(v.decode("utf-8", errors="replace"))
            text = pa.array(decoded, pa.string())
            bad = flags if bad is None else bad | flags
        if transcoded and pc.any(pc.match_substring(text, "\ufffd")).as_py():
            flags = pc.fill_null(pc.match_substring(text, "\ufffd"), False).to_numpy(
                zero_copy_only=False
            )
            bad = flags if bad is None else bad | flags
        out.append(text)
    return out, bad


def _all_null(table: pa.Table) -> np.ndarray | None:
    """Rows whose fields are all null (blank lines), or None when there are none."""
    if table.num_columns == 0 or table.num_rows == 0:
        return None
    mask = None
    for col in table.columns:
        if col.null_count == 0:
            return None
        nulls = pc.is_null(col)
        mask = nulls if mask is None else pc.and_(mask, nulls)
    arr = (
        mask.to_numpy(zero_copy_only=False)
        if not isinstance(mask, pa.ChunkedArray)
        else np.asarray(mask)
    )
    return arr if arr.any() else None
