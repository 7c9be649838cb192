"""How much memory, how many threads and which spill folder a DuckDB store may use.

Three settings, each taken from the first place that gives it:

1. the command line: ``--memory-limit``, ``--threads`` (passed as ``cli``);
2. the environment: ``$AIPS_MEMORY_LIMIT``, ``$AIPS_THREADS``, ``$AIPS_TEMP_DIRECTORY``;
3. the model file's ``store:`` section (``memory_limit``, ``threads``, ``temp_directory``);
4. the defaults: ``memory_limit`` = :data:`DEFAULT_SHARE` of the machine's memory, at most
   :data:`DEFAULT_CAP` (and at least :data:`DEFAULT_FLOOR`); ``threads`` = DuckDB's own
   (one per core); ``temp_directory`` = ``<store>.tmp/`` beside the store file, so a
   query larger than the limit spills to disk instead of failing.

Each process spills into its own subfolder of the temp directory (``HOST-PID``,
:func:`process_folder`): DuckDB names its spill files alike in every process
(``duckdb_temp_storage_DEFAULT-0.tmp``, ...), so two commands spilling into one folder (a
dashboard and a CLI command on one store, say) overwrote each other's files and one failed
with "Corrupt temporary file". DuckDB removes the subfolder when the store closes; one
left by a process that died is removed by the next open on the same host.

Why that default: DuckDB's own (80 % of RAM) let a dedupe of one repeated row peak at
8.95 GB and ``aips series --update`` at 19.6 GiB of a 24 GiB machine (issue 13). A limit
bounds DuckDB's buffer manager (joins, aggregates and sorts spill past it); the process
adds ~0.4 GiB of Python and Arrow on top. Measured on the 12M-event store, ``aips series
--backfill`` (180 days) peaked at 2.76 GiB RSS with a 2.5 GiB limit, 1.81 GiB with 1.5 GiB
and 1.32 GiB with 1 GiB, in the same time (``bench/README.md``, "Memory and scale"): 1.5 GiB
keeps the issue's goals (<= 2 GiB at 12M events, <= 4 GiB at 100M, where the same limit
applies and DuckDB spills instead of growing), and an 8 GiB laptop keeps most of its memory
for everything else. A share of RAM (25 %) keeps small machines safe.

Sizes read ``4GiB``, ``2GB``, ``512 MiB``, ``1.5GiB`` (binary and decimal units) or
``50%`` (of the machine's memory):

>>> parse_size("4GiB"), parse_size("2GB"), parse_size("50%", total=8 * 2**30)
(4294967296, 2000000000, 4294967296)
>>> s = resolve(cli={"memory_limit": "1GiB"}, env={"AIPS_THREADS": "2"},
...             model={"memory_limit": "3GiB", "temp_directory": "/tmp/spill"})
>>> s.memory_limit, s.threads, s.temp_directory, s.sources["memory_limit"]
(1073741824, 2, '/tmp/spill', '--memory-limit')
>>> s.duckdb_memory_limit
'1024.0 MiB'
"""

from __future__ import annotations

import os
import re
import shutil
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from aips.exceptions import ConfigError

MEMORY_ENV = "AIPS_MEMORY_LIMIT"
THREADS_ENV = "AIPS_THREADS"
TEMP_ENV = "AIPS_TEMP_DIRECTORY"
ENV = {"memory_limit": MEMORY_ENV, "threads": THREADS_ENV, "temp_directory": TEMP_ENV}
CLI = {"memory_limit": "--memory-limit", "threads": "--threads", "temp_directory": "--temp-directory"}

DEFAULT_SHARE = 0.25
"""The default memory limit's share of the machine's memory."""
DEFAULT_CAP = int(1.5 * 2**30)
"""The default memory limit is at most this (bytes): see the module docstring."""
DEFAULT_FLOOR = 256 * 2**20
"""... and at least this: below it DuckDB spills for the smallest stores."""
MIN_LIMIT = 32 * 2**20
"""A limit below this is an error: DuckDB cannot run a query in less."""
TEMP_SUFFIX = ".tmp"
"""The default spill folder is the store's path plus this suffix."""

