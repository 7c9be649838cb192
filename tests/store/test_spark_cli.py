"""The CLI on real Spark stores, as a user runs it:

* one Spark Connect server for the whole session (started from the ``pyspark`` package,
  catalog in a temp folder; :func:`connect_server`) runs the CLI spine: ingest the Taobao
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


BATCH = str(Path(__file__).with_name("cli_batch.py"))


class Batch:
    """``commands`` running in ONE process (:mod:`cli_batch`: one Python start and one Spark
    Connect client for all), each as ``aips ARGS``, started but not waited for: the DuckDB
    half of a comparison runs while Spark's runs (Spark Connect on tiny data mostly waits
    on scheduling, so the two overlap on two cores)."""

    def __init__(self, commands: list[list[str]], cwd: Path, env: dict[str, str] | None = None,
                 timeout: float = 1200):
        base = {k: v for k, v in os.environ.items() if k not in ("AIPS_STORE", "SPARK_REMOTE")}
        base.update(COLUMNS="200", **(env or {}))
        cwd.mkdir(parents=True, exist_ok=True)
        todo, self.done = cwd / "batch-commands.json", cwd / "batch-results.json"
        todo.write_text(json.dumps(commands), encoding="utf-8")
        self.timeout = timeout
        self.process = subprocess.Popen([sys.executable, BATCH, str(todo), str(self.done)], cwd=cwd,
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=base)
        self._result: tuple[list[dict[str, object]], str] | None = None

    def result(self) -> tuple[list[dict[str, object]], str]:
        """Wait; every command must succeed. Each command's result (``stdout``, ``stderr``)
        and the process's own stderr (what did not go through a command's ``sys.stderr``,
        e.g. a log handler bound at import: checked quiet too)."""
        if self._result is None:
            _, err = self.process.communicate(timeout=self.timeout)
            assert self.process.returncode == 0, err[-3000:]
            results = json.loads(self.done.read_text(encoding="utf-8"))
            for r in results:
                assert r["code"] == 0, f"aips {' '.join(r['args'])} failed:\n{r['stderr'][-3000:]}"
            self._result = (results, err)
        return self._result


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


def report_html(path: Path) -> str:
    """The report without what differs between two runs (when, from which store, how long)."""
    text = path.read_text(encoding="utf-8")
    text = re.sub(r'<div class="meta">.*?</div>', "", text)
    return re.sub(r"Computed in \d+ s", "", text)


SAMPLES = {"taobao": ("taobao-userbehavior", "UserBehavior_userhead_43users.csv.gz"),
           "rees46": ("rees46-multicategory", "2019-Oct_head_17434.csv.gz")}


def start_spine(store: list[str], work: Path, shared: Path) -> Batch:
    """Ingest both samples into ``store`` and run the spine, in one process (:class:`Batch`)."""
    commands = [["ingest", str(shared.joinpath(*SAMPLES[preset])), "--preset", preset, *store]
                for preset in SAMPLES]
    commands += [[*args, *store, "--format", "json"] for args in SPINE.values()]
    commands.append(["report", "--brand", "samsung", "--out", str(work / "report.html"), *store])
    return Batch(commands, work)


def spine_outputs(run: Batch, work: Path) -> dict[str, object]:
    """Every output of a :func:`start_spine` run by name, and ``stderr``: each command's
    stderr and the process's."""
    results, process_err = run.result()
    out: dict[str, object] = {}
    for preset, r in zip(SAMPLES, results, strict=False):
        out[f"ingest_{preset}"] = r["stdout"].splitlines()[0]
    for name, r in zip(SPINE, results[len(SAMPLES):], strict=False):
        out[name] = json.loads(r["stdout"])
    out["report"] = report_html(work / "report.html")
    out["stderr"] = [r["stderr"] for r in results] + [process_err]
    return out


class Pending:
    """A value computed on first use (the DuckDB spine, started by its fixture and waited
    for only once a test has started its Spark half)."""

    def __init__(self, get):
        self._get, self._value = get, None

    def __call__(self):
        if self._value is None:
            self._value = self._get()
        return self._value


