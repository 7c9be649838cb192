"""Reading ChannelAttribution-layout path files."""

from __future__ import annotations

import gzip

import pytest

from aips.analytics.attribution import read_paths, write_paths
from aips.analytics.attribution.paths_io import detect_delimiter
from aips.exceptions import ConfigError

ROWS = [("a > b", 3, 30.5, 7), ("b", 1, 2.0, 0), ("c > a", 0, 0.0, 4)]


@pytest.mark.parametrize("sep", [";", ",", "\t", "|"])
def test_delimiters(tmp_path, sep):
    text = sep.join(["path", "total_conversions", "total_conversion_value", "total_null"]) + "\n"
    text += "".join(sep.join(map(str, r)) + "\n" for r in ROWS)
    f = tmp_path / "p.csv"
    f.write_text(text, encoding="utf-8")
    df = read_paths(f)
    assert df[["path", "conversions", "value", "nulls"]].values.tolist() == [list(r) for r in ROWS]


def test_gzip_our_names_and_optional_columns(tmp_path):
    f = tmp_path / "p.csv.gz"
    f.write_bytes(gzip.compress(b"path;conversions\na>b;2\n"))
    df = read_paths(f)
    assert df.to_dict("list") == {"path": ["a>b"], "conversions": [2.0], "value": [0.0], "nulls": [0.0]}


def test_round_trip(tmp_path):
    f = tmp_path / "out.csv"
    write_paths(read_paths_from(ROWS, tmp_path), f)
    assert f.read_text().splitlines()[0] == "path;total_conversions;total_conversion_value;total_null"
    assert read_paths(f)["conversions"].tolist() == [3, 1, 0]


def read_paths_from(rows, tmp_path):
    f = tmp_path / "in.csv"
    f.write_text("path;total_conversions;total_conversion_value;total_null\n"
                 + "".join(";".join(map(str, r)) + "\n" for r in rows))
    return read_paths(f)


def test_errors(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        read_paths(tmp_path / "nope.csv")
    f = tmp_path / "bad.csv"
    f.write_text("route;n\nx;1\n")
    with pytest.raises(ConfigError, match="no path"):
        read_paths(f)
    f.write_text("path;total_conversions\nx;lots\n")
    with pytest.raises(ConfigError, match="not numeric"):
        read_paths(f)
    assert detect_delimiter("path|total_conversions|total_null") == "|"