_UNITS = {
    "": 1, "b": 1,
    "kb": 1000, "mb": 1000**2, "gb": 1000**3, "tb": 1000**4,
    "k": 2**10, "m": 2**20, "g": 2**30, "t": 2**40,
    "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40,
}  # fmt: skip
_SIZE = re.compile(r"^\s*(?P<n>\d+(?:\.\d*)?|\.\d+)\s*(?P<unit>[a-zA-Z]*|%)\s*$")


def machine_memory() -> int:
    """Bytes of physical memory (cgroup limit when lower), or 8 GiB when unknown."""
    total = None
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):  # pragma: no cover - not POSIX
        pass
    try:  # a container's memory limit (cgroup v2)
        text = Path("/sys/fs/cgroup/memory.max").read_text().strip()
        if text.isdigit():
            total = min(total or int(text), int(text))
    except OSError:
        pass
    return total or 8 * 2**30


def parse_size(text: Any, *, total: int | None = None, what: str = "memory_limit") -> int:
    """Bytes of a size such as ``4GiB``, ``2GB``, ``512MiB`` or ``50%`` (of ``total``,
    default the machine's memory); a bad value is a :class:`ConfigError` saying what is
    expected.

    >>> parse_size("1.5 GiB"), parse_size(2**30)
    (1610612736, 1073741824)
    >>> parse_size("lots")
    Traceback (most recent call last):
    aips.exceptions.ConfigError: memory_limit: 'lots' is not a size; expected e.g. 4GiB, 2GB, 512MiB or 50% (of the machine's memory)
    """
    if isinstance(text, bool):
        raise _bad_size(text, what)
    if isinstance(text, int | float):
        number, unit = float(text), ""
    else:
        match = _SIZE.match(str(text))
        if not match or (match["unit"].lower() not in _UNITS and match["unit"] != "%"):
            raise _bad_size(text, what)
        number, unit = float(match["n"]), match["unit"].lower()
    if unit == "%":
        if not 0 < number <= 100:
            raise ConfigError(f"{what}: {text!r}: a share of memory is more than 0% and at most 100%")
        value = int((total or machine_memory()) * number / 100)
    else:
        value = int(number * _UNITS[unit])
    if value < MIN_LIMIT:
        raise ConfigError(f"{what}: {text!r} is {value:,} bytes; give at least 32MiB (DuckDB needs that much)")
    return value


def _bad_size(text: Any, what: str) -> ConfigError:
    return ConfigError(
        f"{what}: {text!r} is not a size; expected e.g. 4GiB, 2GB, 512MiB or 50% (of the machine's memory)"
    )


def parse_threads(text: Any, what: str = "threads") -> int:
    """A thread count of at least 1.

    >>> parse_threads("2")
    2
    """
    try:
        value = int(str(text).strip()) if not isinstance(text, bool) else None
    except ValueError:
        value = None
    if value is None or value < 1:
        raise ConfigError(f"{what}: {text!r} is not a number of threads (a whole number >= 1)")
    return value


def default_memory_limit(total: int | None = None) -> int:
    """:data:`DEFAULT_SHARE` of ``total`` (default: this machine), between the floor and the cap.

    >>> default_memory_limit(24 * 2**30) / 2**30, default_memory_limit(4 * 2**30) / 2**30
    (1.5, 1.0)
    """
    total = total or machine_memory()
    return max(DEFAULT_FLOOR, min(DEFAULT_CAP, int(total * DEFAULT_SHARE)))


