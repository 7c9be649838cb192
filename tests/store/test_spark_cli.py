"""The CLI on real Spark stores, as a user runs it:

* one Spark Connect server for the whole session (started from the ``pyspark`` package,
  catalog in a temp folder) runs the CLI spine: ingest the Taobao
  and REES46 samples, then assets, series, flows, funnel, attribute, report; every output
  equals the DuckDB store's. The commands of one store run in one process (:mod:`cli_batch`:
  each ``aips`` process spends ~2 CPU s starting Python and the Connect client), and one
  command again in its own process, as a user runs it;
* every other command (series with the stored ``asset_history`` and its ``--update``,
  competitors, penetration, cycle, roi, loyalty, attribute --compare and incremental,
  audience with an export, creators, diagnose, portrait, content, engagement) runs on a
  small simulated world with every side table (one process per store) and equals DuckDB's;
* two commands against ``local[2]`` with a warehouse folder: the second sees the first's
  tables (the catalog persists in the folder);
* stderr stays quiet on both kinds of store (no Java/Spark log line), stdout is the
  command's JSON, and what Spark cannot do is refused before Spark starts.

The commands run in the background while the rest of the suite runs
(``tests/spark_cli_work.py``, started by ``tests/conftest.py`` after the browser tests); the
tests here compare their outputs.

The ingest balance lines are hand values (the samples' row counts; REES46's head has 2,477
rows without a brand and 5 duplicate rows), and every compared output is checked to be
non-empty, so an empty result on both backends cannot pass.
"""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from spark_cli_work import AIPS, SPINE, WORLD_COMMANDS, clean_env

BACKENDS = [b for b in os.environ.get("AIPS_TEST_BACKENDS", "duckdb,pyspark").split(",") if b]
pytestmark = [
    pytest.mark.spark,
    pytest.mark.skipif("pyspark" not in BACKENDS, reason="Spark is not among AIPS_TEST_BACKENDS"),
]

BALANCE = {
    "taobao": "events: 4,321 rows read = 4,321 loaded + 0 duplicates + 0 ignored + 0 quarantined",
    "rees46": "events: 17,434 rows read = 14,952 loaded + 5 duplicates + 0 ignored + 2,477 quarantined",
}
"""Hand values: the Taobao head has 4,321 clean rows; the REES46 head 17,434 rows of which
2,477 have no brand and 5 repeat an earlier row exactly."""


SPARK_NOISE = re.compile(r"\b(INFO|WARN|ERROR)\b|\[Stage \d|Setting default log level|log4j|SLF4J|"
                         r"WARNING: Using incubator|Ivy|\{\"ts\": |NativeCodeLoader|Exception")


def assert_quiet(err: str, allowed: tuple[str, ...] = ()) -> None:
    """No Java/Spark log line, progress bar or PySpark JSON log on a command's stderr
    (``allowed``: lines aips itself writes)."""
    for line in err.splitlines():
        if line.strip() and not line.startswith(allowed):
            assert not SPARK_NOISE.search(line), f"Spark noise on stderr: {line!r}\n{err[-2000:]}"


def close(a, b, path="$"):
    """Equal JSON, floats to 1e-9 relative (Spark may sum in another order)."""
    if isinstance(a, float) or isinstance(b, float):
        assert a is not None and b is not None and math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12), \
            f"{path}: {a!r} != {b!r}"
    elif isinstance(a, dict):
        assert isinstance(b, dict) and list(a) == list(b), f"{path}: keys {list(a)} != {list(b)}"
        for k in a:
            close(a[k], b[k], f"{path}.{k}")
    elif isinstance(a, list):
        assert isinstance(b, list) and len(a) == len(b), f"{path}: {len(a)} rows != {len(b)} rows"
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            close(x, y, f"{path}[{i}]")
    else:
        assert a == b, f"{path}: {a!r} != {b!r}"


@pytest.fixture(scope="session")
def connect_server(spark_cli_work):
    """The Spark Connect server of the background work, once it listens."""
    spark_cli_work.url()
    return spark_cli_work.server


