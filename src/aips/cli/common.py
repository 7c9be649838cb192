"""Options and output shared by every command.

Commands take ``--store`` (or ``$AIPS_STORE``), ``--config``, ``--memory-limit`` and
``--threads`` and, for Spark, ``--warehouse``, ``--database``, ``--conf`` (added to every
command with ``--store`` by :func:`with_store_options`) and,
when they print a table, ``--format table|csv|json``; JSON is a list of records.

The flags that select people are defined here once and mean the same in every command:

* ``--brand``: the events' ``brand`` column (one brand, or several where a command takes
  several: repeatable or comma-separated); ``--spu``: the ``spu`` column (at ``--level spu``);
* ``--level``: the entity of crowd assets, ``brand`` or ``spu`` (default: the model's);
* ``--at``: the as-of local date; ``--from`` / ``--to``: a range's first and last local
  dates (a flow's t0 and t1);
* ``--stage``: stages (``A``, ``I``, ``TI``, ``P``, ``S``, ``I+TI``, ``all``); ``--flow``: a
  flow cell; ``--where``: a rule over counters and user attributes; ``--competitors``: the
  other brands of ``--brand``'s category.

Every command opens its workspace one way: ``with open_ws(store, config) as ws:``.
"""

from __future__ import annotations

import contextlib
import contextvars
import csv
import datetime as dt
import functools
import inspect
import io
import json
import math
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

StoreOpt = Annotated[
    str | None,
    typer.Option("--store", envvar="AIPS_STORE",
                 help="DuckDB file (default ./aips.duckdb), or Spark: local[N] / local[*] (tables kept in "
                 "--warehouse), sc://HOST:PORT (Spark Connect), spark://HOST:PORT, yarn, k8s://..."),
]
ConfigOpt = Annotated[
    str | None, typer.Option("--config", help="Model YAML (default ./aips.yaml, else the shipped model).")
]


WarehouseOpt = Annotated[
    str | None,
    typer.Option("--warehouse", envvar="AIPS_WAREHOUSE", metavar="DIR",
                 help="Spark local[N]: folder of the tables and their metastore (default ./aips-warehouse)."),
]
DatabaseOpt = Annotated[
    str | None,
    typer.Option("--database", envvar="AIPS_DATABASE",
                 help="Spark: the database (schema) of aips's tables (default aips)."),
]
SparkConfOpt = Annotated[
    list[str] | None,
    typer.Option("--conf", metavar="K=V", help="Spark setting (repeatable); over the model's store: spark_conf."),
]
MemoryLimitOpt = Annotated[
    str | None,
    typer.Option("--memory-limit", help="Memory DuckDB may use before it spills to disk: 4GiB, 2GB, 50% "
                 "(default $AIPS_MEMORY_LIMIT, the model's store.memory_limit, else 25% of RAM, at most 1.5GiB)."),
]
ThreadsOpt = Annotated[
    int | None,
    typer.Option("--threads", min=1, help="DuckDB threads (default $AIPS_THREADS, the model's store.threads, "
                 "else one per core)."),
]
LockTimeoutOpt = Annotated[
    float | None,
    typer.Option("--lock-timeout", envvar="AIPS_LOCK_TIMEOUT", min=0,
                 help="Seconds to wait while other processes use the store (default 60)."),
]
# --- how rows are read (ingest and source) ----------------------------------------------
PresetOpt = Annotated[str | None, typer.Option("--preset", help="A bundled mapping: canonical, taobao, rees46.")]
MapOpt = Annotated[Path | None, typer.Option("--map", help="A mapping YAML (see presets/example_map.yaml).")]
TzOpt = Annotated[str | None, typer.Option(
    "--tz", help="Time zone of timestamps without an offset (default: the model's).")]
MaxFutureOpt = Annotated[str | None, typer.Option(
    "--max-future", help="Quarantine events later than now plus this (1d, 12h, 30m; off: accept all). "
    "Default: the model's ingest.max_future (1d).")]