@dataclass(frozen=True)
class StoreSettings:
    """The resource settings of a DuckDB store, and where each came from.

    ``threads`` None means DuckDB's own (one per core); ``temp_directory`` None means
    ``<store>.tmp`` beside a store file (:meth:`for_store`).
    """

    memory_limit: int = field(default_factory=default_memory_limit)
    threads: int | None = None
    temp_directory: str | None = None
    preserve_insertion_order: bool = False
    """False lets DuckDB stream inserts and exports without keeping rows in order (less
    memory); aips sorts every result it shows, so no output depends on it."""
    enable_external_file_cache: bool = False
    """False: DuckDB does not keep the blocks of the Parquet and CSV files it reads in its
    own cache (the operating system's page cache still does). A whole-history read of a
    sourced 1B-event store filled that cache past the memory limit: 5 columns of the 7,920
    files read with it peaked at 3.08 GiB RSS in 42.0 s, without it 0.08 GiB in 28.6 s."""
    sources: dict[str, str] = field(default_factory=dict)

    @property
    def duckdb_memory_limit(self) -> str:
        """The limit as DuckDB's ``SET memory_limit`` takes it (MiB, so it reads back alike)."""
        return f"{self.memory_limit / 2**20:.1f} MiB"

    def for_store(self, location: str) -> StoreSettings:
        """These settings with the default spill folder of the DuckDB file ``location``.

        >>> StoreSettings().for_store("/data/aips.duckdb").temp_directory
        '/data/aips.duckdb.tmp'
        """
        if self.temp_directory is not None or location in (":memory:", "ibis", ""):
            return self
        return replace(self, temp_directory=f"{location}{TEMP_SUFFIX}",
                       sources={**self.sources, "temp_directory": "default"})

    @property
    def spill_folder(self) -> str | None:
        """This process's own subfolder of ``temp_directory`` (what DuckDB is given).

        >>> StoreSettings(temp_directory="/data/aips.duckdb.tmp").spill_folder == (
        ...     "/data/aips.duckdb.tmp/" + process_folder())
        True
        """
        return None if self.temp_directory is None else os.path.join(self.temp_directory, process_folder())

    def statements(self) -> list[tuple[str, Any]]:
        """``(setting, value)`` pairs for DuckDB's ``SET``."""
        out: list[tuple[str, Any]] = [("memory_limit", self.duckdb_memory_limit)]
        if self.threads is not None:
            out.append(("threads", self.threads))
        if self.temp_directory is not None:
            out.append(("temp_directory", self.spill_folder))
        out.append(("preserve_insertion_order", self.preserve_insertion_order))
        out.append(("enable_external_file_cache", self.enable_external_file_cache))
        return out

    def asdict(self) -> dict[str, Any]:
        """For ``aips info``: each setting, shown as people read it, with its source."""
        return {
            "memory_limit": f"{self.memory_limit / 2**30:.2f} GiB",
            "threads": self.threads if self.threads is not None else f"{os.cpu_count()} (DuckDB default)",
            "temp_directory": self.temp_directory or "(DuckDB default)",
            "preserve_insertion_order": self.preserve_insertion_order,
            "enable_external_file_cache": self.enable_external_file_cache,
            "sources": dict(self.sources),
        }


