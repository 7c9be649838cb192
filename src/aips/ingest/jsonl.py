"""JSON Lines blocks -> chunks: pyarrow's reader for whole blocks, line by line only for a
block that has a broken line or mixed types.

A block is a run of whole lines; blank lines are skipped (but counted in line numbers);
a line that is not a JSON object (or is nested too deep to read) is quarantined as
``malformed json``; nested values
(objects, arrays) become their JSON text. A whole-number float becomes its integer text
(``1.0`` -> ``1``) on both the fast and the per-line path, as :func:`aips.ingest.validate.text_of`
does for typed columns, so ids ``1.0`` and ``1`` are one id.
"""

from __future__ import annotations

import io
import json

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pj

from aips.ingest.chunk import MALFORMED_JSON, Chunk, Reject


def json_block(block: bytes, first_line: int) -> Chunk:
    """One block of whole lines of JSON Lines -> a chunk (falls back to per-line parsing)."""
    lines_arr = pc.split_pattern(pa.array([block], pa.binary()), b"\n").flatten()
    if block.endswith(b"\n"):
        lines_arr = lines_arr.slice(0, len(lines_arr) - 1)
    blank = pc.match_substring_regex(lines_arr, r"^\s*$").to_numpy(zero_copy_only=False)
    numbers = np.arange(first_line, first_line + len(blank), dtype=np.int64)[~blank]
    try:
        if _nesting_bound(block) > MAX_FAST_DEPTH:  # pyarrow's parser overflows its stack
            raise pa.ArrowInvalid("nested too deep for the fast path")
        table = pj.read_json(
            io.BytesIO(block), read_options=pj.ReadOptions(block_size=max(len(block), 1 << 20))
        )
        if table.num_rows == len(numbers):
            return _json_table(table, numbers)
    except pa.ArrowException:
        pass
    # slow path: this block has a line that is not a JSON object, or mixed types
    records, lines, rejects = [], [], []
    for number, line in zip(numbers, lines_arr.filter(pa.array(~blank)).to_pylist(), strict=True):
        text = line.decode("utf-8", errors="replace")
        try:
            obj = json.loads(text)
        except (ValueError, RecursionError):  # RecursionError: nested thousands deep
            obj = None
        if not isinstance(obj, dict):
            rejects.append(Reject(int(number), MALFORMED_JSON, text))
            continue
        records.append({k: _json_text(v) for k, v in obj.items()})
        lines.append(number)
    names = sorted({k for r in records for k in r})
    table = pa.table({n: pa.array([r.get(n) for r in records], pa.string()) for n in names})
    chunk = _json_table(table, np.array(lines, dtype=np.int64))
    chunk.rejects = rejects
    return chunk


MAX_FAST_DEPTH = 64
"""Deeper nesting (as :func:`_nesting_bound` sees it) skips pyarrow's JSON reader, which
crashes the process on values nested thousands deep; Python's parser reports those."""


def _nesting_bound(block: bytes) -> int:
    """An upper bound of the block's bracket nesting (brackets inside strings count too).

    >>> _nesting_bound(b'{"a": [[1]]}\\n{"b": 2}\\n')
    3
    """
    data = np.frombuffer(block, dtype=np.uint8)
    opening = (data == ord("{")) | (data == ord("["))
    closing = (data == ord("}")) | (data == ord("]"))
    depth = np.cumsum(opening.astype(np.int32) - closing.astype(np.int32))
    return int(depth.max()) if len(depth) else 0


def _json_table(table: pa.Table, lines: np.ndarray) -> Chunk:
    cols, names = [], []
    for name, col in zip(table.column_names, table.columns, strict=True):
        if pa.types.is_struct(col.type) or pa.types.is_list(col.type):
            col = pa.array([_json_text(v) for v in col.to_pylist()], pa.string())
        cols.append(col)
        names.append(name)
    data = pa.table(cols, names=names)
    undecodable = None
    for col in data.columns:
        if pa.types.is_string(col.type) and pc.any(pc.match_substring(col, "\ufffd")).as_py():
            flags = pc.fill_null(pc.match_substring(col, "\ufffd"), False).to_numpy(
                zero_copy_only=False
            )
            undecodable = flags if undecodable is None else undecodable | flags
    return Chunk(data, lines, undecodable)


def _json_text(value):
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 2**63 else repr(value)
    return str(value)