MinDateOpt = Annotated[str | None, typer.Option(
    "--min-date", help="Quarantine events before this date, UTC (off: accept all). "
    "Default: the model's ingest.min_date (2000-01-01).")]
STORE_OPTIONS = (("warehouse", WarehouseOpt), ("database", DatabaseOpt), ("conf", SparkConfOpt),
                 ("memory_limit", MemoryLimitOpt), ("threads", ThreadsOpt))
"""The options :func:`with_store_options` adds: how a store is opened (Spark's warehouse,
database and settings; DuckDB's memory limit and threads)."""


@dataclass(frozen=True)
class StoreOptions:
    """The store options of the running command (:func:`with_store_options`)."""

    spark: Any = None
    """:class:`aips.store.spark.SparkOptions` (warehouse, database, ``--conf``), or None."""
    memory_limit: str | None = None
    threads: int | None = None
    lang: str = "en"
    """The command's ``--lang`` (the progress line's words)."""


_STORE_OPTIONS: contextvars.ContextVar[StoreOptions | None] = contextvars.ContextVar(
    "aips_store_options", default=None)


def store_options() -> StoreOptions:
    """The store options of the running command (defaults outside one).

    >>> store_options().memory_limit is None
    True
    """
    return _STORE_OPTIONS.get() or StoreOptions()


def with_store_options(func: Any) -> Any:
    """``func`` (a command that takes ``--store``) with the options of how its store is
    opened added in one place: ``--warehouse``, ``--database``, ``--conf`` (Spark) and
    ``--memory-limit``, ``--threads`` (DuckDB). :func:`open_ws` opens stores with them; the
    dashboard of ``serve`` gets them from :func:`store_options` (and DuckDB's limits through
    ``$AIPS_MEMORY_LIMIT`` / ``$AIPS_THREADS``). Commands without ``--store`` are returned
    as they are.
    """
    import os

    sig = inspect.signature(func, eval_str=True)
    if "store" not in sig.parameters:
        return func

    @functools.wraps(func)
    def command(*args: Any, warehouse: str | None = None, database: str | None = None,
                conf: list[str] | None = None, memory_limit: str | None = None,
                threads: int | None = None, **kwargs: Any) -> Any:
        from aips.store.capabilities import require
        from aips.store.spark import SparkOptions, parse_conf

        wanted = [name for name, value in (("memory_limit", memory_limit), ("threads", threads)) if value is not None]
        lang = kwargs.get("lang")
        require(kwargs.get("store"), wanted, str(getattr(lang, "value", lang) or "en"))
        options = StoreOptions(SparkOptions(warehouse, database, parse_conf(conf)), memory_limit, threads,
                               str(getattr(lang, "value", lang) or "en"))
        for value, env in ((memory_limit, "AIPS_MEMORY_LIMIT"), (threads, "AIPS_THREADS")):
            if value is not None:
                os.environ[env] = str(value)  # for stores opened elsewhere (the dashboard)
        token = _STORE_OPTIONS.set(options)
        try:
            return func(*args, **kwargs)
        finally:
            _STORE_OPTIONS.reset(token)

    params = list(sig.parameters.values())
    extra = [inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=None, annotation=opt)
             for name, opt in STORE_OPTIONS]
    command.__signature__ = sig.replace(parameters=[*params, *extra])  # type: ignore[attr-defined]
    command.__annotations__ = {p.name: p.annotation for p in params + extra}
    del command.__wrapped__  # Typer must read the new signature, not the wrapped one
    return command


def choices(name: str, *values: str) -> type[StrEnum]:
    """A ``StrEnum`` whose members are ``values`` (each named like its value): a flag's choices.

    >>> list(choices("Case", "lower", "upper"))
    [<Case.lower: 'lower'>, <Case.upper: 'upper'>]
    """
    return StrEnum(name, {v: v for v in values})


