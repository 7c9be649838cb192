"""Audience export: id files ad platforms take, hashed or raw, in packs, with a manifest.

**What is written.** The audience's distinct user ids (an audience over several brands holds
a user once), sorted, one per row, as

* ``csv``: a header (``user_id``, ``sha256`` or ``md5``) then one id per line; CSV is meant
  for spreadsheets, so a raw id a spreadsheet would run as a formula (``=1+2``, ``@x``; see
  :func:`aips.io.csv_safe`) is written with a leading ``'`` unless ``raw_csv=True`` (the
  manifest's ``csv_formula_guard`` says which; hex hashes never change);
* ``txt``: one id per line, no header (the format DMP uploads take);
* ``parquet``: one string column named like the CSV header.

**Ids.** Each id is normalised, then optionally hashed, in the backend (Ibis ``hexdigest``:
DuckDB ``SHA256``/``MD5``, Spark ``SHA2(.., 256)``/``MD5``; both hash the UTF-8 bytes):

* ``normalize``: ``trim`` (default: strip surrounding whitespace), ``lower`` (trim and
  lower-case, the convention for e-mails and device ids) or ``none``;
* ``id``: ``raw``, ``sha256`` or ``md5`` of ``salt + normalised id`` (the salt, if any, is
  prepended, UTF-8; it is never written to the manifest, only whether one was used);
* ``case``: hex digits ``lower`` (default, what most platforms expect) or ``upper``.

Empty and null ids are dropped (and counted in the manifest).

**Packs.** With ``max_size=N`` the ids go to ``<stem>-00001.<ext>``, ``<stem>-00002.<ext>``
... of at most N ids each (always numbered, even when one pack is enough); without it, to
the path given.

**Manifest.** ``<stem>.manifest.json``, written last::

    {"format": "aips.audience-export/1", "name", "definition" (the spec, re-runnable),
     "description", "as_of", "created_at" (UTC),
     "counts": {"pairs", "ids", "dropped_empty_ids", "files", "by_brand": {brand: pairs}},
     "ids": {"source": "user_id", "normalize", "method", "salted", "case",
             "input": "method(salt + id) as UTF-8"},
     "file_format", "max_size", "csv_formula_guard" (csv only: true when formula cells were
     prefixed with ', false with raw_csv), "writer" ("backend": Spark wrote the packs;
     "stream": this process did),
     "files": [{"name", "rows", "bytes", "sha256"}]}

**Atomicity (a set of files).** Every file is first written into a hidden temporary folder
beside the target (``.<stem>.export-<pid>-*``). Only when all of them are complete is the
set published: the old manifest is moved aside first, then the old set's packs (including
packs beyond the new count), then the new packs come in and the new manifest last. A
failure at any step puts the old set back; the temporary folder is always removed (one
left by a killed process is swept by the next export of the name). The manifest is what
readers trust: a pack is part of an export only if the manifest beside it lists it with
its ``sha256``; a kill midway leaves either the old set, the new set, or no manifest.

Ids are streamed from the backend in batches (``to_pyarrow_batches``): an audience is an
output, so its ids may pass through Python; events never do. **Large audiences on Spark**
(more than :data:`BACKEND_ROWS` ids, ``$AIPS_EXPORT_BACKEND_ROWS``) are written by Spark's
own writers instead, in parallel from the executors (:func:`aips.store.writes.write_file_set`;
the formula guard runs in the backend too): then the ids always come in packs, of
``max_size`` ids each, or without it one pack per Spark task, and ``--out`` must be a
folder that this process and Spark both see. The files hold the same ids in the same order.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import Any

import ibis
import pyarrow as pa

from aips.exceptions import ConfigError
from aips.io import FORMULA_PATTERN, PLAIN_NUMBER_PATTERN

FORMAT = "aips.audience-export/1"
ID_METHODS = ("raw", "sha256", "md5")
FILE_FORMATS = ("csv", "txt", "parquet")
NORMALIZE = ("trim", "lower", "none")
BATCH_ROWS = 100_000
BACKEND_ROWS = 1_000_000
"""Above this many ids, a store whose backend writes file sets (Spark) writes the export."""


def id_expression(ids: ibis.Value, method: str = "raw", salt: str | None = None,
                  case: str = "lower", normalize: str = "trim") -> ibis.Value:
    """The exported id of a string column: normalised, salted and hashed as documented above.

    >>> t = ibis.memtable({"user_id": [" u1 "]})
    >>> t.select(x=id_expression(t.user_id, "md5", salt="s")).to_pyarrow()["x"][0].as_py()
    'b4ff982842aa1fa97eb21ff80ffad9a4'
    >>> import hashlib; hashlib.md5(b"su1").hexdigest()
    'b4ff982842aa1fa97eb21ff80ffad9a4'
    """
    check_options(method, case, normalize)
    value = ids.cast("string")
    if normalize in ("trim", "lower"):
        value = value.strip()
    if normalize == "lower":
        value = value.lower()
    if method == "raw":
        return value
    if salt:
        value = ibis.literal(salt, "string") + value
    digest = value.hexdigest(method)
    return digest.upper() if case == "upper" else digest.lower()


def check_options(method: str, case: str = "lower", normalize: str = "trim") -> None:
    if method not in ID_METHODS:
        raise ConfigError(f"unknown id method {method!r} (raw, sha256 or md5)")
    if case not in ("lower", "upper"):
        raise ConfigError(f"unknown hex case {case!r} (lower or upper)")
    if normalize not in NORMALIZE:
        raise ConfigError(f"unknown normalisation {normalize!r} (trim, lower or none)")


def _file_format(path: Path, fmt: str | None) -> str:
    if fmt is None:
        fmt = path.suffix.lower().lstrip(".")
        if fmt not in FILE_FORMATS:
            raise ConfigError(f"cannot tell the file format from {path.name!r}: end it with "
                              ".csv, .txt or .parquet, or pass a format")
    if fmt not in FILE_FORMATS:
        raise ConfigError(f"unknown file format {fmt!r} (csv, txt or parquet)")
    return fmt


def _batches(expr: ibis.Table, rows: int):
    """Record batches of the id table (a seam for tests)."""
    yield from expr.to_pyarrow_batches(chunk_size=rows)


class _Part:
    """One output file being written."""

    def __init__(self, path: Path, fmt: str, column: str, guard: bool = False):
        self.path, self.fmt, self.column, self.rows = path, fmt, column, 0
        self.guard = guard and fmt == "csv"
        self.schema = pa.schema([(column, pa.string())])
        if fmt == "csv":
            import pyarrow.csv as pcsv

            self.writer = pcsv.CSVWriter(str(path), self.schema,
                                         write_options=pcsv.WriteOptions(include_header=True))
        elif fmt == "parquet":
            import pyarrow.parquet as pq

            self.writer = pq.ParquetWriter(str(path), self.schema)
        else:
            self.writer = open(path, "w", encoding="utf-8", newline="\n")

    def write(self, values: pa.Array) -> None:
        if len(values) == 0:
            return
        if self.guard:
            values = _neutralise(values)
        if self.fmt == "txt":
            self.writer.write("\n".join(values.to_pylist()) + "\n")
        else:
            self.writer.write_table(pa.table({self.column: values}, schema=self.schema))
        self.rows += len(values)

    def close(self) -> None:
        self.writer.close()


def _neutralise(values: pa.Array) -> pa.Array:
    """:func:`aips.io.csv_safe` over a string array (in Arrow)."""
    import pyarrow.compute as pc

    risky = pc.and_(pc.match_substring_regex(values, FORMULA_PATTERN),
                    pc.invert(pc.match_substring_regex(values, PLAIN_NUMBER_PATTERN))).fill_null(False)
    if not pc.any(risky).as_py():
        return values
    return pc.if_else(risky, pc.binary_join_element_wise(pa.scalar("'"), values, pa.scalar("")), values)


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _id_table(audience, method: str, salt: str | None, case: str, normalize: str) -> ibis.Table:
    """The audience's distinct non-empty ids, normalised and hashed, sorted (one column ``id``)."""
    users = audience.table.select("user_id").distinct()
    value = id_expression(users.user_id, method, salt, case, normalize)
    ids = users.select(id=value)
    good = ids.filter(ids.id.notnull() & (ids.id != ""))
    return good.distinct().order_by("id")


