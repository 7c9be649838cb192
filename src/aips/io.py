"""Atomic file output: write to a temporary file beside the target, then rename; and
CSV cells made safe for spreadsheets.

A failed or interrupted write leaves the target as it was (or absent).

**Formula cells** (OWASP, "CSV injection"): a spreadsheet runs a text cell that starts with
``=``, ``+``, ``-``, ``@``, a tab or a carriage return as a formula. :func:`csv_safe` prefixes
such a cell with ``'`` (shown as text, the quote hidden) in CSV files meant for spreadsheets;
numbers and text that is a plain number (``-12.5``) are left as they are, as are hex hashes.

>>> [csv_safe(v) for v in ["=1+2", "@SUM(A1)", "-12.5", -3, "a=b", "e3b0c442"]]
["'=1+2", "'@SUM(A1)", '-12.5', -3, 'a=b', 'e3b0c442']

>>> import tempfile, pathlib
>>> p = pathlib.Path(tempfile.mkdtemp()) / "x.txt"
>>> atomic_write_text(p, "hello")
>>> p.read_text()
'hello'
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def atomic_path(target: str | Path) -> Iterator[Path]:
    """Yield a temporary path; on success it replaces ``target`` in one rename.

    On an exception the temporary file is removed and ``target`` is untouched.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.replace(tmp_path, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp_path.unlink()
        raise


def atomic_write_text(target: str | Path, text: str, encoding: str = "utf-8") -> None:
    """Write text to ``target`` atomically."""
    with atomic_path(target) as tmp:
        tmp.write_text(text, encoding=encoding)



FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
"""The first characters that make a spreadsheet read a text cell as a formula."""
FORMULA_PATTERN = r"^[=+\-@\t\r]"
PLAIN_NUMBER_PATTERN = r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$"
_PLAIN_NUMBER = re.compile(PLAIN_NUMBER_PATTERN)


def csv_safe(value):
    """``value`` with a leading ``'`` when it is text a spreadsheet would run as a formula."""
    if isinstance(value, str) and value.startswith(FORMULA_START) and not _PLAIN_NUMBER.match(value):
        return "'" + value
    return value