Lang = choices("Lang", "en", "zh")
"""The languages of texts: the report, the dashboard, the playbook, the terminal tables."""

LangOpt = Annotated[
    Lang,
    typer.Option("--lang", help="Language of the table's title, headers and notes: en or zh "
                 "(--format csv|json stay raw)."),
]
"""``--lang`` of the commands that print tables: words from the catalogue (:mod:`aips.config.labels`)."""


class OutputFormat(StrEnum):
    table = "table"
    csv = "csv"
    json = "json"


FormatOpt = Annotated[OutputFormat, typer.Option("--format", help="Output format.")]


# --- the flags that select people ---------------------------------------------------------


class Level(StrEnum):
    brand = "brand"
    spu = "spu"


LevelOpt = Annotated[
    Level | None, typer.Option("--level", help="Entity of the crowd assets: brand or spu (default: the model's).")
]
BrandOpt = Annotated[str | None, typer.Option("--brand", help="A brand (the events' brand column).")]
BrandsOpt = Annotated[
    list[str] | None,
    typer.Option("--brand", help="Brand(s) (the events' brand column); repeatable or comma-separated."),
]
SpuOpt = Annotated[str | None, typer.Option("--spu", help="An SPU (the events' spu column; at --level spu).")]
AtOpt = Annotated[str | None, typer.Option("--at", help="As-of local date YYYY-MM-DD (the model's time zone).")]
FromOpt = Annotated[
    str | None, typer.Option("--from", help="First local date YYYY-MM-DD (of a range; a flow's t0).")
]
ToOpt = Annotated[str | None, typer.Option("--to", help="Last local date YYYY-MM-DD (of a range; a flow's t1).")]
StageOpt = Annotated[
    list[str] | None,
    typer.Option("--stage", help="Stage(s): A, I, TI, P, S, I+TI (the seeded crowd) or all; repeatable or comma-separated."),
]
FlowOpt = Annotated[
    str | None,
    typer.Option("--flow", help="Flow cell FROM:TO between --from and --to, e.g. TI:!P, I:I, A,I:TI "
                 "('none' = no level, '*' = any, '!' = not)."),
]
WhereOpt = Annotated[
    str | None,
    typer.Option("--where", help="Rule over counters (each over its window ending --at) and numeric user "
                 "attributes: 'read >= 3 and purchase == 0'."),
]
CompetitorsOpt = Annotated[
    bool, typer.Option("--competitors", help="The other brands of --brand's category instead of --brand (a competitors' crowd).")
]


def split_list(values: list[str] | None) -> list[str] | None:
    """The values of a repeatable, comma-separated option (``--brand``, ``--stage``; None when none).

    >>> split_list(["A,B", "C"]), split_list(None)
    (['A', 'B', 'C'], None)
    """
    from aips.crowd import as_list

    out = [b for item in values or [] for b in as_list(item) or []]
    return out or None


def crowd_brands(values: list[str] | None, competitors: bool) -> tuple[list[str] | None, str | None]:
    """``(brands, competitors_of)`` of ``--brand`` and ``--competitors``."""
    from aips.exceptions import ConfigError

    brands = split_list(values)
    if not competitors:
        return brands, None
    if not brands or len(brands) != 1:
        raise ConfigError("--competitors takes exactly one --brand (whose competitors to select)")
    return None, brands[0]


