"""Read and write aggregated path files in ChannelAttribution's layout.

The layout: a header ``path;total_conversions;total_conversion_value;total_null`` and one
row per distinct path, touches separated by ``" > "``. The delimiter (``;``, ``,``, tab
or ``|``) is detected from the header; ``.gz`` files are read as gzip. Our own column
names (``path, conversions, value, nulls``) are accepted too. ``total_conversion_value``
and ``total_null`` are optional (0 when absent).

>>> import io, tempfile, os
>>> tmp = tempfile.NamedTemporaryFile("w", suffix=".csv", delete=False)
>>> _ = tmp.write("path,total_conversions,total_null\\na > b,3,7\\nb,1,0\\n"); tmp.close()
>>> read_paths(tmp.name).to_dict("list")
{'path': ['a > b', 'b'], 'conversions': [3.0, 1.0], 'nulls': [7.0, 0.0], 'value': [0.0, 0.0]}
>>> os.unlink(tmp.name)
"""

from __future__ import annotations

import csv
import gzip
import io
from pathlib import Path

import pandas as pd

from aips.analytics.attribution.base import CA_COLUMNS, PATH_COLUMNS, as_paths
from aips.exceptions import ConfigError

DELIMITERS = (";", ",", "\t", "|")
_KNOWN = {"path", *CA_COLUMNS, *PATH_COLUMNS}


def _read_text(path: Path) -> str:
    data = path.read_bytes()
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("gb18030")


def detect_delimiter(header: str) -> str:
    """The delimiter that splits the header into the most known column names.

    >>> detect_delimiter("path;total_conversions;total_null")
    ';'
    >>> detect_delimiter("path\\tconversions")
    '\\t'
    """
    best, score = None, 0
    for d in DELIMITERS:
        names = [c.strip().strip('"').lower() for c in header.split(d)]
        hits = sum(n in _KNOWN for n in names)
        if hits > score:
            best, score = d, hits
    if best is not None and score >= 2:
        return best
    try:
        return csv.Sniffer().sniff(header, delimiters="".join(DELIMITERS)).delimiter
    except csv.Error:
        raise ConfigError(
            f"cannot tell the delimiter of the path file from its header {header!r}; expected "
            "path;total_conversions[;total_conversion_value;total_null] (; , tab or |)"
        ) from None


def read_paths(path: str | Path) -> pd.DataFrame:
    """An aggregated path file as the canonical table ``path, conversions, value, nulls``.

    Raises:
        ConfigError: the file is missing, empty, or lacks the path/conversions columns.
    """
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"path file {path} does not exist")
    text = _read_text(path)
    header = text.split("\n", 1)[0].rstrip("\r")
    if not header.strip():
        raise ConfigError(f"path file {path} is empty")
    sep = detect_delimiter(header)
    try:
        frame = pd.read_csv(io.StringIO(text), sep=sep, dtype={"path": str},
                            keep_default_na=False)
    except (ValueError, pd.errors.ParserError) as err:
        raise ConfigError(f"cannot read path file {path}: {err}") from None
    frame.columns = [str(c).strip().lower() for c in frame.columns]
    try:
        return as_paths(frame)
    except ConfigError as err:
        raise ConfigError(f"{path}: {err}") from None


def write_paths(paths: pd.DataFrame, path: str | Path, sep: str = ";") -> None:
    """Write the canonical table in ChannelAttribution's layout (atomically)."""
    from aips.io import atomic_write_text

    df = as_paths(paths)
    out = df[list(PATH_COLUMNS)].rename(columns={v: k for k, v in CA_COLUMNS.items()})
    atomic_write_text(path, out.to_csv(sep=sep, index=False))