@pytest.fixture(scope="module")
def duckdb_spine(tmp_path_factory, shared_data):
    """The spine on a DuckDB store, started now and waited for on first call."""
    work = tmp_path_factory.mktemp("spine-duckdb")
    run = start_spine(["--store", str(work / "aips.duckdb")], work, shared_data)
    return Pending(lambda: spine_outputs(run, work))


@pytest.fixture(scope="session")
def connect_server(tmp_path_factory):
    """One Spark Connect server for the test session, stopped by its pid at the end."""
    server = ConnectServer(tmp_path_factory.mktemp("spark-connect"), driver_memory="1g",
                           conf={"spark.connect.progress.reportInterval": "100ms"})
    server.start()
    yield server
    server.stop()
    assert server.process.poll() is not None


def test_cli_spine_on_spark_connect_equals_duckdb(connect_server, duckdb_spine, tmp_path, shared_data):
    work = tmp_path / "client"
    work.mkdir()
    started = time.monotonic()
    # one shuffle partition: the samples are tiny, and every query's tasks cost time
    run = start_spine(["--store", connect_server.url, "--conf", "spark.sql.shuffle.partitions=1"], work, shared_data)
    duckdb_spine = duckdb_spine()  # ran meanwhile
    got = spine_outputs(run, work)
    print(f"spine on {connect_server.url} (and DuckDB beside it): {time.monotonic() - started:.0f} s")
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
    errs: list[str] = []
    own = json.loads(aips([*SPINE["assets_rees46"], "--store", connect_server.url, "--format", "json"], work,
                          stderr=errs))
    assert_quiet(errs[0])
    close(duckdb_spine["assets_rees46"], own, "assets_rees46 (own process)")
    # nothing lands in the client's folder: the tables live in the server's warehouse
    assert not (work / "aips-warehouse").exists()
    assert (connect_server.folder / "warehouse" / "aips.db" / "events").is_dir()


def test_source_on_spark_connect_equals_duckdb(connect_server, duckdb_spine, tmp_path, shared_data):
    """``aips source events`` of the Taobao head as a Parquet file, over Spark Connect into
    its own database: the balance line (hand values), then ``assets`` on the view equal the
    DuckDB store's (which ingested the CSV). REES46 (quarantine, duplicates) is sourced on
    local[2] and compared with DuckDB in tests/ingest/test_source.py."""
    import pyarrow as pa
    import pyarrow.csv as pcsv
    import pyarrow.parquet as pq

    names = ["user_id", "item_id", "category_id", "behavior_type", "timestamp"]
    table = pcsv.read_csv(shared_data / "taobao-userbehavior" / "UserBehavior_userhead_43users.csv.gz",
                          read_options=pcsv.ReadOptions(column_names=names),
                          convert_options=pcsv.ConvertOptions(column_types=dict.fromkeys(names, pa.string())))
    (tmp_path / "ds").mkdir()
    pq.write_table(table, tmp_path / "ds" / "t.parquet")
    store = ["--store", connect_server.url, "--database", "sourced", "--conf", "spark.sql.shuffle.partitions=1"]
    errs: list[str] = []
    started = time.monotonic()
    line = aips(["source", "events", str(tmp_path / "ds"), "--preset", "taobao", *store], tmp_path,
                stderr=errs).splitlines()[0]
    print(f"source on {connect_server.url}: {time.monotonic() - started:.0f} s")
    assert line == BALANCE["taobao"]
    got = json.loads(aips([*SPINE["assets_taobao"], *store, "--format", "json"], tmp_path, stderr=errs))
    for err in errs:
        assert_quiet(err)
    duckdb_spine = duckdb_spine()
    assert duckdb_spine["assets_taobao"]
    close(duckdb_spine["assets_taobao"], got, "assets_taobao")
    assert (connect_server.folder / "warehouse" / "sourced.db" / "aips_source_files").is_dir()


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
    for err in errs:
        assert_quiet(err)
    assert second, "the second command saw no assets"
    close(duckdb_spine()["assets_taobao"], second, "assets_taobao")


