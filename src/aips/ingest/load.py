"""Idempotent, atomic loads: files -> scratch -> dedupe -> one publication.

:func:`ingest_files` reads every file chunk by chunk (bounded memory; the next chunk is
parsed in a background thread while this one is validated), maps and validates each
chunk with vectorised pyarrow compute (:mod:`aips.ingest.validate`), and stages good rows
and quarantined rows in a scratch area (:mod:`aips.ingest.stage`). Only when every file
has been read does it publish (:mod:`aips.ingest.publish`): dedupe and insert on the
backend, quarantine rows, one ``loads`` row per file, all in one DuckDB transaction, so a
crash or kill at any point leaves the store as it was. A file that cannot be read at all
raises :class:`~aips.exceptions.IngestError` and nothing of the call is loaded.

Loading the same file again changes nothing: its events are all duplicates, its
quarantine rows are already recorded, and no ``loads`` row is added (the report names
the earlier load).

>>> import aips, tempfile, pathlib
>>> d = pathlib.Path(tempfile.mkdtemp())
>>> _ = (d / "e.csv").write_text("ts,user_id,brand,event_type\\n2024-01-02 10:00,u1,b,read\\n2024-01-02 10:00,,b,read\\n")
>>> ws = aips.open(":memory:")
>>> report = ws.ingest(d / "e.csv", quarantine_dir=d / "q")
>>> report.loaded, report.quarantined, report.reasons
(1, 1, {'missing user_id': 1})
>>> ws.ingest(d / "e.csv", quarantine_dir=d / "q").duplicates
1
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import queue
import secrets
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from aips.config.model import Model
from aips.exceptions import ConfigError, IngestError
from aips.ingest.direct import DirectLoad
from aips.ingest.mapping import Mapping, check_encoding, check_zone, resolve_mapping
from aips.ingest.publish import publish
from aips.ingest.readers import Source
from aips.ingest.report import FileReport, IngestReport
from aips.ingest.stage import QuarantineFile, Scratch, open_scratch
from aips.ingest.validate import SPECS, Plan, staging_schema, validate
from aips.store.connect import Store, connect
from aips.store.tables import QUARANTINE, SCHEMAS

QUARANTINE_KEY = ("table_name", "source_file", "source_line", "reason", "raw")


def ingest_files(
    store: Any,
    model: Model,
    paths: Iterable[str | Path],
    table: str | None = "events",
    *,
    preset: str | None = None,
    mapping: Mapping | dict | str | Path | None = None,
    tz: str | None = None,
    encoding: str | None = None,
    date_format: str | None = None,
    sheet: str | int | None = None,
    progress: bool = False,
    quarantine_dir: str | Path | None = None,
    max_future: str | dt.timedelta | None = "1d",
    min_date: str | dt.date | None = "2000-01-01",
    max_bad_fraction: float | None = None,
) -> IngestReport:
    """Load files into a canonical table; every row is loaded, a duplicate, ignored or quarantined.

    Args:
        store: a :class:`~aips.store.connect.Store` (or anything :func:`aips.store.connect` takes).
        model: the model (its time zone gives ``local_date``; its taxonomy maps event types).
        paths: CSV/TSV, JSON Lines, Parquet or Excel files, gzipped or not.
        table: ``events`` (default), ``campaigns``, ``categories``, ``creators`` or ``users``;
            a preset or mapping file that names its table decides it (``"events"``, the
            default value, then defers to it).
        preset: a bundled mapping: ``canonical``, ``taobao``, ``rees46``.
        mapping: a mapping file (path), dict or :class:`~aips.ingest.mapping.Mapping`.
        tz: the zone of source timestamps without an offset (default: the mapping's, else
            the model's).
        encoding: the text encoding (default: detected).
        date_format: a strftime-style timestamp format (overrides the mapping's).
        sheet: the Excel worksheet (name or 0-based index).
        progress: show a progress bar (rich) on stderr.
        quarantine_dir: where ``<run id>.csv`` with the quarantined rows is written
            (default: ``quarantine/`` beside a DuckDB store file, else ``./quarantine``).
        max_future: events later than the load time plus this (``1d``, ``12h``, ``30m``, ``0``
            or a timedelta) are quarantined as ``future timestamp``; ``None`` or ``"off"``
            accepts any date (one row dated 9999-12-31 would otherwise stretch every series).
        min_date: events before this date (UTC) are quarantined as ``timestamp before
            min_date``; ``None`` or ``"off"`` accepts any date.
        max_bad_fraction: stop (:class:`~aips.exceptions.IngestError`, nothing loaded) when
            more than this share of a file's first :data:`EARLY_ROWS` rows is quarantined;
            ``None`` (default): only when all of them are, for one reason (the column is
            mapped wrong); ``1``: never.

    Returns:
        An :class:`~aips.ingest.report.IngestReport`.

    Parquet files whose rows all load go straight from the backend into the store
    (:mod:`aips.ingest.direct`); the others are read chunk by chunk. Either way the call is
    one load: one transaction (DuckDB) publishes every file's rows, quarantine rows and
    ``loads`` rows (one per file), so it loads all of its files or none.

    Raises:
        IngestError: a file cannot be read at all, or stopped early (too many bad rows at
            its start); nothing is loaded.
        ConfigError: the preset, mapping, time zone or format is invalid.
    """
    started = time.perf_counter()
    store = connect(store)
    mapping, zone, encoding = _options(model, table, preset, mapping, tz, encoding, date_format)
    window = time_window(max_future, min_date)
    if max_bad_fraction is not None and not 0 <= max_bad_fraction <= 1:
        raise ConfigError(f"max_bad_fraction must be between 0 and 1, got {max_bad_fraction}")
    skipped: list[Path] = []
    paths = _existing_files(paths, skipped)
    target = mapping.table
    if target == "events":
        from aips.ingest.source import refuse_ingest

        refuse_ingest(store)
    run_id = f"{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S}-{secrets.token_hex(3)}"
    report = IngestReport(table=target, timezone=model.timezone, skipped=[str(p) for p in skipped])
    files = [
        FileReport(str(p), f"{run_id}-{i}" if len(paths) > 1 else run_id)
        for i, p in enumerate(paths, 1)
    ]
    quarantine_file = _quarantine_path(store, quarantine_dir, run_id)
    extras = _user_extras(store, mapping, paths, encoding, sheet) if target == "users" else []
    tables = set(store.backend.list_tables())  # once: catalog calls are slow on Spark
    scratch = open_scratch(
        store, run_id, staging_schema(target, extras), QUARANTINE.to_pyarrow(), tables
    )
    if target == "events" and store.capabilities.reads_files:
        try:
            read = _read_by_backend(store, model, paths, files, mapping, zone, window, max_bad_fraction,
                                    scratch, tables, report)
        except BaseException:
            scratch.drop()
            raise
        if read:
            scratch.drop()
            _add_up(report, files)
            report.seconds = time.perf_counter() - started
            return report
    qwriter = QuarantineFile(quarantine_file)
    direct = DirectLoad(store, model.timezone, window) if target == "events" and not extras else None
    try:
        with _progress(progress, sum(p.stat().st_size for p in paths), len(paths)) as advance:
            run = _Run(
                mapping, model, zone, encoding, sheet, extras, scratch, qwriter, advance, window,
                max_bad_fraction,
            )
            slow = [i for i, (p, fr) in enumerate(zip(paths, files, strict=True))
                    if direct is None or not run.offer(direct, p, i, fr)]
            stamps = {i: _stamp(paths[i]) for i in range(len(paths)) if i not in slow}
            if stamps and not slow and _publish_assuming_clean(
                    store, scratch, target, files, model, extras, tables, direct, paths, stamps, advance):
                report.quarantine_file = qwriter.commit()
                stamps = {}
                done = True
            else:
                done = False
            if stamps:
                advance(0, f"checking {len(stamps):,} Parquet files")
                checks, back = direct.check()
                for i, c in checks.items():
                    if i not in back:
                        _fill_direct(files[i], paths[i], c)
                        advance(paths[i].stat().st_size, files=1)
                slow = sorted(slow + back)
            if not done:
                for index in slow:
                    run.read_file(paths[index], index, files[index])
                advance(0, "publishing (dedupe, insert)")
                with store.writing():  # the write lock for the final transaction only
                    publish(store, scratch, target, files, model, extras, tables,
                            direct=direct.staged() if direct else None,
                            unique=bool(direct and direct.ids_unique),
                            verify=lambda: _unchanged(paths, stamps))
                report.quarantine_file = qwriter.commit()
    finally:
        qwriter.discard()
        scratch.drop()
    _add_up(report, files)
    report.seconds = time.perf_counter() - started
    return report


class _NotClean(Exception):
    """The rows inserted on :meth:`DirectLoad.assume_clean`'s word were not all clean."""


def _publish_assuming_clean(store, scratch, target, files, model, extras, tables, direct, paths,
                            stamps, advance) -> bool:
    """Insert every file of a load read directly as if every row were clean, and prove it
    on the inserted rows in the same transaction (:meth:`DirectLoad.assume_clean`). True
    when it held; False when it could not be assumed or did not hold (nothing written;
    the file reports are as before), and the caller checks the files first."""
    assumed = direct.assume_clean()
    if assumed is None:
        return False
    fresh = list(files)
    ids = [files[i].load_id for i in assumed]

    def verify() -> None:
        if not direct.proven_clean:  # else the files' own statistics and ids proved it
            problems = direct.inserted_problems(store.backend.table(target), ids)
            if any(problems.values()):
                raise _NotClean(problems)
        _unchanged(paths, stamps)

    for i, c in assumed.items():
        files[i] = dataclasses.replace(files[i])
        _fill_direct(files[i], paths[i], c)
    advance(0, f"loading {len(assumed):,} Parquet files")
    try:
        with store.writing():  # the write lock for the final transaction only
            publish(store, scratch, target, files, model, extras, tables, direct=direct.staged(),
                    unique=True, verify=verify)
    except _NotClean:
        files[:] = fresh  # untouched: the reports of the failed attempt were copies
        for group in direct.groups.values():
            group.clean = []
        return False
    advance(sum(paths[i].stat().st_size for i in assumed), files=len(assumed))
    return True


def _read_by_backend(store: Store, model: Model, paths: list[Path], files: list[FileReport], mapping: Mapping,
                     zone: str, window, max_bad_fraction, scratch: Scratch, tables: set[str],
                     report: IngestReport) -> bool:
    """Load the files with the backend's own readers (:mod:`aips.ingest.backend_read`);
    False (and ``report.reader_note`` says why) when the Python readers must read them."""
    from types import SimpleNamespace

    from aips.ingest import backend_read as br
    from aips.ingest import checks

    if max_bad_fraction is not None:
        report.reader_note = br.Note("max_bad_fraction")
        return False
    groups = br.plan_groups(paths, mapping)
    if isinstance(groups, br.Note):
        report.reader_note = groups
        return False
    raws = []
    for k, group in enumerate(groups):
        raw = br.read_group(store, group, paths, f"aips_read_{k}")
        if isinstance(raw, br.Note):
            report.reader_note = raw
            return False
        first = paths[group.indexes[0]]
        plan = _plan(SimpleNamespace(columns=group.columns, format=group.kind, path=first), mapping, model, zone,
                     0, "", [])
        plan.latest, plan.earliest = window
        why = checks.unsupported(plan, dict(raw.schema().items()))
        if why:
            report.reader_note = br.Note("unsupported", {"file": str(first), "why": why})
            return False
        raws.append((raw, plan))
        for i in group.indexes:
            files[i].unused_columns = _unused(group.columns, plan)
    try:
        checked = br.check(store, raws, files)
        stop = br.early_stop(checked, EARLY_ROWS)
        if stop is not None:
            path, reason, column = stop
            raise IngestError(
                f"{path}: stopped early: all of its first {EARLY_ROWS:,} rows are quarantined as {reason!r} "
                f"(column {column!r}). Is the column mapped wrong (--map, --preset, --date-format, --tz)? "
                "Nothing of this load was loaded; to load the good rows anyway and quarantine the rest, "
                "pass --max-bad-fraction 1")
        for f, path, kind in zip(files, paths, _kinds(paths, groups), strict=True):
            f.sha256, f.format, f.encoding = br.file_sha256(path), kind, "utf-8" if kind == "csv" else None
        publish(store, scratch, "events", files, model, [], tables, direct=[br.staged_rows(checked)],
                quarantine_rows=br.quarantine_rows(checked))
    finally:
        store.drop(br.CHECKED_TABLE)
    report.reader = "backend"
    return True


def _kinds(paths: list[Path], groups) -> list[str]:
    kinds = [""] * len(paths)
    for g in groups:
        for i in g.indexes:
            kinds[i] = g.kind
    return kinds


def time_window(
    max_future: str | dt.timedelta | None, min_date: str | dt.date | None
) -> tuple[dt.datetime | None, dt.datetime | None]:
    """(latest, earliest) accepted timestamps, naive UTC; a bad value is a ConfigError.

    >>> time_window(None, "2000-01-01")
    (None, datetime.datetime(2000, 1, 1, 0, 0))
    >>> time_window("off", None)
    (None, None)
    """
    latest = earliest = None
    if isinstance(max_future, str) and max_future.strip().lower() not in ("off", "none", ""):
        text = max_future.strip().lower()
        units = {"d": "days", "h": "hours", "m": "minutes", "s": "seconds"}
        number, unit = (text[:-1], text[-1]) if text[-1] in units else (text, "d")
        try:
            max_future = dt.timedelta(**{units[unit]: float(number)})
        except ValueError:
            raise ConfigError(
                f"max_future {max_future!r}: expected a duration such as 1d, 12h, 30m or off"
            ) from None
    if isinstance(max_future, dt.timedelta):
        latest = dt.datetime.now(dt.UTC).replace(tzinfo=None) + max_future
    if isinstance(min_date, str) and min_date.strip().lower() not in ("off", "none", ""):
        try:
            min_date = dt.date.fromisoformat(min_date.strip())
        except ValueError:
            raise ConfigError(
                f"min_date {min_date!r}: expected a date such as 2000-01-01, or off"
            ) from None
    if isinstance(min_date, dt.datetime):
        earliest = min_date.replace(tzinfo=None)
    elif isinstance(min_date, dt.date):
        earliest = dt.datetime.combine(min_date, dt.time())
    return latest, earliest


def _options(
    model: Model,
    table: str | None,
    preset: str | None,
    mapping: Mapping | dict | str | Path | None,
    tz: str | None,
    encoding: str | None,
    date_format: str | None,
) -> tuple[Mapping, str, str | None]:
    """The mapping (with ``date_format`` applied), the zone of naive timestamps and the
    checked encoding, from :func:`ingest_files`' arguments."""
    if table == "events" and (preset is not None or mapping is not None):
        table = None  # the default: a mapping that names its table wins
    mapping = resolve_mapping(preset, mapping, table)
    if date_format is not None:
        mapping = mapping.with_overrides(timestamp__format=date_format, timestamp__unit=None)
    try:
        zone = check_zone(tz) if tz else (mapping.timestamp.timezone or model.timezone)
    except ValueError as err:
        raise ConfigError(f"--tz: {err}") from None
    try:
        encoding = check_encoding(encoding) if encoding else None
    except ValueError as err:
        raise ConfigError(f"--encoding: {err}") from None
    return mapping, zone, encoding


def _existing_files(paths: Iterable[str | Path], skipped: list[Path] | None = None) -> list[Path]:
    """The files to read (directories expanded); an error when there are none or one is missing."""
    paths = expand_paths(paths, skipped)
    if not paths:
        raise IngestError("no files given")
    for path in paths:
        if not path.is_file():
            raise IngestError(
                f"{path}: no such file" if not path.exists() else f"{path}: not a file"
            )
    return paths


def _add_up(report: IngestReport, files: list[FileReport]) -> None:
    """The run's totals and reasons from its files' (each file must balance)."""
    for f in files:
        for name in ("rows_read", "loaded", "duplicates", "ignored", "quarantined"):
            setattr(report, name, getattr(report, name) + getattr(f, name))
        for reason, n in f.reasons.items():
            report.reasons[reason] = report.reasons.get(reason, 0) + n
        if not f.balanced:  # pragma: no cover - an internal error, never a data problem
            raise IngestError(f"{f.source_file}: internal error: counts do not add up: {f}")
    report.reasons = dict(sorted(report.reasons.items()))
    report.files = files


DATA_SUFFIXES = (".csv", ".tsv", ".txt", ".jsonl", ".ndjson", ".json", ".parquet", ".xlsx")


NOT_DATA_NAMES = ("README", "LICENSE", "LICENCE", "NOTICE", "CHANGELOG", "NOTES")


def not_data(path: Path) -> bool:
    """A file in a data folder that is documentation, not data: a README/LICENSE/NOTES...
    file, or a ``.txt`` file whose first line has no delimiter (``,`` tab ``;`` ``|``)."""
    if path.name.upper().split(".")[0] in NOT_DATA_NAMES:
        return True
    if path.name.lower().removesuffix(".gz").endswith(".txt") and not path.name.endswith(".gz"):
        with open(path, "rb") as f:
            first = f.read(4096).lstrip(b"\xef\xbb\xbf").split(b"\n", 1)[0]
        return not any(d in first for d in (b",", b"\t", b";", b"|"))
    return False


def expand_paths(paths: Iterable[str | Path], skipped: list[Path] | None = None) -> list[Path]:
    """Files to read: each directory is replaced by the data files below it (sorted).

    A directory such as a simulated world's ``events/`` (hive-partitioned Parquet) loads
    as all its data files; hidden files and ``_SUCCESS``-style markers are skipped, and so
    are files that are not data (:func:`not_data`: a README.txt), which are appended to
    ``skipped`` so the report can say so. A file named explicitly is always read.

    >>> expand_paths([])
    []
    """
    out: list[Path] = []
    for path in map(Path, paths):
        if path.is_dir():
            found = sorted(
                f
                for f in path.rglob("*")
                if f.is_file()
                and not any(part.startswith((".", "_")) for part in f.relative_to(path).parts)
                and f.name.lower().removesuffix(".gz").endswith(DATA_SUFFIXES)
            )
            docs = [f for f in found if not_data(f)]
            found = [f for f in found if f not in docs]
            if skipped is not None:
                skipped.extend(docs)
            if not found:
                raise IngestError(
                    f"{path}: a directory with no data files ({', '.join(DATA_SUFFIXES)})"
                )
            out.extend(found)
        else:
            out.append(path)
    return out


# --- reading ----------------------------------------------------------------------------------

EARLY_ROWS = 100_000
"""A file whose first this many rows are all quarantined for one reason stops the load."""


def _stamp(path: Path) -> tuple[int, int]:
    stat = path.stat()
    return stat.st_size, stat.st_mtime_ns


def _unchanged(paths: list[Path], stamps: dict[int, tuple[int, int]]) -> None:
    """Files read directly by the backend (twice: checked, then inserted) must not have
    changed meanwhile: the insert would match neither version."""
    for i, stamp in stamps.items():
        try:
            now = _stamp(paths[i])
        except OSError:
            now = None
        if now != stamp:
            raise IngestError(
                f"{paths[i]}: the file changed while it was read; nothing of this load is loaded. "
                "Load it again once whatever writes it has finished"
            )


def _fill_direct(fr: FileReport, path: Path, check) -> None:
    """The report of a file loaded directly (loaded = staged, split on publication)."""
    from aips.ingest.readers import file_sha256

    fr.rows_read, fr.ignored = check.rows, check.ignored
    fr.loaded = check.rows - check.ignored
    fr.sha256, fr.format = file_sha256(path), "parquet"


@dataclass
class _EarlyStop:
    """Counts the quarantined rows among a file's first :data:`EARLY_ROWS` rows."""

    path: Path
    max_bad_fraction: float | None
    seen: int = 0
    bad: Counter = field(default_factory=Counter)
    """(reason, column) -> quarantined rows among the first rows."""

    def update(self, chunk, quarantine) -> None:
        """Count one chunk (rows in line order); raise once the first rows are all read and bad."""
        if self.seen >= EARLY_ROWS:
            return
        lines = np.sort(np.concatenate([np.asarray(chunk.lines, dtype=np.int64),
                                        np.array([r.line for r in chunk.rejects], dtype=np.int64)]))
        need = EARLY_ROWS - self.seen
        cutoff = lines[need - 1] if len(lines) >= need else None
        self.seen += min(len(lines), need)
        if quarantine.num_rows:
            q = quarantine.select(["source_line", "reason", "column_name"]).to_pydict()
            for line, reason, column in zip(q["source_line"], q["reason"], q["column_name"], strict=True):
                if cutoff is None or line <= cutoff:
                    self.bad[(reason, column)] += 1
        if self.seen >= EARLY_ROWS:
            self._decide()

    def _decide(self) -> None:
        total = sum(self.bad.values())
        if not total:
            return
        (reason, column), top = self.bad.most_common(1)[0]
        where = f" (column {column!r})" if column else ""
        if self.max_bad_fraction is None:
            if top < EARLY_ROWS:
                return
            what = f"all of its first {EARLY_ROWS:,} rows are quarantined as {reason!r}{where}"
        else:
            if total / EARLY_ROWS <= self.max_bad_fraction:
                return
            what = (f"{total / EARLY_ROWS:.1%} of its first {EARLY_ROWS:,} rows are quarantined, more than "
                    f"--max-bad-fraction {self.max_bad_fraction:g}; most as {reason!r}{where} ({top:,})")
        raise IngestError(
            f"{self.path}: stopped early: {what}. Is the column mapped wrong (--map, --preset, "
            "--date-format, --tz)? Nothing of this load was loaded; to load the good rows anyway "
            "and quarantine the rest, pass --max-bad-fraction 1"
        )


@dataclass
class _Run:
    """What every file of one call shares while it is read."""

    mapping: Mapping
    model: Model
    zone: str
    encoding: str | None
    sheet: str | int | None
    extras: list[str]
    scratch: Scratch
    qwriter: QuarantineFile
    advance: Callable[..., None]
    window: tuple[dt.datetime | None, dt.datetime | None] = (None, None)
    max_bad_fraction: float | None = None

    def offer(self, direct: DirectLoad, path: Path, index: int, fr: FileReport) -> bool:
        """Offer a Parquet file to the direct load (False: read it here, row by row)."""
        import pyarrow.parquet as pq

        source = Source(path, self.mapping, encoding=self.encoding, sheet=self.sheet)
        if source.format != "parquet":
            return False
        try:
            schema = pq.read_schema(path)
        except Exception:  # noqa: BLE001 - the row-by-row reader names the problem
            return False
        source.columns = schema.names
        plan = _plan(source, self.mapping, self.model, self.zone, index, fr.load_id, self.extras)
        plan.latest, plan.earliest = self.window
        if not direct.offer(path, index, fr.load_id, schema, plan):
            return False
        fr.unused_columns = _unused(source.columns, plan)
        return True

    def read_file(self, path: Path, index: int, fr: FileReport) -> None:
        """Read, validate and stage one file; fill its report (loaded = staged, for now)."""
        source = Source(path, self.mapping, encoding=self.encoding, sheet=self.sheet)
        plan: Plan | None = None
        reasons: Counter = Counter()
        early = _EarlyStop(path, self.max_bad_fraction)
        last = 0
        for chunk in _prefetch(source.chunks()):
            if plan is None:
                plan = _plan(
                    source, self.mapping, self.model, self.zone, index, fr.load_id, self.extras
                )
                plan.latest, plan.earliest = self.window
                fr.unused_columns = _unused(source.columns, plan)
            result = validate(chunk, plan)
            early.update(chunk, result.quarantine)  # before staging: a stopped file stages nothing
            self.scratch.append(result.good, result.quarantine)
            self.qwriter.write(result.quarantine)
            fr.rows_read += result.rows
            fr.ignored += result.ignored
            fr.quarantined += result.quarantine.num_rows
            fr.loaded += result.good.num_rows  # split into loaded/duplicates on publication
            reasons.update(result.reasons)
            self.advance(chunk.position - last)
            last = chunk.position
        self.advance(source.size - last, files=1)
        fr.sha256, fr.format, fr.encoding = source.sha256, source.format, source.encoding
        fr.reasons = dict(sorted(reasons.items()))


def _plan(
    source: Source, mapping: Mapping, model: Model, zone: str, index: int, load_id: str, extras
) -> Plan:
    table = mapping.table
    columns = source.columns
    lower = {c.lower().strip(): c for c in columns}
    sources: dict[str, str | None] = {}
    for name in SCHEMAS[table].names:
        if name in ("local_date", "load_id"):
            continue
        spec = mapping.columns.get(name)
        if spec is not None:
            if spec.source not in columns and source.format != "jsonl":
                raise IngestError(
                    f"{source.path}: the mapping takes {name} from column {spec.source!r}, which the file "
                    f"does not have (columns: {_list(columns)})"
                )
            sources[name] = spec.source
        elif name in mapping.constants:
            sources[name] = None
        elif name in columns:
            sources[name] = name
        else:
            alike = [c for c in columns if c.lower().strip() == name]
            if len(alike) > 1:
                raise IngestError(
                    f"{source.path}: line 1: columns {' and '.join(repr(c) for c in alike)} both "
                    f"read as {name} (names are compared ignoring case); rename one, or say "
                    f"which to use with --map (columns: {{{name}: {alike[0]}}})"
                )
            sources[name] = lower.get(name)
    for name in extras:
        sources[name] = name
    for name in SPECS[table].required:
        if sources.get(name) is None and name not in mapping.constants:
            raise IngestError(_missing_column_message(source, name, columns))
    only_for = {k: v.event_types for k, v in mapping.columns.items() if v.event_types}
    return Plan(
        table=table,
        sources=sources,
        constants=dict(mapping.constants),
        only_for=only_for,
        extras=list(extras),
        event_map=event_type_map(mapping, model) if table == "events" else {},
        ignore=list(mapping.ignore),
        zone=zone,
        model_zone=model.timezone,
        unit=mapping.timestamp.unit,
        fmt=mapping.timestamp.format,
        file_index=index,
        source_file=str(source.path),
        load_id=load_id,
        delimiter=mapping.csv.delimiter or ("\t" if source.format == "tsv" else ","),
    )


def event_type_map(mapping: Mapping, model: Model) -> dict[str, str]:
    """Raw (lower-case) event type -> canonical type: the mapping first, then the taxonomy.

    >>> from aips.config.model import default_model
    >>> from aips.ingest.mapping import load_preset
    >>> m = event_type_map(load_preset("taobao"), default_model())
    >>> m["pv"], m["fav"], m["read"], "remove_from_cart" in m
    ('read', 'collect', 'read', False)
    """
    canonical = model.event_types
    taxonomy = {k.strip().lower(): v for k, v in model.taxonomy.items()}
    out = {t: t for t in canonical}
    out.update(taxonomy)
    for raw, name in mapping.event_types.items():
        target = taxonomy.get(name.lower(), name if name in canonical else None)
        if target is None:
            raise ConfigError(
                f"event_types: {raw!r} maps to {name!r}, which is neither a canonical event type nor in the "
                f"model's taxonomy (canonical types: {', '.join(sorted(canonical))})"
            )
        out[raw] = target
    return out


def _missing_column_message(source: Source, name: str, columns: list[str]) -> str:
    hint = f"map it with --map (columns: {{{name}: YOUR_COLUMN}}) or use a --preset"
    if len(columns) == 1 and any(d in columns[0] for d in ",;\t|"):
        hint = (
            f"the header is one column {columns[0]!r}: is the delimiter wrong? "
            "(set csv.delimiter in a mapping file)"
        )
    return (
        f"{source.path}: line 1: no column for the required field {name!r} "
        f"(columns in the file: {_list(columns)}); {hint}; nothing was loaded"
    )


def _list(columns: list[str], limit: int = 12) -> str:
    shown = ", ".join(repr(c) for c in columns[:limit])
    return (
        shown + (f", ... ({len(columns)} in all)" if len(columns) > limit else "")
        if columns
        else "none"
    )


def _unused(columns: list[str], plan: Plan) -> list[str]:
    used = {s for s in plan.sources.values() if s} | set(plan.extras)
    return [c for c in columns if c not in used]


def _user_extras(store: Store, mapping: Mapping, paths, encoding, sheet) -> list[str]:
    """Extra attribute columns of a users file (all files must agree with the store)."""
    found: list[str] = []
    known = set(SCHEMAS["users"].names) | {s.source for s in mapping.columns.values()}
    for path in paths:
        source = Source(path, mapping, encoding=encoding, sheet=sheet)
        with contextlib.closing(source.chunks()) as chunks:
            next(chunks, None)
        found += [c for c in source.columns if c not in known and c not in found]
    if store.has("users"):
        existing = store.table("users").columns
        missing = [c for c in found if c not in existing]
        if missing:
            raise IngestError(
                f"the users table has no column(s) {', '.join(map(repr, missing))}; "
                f"its columns are {', '.join(existing)}; drop those columns from the file or map them"
            )
        return [c for c in existing if c not in SCHEMAS["users"].names]
    return found


def _prefetch(chunks: Iterator, depth: int = 2) -> Iterator:
    """Read (parse) the next chunks in a background thread while this one is validated."""
    q: queue.Queue = queue.Queue(depth)
    stop = threading.Event()
    done = object()

    def run() -> None:
        try:
            for item in chunks:
                while not stop.is_set():
                    try:
                        q.put(("item", item), timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            q.put(("done", done))
        except BaseException as err:  # handed to the consumer
            q.put(("error", err))

    thread = threading.Thread(target=run, name="aips-ingest-reader", daemon=True)
    thread.start()
    try:
        while True:
            kind, item = q.get()
            if kind == "error":
                raise item
            if kind == "done":
                return
            yield item
    finally:
        stop.set()
        with contextlib.suppress(queue.Empty):
            while True:
                q.get_nowait()
        thread.join(timeout=5)


@contextlib.contextmanager
def _progress(enabled: bool, total: int, nfiles: int = 1):
    """One rich progress bar over the bytes of all files (on stderr); yields
    ``advance(n, label=None, files=0)`` (``files``: how many more files are done)."""
    if not enabled:
        yield lambda n, label=None, files=0: None
        return
    from rich.console import Console
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn

    with Progress(
        TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TimeRemainingColumn(),
        console=Console(stderr=True), transient=True,
    ) as bar:  # fmt: skip
        task = bar.add_task("reading", total=total)
        done = [0]

        def advance(n: int, label: str | None = None, files: int = 0) -> None:
            done[0] += files
            default = f"reading file {min(done[0] + 1, nfiles):,} of {nfiles:,}" if nfiles > 1 else "reading"
            bar.update(task, advance=max(n, 0), description=label or default)

        yield advance


# --- quarantine file -----------------------------------------------------------------------------


def _quarantine_path(store: Store, quarantine_dir, run_id: str) -> Path:
    if quarantine_dir is not None:
        base = Path(quarantine_dir)
    elif store.kind == "duckdb" and store.location not in (":memory:", "ibis"):
        base = Path(store.location).parent / "quarantine"
    else:
        base = Path("quarantine")
    return base / f"{run_id}.csv"
