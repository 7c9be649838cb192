"""The progress line of a command: one status line on stderr, only when stderr is a
terminal (never in pipes, files or tests), showing the running Spark job or DuckDB query::

    ⠹ spark local[2]: 2 stages, 9/16 tasks (2 running) · 0:00:12
    ⠹ spark sc://10.0.0.5:15002: 1 stage, 180/400 tasks (8 running), 1.2 GiB read · 0:01:40
    ⠹ duckdb aips.duckdb: query 45% · 0:03:10

While a Spark store opens it says ``spark local[2]: starting`` (``connecting`` for Spark
Connect), and between two jobs or queries ``working`` (the driver plans the next query or
aips works on a small result). On a DuckDB store the line appears only once the command
has run :data:`DUCKDB_DELAY` seconds (a snapshot on a laptop shows nothing; an hour-long
first ``series --update`` of a billion events shows each query move). The line goes away
when the command ends, so stdout and stderr keep only the command's own output.

>>> spark_line("local[2]", JobStatus(stages=2, tasks=16, done=9, running=2), 12.4)
'spark local[2]: 2 stages, 9/16 tasks (2 running) · 0:00:12'
>>> spark_line("sc://h:15002", JobStatus(1, 400, 180, 8, bytes_read=3 << 29), 100)
'spark sc://h:15002: 1 stage, 180/400 tasks (8 running), 1.5 GiB read · 0:01:40'
>>> spark_line("yarn", None, 3.0, idle="working")
'spark yarn: working · 0:00:03'
>>> duckdb_line("aips.duckdb", 45.7, 190)
'duckdb aips.duckdb: query 45% · 0:03:10'
>>> duckdb_line("aips.duckdb", 0.0, 4)
'duckdb aips.duckdb: running a query · 0:00:04'
"""

from __future__ import annotations

import contextlib
import functools
import threading
import time
from collections.abc import Iterator
from typing import Any

from aips._compat.spark import JobStatus
from aips.config.labels import t


@functools.cache
def stderr_console() -> Any:
    """The one rich console on stderr that every status and bar of a command shares (rich
    nests live displays on one console; two consoles would overwrite each other's line)."""
    from rich.console import Console

    return Console(stderr=True)


def _size(n: int) -> str:
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n} B"


DUCKDB_DELAY = 2.0
"""Seconds a command on a DuckDB store runs before its progress line appears."""


def _clock(seconds: float) -> str:
    return time.strftime("%H:%M:%S", time.gmtime(seconds)).removeprefix("0").rjust(7, "0")


def duckdb_line(where: str, percent: float | None, seconds: float, idle: str = "working",
                lang: str = "en") -> str:
    """The text of a DuckDB store's progress line: the running query's share done (DuckDB's
    own estimate, per query: a command runs several), or ``idle`` (``starting``,
    ``working``) between queries; in ``lang``.

    >>> duckdb_line("aips.duckdb", 45.7, 190, lang="zh")
    'duckdb aips.duckdb: 查询 45% · 0:03:10'
    """
    if percent is None:
        text = t(f"progress.{idle}", lang)
    elif percent <= 0:  # a blocking step (a sort, a window) reports nothing until it is done
        text = t("progress.running", lang)
    else:
        text = t("progress.query", lang, percent=int(percent))
    return f"duckdb {where}: {text} · {_clock(seconds)}"


def spark_line(where: str, status: JobStatus | None, seconds: float, idle: str = "working",
               lang: str = "en") -> str:
    """The text of a Spark store's progress line (see the module docstring), in ``lang``.

    >>> spark_line("local[2]", JobStatus(stages=2, tasks=16, done=9, running=2), 12.4, lang="zh")
    'spark local[2]: 2 个阶段，9/16 个任务（2 个运行中） · 0:00:12'
    """
    clock = _clock(seconds)
    if status is None:
        return f"spark {where}: {t(f'progress.{idle}', lang)} · {clock}"
    counts = {"stages": status.stages, "done": status.done, "tasks": status.tasks, "running": status.running}
    text = t("progress.stage" if status.stages == 1 else "progress.stages", lang, **counts)
    read = t("progress.read", lang, size=_size(status.bytes_read)) if status.bytes_read else ""
    return f"spark {where}: {text}{read} · {clock}"


class _Line:
    """The live status line (a rich spinner); ``watch(store)`` follows the store's Spark
    jobs or DuckDB queries (``kind``: ``spark`` or ``duckdb``)."""

    def __init__(self, where: str, status: Any, kind: str = "spark", lang: str = "en"):
        self.where, self.status, self.kind, self.lang = where, status, kind, lang
        self.started = time.monotonic()
        self.idle = "connecting" if where.startswith("sc://") else "starting"
        self.job: Any = None
        self.lock = threading.Lock()
        self.stop_watch: Any = None

    def show(self) -> None:
        from rich.text import Text

        render = duckdb_line if self.kind == "duckdb" else spark_line
        text = render(self.where, self.job, time.monotonic() - self.started, self.idle, self.lang)
        with self.lock:  # one line, cut to the terminal's width: a wrapped line is not redrawn in place
            self.status.update(text=Text(text, no_wrap=True, overflow="ellipsis"))

    def report(self, job: Any) -> None:
        self.job = job
        self.show()

    def watch(self, store: Any) -> None:
        self.idle = "working"
        self.stop_watch = store.watch_jobs(self.report)
        self.show()


@contextlib.contextmanager
def store_progress(store: str | None, lang: str = "en") -> Iterator[Any]:
    """A status line for a command on the store ``store`` (a ``--store`` value): yields an
    object whose ``watch(store)`` follows the opened store's Spark jobs or DuckDB queries;
    a no-op unless stderr is a terminal (and for ``:memory:``). On DuckDB the line shows
    after :data:`DUCKDB_DELAY` seconds. Its words are in ``lang`` (``--lang``)."""
    import os
    from pathlib import Path

    from aips.store.connect import DEFAULT_STORE, STORE_ENV
    from aips.store.spark import spark_target

    text = store or os.environ.get(STORE_ENV) or DEFAULT_STORE
    target = spark_target(text)
    console = stderr_console()
    if not console.is_terminal or (target is None and text == ":memory:"):
        yield _NoLine()
        return
    from rich.live import Live
    from rich.spinner import Spinner

    kind, where, delay = ("spark", target.url, 0.0) if target is not None else (
        "duckdb", Path(text).name, DUCKDB_DELAY)
    spinner = Spinner("dots", style="green")
    # stdout stays the command's own: rich's default would send it to this (stderr) console
    live = Live(spinner, console=console, transient=True, refresh_per_second=8,
                redirect_stdout=False, redirect_stderr=False)
    line = _Line(where, spinner, kind, lang)
    finished = threading.Event()
    guard = threading.Lock()  # the line starts (after the delay) and stops once
    shown = False

    def tick() -> None:  # starts the line after the delay; the clock moves while jobs do not
        nonlocal shown
        if finished.wait(delay):
            return
        with guard:
            if finished.is_set():
                return
            live.start()
            shown = True
        line.show()
        while not finished.wait(1.0):
            line.show()

    thread = threading.Thread(target=tick, name="aips-progress-clock", daemon=True)
    thread.start()
    try:
        yield line
    finally:
        with guard:
            finished.set()
            if shown:
                live.stop()
        if line.stop_watch is not None:
            with contextlib.suppress(Exception):
                line.stop_watch()
        thread.join(timeout=2)


class _NoLine:
    def watch(self, store: Any) -> None:
        """Nothing to show."""
