"""Many processes on one DuckDB store (issue 16, item 8).

Read commands open the store read-only and run side by side; a writer waits a bounded time
for readers (a progress line on stderr) instead of failing; the dashboard's data service
opens the store read-only per burst of requests, so an ingest lands while it serves.

The dashboard test ingests 200,000 rows in another process (not 3M: on a shared 2-core
machine that alone takes minutes); it overlaps the request loop by many seconds.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import duckdb
import pytest

import aips
from aips.exceptions import StoreError

SRC = str(Path(aips.__file__).resolve().parents[1])
AT = "2024-01-01"  # the first file's rows all fall on this local day


def _csv(path: Path, n: int, *, start: str = "2024-01-01", days: int = 5, brand: str | None = None,
         offset: int = 0) -> Path:
    brand_expr = f"'{brand}'" if brand else "'b' || (i % 3)"
    duckdb.sql(f"""
        copy (select 'e' || (i + {offset}) as event_id,
                     timestamp '{start} 00:00:00' + to_seconds((i * 7) % (86400 * {days})) as ts,
                     'u' || (i % 997) as user_id, {brand_expr} as brand,
                     ['read', 'like', 'search', 'read'][1 + (i % 4)::int] as event_type
              from range({n}) t(i)) to '{path}' (header)""")
    return path


def _store(tmp_path: Path) -> Path:
    store = tmp_path / "aips.duckdb"
    with aips.open(str(store)) as ws:
        ws.ingest(_csv(tmp_path / "first.csv", 2000), quarantine_dir=tmp_path / "q")
    return store


def _env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = SRC + os.pathsep + env.get("PYTHONPATH", "")
    env.pop("AIPS_STORE", None)
    env.update(extra)
    return env


def _aips(*args: str, **env: str) -> subprocess.Popen:
    code = "import sys; from aips.cli.app import main; sys.argv[0] = 'aips'; main()"
    return subprocess.Popen([sys.executable, "-c", code, *args], env=_env(**env),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _first_line(proc: subprocess.Popen, timeout: float = 90) -> str:
    """The first line ``proc`` writes to stderr (within ``timeout`` seconds)."""
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.append(proc.stderr.readline()), daemon=True)
    reader.start()
    reader.join(timeout)
    return lines[0] if lines else ""


def _events(store: Path) -> int:
    with aips.open(str(store), read_only=True) as ws:
        return int(ws.events.count().to_pyarrow().as_py())


def test_readers_side_by_side(tmp_path):
    """Two read commands at once, beside a notebook's ``aips.open(read_only=True)``."""
    store = _store(tmp_path)
    with aips.open(str(store), read_only=True) as ws:
        procs = [_aips("assets", "--at", AT, "--store", str(store), "--format", "csv",
                       AIPS_LOCK_TIMEOUT="0") for _ in range(2)]
        outs = [p.communicate(timeout=120) for p in procs]
        assert int(ws.events.count().to_pyarrow().as_py()) == 2000
    for p, (out, err) in zip(procs, outs, strict=True):
        assert p.returncode == 0, err
        assert "brand,stage,users" in out


def test_writer_waits_for_readers(tmp_path):
    """An ingest started while a reader holds the store waits (saying so), then lands every row."""
    store = _store(tmp_path)
    more = _csv(tmp_path / "more.csv", 3000, start="2024-01-06", offset=10_000)
    ws = aips.open(str(store), read_only=True)
    proc = _aips("ingest", str(more), "--store", str(store), "--lock-timeout", "60")
    first = _first_line(proc)  # the writer says it waits, and goes on waiting
    assert "in use; waiting up to 60 s" in first
    time.sleep(1)
    assert proc.poll() is None, "the ingest did not wait for the reader"
    ws.close()
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, first + err
    assert "Traceback" not in err
    assert _events(store) == 5000


def test_ingest_reads_its_files_without_the_write_lock(tmp_path, monkeypatch):
    """An ingest into an existing store reads and stages its files holding only a read lock:
    a read command run meanwhile answers at once (no wait); the write lock is taken for the
    final transaction, and every row lands."""
    import aips.ingest.load as load

    store = _store(tmp_path)
    more = _csv(tmp_path / "more.csv", 3000, start="2024-01-06", offset=10_000)
    seen: dict = {}
    read_file = load._Run.read_file

    def read_while_staging(self, path, index, fr):
        proc = _aips("assets", "--at", AT, "--store", str(store), "--format", "csv",
                     AIPS_LOCK_TIMEOUT="0")
        seen["rc"], seen["err"] = proc.returncode, proc.communicate(timeout=120)[1]
        seen["rc"] = proc.returncode
        return read_file(self, path, index, fr)

    monkeypatch.setattr(load._Run, "read_file", read_while_staging)
    with aips.open(str(store), read_only=True) as ws:
        report = ws.ingest(more, quarantine_dir=tmp_path / "q")
        assert ws.store.read_only  # back to reading after the final transaction
    assert seen["rc"] == 0, seen["err"]
    assert report.loaded == 3000
    assert _events(store) == 5000


def test_lock_timeout_is_a_clear_error(tmp_path):
    """A reader that cannot get the store within the timeout: ``aips: ...``, exit 1, no traceback."""
    store = _store(tmp_path)
    with aips.open(str(store)):  # a writer holds the file
        proc = _aips("assets", "--at", AT, "--store", str(store), AIPS_LOCK_TIMEOUT="0.5")
        out, err = proc.communicate(timeout=120)
    assert proc.returncode == 1
    assert err.startswith("aips: ") and "Traceback" not in err
    assert "is in use" in err and "--lock-timeout" in err


