"""The progress line (aips.cli.progress): without Spark, a fake store reports jobs; on a
real DuckDB store, a long query reports its share done. A console that claims to be a
terminal records what is drawn."""

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


class FakeQueries(FakeStore):
    """A DuckDB store's watch: the running query's share done."""

    def watch_jobs(self, report):
        report(12.5)
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
    with progress.store_progress("local[2]") as line:
        line.watch(store)
        assert sys.stdout is stdout  # rich's Live must not take stdout over (JSON goes there)
        print('{"ok": 1}')
        time.sleep(0.3)  # a refresh or two
    assert store.stopped
    assert capsys.readouterr().out == '{"ok": 1}\n'
    drawn = terminal.getvalue()
    assert "spark local[2]: 2 stages, 3/8 tasks (2 running)" in drawn
    assert '{"ok"' not in drawn


def test_nothing_is_drawn_for_a_quick_duckdb_command_or_a_pipe(monkeypatch, terminal):
    with progress.store_progress("aips.duckdb") as line:  # done within DUCKDB_DELAY
        line.watch(FakeQueries())
    assert terminal.getvalue() == ""
    pipe = io.StringIO()
    monkeypatch.setattr(progress, "stderr_console", lambda: Console(file=pipe))  # not a terminal
    with progress.store_progress("sc://h:15002") as line:
        line.watch(FakeStore())
    assert pipe.getvalue() == ""


def test_a_long_duckdb_query_shows_its_share_done(monkeypatch, terminal, tmp_path):
    from aips.store import connect

    monkeypatch.setattr(progress, "DUCKDB_DELAY", 0.0)
    path = tmp_path / "s.duckdb"
    store = connect(str(path))
    seen = []
    stop = store.watch_jobs(seen.append, interval=0.02)
    try:
        with progress.store_progress(str(path)) as line:
            line.watch(store)
            con = store.backend.con
            con.execute("set progress_bar_time = 0")  # DuckDB reports progress after 2 s by default
            con.execute("create table big as select i from range(5000000) t(i)")
            deadline = time.monotonic() + 120
            # a table scan (DuckDB estimates its progress; a range() has none), long enough to
            # be polled mid-way on any machine, by this test's watcher and by the line's own
            # (every 0.5 s, drawn at once): the table doubles until both have seen a share
            while (not any(p is not None and 0 < p < 100 for p in seen) or "% · " not in terminal.getvalue()) \
                    and time.monotonic() < deadline:
                con.execute("select count(*) from (select i % 1000003 as g, sum(i::double * i) "
                            "from big group by g)").fetchall()
                con.execute("insert into big select i from big")
            time.sleep(0.3)
    finally:
        stop()
        store.close()
    shares = [p for p in seen if p is not None]
    assert shares and all(0 <= p <= 100 for p in shares)
    assert seen[-1] is None or seen[-1] >= 0  # between queries: None
    drawn = terminal.getvalue()
    assert "duckdb s.duckdb: query " in drawn and "% · 0:00:" in drawn


def test_duckdb_tracks_progress_but_never_prints_its_bar(tmp_path):
    from aips.store import connect

    store = connect(str(tmp_path / "s.duckdb"))
    try:
        got = dict(store.backend.con.execute(
            "select name, value from duckdb_settings() where name like 'enable_progress_bar%'").fetchall())
    finally:
        store.close()
    assert got == {"enable_progress_bar": "true", "enable_progress_bar_print": "false"}


def test_the_line_speaks_the_commands_language(monkeypatch, terminal):
    """``--lang zh``: the line's words are Chinese (a DuckDB query's share, Spark's tasks)."""
    monkeypatch.setattr(progress, "DUCKDB_DELAY", 0.0)
    with progress.store_progress("aips.duckdb", "zh") as line:
        line.watch(FakeQueries())
        time.sleep(0.3)
    with progress.store_progress("local[2]", "zh") as line:
        line.watch(FakeStore())
        time.sleep(0.3)
    drawn = terminal.getvalue()
    assert "duckdb aips.duckdb: 查询 12%" in drawn
    assert "spark local[2]: 2 个阶段，3/8 个任务（2 个运行中）" in drawn
    assert "query" not in drawn and "tasks" not in drawn


def test_a_command_passes_its_lang_to_the_line(monkeypatch, tmp_path):
    """The CLI's ``--lang zh`` reaches :func:`aips.cli.progress.store_progress`."""
    from typer.testing import CliRunner

    from aips.cli.app import app

    langs = []
    real = progress.store_progress

    def spy(store, lang="en"):
        langs.append(lang)
        return real(store, lang)

    monkeypatch.setattr(progress, "store_progress", spy)
    import duckdb

    store = str(tmp_path / "s.duckdb")
    duckdb.connect(store).close()  # an empty store: the command fails after opening it
    CliRunner().invoke(app, ["assets", "--at", "2024-01-01", "--store", store, "--lang", "zh"])
    CliRunner().invoke(app, ["assets", "--at", "2024-01-01", "--store", store])
    assert langs == ["zh", "en"]