# --- every other command, on a simulated world with every side table ----------------------

WORLD_DAYS = 60
LAST = "2025-10-30"
"""The world's last day (it starts 2025-09-01)."""
WORLD_COMMANDS = {
    "series_update": ["series", "--update", "--from", "2025-10-20", "--to", LAST],
    "series_week": ["series", "--from", "2025-09-01", "--to", LAST, "--freq", "week", "--brand", "Serava"],
    "flows_rates": ["flows", "--from", "2025-09-30", "--to", LAST, "--view", "rates", "--brand", "Serava"],
    "competitors": ["competitors", "--at", LAST],
    "penetration": ["penetration", "--at", LAST],
    "funnel_strict": ["funnel", "--steps", "read,collect,purchase", "--window", "7d", "--order", "strict",
                      "--breakdown", "channel"],
    "cycle": ["cycle", "--category", "facial_serum"],
    "roi": ["roi", "--campaign", "lumiere-feed-ad-1"],
    "loyalty": ["loyalty"],
    "attribute_compare": ["attribute", "--compare"],
    "attribute_incremental": ["attribute", "--model", "incremental", "--brand", "Serava"],
    "audience": ["audience", "--brand", "Serava", "--at", LAST, "--flow", "I:TI", "--from", "2025-09-30"],
    "audience_export": ["audience", "--brand", "Serava", "--at", LAST, "--stage", "all", "--id", "sha256",
                        "--max-size", "40", "--out", "{out}/aud.csv"],
    "creators": ["creators", "--brand", "Serava", "--at", LAST],
    "diagnose": ["diagnose", "--brand", "Serava", "--at", LAST],
    "portrait": ["portrait", "--brand", "Serava", "--at", LAST, "--stage", "TI"],
    "content": ["content", "--brand", "Serava"],
    "engagement": ["engagement", "--brand", "Serava", "--from", "2025-09-01", "--to", LAST],
}
"""Each runs with ``--format json``. The stored history is built before the last day's
events arrive; the first command (``series --update``) appends that day, and the later
commands read the history."""


@pytest.fixture(scope="session")
def small_world(tmp_path_factory):
    """A simulated world (250 users, 60 days, ~15k events) with campaigns, categories,
    creators and users."""
    from aips.simulate import SimulationParams, simulate

    root = tmp_path_factory.mktemp("world")
    simulate(root, SimulationParams(users=250, days=WORLD_DAYS, seed=3), workers=1)
    return root


def start_world(store: list[str], world: Path, out: Path) -> Batch:
    """Ingest ``world`` into ``store`` and run :data:`WORLD_COMMANDS`, all in one process
    (:class:`Batch`; in this one, a Spark Connect client cannot start once another test has
    started a local Spark session: PySpark allows one kind per process)."""
    def files(days: list[Path]) -> list[str]:
        return [str(f) for d in days for f in sorted(d.glob("*.parquet"))]

    days = sorted((world / "events").iterdir())  # date=YYYY-MM-DD folders
    out.mkdir(parents=True, exist_ok=True)
    # the stored asset_history up to the day before, then the last day's events arrive: the
    # first command (series --update) appends it
    commands = [["ingest", *files(days[:-1]), "--preset", "canonical"]]
    commands += [["ingest", str(world / f"{name}.csv"), "--table", name]
                 for name in ("campaigns", "categories", "creators", "users")]
    commands.append(["series", "--update", "--from", "2025-10-20", "--to", "2025-10-29", "--format", "json"])
    commands.append(["ingest", *files(days[-1:]), "--preset", "canonical"])
    commands += [[a.format(out=out) for a in args] + ["--format", "json"] for args in WORLD_COMMANDS.values()]
    # AIPS_EXPORT_BACKEND_ROWS: the export's packs are written by Spark (not streamed) here
    return Batch([[*c, *store] for c in commands], out.parent / out.name.join(("batch-", "")),
                 env={"AIPS_EXPORT_BACKEND_ROWS": "10"})