def test_cli_spine_on_spark_connect_equals_duckdb(spark_cli_work, connect_server):
    duckdb_spine, got = spark_cli_work.result("spine_duckdb"), spark_cli_work.result("spine_spark")
    print(f"spine on {connect_server.url}: done {spark_cli_work.seconds['spine_spark']:.0f} s after the "
          f"start (DuckDB's {spark_cli_work.seconds['spine_duckdb']:.0f} s)\n  spark: {got['timings']}")
    for preset, line in BALANCE.items():
        assert duckdb_spine[f"ingest_{preset}"] == line
    assert list(got) == list(duckdb_spine)
    # quiet: stdout was JSON that parsed (above); stderr has no Java/Spark line, only what
    # aips says (the report's "wrote ..." line; ingest's notes)
    for err in got["stderr"]:
        assert_quiet(err)
    for name in SPINE:
        assert duckdb_spine[name], f"{name}: empty on DuckDB (the comparison would prove nothing)"
        close(duckdb_spine[name], got[name], name)
    assert got["ingest_taobao"] == BALANCE["taobao"] and got["ingest_rees46"] == BALANCE["rees46"]
    assert "samsung" in duckdb_spine["report"]
    assert got["report"] == duckdb_spine["report"]
    # and as a user runs it: one command in its own process, quiet, the same answer
    own, err = spark_cli_work.result("own_process")
    assert_quiet(err)
    close(duckdb_spine["assets_rees46"], json.loads(own), "assets_rees46 (own process)")
    # nothing lands in the client's folder: the tables live in the server's warehouse
    assert not (spark_cli_work.root / "spine-spark" / "aips-warehouse").exists()
    assert (connect_server.folder / "warehouse" / "aips.db" / "events").is_dir()


def test_source_on_spark_connect_equals_duckdb(spark_cli_work, connect_server):
    """``aips source events`` of the Taobao head as a Parquet file (strings, as read from
    the CSV), over Spark Connect into its own database: the balance line (hand values), then
    ``assets`` on the view equal the DuckDB store's (which ingested the CSV). REES46
    (quarantine, duplicates) is sourced on local[2] and compared with DuckDB in
    tests/ingest/test_source.py."""
    got = spark_cli_work.result("source")
    assert got["line"] == BALANCE["taobao"]
    for err in got["stderr"]:
        assert_quiet(err)
    duckdb_spine = spark_cli_work.result("spine_duckdb")
    assert duckdb_spine["assets_taobao"]
    close(duckdb_spine["assets_taobao"], got["assets"], "assets_taobao")
    assert (connect_server.folder / "warehouse" / "sourced.db" / "aips_source_files").is_dir()


def test_two_commands_share_a_local_warehouse(spark_cli_work):
    """``aips ingest`` then ``aips assets`` in two processes on local[2]: the catalog persists
    in the warehouse folder; the old ``spark://local[2]`` spelling still works (same
    warehouse), with a deprecation note on stderr."""
    got = spark_cli_work.result("local_warehouse")
    assert got["first"].splitlines()[0] == BALANCE["taobao"]
    assert got["persisted"], "no metastore_db or aips.db/events in the warehouse folder"
    assert "spark://local[2] is deprecated: write local[2]" in got["stderr"][-1]
    for err in got["stderr"]:
        assert_quiet(err)
    assert got["second"], "the second command saw no assets"
    close(spark_cli_work.result("spine_duckdb")["assets_taobao"], got["second"], "assets_taobao")


# --- every other command, on a simulated world with every side table ----------------------


def export_ids(folder: Path) -> list[str]:
    """The ids of an audience export, pack by pack, as its manifest lists them."""
    import csv

    manifest = json.loads((folder / "aud.manifest.json").read_text(encoding="utf-8"))
    ids = []
    for f in manifest["files"]:
        with open(folder / f["name"], newline="", encoding="utf-8") as fh:
            rows = list(csv.reader(fh))
        assert rows[0] == ["sha256"] and len(rows) - 1 == f["rows"] <= 40
        ids += [r[0] for r in rows[1:]]
    assert len(ids) == manifest["counts"]["ids"]
    return ids


