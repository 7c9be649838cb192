"""The Spark progress line (aips.cli.progress) without Spark: a fake store reports jobs, a
console that claims to be a terminal records what is drawn."""

from __future__ import annotations

import io
import sys
import time

import pytest
from rich.console import Console

import aips.cli.progress as progress
from aips._compat.spark import JobStatus


class FakeStore:
    """Reports one running job when watched, and records that the watch stopped."""

    def __init__(self):
        self.stopped = False

    def watch_jobs(self, report):
        report(JobStatus(stages=2, tasks=8, done=3, running=2))
        return lambda: setattr(self, "stopped", True)


@pytest.fixture
def terminal(monkeypatch):
    buf = io.StringIO()
    console = Console(file=buf, force_terminal=True, width=120)
    monkeypatch.setattr(progress, "stderr_console", lambda: console)
    return buf


def test_the_line_shows_the_job_and_leaves_stdout_alone(terminal, capsys):
    store = FakeStore()
    stdout = sys.stdout
    with progress.spark_progress("local[2]") as line:
        line.watch(store)
        assert sys.stdout is stdout  # rich's Live must not take stdout over (JSON goes there)
        print('{"ok": 1}')
        time.sleep(0.3)  # a refresh or two
    assert store.stopped
    assert capsys.readouterr().out == '{"ok": 1}\n'
    drawn = terminal.getvalue()
    assert "spark local[2]: 2 stages, 3/8 tasks (2 running)" in drawn
    assert '{"ok"' not in drawn


def test_nothing_is_drawn_for_duckdb_or_a_pipe(monkeypatch, terminal):
    with progress.spark_progress("aips.duckdb") as line:
        line.watch(FakeStore())
    assert terminal.getvalue() == ""
    pipe = io.StringIO()
    monkeypatch.setattr(progress, "stderr_console", lambda: Console(file=pipe))  # not a terminal
    with progress.spark_progress("sc://h:15002") as line:
        line.watch(FakeStore())
    assert pipe.getvalue() == ""
