"""A value sampled every few seconds in a daemon thread and reported until stopped: how the
progress of a running DuckDB query or Spark job reaches a command's progress line.

>>> import time
>>> seen = []
>>> stop = poll(lambda: 1, seen.append, interval=0.01, name="demo")
>>> time.sleep(0.1)
>>> stop()
>>> seen[0]
1
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any


def poll(sample: Callable[[], Any], report: Callable[[Any], None], *, interval: float,
         name: str, join_timeout: float = 2.0) -> Callable[[], None]:
    """Call ``report(sample())`` every ``interval`` seconds in a daemon thread named
    ``name``; returns the function that stops it (and waits up to ``join_timeout`` s)."""
    stop = threading.Event()

    def run() -> None:
        while not stop.wait(interval):
            report(sample())

    thread = threading.Thread(target=run, name=name, daemon=True)
    thread.start()

    def stop_polling() -> None:
        stop.set()
        thread.join(timeout=join_timeout)

    return stop_polling
