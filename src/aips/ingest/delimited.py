"""Delimited text (CSV/TSV) through pyarrow's streaming reader: the header and delimiter,
the reader's options, and each batch's rows with their source lines and rejected rows.

pyarrow's reader counts records, not lines; :class:`LineState` carries what turns record
numbers into physical lines (quoted newlines and the header's lines).
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from aips.exceptions import IngestError
from aips.ingest import encodings as enc
from aips.ingest.chunk import RAGGED, Chunk, Reject, all_null

CSV_BLOCK = 8 << 20


@dataclass
class CsvLayout:
    """How a delimited file is laid out: its delimiter, header fields and column names."""

    delimiter: str
    header: list[str]
    """The header's fields as written ([] without a header)."""
    names: list[str]
    """The column names (the mapping's ``csv.names``, else the header's, else column_<i>)."""
    header_lines: int
    """Physical lines of the header (quoted newlines count), 0 without a header."""


@dataclass
class LineState:
    """Where the next batch starts: its first record number and the extra physical lines
    (quoted newlines, the header's) seen so far."""

    next_record: int
    extra: int


class LineCounter(io.RawIOBase):
    """A readable stream passed through unchanged, counting its physical lines (``\\n``, or
    ``\\r`` in a file with CR-only line ends), so the load can check them against the
    lines its rows account for."""

    def __init__(self, stream, terminator: bytes = b"\n"):
        self._stream = stream
        self._terminator = terminator
        self.ends = 0
        self.last = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        data = self._stream.read(len(buffer))
        n = len(data)
        if n:
            data = bytes(data)
            buffer[:n] = data
            self.ends += data.count(self._terminator)
            self.last = data[-1:]
        return n

    def physical_lines(self) -> int:
        """Lines read so far, after reading what is left (a last line without its end counts)."""
        while self.read(CSV_BLOCK):
            pass
        return self.ends + (1 if self.last and self.last != self._terminator else 0)


def check_line_count(path: Path, counter: LineCounter, state: LineState) -> None:
    """The physical lines read must equal the lines the rows account for (the header's,
    every record's, quoted newlines): anything else means rows went missing unseen."""
    physical = counter.physical_lines()
    accounted = state.next_record - 1 + state.extra
    if physical != accounted:
        raise IngestError(
            f"{path}: the file has {physical:,} lines but its rows account for {accounted:,}: "
            "some lines were not read as rows (a quote or a line end the reader took "
            "differently); nothing of the file is loaded. Check the file near the end of its "
            "last loaded row, or report it with the file's first lines"
        )


def csv_layout(path: Path, text: str, opts, fmt: str) -> CsvLayout:
    """The layout from the file's first text (``opts``: the mapping's ``csv`` options)."""
    first = re.split(r"\r\n|\r|\n", text, maxsplit=1)[0]  # CR-only line ends too
    delimiter = opts.delimiter or ("\t" if fmt == "tsv" else sniff_delimiter(first, opts.quote))
    universal = io.StringIO(text, newline=None)  # \r and \r\n read as \n
    try:
        fields = next(csv.reader(universal, delimiter=delimiter, quotechar=opts.quote), [])
    except csv.Error as err:
        raise IngestError(f"{path}: line 1: cannot read the header: {err}") from None
    if not opts.header:
        names = list(opts.names) if opts.names else [f"column_{i + 1}" for i in range(len(fields))]
        return CsvLayout(delimiter, [], names, 0)
    if opts.names and len(opts.names) != len(fields):
        raise IngestError(
            f"{path}: line 1: the header has {len(fields)} columns but the mapping's "
            f"csv.names has {len(opts.names)}"
        )
    names = list(opts.names) if opts.names else [h.strip() for h in fields]
    return CsvLayout(delimiter, fields, names, 1 + sum(h.count("\n") for h in fields))


def open_csv(stream, path: Path, opts, layout: CsvLayout, rejects: list[tuple[int | None, str]]):
    """pyarrow's streaming CSV reader over ``stream``: every field as binary, empty as null;
    rows that cannot be split are appended to ``rejects`` as (record number, text)."""
    import pyarrow.csv as pcsv

    def on_invalid(row) -> str:
        rejects.append((row.number, row.text))
        return "skip"

    try:
        reader = pcsv.open_csv(
            stream,
            read_options=pcsv.ReadOptions(
                block_size=opts.block_mib << 20,
                use_threads=False,
                column_names=None if opts.header else layout.names,
            ),
            parse_options=pcsv.ParseOptions(
                delimiter=layout.delimiter,
                quote_char=opts.quote,
                newlines_in_values=True,
                ignore_empty_lines=False,
                invalid_row_handler=on_invalid,
            ),
            convert_options=pcsv.ConvertOptions(
                column_types={n: pa.binary() for n in (layout.header or layout.names)},
                null_values=[""],
                strings_can_be_null=True,
                quoted_strings_can_be_null=True,
            ),
        )
    except (pa.ArrowException, OSError) as err:
        raise enc.unreadable(path, err) from None
    if opts.header and reader.schema.names != layout.header:
        raise IngestError(f"{path}: line 1: cannot split the header into columns")
    return reader