def test_every_command_on_spark_connect_equals_duckdb(spark_cli_work, connect_server):
    duck, spark = spark_cli_work.result("world_duckdb"), spark_cli_work.result("world_spark")
    print(f"world commands on {connect_server.url}: done {spark_cli_work.seconds['world_spark']:.0f} s after "
          f"the start (DuckDB's {spark_cli_work.seconds['world_duckdb']:.0f} s)\n"
          f"  spark: {spark['timings']}\n  duckdb: {duck['timings']}")
    for step in ("ingest", "ingest_last_day"):
        assert duck[step] == spark[step] and " 0 loaded" not in duck[step], duck[step]
    assert duck["series_stored"] and duck["series_stored"] == spark["series_stored"]
    # the daily append: the history is extended (not rebuilt) on both stores
    assert "appended" in duck["series_update_note"], duck["series_update_note"]
    assert spark["series_update_note"] == duck["series_update_note"]
    for name in WORLD_COMMANDS:
        assert duck[name], f"{name}: empty on DuckDB (the comparison would prove nothing)"
        if name == "audience_export":  # the manifest's created_at differs; the ids must not
            for key in ("counts", "ids", "definition", "file_format", "max_size"):
                close(duck[name][key], spark[name][key], f"{name}.{key}")
            continue
        close(duck[name], spark[name], name)
    assert (duck["audience_export"]["writer"], spark["audience_export"]["writer"]) == ("stream", "backend")
    ids = export_ids(spark_cli_work.root / "world-duck")
    assert ids == sorted(ids) and len(ids) > 40  # several packs
    assert export_ids(spark_cli_work.root / "world-spark") == ids


# --- quiet output and up-front refusals ------------------------------------------------------


def test_a_failing_command_on_spark_connect_says_one_line(connect_server, tmp_path):
    """A command that fails on sc:// prints aips's one line on stderr, not PySpark's JSON log
    of the Spark error nor Java's, and nothing on stdout (stderr of commands that work:
    :func:`test_cli_spine_on_spark_connect_equals_duckdb`)."""
    out = subprocess.run([AIPS, "assets", "--at", "2017-12-01", "--brand", "nosuchbrand", "--format", "json",
                          "--store", connect_server.url], capture_output=True, text=True, env=clean_env(),
                         cwd=tmp_path, timeout=300)
    assert out.returncode == 1 and out.stdout == ""
    assert out.stderr.startswith("aips: ") and len(out.stderr.strip().splitlines()) == 1, out.stderr
    assert_quiet(out.stderr, allowed=("aips: ",))


@pytest.mark.parametrize("flag", [["--memory-limit", "2GB"], ["--threads", "2"]])
def test_duckdb_settings_are_refused_before_spark_starts(flag, tmp_path):
    """--memory-limit / --threads cannot act on Spark: refused at once (no JVM starts, no
    warehouse is created), naming the option and the Spark setting to use instead."""
    started = time.monotonic()
    out = subprocess.run([AIPS, "series", "--from", "2025-01-01", "--to", "2025-01-02", "--store", "local[2]",
                          "--warehouse", str(tmp_path / "wh"), *flag], capture_output=True, text=True,
                         env=clean_env(), cwd=tmp_path, timeout=120)
    assert out.returncode == 1 and out.stdout == ""
    assert out.stderr.startswith(f"aips: {flag[0]} does not run on the Spark store local[2]")
    assert "--conf spark." in out.stderr
    assert not (tmp_path / "wh").exists(), "the refusal came after the store was opened"
    assert time.monotonic() - started < 30  # no Spark session: seconds, not a JVM start


PROGRESS_ON_CONNECT = """
import sys
from aips.store.connect import connect

store = connect(sys.argv[1])
seen = []
stop = store.watch_jobs(seen.append)
try:
    store.backend._session.range(0, 300_000_000, numPartitions=8).selectExpr("sum(id % 7) as s").collect()
finally:
    stop()
jobs = [s for s in seen if s is not None]
assert jobs and all(0 <= s.done <= s.tasks for s in jobs), seen
assert max(s.tasks for s in jobs) >= 4, seen
store.backend._session.stop()
print("ok")
"""


def test_progress_line_follows_a_connect_job(connect_server):
    """The Spark Connect progress handler reports the running job's tasks (the server
    reports every 100 ms here), and the watch stops cleanly. In its own process: here a
    local Spark session may already run, and PySpark allows one kind per process."""
    out = subprocess.run([sys.executable, "-c", PROGRESS_ON_CONNECT, connect_server.url],
                         capture_output=True, text=True, env=clean_env(), timeout=300)
    assert out.returncode == 0 and out.stdout.strip().endswith("ok"), out.stderr[-3000:]


def test_progress_line_follows_a_local_job(spark_session):
    """A local session's status tracker, polled from a thread, reports the running job."""
    from aips._compat.spark import watch_jobs

    seen = []
    stop = watch_jobs(spark_session, seen.append, interval=0.02)
    try:
        spark_session.range(0, 30_000_000, numPartitions=4).selectExpr("sum(id % 7) as s").collect()
    finally:
        stop()
    jobs = [s for s in seen if s is not None]
    assert jobs and all(0 <= s.done <= s.tasks for s in jobs), seen
    assert max(s.tasks for s in jobs) >= 4