@contextlib.contextmanager
def open_ws(store: str | None, config: str | None, *, read_only: bool = False,
            lock_timeout: float | None = None) -> Iterator[Any]:
    """The workspace of a command; use it as ``with open_ws(store, config) as ws:`` (closed on exit).

    Commands that only read pass ``read_only=True``: the store must exist (nothing is
    created) and any number of them may run side by side. A writer waits up to
    ``lock_timeout`` seconds (``--lock-timeout``, ``$AIPS_LOCK_TIMEOUT``, default 60) for
    readers to finish, and a reader as long for a writer. ``--memory-limit`` and
    ``--threads`` of the command (:func:`with_store_options`) are passed on, and so are
    ``--warehouse``, ``--database`` and ``--conf``. A terminal's stderr shows the running
    Spark job or (after 2 s) DuckDB query meanwhile (:mod:`aips.cli.progress`).
    """
    from aips.cli.progress import store_progress
    from aips.workspace import open_workspace

    options = store_options()
    with store_progress(store, options.lang) as line:
        with open_workspace(store, config, read_only=read_only, lock_timeout=lock_timeout,
                            spark=options.spark, memory_limit=options.memory_limit,
                            threads=options.threads) as ws:
            line.watch(ws.store)
            yield ws


def store_exists(store: str | None) -> bool:
    """True when ``store`` (or the default) names an existing DuckDB file.

    A command that writes opens such a store read-only and takes the write lock only for
    its final writes (:meth:`aips.store.connect.Store.writing`); a new file is created
    read-write, and ``:memory:`` and Spark stores are opened as they are.
    """
    import os
    from pathlib import Path

    from aips.store.connect import DEFAULT_STORE, STORE_ENV
    from aips.store.spark import is_spark_url

    text = store or os.environ.get(STORE_ENV) or DEFAULT_STORE
    return not is_spark_url(text) and text != ":memory:" and Path(text).expanduser().is_file()


def _plain(value: Any) -> Any:
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if hasattr(value, "item"):  # numpy scalars
        return _plain(value.item())
    return value


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return _plain(value)


def print_json(obj: Any) -> None:
    """Print one result object as JSON (nested dicts and lists; dates ISO, NaN as null)."""
    sys.stdout.write(json.dumps(_jsonable(obj), ensure_ascii=False, indent=1) + "\n")


def records_of(data: Any) -> list[dict[str, Any]]:
    """Plain records from an Ibis table, a pyarrow table, a pandas frame or a list of dicts."""
    if hasattr(data, "to_pyarrow"):
        data = data.to_pyarrow()
    if hasattr(data, "to_pylist"):
        rows = data.to_pylist()
    elif hasattr(data, "to_dict"):
        rows = data.to_dict(orient="records")
    else:
        rows = list(data)
    return [{k: _plain(v) for k, v in row.items()} for row in rows]


def emit(
    data: Any, fmt: OutputFormat | str = OutputFormat.table, title: str | None = None, lang: str = "en",
    headers: dict[str, str] | None = None, names: dict[str, Any] | None = None,
) -> None:
    """Print results as a table for people (numbers formatted by :mod:`aips.cli.format`, fit
    to the terminal), or raw as CSV or JSON (a list of records).

    In a language other than English the table's headers and the values aips names itself
    (stages' ``none``, movements, measures, dimensions, yes) come from the catalogue
    (:func:`aips.config.labels.column_label`, :func:`~aips.config.labels.term_label`);
    ``headers`` and ``names`` given here win. CSV and JSON keep the raw names."""
    fmt = OutputFormat(fmt)
    lang = str(getattr(lang, "value", lang))
    rows = records_of(data)
    if fmt is OutputFormat.json:
        sys.stdout.write(json.dumps(rows, ensure_ascii=False, indent=1) + "\n")
        return
    columns = list(rows[0]) if rows else _columns_of(data)
    if fmt is OutputFormat.csv:
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        sys.stdout.write(buf.getvalue())
        return
    from aips.cli.format import render_table

    if lang != "en":
        from aips.config.labels import column_label, term_label

        headers = {**{c: column_label(c, lang) for c in columns}, **(headers or {})}
        names = {**{c: (lambda v, c=c: term_label(c, v, lang)) for c in columns}, **(names or {})}
    render_table(rows, columns, title=title, lang=lang, headers=headers, names=names)


def _columns_of(data: Any) -> list[str]:
    for attr in ("columns", "column_names"):
        if hasattr(data, attr):
            return list(getattr(data, attr))
    return []
