"""Bytes in: gzip, hashing, progress and text encodings, without per-row Python.

* Gzip is recognised by its magic bytes, whatever the file is called.
* The file's SHA-256 is computed while it is read (it is recorded in ``loads``).
* Encodings are detected from a sample of the (decompressed) start of the file:
  a BOM (UTF-8, UTF-16) wins; else UTF-8 when any non-ASCII line of the sample is valid
  UTF-8 (a mostly-UTF-8 file with a few broken rows is read as UTF-8 and the broken rows
  are quarantined as ``undecodable text``); else GB18030 (which also reads GBK and
  GB2312) when the sample decodes as such; else charset-normalizer's best guess.
* UTF-8 is read natively by pyarrow; any other encoding goes through an incremental
  decoder over large blocks. Undecodable bytes become U+FFFD, and rows containing it are
  quarantined as ``undecodable text``.

>>> detect_encoding("数据".encode("gbk") + b",1\\n")
'gb18030'
>>> detect_encoding(b"\\xef\\xbb\\xbfa,b\\n")
'utf-8-sig'
"""

from __future__ import annotations

import codecs
import hashlib
import io
from pathlib import Path
from typing import BinaryIO

import pyarrow as pa

from aips.exceptions import IngestError

SAMPLE_BYTES = 1 << 16
GZIP_MAGIC = b"\x1f\x8b"


class HashingReader(io.RawIOBase):
    """A raw file that hashes (SHA-256) and counts the bytes read through it."""

    def __init__(self, path: Path):
        self._file = open(path, "rb")  # noqa: SIM115 - closed by close()
        self.sha256 = hashlib.sha256()
        self.position = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        n = self._file.readinto(buffer)
        if n:
            self.sha256.update(memoryview(buffer)[:n])
            self.position += n
        return n

    def drain(self) -> str:
        """Hash the rest of the file and return the hex digest."""
        while chunk := self._file.read(1 << 20):
            self.sha256.update(chunk)
            self.position += len(chunk)
        return self.sha256.hexdigest()

    def close(self) -> None:
        self._file.close()
        super().close()


class Transcoder(io.RawIOBase):
    """Decode a byte stream from ``encoding`` and re-encode it as UTF-8, in large blocks.

    Undecodable bytes become U+FFFD (``errors="replace"``), so a broken row never stops
    the file; the validator quarantines rows that contain U+FFFD.
    """

    def __init__(self, raw: BinaryIO, encoding: str, block: int = 1 << 20):
        self._raw = raw
        self._decoder = codecs.getincrementaldecoder(encoding)(errors="replace")
        self._block = block
        self._pending = b""
        self._eof = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        while not self._pending and not self._eof:
            data = self._raw.read(self._block)
            self._eof = not data
            text = self._decoder.decode(data or b"", final=self._eof)
            self._pending = text.encode("utf-8")
        n = min(len(buffer), len(self._pending))
        buffer[:n] = self._pending[:n]
        self._pending = self._pending[n:]
        return n


def is_gzip(path: Path) -> bool:
    with open(path, "rb") as f:
        return f.read(2) == GZIP_MAGIC


def open_stream(path: Path) -> tuple[HashingReader, BinaryIO]:
    """The hashing raw reader and a (decompressed) binary stream over it."""
    raw = HashingReader(path)
    if is_gzip(path):
        stream = pa.CompressedInputStream(pa.PythonFile(raw, mode="r"), "gzip")
        return raw, stream
    return raw, pa.PythonFile(raw, mode="r")


def read_sample(path: Path, size: int = SAMPLE_BYTES) -> bytes:
    """Up to ``size`` decompressed bytes from the start of the file."""
    try:
        if is_gzip(path):
            with pa.CompressedInputStream(pa.OSFile(str(path)), "gzip") as stream:
                return _read_up_to(stream, size)
        with open(path, "rb") as f:
            return f.read(size)
    except (OSError, pa.ArrowException) as err:
        raise unreadable(path, err) from None


def _read_up_to(stream, size: int) -> bytes:
    parts, got = [], 0
    while got < size:
        data = stream.read(size - got)
        if not data:
            break
        parts.append(bytes(data))
        got += len(data)
    return b"".join(parts)


def unreadable(path, err: BaseException) -> IngestError:
    """The error for a file whose bytes cannot be read (a truncated gzip stream named so)."""
    if "straddl" in str(err):  # pyarrow: a row longer than its block
        return IngestError(
            f"{path}: a row is longer than the reader's block (csv.block_mib, "
            "8 MiB unless set): most likely a quote that is never closed or a file that is not "
            "delimited text; nothing of the file is loaded. If rows really are that long, raise "
            "it in the mapping file (csv: {block_mib: 64}) and the field limits with it "
            "(csv: {max_field_kib: ...})"
        )
    return IngestError(f"{path}: cannot read the file: {gzip_hint(err)}")


def gzip_hint(err: BaseException) -> str:
    text = str(err)
    if "runcated" in text or "ended before" in text:
        return f"truncated or corrupt gzip data ({text})"
    return text


def detect_encoding(sample: bytes) -> str:
    """The encoding of a sample (see the module docstring for the rules)."""
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if _utf8_ok(sample):
        return "utf-8"
    lines = [line for line in sample.split(b"\n")[:-1] if not line.isascii()]
    if any(_utf8_ok(line) for line in lines):
        return "utf-8"
    try:
        _trim_partial(sample).decode("gb18030")
        return "gb18030"
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    best = from_bytes(sample).best()
    if best is None:
        raise IngestError("cannot detect the text encoding; pass --encoding (e.g. utf-8, gbk)")
    return codecs.lookup(best.encoding).name


def _trim_partial(data: bytes) -> bytes:
    """Drop a possibly cut multi-byte character at the end of a sample."""
    return data if len(data) < SAMPLE_BYTES else data[: data.rfind(b"\n") + 1] or data


def _utf8_ok(data: bytes) -> bool:
    try:
        _trim_partial(data).decode("utf-8")
        return True
    except UnicodeDecodeError:
        return False


def is_utf8(encoding: str) -> bool:
    """True for encodings pyarrow reads natively (UTF-8, with or without BOM)."""
    return codecs.lookup(encoding).name in ("utf-8", "utf-8-sig")


def decode_sample(sample: bytes, encoding: str) -> str:
    """The sample as text (undecodable bytes replaced), without a BOM."""
    text = sample.decode(encoding, errors="replace")
    return text.removeprefix("\ufeff")