def test_read_only_open_creates_nothing(tmp_path):
    target = tmp_path / "sub" / "nope.duckdb"
    with pytest.raises(StoreError, match="no store at .*aips ingest FILE --store"):
        aips.open(str(target), read_only=True)
    assert not (tmp_path / "sub").exists()


def test_dashboard_serves_while_an_ingest_lands(tmp_path, monkeypatch):
    """The dashboard's service answers every request of a loop while another process
    ingests 3,000,000 rows (the issue's size); the ingest lands them all and the next request
    shows the new day."""
    from aips.dashboard.service import DataService

    monkeypatch.setenv("AIPS_LOCK_TIMEOUT", "120")
    store = _store(tmp_path)
    n = 3_000_000
    big = _csv(tmp_path / "big.csv", n, start="2024-01-10", days=1, brand="late", offset=100_000)
    svc = DataService(str(store), idle=0.2)
    assert "late" not in svc.brands()
    assert str(svc.data_range()[1]) < "2024-01-10"

    proc = _aips("ingest", str(big), "--store", str(store), "--lock-timeout", "120")
    answered, during = 0, 0
    deadline = time.monotonic() + 900
    while answered < 2000 and time.monotonic() < deadline:
        running = proc.poll() is None
        brands = svc.brands()  # every request answers (a waiting one answers after the ingest)
        first, last = svc.data_range()
        assert brands and first is not None
        answered += 1
        during += running
        if not running:
            break
        time.sleep(0.05)
    out, err = proc.communicate(timeout=900)
    assert proc.returncode == 0, err
    assert during >= 2, f"only {during} request(s) overlapped the ingest"
    # the next request shows the new data
    assert "late" in svc.brands()
    assert str(svc.data_range()[1]) == "2024-01-10"
    svc.close()
    assert _events(store) == 2000 + n


@pytest.mark.parametrize("backfill", [False, True], ids=["update", "backfill"])
def test_series_update_computes_without_the_write_lock(tmp_path, monkeypatch, backfill):
    """``aips series --update`` (and ``--backfill``) on an existing store computes the
    rollup and the history holding only a read lock: a read command run between compute
    and publish answers at once (no wait); the write lock is taken for the final writes,
    and the history lands (the same rows as a series computed from the events)."""
    from typer.testing import CliRunner

    import aips.maintain.history as history
    from aips.cli.app import app
    from aips.engine.series import asset_series

    store = _store(tmp_path)
    seen: dict = {}
    history_rows = history.history_rows

    def read_while_computing(*args, **kwargs):  # the rollup is computed; nothing written yet
        rows = history_rows(*args, **kwargs)
        proc = _aips("assets", "--at", AT, "--store", str(store), "--format", "csv",
                     AIPS_LOCK_TIMEOUT="0")
        seen["err"] = proc.communicate(timeout=120)[1]
        seen["rc"] = proc.returncode
        return rows

    monkeypatch.setattr(history, "history_rows", read_while_computing)
    args = (["--backfill", "--from", AT, "--to", AT] if backfill
            else ["--update"])
    result = CliRunner().invoke(app, ["series", *args, "--store", str(store), "--lock-timeout", "5"])
    assert result.exit_code == 0, result.output
    assert seen.get("rc") == 0, seen.get("err")
    with aips.open(str(store), read_only=True) as ws:
        day = dt.date.fromisoformat(AT)
        assert history.covered_days(ws.store, ws.model.level) == (day, day)
        stored = history.read_history(ws.store, ws.model, day, day).to_pyarrow().to_pylist()
        fresh = asset_series(ws.store.table("counters_daily"), ws.model, day, day,
                             level=ws.model.level).to_pyarrow().to_pylist()
    assert stored
    key = lambda r: (str(r["date"]), r["brand"], r["stage"])  # noqa: E731
    assert sorted(stored, key=key) == sorted(fresh, key=key)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".aips-maintain-")]


def test_series_update_on_a_read_only_store_matches_a_read_write_one(tmp_path):
    """Opened read-only, an update stages the refreshed rollup (full, then incremental
    after a late load) and writes the same tables as an update on a read-write store."""
    from aips.maintain.history import HISTORY_TABLE
    from aips.maintain.rollup import COUNTERS_TABLE

    def tables(path: Path) -> dict:
        with aips.open(str(path), read_only=True) as ws:
            out = {name: sorted(map(str, ws.store.table(name).to_pyarrow().to_pylist()))
                   for name in (COUNTERS_TABLE, HISTORY_TABLE, "asset_history_days")}
            state = ws.store.table("counters_state").to_pyarrow().to_pylist()
            out["state"] = sorted(str(r) for r in state if r["key"] != "load")  # load ids differ
            return out

    more = _csv(tmp_path / "more.csv", 3000, start="2024-01-02", days=3, offset=10_000)
    results = []
    for name, read_only in (("ro", True), ("rw", False)):
        (tmp_path / name).mkdir()
        store = _store(tmp_path / name)
        with aips.open(str(store), read_only=read_only) as ws:
            first = ws.update_series().asdict()
        with aips.open(str(store)) as ws:
            ws.ingest(more, quarantine_dir=tmp_path / name / "q")
        with aips.open(str(store), read_only=read_only) as ws:
            second = ws.update_series().asdict()
            assert ws.store.read_only is read_only
        results.append((first, second, tables(store)))
    assert results[0] == results[1]
    assert results[0][1]["counters"].startswith("counters_daily: recomputed")
    assert results[0][1]["appended"]