def _backend_rows() -> int:
    text = os.environ.get("AIPS_EXPORT_BACKEND_ROWS", "").strip()
    return int(text) if text.isdigit() else BACKEND_ROWS


def _guarded(ids: ibis.Value) -> ibis.Value:
    """:func:`aips.io.csv_safe` in the backend: ``'`` before a formula-like id."""
    risky = ids.re_search(FORMULA_PATTERN) & ~ids.re_search(PLAIN_NUMBER_PATTERN)
    return ibis.cases((risky, ibis.literal("'") + ids), else_=ids)


def _write_by_backend(good: ibis.Table, tmp: Path, name: str, stem: str, ext: str, fmt: str, column: str,
                      max_size: int | None, guard: bool) -> list[tuple[str, int]] | None:
    """The ids written by the backend into ``tmp`` as packs: ``(name, rows)`` of each, in
    order; None when the backend does not write file sets (the caller streams them)."""
    from aips.store.writes import write_file_set

    value = _guarded(good.id) if guard and fmt == "csv" else good.id
    table = good.select(**{column: value, "_k": good.id}).order_by("_k").select(column)
    files = write_file_set(table, tmp / ".backend", fmt, header=fmt == "csv", max_rows=max_size)
    if files is None:
        return None
    out = []
    for i, f in enumerate(files, 1):
        rows = _rows_in(f, fmt)
        part = name if len(files) == 1 and not max_size else f"{stem}-{i:05d}{ext}"
        os.replace(f, tmp / part)
        out.append((part, rows))
    shutil.rmtree(tmp / ".backend", ignore_errors=True)
    return out


