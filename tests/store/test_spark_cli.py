"""The CLI on real Spark stores, each command in its own process as a user runs it:

* a Spark Connect server (started from the ``pyspark`` package, catalog in a temp folder)
  runs the CLI spine (ingest the Taobao and REES46 samples, then assets, series, flows,
  funnel, attribute, report), and every output equals the DuckDB store's;
* two commands against ``local[2]`` with a warehouse folder: the second sees the first's
  tables (the catalog persists in the folder).

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

from aips.store.spark import ConnectServer

BACKENDS = [b for b in os.environ.get("AIPS_TEST_BACKENDS", "duckdb,pyspark").split(",") if b]
pytestmark = [
    pytest.mark.spark,
    pytest.mark.skipif("pyspark" not in BACKENDS, reason="Spark is not among AIPS_TEST_BACKENDS"),
]

AIPS = str(Path(sys.executable).with_name("aips"))
BALANCE = {
    "taobao": "events: 4,321 rows read = 4,321 loaded + 0 duplicates + 0 ignored + 0 quarantined",
    "rees46": "events: 17,434 rows read = 14,952 loaded + 5 duplicates + 0 ignored + 2,477 quarantined",
}
"""Hand values: the Taobao head has 4,321 clean rows; the REES46 head 17,434 rows of which
2,477 have no brand and 5 repeat an earlier row exactly."""

SPINE = {
    "assets_taobao": ["assets", "--at", "2017-12-01"],
    "assets_rees46": ["assets", "--at", "2019-10-01", "--brand", "samsung"],
    "series": ["series", "--from", "2017-11-25", "--to", "2017-12-03", "--brand", "4756105"],
    "flows": ["flows", "--from", "2017-11-27", "--to", "2017-12-03"],
    "funnel": ["funnel", "--steps", "read,cart,purchase", "--window", "7d"],
    "attribute": ["attribute", "--brand", "samsung"],
}
"""Each runs with ``--format json``; the report is compared as HTML."""


def aips(args: list[str], cwd: Path, timeout: float = 600, stderr: list[str] | None = None) -> str:
    """Run ``aips ARGS`` in its own process; its stdout (stderr shown on failure, and
    appended to ``stderr`` when given)."""
    env = {k: v for k, v in os.environ.items() if k not in ("AIPS_STORE", "SPARK_REMOTE")}
    env["COLUMNS"] = "200"
    out = subprocess.run([AIPS, *args], cwd=cwd, capture_output=True, text=True, env=env, timeout=timeout)
    assert out.returncode == 0, f"aips {' '.join(args)} failed:\n{out.stderr[-3000:]}"
    if stderr is not None:
        stderr.append(out.stderr)
    return out.stdout


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


def report_html(path: Path) -> str:
    """The report without what differs between two runs (when, from which store, how long)."""
    text = path.read_text(encoding="utf-8")
    text = re.sub(r'<div class="meta">.*?</div>', "", text)
    return re.sub(r"Computed in \d+ s", "", text)


def spine(store: list[str], work: Path, shared: Path) -> dict[str, object]:
    """Ingest both samples into ``store`` and run the spine; every output by name."""
    out: dict[str, object] = {}
    files = {"taobao": shared / "taobao-userbehavior" / "UserBehavior_userhead_43users.csv.gz",
             "rees46": shared / "rees46-multicategory" / "2019-Oct_head_17434.csv.gz"}
    for preset, path in files.items():
        out[f"ingest_{preset}"] = aips(["ingest", str(path), "--preset", preset, *store], work).splitlines()[0]
    for name, args in SPINE.items():
        out[name] = json.loads(aips([*args, *store, "--format", "json"], work))
    aips(["report", "--brand", "samsung", "--out", str(work / "report.html"), *store], work)
    out["report"] = report_html(work / "report.html")
    return out


@pytest.fixture(scope="module")
def duckdb_spine(tmp_path_factory, shared_data):
    work = tmp_path_factory.mktemp("spine-duckdb")
    return spine(["--store", str(work / "aips.duckdb")], work, shared_data)


@pytest.fixture(scope="module")
def connect_server(tmp_path_factory):
    """One Spark Connect server for this module, stopped by its pid at the end."""
    server = ConnectServer(tmp_path_factory.mktemp("spark-connect"), driver_memory="1g")
    server.start()
    yield server
    server.stop()
    assert server.process.poll() is not None


def test_cli_spine_on_spark_connect_equals_duckdb(connect_server, duckdb_spine, tmp_path, shared_data):
    work = tmp_path / "client"
    work.mkdir()
    started = time.monotonic()
    # one shuffle partition: the samples are tiny, and every query's tasks cost time
    got = spine(["--store", connect_server.url, "--conf", "spark.sql.shuffle.partitions=1"], work, shared_data)
    print(f"spine on {connect_server.url}: {time.monotonic() - started:.0f} s")
    for preset, line in BALANCE.items():
        assert duckdb_spine[f"ingest_{preset}"] == line
    assert list(got) == list(duckdb_spine)
    for name in SPINE:
        assert duckdb_spine[name], f"{name}: empty on DuckDB (the comparison would prove nothing)"
        close(duckdb_spine[name], got[name], name)
    assert got["ingest_taobao"] == BALANCE["taobao"] and got["ingest_rees46"] == BALANCE["rees46"]
    assert "samsung" in duckdb_spine["report"]
    assert got["report"] == duckdb_spine["report"]
    # nothing lands in the client's folder: the tables live in the server's warehouse
    assert not (work / "aips-warehouse").exists()
    assert (connect_server.folder / "warehouse" / "aips.db" / "events").is_dir()


def test_two_commands_share_a_local_warehouse(tmp_path, shared_data, duckdb_spine):
    """``aips ingest`` then ``aips assets`` in two processes on local[2]: the catalog persists."""
    warehouse = tmp_path / "wh"
    store = ["--store", "local[2]", "--warehouse", str(warehouse), "--conf", "spark.sql.shuffle.partitions=1"]
    path = shared_data / "taobao-userbehavior" / "UserBehavior_userhead_43users.csv.gz"
    errs: list[str] = []
    first = aips(["ingest", str(path), "--preset", "taobao", *store], tmp_path, stderr=errs)
    assert first.splitlines()[0] == BALANCE["taobao"]
    assert (warehouse / "metastore_db").is_dir() and (warehouse / "aips.db" / "events").is_dir()
    # the old spelling still works (same warehouse), with a deprecation note on stderr
    old = ["--store", "spark://local[2]", *store[2:]]
    second = json.loads(aips([*SPINE["assets_taobao"], *old, "--format", "json"], tmp_path, stderr=errs))
    assert "spark://local[2] is deprecated: write local[2]" in errs[-1]
    # quiet: no Spark start-up log (INFO) and no console progress bar, from the first line
    for err in errs:
        assert " INFO " not in err and "[Stage " not in err and "Setting default log level" not in err, err
    assert second, "the second command saw no assets"
    close(duckdb_spine["assets_taobao"], second, "assets_taobao")