def world_outputs(run: Batch) -> dict[str, object]:
    """The outputs of a :func:`start_world` run by name."""
    results, _ = run.result()
    first = len(results) - len(WORLD_COMMANDS)
    got: dict[str, object] = {
        "ingest": results[0]["stdout"].splitlines()[0],
        "series_stored": json.loads(results[5]["stdout"]),
        "ingest_last_day": results[6]["stdout"].splitlines()[0],
    }
    for name, r in zip(WORLD_COMMANDS, results[first:], strict=True):
        got[name] = json.loads(r["stdout"])
        if name == "series_update":
            got["series_update_note"] = r["stderr"].strip()
    return got


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


def test_every_command_on_spark_connect_equals_duckdb(connect_server, small_world, tmp_path):
    started = time.monotonic()
    # both at once (each in its own process): the DuckDB half runs while Spark's waits
    duck_run = start_world(["--store", str(tmp_path / "w.duckdb")], small_world, tmp_path / "duck")
    spark_run = start_world(["--store", connect_server.url, "--database", "world",
                             "--conf", "spark.sql.shuffle.partitions=1"], small_world, tmp_path / "spark")
    duck, spark = world_outputs(duck_run), world_outputs(spark_run)
    print(f"world commands on DuckDB and {connect_server.url}: {time.monotonic() - started:.0f} s")
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
    ids = export_ids(tmp_path / "duck")
    assert ids == sorted(ids) and len(ids) > 40  # several packs
    assert export_ids(tmp_path / "spark") == ids


# --- quiet output and up-front refusals ------------------------------------------------------


def test_a_failing_command_on_spark_connect_says_one_line(connect_server, tmp_path):
    """A command that fails on sc:// prints aips's one line on stderr, not PySpark's JSON log
    of the Spark error nor Java's, and nothing on stdout (stderr of commands that work:
    :func:`test_cli_spine_on_spark_connect_equals_duckdb`)."""
    env = {k: v for k, v in os.environ.items() if k not in ("AIPS_STORE", "SPARK_REMOTE")}
    out = subprocess.run([AIPS, "assets", "--at", "2017-12-01", "--brand", "nosuchbrand", "--format", "json",
                          "--store", connect_server.url], capture_output=True, text=True, env=env, cwd=tmp_path,
                         timeout=300)
    assert out.returncode == 1 and out.stdout == ""
    assert out.stderr.startswith("aips: ") and len(out.stderr.strip().splitlines()) == 1, out.stderr
    assert_quiet(out.stderr, allowed=("aips: ",))


@pytest.mark.parametrize("flag", [["--memory-limit", "2GB"], ["--threads", "2"]])
def test_duckdb_settings_are_refused_before_spark_starts(flag, tmp_path):
    """--memory-limit / --threads cannot act on Spark: refused at once (no JVM starts, no
    warehouse is created), naming the option and the Spark setting to use instead."""
    env = {k: v for k, v in os.environ.items() if k not in ("AIPS_STORE", "SPARK_REMOTE")}
    started = time.monotonic()
    out = subprocess.run([AIPS, "series", "--from", "2025-01-01", "--to", "2025-01-02", "--store", "local[2]",
                          "--warehouse", str(tmp_path / "wh"), *flag], capture_output=True, text=True,
                         env=env, cwd=tmp_path, timeout=120)
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
    store.backend._session.range(0, 3_000_000, numPartitions=4).selectExpr("sum(id % 7) as s").collect()
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
    env = {k: v for k, v in os.environ.items() if k not in ("AIPS_STORE", "SPARK_REMOTE")}
    out = subprocess.run([sys.executable, "-c", PROGRESS_ON_CONNECT, connect_server.url],
                         capture_output=True, text=True, env=env, timeout=300)
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