def read_batches(reader, path: Path):
    """The reader's record batches, a read error as an :class:`IngestError`."""
    while True:
        try:
            yield reader.read_next_batch()
        except StopIteration:
            return
        except (pa.ArrowException, OSError) as err:
            raise enc.unreadable(path, err) from None


@dataclass(frozen=True)
class FieldLimits:
    """How far one field may reach before it is taken for an unclosed quote."""

    path: Path
    max_lines: int = 8
    max_kib: int = 64


def csv_chunk(
    table: pa.Table,
    pending: list[tuple[int | None, str]],
    state: LineState,
    final: bool,
    transcoded: bool,
    limits: FieldLimits | None = None,
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
        newlines[good] = embedded_newlines(table)
    newlines[~good] = [text.count("\n") for _, text in rejects]
    first_line = records + state.extra + np.cumsum(newlines) - newlines
    if limits is not None:
        check_field_spans(table, first_line[good], rejects, first_line[~good], limits)
    state.next_record += total
    state.extra += int(newlines.sum())
    columns, undecodable = decode_columns(table, transcoded)
    data = pa.table(columns, names=table.column_names)
    lines = first_line[good]
    blank = all_null(data)
    if blank is not None:
        keep = ~blank
        data, lines = data.filter(pa.array(keep)), lines[keep]
        undecodable = undecodable[keep] if undecodable is not None else None
    rows = [
        Reject(int(line), RAGGED, text)
        for line, (_, text) in zip(first_line[~good], rejects, strict=True)
    ]
    return Chunk(data, lines, undecodable, rows)


def check_field_spans(
    table: pa.Table, lines: np.ndarray, rejects, reject_lines: np.ndarray, limits: FieldLimits
) -> None:
    """Fail on the first field (by line) that spans more than ``limits.max_lines`` lines or
    ``limits.max_kib`` KiB: a quote never closed swallows the rows after it, and loading
    the rest would lose them silently."""
    max_bytes = limits.max_kib << 10
    worst: tuple[int, str, int, int] | None = None  # (line, column, lines spanned, bytes)
    for name, col in zip(table.column_names, table.columns, strict=True):
        col = col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col
        if not len(col) or col.null_count == len(col):
            continue
        size = pc.fill_null(pc.binary_length(col), 0).to_numpy(zero_copy_only=False)
        spans = np.ones(len(col), dtype=np.int64)
        if _has_byte(col, 10):
            spans += pc.fill_null(pc.count_substring(col, "\n"), 0).to_numpy(zero_copy_only=False)
        over = np.flatnonzero((spans > limits.max_lines) | (size > max_bytes))
        if len(over) and (worst is None or lines[over[0]] < worst[0]):
            i = over[0]
            worst = (int(lines[i]), name, int(spans[i]), int(size[i]))
    for line, (_number, text) in zip(reject_lines, rejects, strict=True):
        spans, size = text.count("\n") + 1, len(text.encode("utf-8"))
        if (spans > limits.max_lines or size > max_bytes) and (worst is None or line < worst[0]):
            worst = (int(line), "", spans, size)
    if worst is None:
        return
    line, name, spans, size = worst
    where = f"column {name}: " if name else ""
    raise IngestError(
        f"{limits.path}: line {line}: {where}a field spans {spans:,} line(s) "
        f"({size / 1024:,.1f} KiB), more than the limit of {limits.max_lines} lines / "
        f"{limits.max_kib} KiB: most likely a quote that is never closed, which swallows "
        "the rows after it; nothing of the file is loaded. Close the quote, or, if the text is "
        "really that long, raise the limit in the mapping file "
        "(csv: {max_field_lines: N, max_field_kib: K})"
    )


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


def embedded_newlines(table: pa.Table) -> np.ndarray:
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


def decode_columns(table: pa.Table, transcoded: bool) -> tuple[list[pa.Array], np.ndarray | None]:
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