def _rows_in(path: Path, fmt: str) -> int:
    """Rows of a written pack (Parquet metadata; lines of text, less the CSV header)."""
    if fmt == "parquet":
        import pyarrow.parquet as pq

        return pq.read_metadata(path).num_rows
    with open(path, "rb") as f:
        lines = sum(chunk.count(b"\n") for chunk in iter(lambda: f.read(1 << 20), b""))
    return lines - (fmt == "csv")


def _write_parts(good: ibis.Table, tmp: Path, name: str, stem: str, ext: str, fmt: str, column: str,
                 max_size: int | None, batch_rows: int, parts: list[_Part], guard: bool = False) -> None:
    """Stream the ids into ``tmp``: one file ``name``, or packs of ``max_size`` (appended to ``parts``)."""

    def new_part() -> _Part:
        part_name = f"{stem}-{len(parts) + 1:05d}{ext}" if max_size else name
        part = _Part(tmp / part_name, fmt, column, guard)
        parts.append(part)
        return part

    current = new_part()
    for batch in _batches(good, batch_rows):
        values = batch.column(0).cast(pa.string())
        start = 0
        while start < len(values):
            if max_size and current.rows >= max_size:
                current.close()
                current = new_part()
            room = len(values) - start if not max_size else max_size - current.rows
            current.write(values.slice(start, room))
            start += room
    current.close()


def _manifest(audience, files: list[dict], by_brand: dict, total_users: int, *, method: str,
              salt: str | None, case: str, normalize: str, fmt: str, max_size: int | None,
              raw_csv: bool = False, writer: str = "stream") -> dict[str, Any]:
    """The manifest of the written ``files`` (see the module docstring)."""
    written = sum(f["rows"] for f in files)
    return {
        "format": FORMAT,
        "name": audience.name,
        "definition": audience.spec.to_dict(),
        "description": audience.spec.describe(),
        "as_of": audience.at.isoformat() if audience.at else None,
        "created_at": dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat(),
        "counts": {"pairs": sum(by_brand.values()), "ids": written, "dropped_empty_ids": total_users - written,
                   "files": len(files), "by_brand": by_brand},
        "ids": {"source": "user_id", "normalize": normalize, "method": method,
                "salted": bool(salt) and method != "raw", "case": case if method != "raw" else None,
                "input": "raw id after normalisation" if method == "raw"
                else f"{method}(salt + id) over UTF-8 bytes, hex" if salt else f"{method}(id) over UTF-8 bytes, hex"},
        "file_format": fmt,
        "max_size": max_size,
        "csv_formula_guard": (not raw_csv) if fmt == "csv" else None,
        "writer": writer,
        "files": files,
    }


