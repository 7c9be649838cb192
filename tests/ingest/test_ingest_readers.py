"""Readers (aips.ingest.readers, encodings): formats, encodings, line numbers across chunks."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from aips.exceptions import IngestError
from aips.ingest import readers
from aips.ingest.encodings import detect_encoding
from aips.ingest.mapping import Mapping
from aips.ingest.readers import Source, guess_format, sniff_delimiter


def _read(path: Path, mapping: Mapping | None = None, **kw):
    source = Source(path, mapping or Mapping(), **kw)
    data, lines, rejects = [], [], []
    for chunk in source.chunks():
        data += chunk.data.to_pylist()
        lines += chunk.lines.tolist()
        rejects += [(r.line, r.reason) for r in chunk.rejects]
    return source, data, lines, rejects


@pytest.mark.parametrize(
    ("sample", "encoding"),
    [
        (b"a,b\n1,2\n", "utf-8"),
        ("品牌,b\n".encode(), "utf-8"),
        (b"\xef\xbb\xbfa\n", "utf-8-sig"),
        ("品牌,b\n".encode("gbk"), "gb18030"),
        ("品牌,b\n".encode("utf-16"), "utf-16"),
        (
            "雅诗兰黛\n".encode() + "兰蔻\n".encode("gbk"),
            "utf-8",
        ),  # mostly UTF-8: broken rows are quarantined
    ],
)
def test_detect_encoding(sample, encoding):
    assert detect_encoding(sample) == encoding


def test_sniff_and_guess(tmp_path):
    assert sniff_delimiter("a\tb\tc") == "\t" and sniff_delimiter("a|b") == "|"
    for name, fmt in [
        ("x.csv.gz", "csv"),
        ("x.TSV", "tsv"),
        ("x.ndjson", "jsonl"),
        ("x.parquet", "parquet"),
        ("x.xlsx", "xlsx"),
    ]:
        assert guess_format(tmp_path / name) == fmt
    odd = tmp_path / "data.bin"
    odd.write_bytes(b'{"a": 1}\n')
    assert guess_format(odd) == "jsonl"


def test_line_numbers_across_many_chunks(tmp_path, monkeypatch):
    """Quoted newlines, blank lines and ragged rows in blocks of ~200 bytes keep exact lines."""
    monkeypatch.setattr(readers, "CSV_BLOCK", 256)
    rows, expected_lines, ragged_lines, line = ["a,b,c"], [], [], 2
    for i in range(300):
        if i % 7 == 0:
            rows.append(f'{i},"two\nlines",x')
            expected_lines.append(line)
            line += 2
        elif i % 11 == 0:
            rows.append(f"{i},ragged")
            ragged_lines.append(line)
            line += 1
        elif i % 13 == 0:
            rows.append("")
            line += 1
        else:
            rows.append(f"{i},y,z")
            expected_lines.append(line)
            line += 1
    path = tmp_path / "many.csv.gz"
    path.write_bytes(gzip.compress(("\n".join(rows) + "\n").encode()))
    source, data, lines, rejects = _read(path)
    assert lines == expected_lines
    assert rejects == [(n, "ragged row") for n in ragged_lines]
    assert data[0] == {"a": "0", "b": "two\nlines", "c": "x"}
    assert source.sha256 is not None and source.encoding == "utf-8"


def test_headerless_with_names(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("1,2\n3,4\n")
    _, data, lines, _ = _read(path, Mapping(csv={"header": False, "names": ["x", "y"]}))
    assert data == [{"x": "1", "y": "2"}, {"x": "3", "y": "4"}] and lines == [1, 2]
    _, data, _, _ = _read(path, Mapping(csv={"header": False}))
    assert data[0] == {"column_1": "1", "column_2": "2"}


def test_gbk_transcoding_in_blocks(tmp_path, monkeypatch):
    monkeypatch.setattr(readers, "CSV_BLOCK", 512)
    text = "brand,n\n" + "".join(f"兰蔻{i},{i}\n" for i in range(500))
    path = tmp_path / "g.csv"
    path.write_bytes(text.encode("gbk"))
    source, data, lines, _ = _read(path)
    assert source.encoding == "gb18030" and len(data) == 500
    assert data[499] == {"brand": "兰蔻499", "n": "499"} and lines[-1] == 501


def test_forced_encoding(tmp_path):
    path = tmp_path / "l.csv"
    path.write_bytes("brand\ncafé\n".encode("latin-1"))
    _, data, _, _ = _read(path, encoding="latin-1")
    assert data == [{"brand": "café"}]


def test_jsonl_blocks(tmp_path, monkeypatch):
    monkeypatch.setattr(readers, "CSV_BLOCK", 100)
    lines = []
    for i in range(40):
        lines.append(json.dumps({"i": i, "tags": ["a", "b"]}) if i % 9 else "")
    path = tmp_path / "x.jsonl"
    path.write_text("\n".join(lines) + "\n" + '{"i": "broken"\n')
    _, data, numbers, rejects = _read(path)
    assert numbers == [n + 1 for n in range(40) if n % 9]
    assert data[0] == {"i": 1, "tags": '["a", "b"]'}
    assert rejects == [(41, "malformed json")]


def test_parquet_rows(tmp_path):
    path = tmp_path / "p.parquet"
    pq.write_table(pa.table({"a": list(range(5))}), path, row_group_size=2)
    _, data, lines, _ = _read(path)
    assert lines == [1, 2, 3, 4, 5] and data[4] == {"a": 4}


def test_unreadable_files(tmp_path):
    bad = tmp_path / "x.parquet"
    bad.write_bytes(b"not parquet at all")
    with pytest.raises(IngestError, match=r"x.parquet: not a readable Parquet file"):
        _read(bad)
    book = tmp_path / "x.xlsx"
    book.write_bytes(b"PK\x03\x04broken")
    with pytest.raises(IngestError, match="not a readable Excel workbook"):
        _read(book)


def test_quoted_newline_in_header(tmp_path):
    path = tmp_path / "h.csv"
    path.write_text('"a","b\nc"\n1,2\n3\n4,5\n', encoding="utf-8")
    source, data, lines, rejects = _read(path)
    assert source.columns == ["a", "b\nc"]
    assert (data, lines, rejects) == (
        [{"a": "1", "b\nc": "2"}, {"a": "4", "b\nc": "5"}],
        [3, 5],
        [(4, "ragged row")],
    )