def resolve(
    cli: Mapping[str, Any] | None = None,
    env: Mapping[str, str] | None = None,
    model: Mapping[str, Any] | Any | None = None,
    *,
    total: int | None = None,
) -> StoreSettings:
    """The settings by precedence: ``cli`` > ``env`` (default ``os.environ``) > ``model``
    (the model file's ``store:`` section, a mapping or an object with the same attributes)
    > defaults. ``None`` and empty values count as not given.

    >>> resolve(env={}).sources
    {'memory_limit': 'default', 'threads': 'default', 'temp_directory': 'default'}
    >>> resolve(env={"AIPS_MEMORY_LIMIT": "2 pints"})
    Traceback (most recent call last):
    aips.exceptions.ConfigError: $AIPS_MEMORY_LIMIT: '2 pints' is not a size; expected e.g. 4GiB, 2GB, 512MiB or 50% (of the machine's memory)
    """
    env = os.environ if env is None else env
    if model is not None and not isinstance(model, Mapping):
        model = {k: getattr(model, k, None) for k in ENV}
    layers = [(cli or {}, CLI), ({k: env.get(v) for k, v in ENV.items()}, {k: f"${v}" for k, v in ENV.items()}),
              (model or {}, {k: f"model file store.{k}" for k in ENV})]
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for name in ENV:
        for given, labels in layers:
            raw = given.get(name)
            if raw is None or (isinstance(raw, str) and not raw.strip()):
                continue
            label = labels[name]
            if name == "memory_limit":
                values[name] = parse_size(raw, total=total, what=label)
            elif name == "threads":
                values[name] = parse_threads(raw, what=label)
            else:
                values[name] = str(Path(str(raw).strip()).expanduser())
            sources[name] = label
            break
        else:
            sources[name] = "default"
    if "memory_limit" not in values:
        values["memory_limit"] = default_memory_limit(total)
    return StoreSettings(**values, sources=sources)


def process_folder() -> str:
    """The name of this process's spill subfolder: ``HOST-PID`` (see the module docstring)."""
    return f"{socket.gethostname()}-{os.getpid()}"


def _prepare_temp_directory(base: str) -> bool:
    """Create ``base`` (DuckDB creates only the last folder of a path: this process's own)
    and remove the subfolders of this host's processes that are gone. False when ``base``
    cannot be created (a read-only place): then DuckDB's own default applies."""
    try:
        os.makedirs(base, exist_ok=True)
    except OSError:
        return False
    host = socket.gethostname() + "-"
    with os.scandir(base) as entries:
        for entry in entries:
            pid = entry.name[len(host):]
            if entry.name.startswith(host) and pid.isdigit() and entry.is_dir() and not _alive(int(pid)):
                shutil.rmtree(entry.path, ignore_errors=True)
    return True


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def apply(con: Any, settings: StoreSettings) -> None:
    """Set ``settings`` on a raw DuckDB connection (``SET`` statements: DuckDB only).

    This process's spill folder is created by DuckDB when it first spills; a folder
    already in use by this process's database (another connection to the same file) is
    kept as it is.
    """
    if settings.temp_directory is not None and not _prepare_temp_directory(settings.temp_directory):
        settings = replace(settings, temp_directory=None)
    for name, value in settings.statements():
        literal = str(value).lower() if isinstance(value, bool) else value
        text = literal if isinstance(literal, int) else "'" + str(literal).replace("'", "''") + "'"
        try:
            con.execute(f"SET {name} = {text}")
        except Exception as err:  # duckdb raises its own exception classes
            if name == "temp_directory" and "switch" in str(err).lower():
                continue  # the database already spilled to another folder: keep it
            raise ConfigError(f"{settings.sources.get(name, name)}: DuckDB refused {name} = {value!r}: {err}") from None


def effective(con: Any, settings: StoreSettings) -> list[dict[str, str]]:
    """The settings DuckDB is actually using, as it reports them, each with its source
    (``--memory-limit``, ``$AIPS_MEMORY_LIMIT``, ``model file store.memory_limit`` or
    ``default``): the rows of ``aips info``'s settings table."""
    names = ("memory_limit", "threads", "temp_directory", "preserve_insertion_order", "enable_external_file_cache")
    row = con.execute("SELECT " + ", ".join(f"current_setting('{n}')" for n in names)).fetchone()
    shown = {n: str(v) for n, v in zip(names, row, strict=True)}
    own = os.sep + process_folder()  # the configured folder, not this process's subfolder
    if shown["temp_directory"].endswith(own):
        shown["temp_directory"] = shown["temp_directory"][: -len(own)]
    return [{"setting": n, "value": shown[n], "source": settings.sources.get(n, "aips")} for n in names]
