"""The progress line of a command on a Spark store: one status line on stderr, only when
stderr is a terminal (never in pipes, files or tests), showing the running Spark job::

    ⠹ spark local[2]: 2 stages, 9/16 tasks (2 running) · 0:00:12
    ⠹ spark sc://10.0.0.5:15002: 1 stage, 180/400 tasks (8 running), 1.2 GiB read · 0:01:40

While the store opens it says ``spark local[2]: starting`` (``connecting`` for Spark
Connect), and between two jobs ``spark ...: working`` (the driver plans the next query or
aips works on a small result). The line goes away when the command ends, so stdout and
stderr keep only the command's own output. DuckDB stores show nothing.

>>> spark_line("local[2]", JobStatus(stages=2, tasks=16, done=9, running=2), 12.4)
'spark local[2]: 2 stages, 9/16 tasks (2 running) · 0:00:12'
>>> spark_line("sc://h:15002", JobStatus(1, 400, 180, 8, bytes_read=3 << 29), 100)
'spark sc://h:15002: 1 stage, 180/400 tasks (8 running), 1.5 GiB read · 0:01:40'
>>> spark_line("yarn", None, 3.0, idle="working")
'spark yarn: working · 0:00:03'
"""

from __future__ import annotations

import contextlib
import functools
import threading
import time
from collections.abc import Iterator
from typing import Any

from aips._compat.spark import JobStatus


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


def spark_line(where: str, status: JobStatus | None, seconds: float, idle: str = "working") -> str:
    """The text of the progress line (see the module docstring)."""
    clock = time.strftime("%H:%M:%S", time.gmtime(seconds)).removeprefix("0").rjust(7, "0")
    if status is None:
        return f"spark {where}: {idle} · {clock}"
    stages = f"{status.stages} stage{'s' if status.stages != 1 else ''}"
    read = f", {_size(status.bytes_read)} read" if status.bytes_read else ""
    return (f"spark {where}: {stages}, {status.done}/{status.tasks} tasks "
            f"({status.running} running){read} · {clock}")


class _Line:
    """The live status line (a rich spinner); ``watch(store)`` follows the store's Spark jobs."""

    def __init__(self, where: str, status: Any):
        self.where, self.status = where, status
        self.started = time.monotonic()
        self.idle = "connecting" if where.startswith("sc://") else "starting"
        self.job: JobStatus | None = None
        self.lock = threading.Lock()
        self.stop_watch: Any = None

    def show(self) -> None:
        from rich.text import Text

        text = spark_line(self.where, self.job, time.monotonic() - self.started, self.idle)
        with self.lock:  # one line, cut to the terminal's width: a wrapped line is not redrawn in place
            self.status.update(text=Text(text, no_wrap=True, overflow="ellipsis"))

    def report(self, job: JobStatus | None) -> None:
        self.job = job
        self.show()

    def watch(self, store: Any) -> None:
        self.idle = "working"
        self.stop_watch = store.watch_jobs(self.report)
        self.show()


@contextlib.contextmanager
def spark_progress(store: str | None) -> Iterator[Any]:
    """A status line for a command on the store ``store`` (a ``--store`` value): yields an
    object whose ``watch(store)`` follows the opened store's jobs; a no-op unless ``store``
    is a Spark URL and stderr a terminal."""
    import os

    from aips.store.connect import STORE_ENV
    from aips.store.spark import spark_target

    target = spark_target(store or os.environ.get(STORE_ENV) or "")
    console = stderr_console()
    if target is None or not console.is_terminal:
        yield _NoLine()
        return
    from rich.live import Live
    from rich.spinner import Spinner

    where = target.url
    spinner = Spinner("dots", style="green")
    # stdout stays the command's own: rich's default would send it to this (stderr) console
    with Live(spinner, console=console, transient=True, refresh_per_second=8,
              redirect_stdout=False, redirect_stderr=False):
        line = _Line(where, spinner)
        ticker = threading.Event()

        def tick() -> None:  # the clock moves while a job's tasks do not
            while not ticker.wait(1.0):
                line.show()

        thread = threading.Thread(target=tick, name="aips-progress-clock", daemon=True)
        thread.start()
        try:
            line.show()
            yield line
        finally:
            ticker.set()
            if line.stop_watch is not None:
                with contextlib.suppress(Exception):
                    line.stop_watch()
            thread.join(timeout=2)


class _NoLine:
    def watch(self, store: Any) -> None:
        """Nothing to show."""