def export_audience(audience, path: str | Path, *, id: str = "raw", salt: str | None = None,
                    case: str = "lower", max_size: int | None = None, format: str | None = None,
                    normalize: str = "trim", batch_rows: int = BATCH_ROWS, raw_csv: bool = False) -> dict[str, Any]:
    """Write an audience's ids (see the module docstring) and return the manifest.

    Args:
        audience: an :class:`~aips.activation.audiences.Audience`.
        path: the target file (``out.csv``); packs are named after it.
        id: ``raw``, ``sha256`` or ``md5``.
        salt: prepended to each id before hashing.
        case: ``lower`` or ``upper`` hex digits.
        max_size: at most this many ids per file (packs).
        format: ``csv``, ``txt`` or ``parquet`` (default: from the path's extension).
        normalize: ``trim``, ``lower`` or ``none``.
        raw_csv: write CSV cells as they are (no ``'`` before a formula-like raw id).
    """
    check_options(id, case, normalize)
    path = Path(path)
    fmt = _file_format(path, format)
    if max_size is not None and max_size < 1:
        raise ConfigError(f"max_size must be >= 1, got {max_size}")
    column = "user_id" if id == "raw" else id
    ext = path.suffix if path.suffix else f".{fmt}"
    stem = path.name[: -len(path.suffix)] if path.suffix else path.name
    manifest_name = f"{stem}.manifest.json"

    good = _id_table(audience, id, salt, case, normalize)
    by_brand = {r["brand"]: int(r["users"]) for r in audience.counts()}
    total_users = audience.size("user")

    parent = path.parent if str(path.parent) else Path(".")
    parent.mkdir(parents=True, exist_ok=True)
    _sweep(parent, stem)
    tmp = Path(tempfile.mkdtemp(prefix=f".{stem}.export-{os.getpid()}-", dir=parent))
    parts: list[_Part] = []
    try:
        written = (_write_by_backend(good, tmp, path.name, stem, ext, fmt, column, max_size, guard=not raw_csv)
                   if total_users > _backend_rows() else None)
        writer = "backend" if written is not None else "stream"
        if written is None:
            _write_parts(good, tmp, path.name, stem, ext, fmt, column, max_size, batch_rows, parts,
                         guard=not raw_csv)
            written = [(p.path.name, p.rows) for p in parts]
        files = [{"name": n, "rows": rows, "bytes": (tmp / n).stat().st_size, "sha256": _sha256(tmp / n)}
                 for n, rows in written]
        manifest = _manifest(audience, files, by_brand, total_users, method=id, salt=salt, case=case,
                             normalize=normalize, fmt=fmt, max_size=max_size, raw_csv=raw_csv, writer=writer)
        (tmp / manifest_name).write_text(json.dumps(manifest, ensure_ascii=False, indent=1) + "\n",
                                         encoding="utf-8")
    except BaseException:
        for p in parts:
            with contextlib.suppress(Exception):
                p.close()
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    _publish(tmp, parent, [f["name"] for f in files], manifest_name)
    return manifest


def _old_set(parent: Path, manifest_name: str) -> list[str]:
    """The files of an earlier export of the name: those its manifest lists (of this stem
    only), and packs named as this module names them (``<stem>-00001.csv``), which a killed
    export may have left without a manifest."""
    old_manifest = parent / manifest_name
    stem = manifest_name[: -len(".manifest.json")]
    pack = re.compile(re.escape(stem) + r"-\d{5}\.(?:" + "|".join(FILE_FORMATS) + ")")
    names = sorted(p.name for p in parent.iterdir() if pack.fullmatch(p.name))
    if old_manifest.exists():
        with contextlib.suppress(Exception):
            old = json.loads(old_manifest.read_text(encoding="utf-8"))
            names += [f["name"] for f in old.get("files", []) if isinstance(f, dict)
                      and isinstance(f.get("name"), str) and "/" not in f["name"]
                      and "\\" not in f["name"] and f["name"].startswith(stem)]
    return names


def _sweep(parent: Path, stem: str) -> None:
    """Remove temporary folders of earlier exports of ``stem`` whose process is gone (killed)."""
    for d in parent.glob(f".{stem}.export-*"):
        try:
            pid = int(d.name.split("-")[-2])
        except (ValueError, IndexError):
            continue
        if pid == os.getpid() or not d.is_dir():
            continue
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            shutil.rmtree(d, ignore_errors=True)
        except OSError:
            pass


def _publish(tmp: Path, parent: Path, names: list[str], manifest_name: str) -> None:
    """Replace the old set of files (manifest and packs) by the new one in ``tmp``, as a set.

    The old manifest is moved aside first (from then on no manifest vouches for the old
    packs), then the old packs; the new packs come in, the new manifest last. A failure
    moves the new files out and the old set back; the temporary folder (with the old set)
    is removed at the end either way. A process killed midway leaves either the old set,
    the new set, or no manifest at all, never a manifest beside packs of another export.
    """
    backup = tmp / ".previous"
    backup.mkdir()
    old = [n for n in dict.fromkeys([*_old_set(parent, manifest_name), *names]) if (parent / n).exists()]
    aside: list[str] = []
    moved: list[str] = []
    try:
        if (parent / manifest_name).exists():
            os.replace(parent / manifest_name, backup / manifest_name)
            aside.append(manifest_name)
        for name in old:
            os.replace(parent / name, backup / name)
            aside.append(name)
        for name in [*names, manifest_name]:
            os.replace(tmp / name, parent / name)
            moved.append(name)
    except BaseException:
        for name in reversed(moved):
            with contextlib.suppress(FileNotFoundError):
                (parent / name).unlink()
        for name in [n for n in aside if n != manifest_name] + [n for n in aside if n == manifest_name]:
            with contextlib.suppress(OSError):
                os.replace(backup / name, parent / name)
        raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
