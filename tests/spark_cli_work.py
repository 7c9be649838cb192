"""The CLI-on-Spark tests' commands, run in the background while the rest of the suite runs.

``tests/store/test_spark_cli.py`` compares the CLI on real Spark stores with DuckDB's: one
Spark Connect server runs the spine (ingest the Taobao and REES46 samples; assets, series,
flows, funnel, attribute, report) and every other command on a small simulated world;
``local[2]`` with a warehouse folder runs two commands in two processes. All of it is
processes (the server's JVM, one ``aips`` batch process per store, :mod:`cli_batch`) whose
outputs the tests only compare. On tiny data Spark mostly waits on its own scheduling, so
:class:`SparkCliWork` starts those processes early (``tests/conftest.py`` starts it once the
browser tests are done) and the tests collect the outputs when they run: the Spark part then
costs the suite its assertions and whatever of the processes is left, not their whole run.

Each piece of work is a :class:`concurrent.futures.Future`: :meth:`SparkCliWork.result`
waits for it and raises what the work raised (a failing command fails the test that reads
it, with the command's stderr).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

AIPS = str(Path(sys.executable).with_name("aips"))
BATCH = str(Path(__file__).parent / "store" / "cli_batch.py")

SAMPLES = {"taobao": ("taobao-userbehavior", "UserBehavior_userhead_43users.csv.gz"),
           "rees46": ("rees46-multicategory", "2019-Oct_head_17434.csv.gz")}
SPINE = {
    "assets_taobao": ["assets", "--at", "2017-12-01"],
    "assets_rees46": ["assets", "--at", "2019-10-01", "--brand", "samsung"],
    "series": ["series", "--from", "2017-11-25", "--to", "2017-12-03", "--brand", "4756105"],
    "flows": ["flows", "--from", "2017-11-27", "--to", "2017-12-03"],
    "funnel": ["funnel", "--steps", "read,cart,purchase", "--window", "7d"],
    "attribute": ["attribute", "--brand", "samsung"],
}
"""Each runs with ``--format json``; the report is compared as HTML."""

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

ONE_PARTITION = ["--conf", "spark.sql.shuffle.partitions=1", "--conf", "spark.sql.codegen.wholeStage=false",
                 "--conf", "spark.sql.adaptive.enabled=false"]
"""The samples are tiny, and every query's tasks cost time: one shuffle partition, no code
generated per query, no re-planning between stages (see ``TINY_DATA_CONF`` in
``tests/conftest.py``; plans change, results do not)."""
TINY_DATA_JAVA = "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC"
"""The tests' Spark JVMs (the in-process session of ``tests/conftest.py``, the Connect
server, a local session started by ``aips``: ``--conf spark.driver.extraJavaOptions``)
compile with the quick JIT tier only and collect garbage on one thread: their queries
are many and short, and the optimising compiler's threads took about half the CPU of a Spark test on two cores (``tests/engine/test_funnel.py`` on
PySpark, machine-wide CPU: 102-108 s against 56-62 s; wall 57-61 s against 48-52 s).
Results do not change; a long job on real data would want the optimising tier."""


def clean_env(**extra: str) -> dict[str, str]:
    """This process's environment without a default store, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if k not in ("AIPS_STORE", "SPARK_REMOTE")}
    env.update(COLUMNS="200", **extra)
    return env


def aips(args: list[str], cwd: Path, timeout: float = 600, stderr: list[str] | None = None) -> str:
    """Run ``aips ARGS`` in its own process; its stdout (stderr shown on failure, and
    appended to ``stderr`` when given)."""
    out = subprocess.run([AIPS, *args], cwd=cwd, capture_output=True, text=True, env=clean_env(),
                         timeout=timeout)
    assert out.returncode == 0, f"aips {' '.join(args)} failed:\n{out.stderr[-3000:]}"
    if stderr is not None:
        stderr.append(out.stderr)
    return out.stdout


class Batch:
    """``commands`` running in ONE process (:mod:`cli_batch`: one Python start and one Spark
    Connect client for all), each as ``aips ARGS``, started but not waited for."""

    running: list[Batch] = []
    """Every batch started (:meth:`SparkCliWork.close` stops those left running)."""

    def __init__(self, commands: list[list[str]], cwd: Path, env: dict[str, str] | None = None,
                 timeout: float = 1800):
        cwd.mkdir(parents=True, exist_ok=True)
        todo, self.done = cwd / "batch-commands.json", cwd / "batch-results.json"
        todo.write_text(json.dumps(commands), encoding="utf-8")
        self.timeout = timeout
        self.process = subprocess.Popen([sys.executable, BATCH, str(todo), str(self.done)], cwd=cwd,
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                        env=clean_env(**(env or {})))
        Batch.running.append(self)

    def result(self) -> tuple[list[dict[str, Any]], str]:
        """Wait; every command must succeed. Each command's result (``stdout``, ``stderr``,
        ``seconds``) and the process's own stderr (what did not go through a command's
        ``sys.stderr``, e.g. a log handler bound at import: checked quiet too)."""
        _, err = self.process.communicate(timeout=self.timeout)
        assert self.process.returncode == 0, err[-3000:]
        results = json.loads(self.done.read_text(encoding="utf-8"))
        for r in results:
            assert r["code"] == 0, f"aips {' '.join(r['args'])} failed:\n{r['stderr'][-3000:]}"
        return results, err


def timings(results: list[dict[str, Any]]) -> str:
    """Each command's wall seconds in a batch, slowest first (printed: where the time goes)."""
    ranked = sorted(results, key=lambda r: -float(r.get("seconds", 0)))
    return ", ".join(f"{' '.join(r['args'][:2])} {r.get('seconds', 0):.1f} s" for r in ranked)


def report_html(path: Path) -> str:
    """The report without what differs between two runs (when, from which store, how long)."""
    text = path.read_text(encoding="utf-8")
    text = re.sub(r'<div class="meta">.*?</div>', "", text)
    return re.sub(r"Computed in \d+ s", "", text)


def start_spine(store: list[str], work: Path, shared: Path) -> Batch:
    """Ingest both samples into ``store`` and run the spine, in one process (:class:`Batch`)."""
    commands = [["ingest", str(shared.joinpath(*SAMPLES[preset])), "--preset", preset, *store]
                for preset in SAMPLES]
    commands += [[*args, *store, "--format", "json"] for args in SPINE.values()]
    commands.append(["report", "--brand", "samsung", "--out", str(work / "report.html"), *store])
    return Batch(commands, work)


def spine_outputs(run: Batch, work: Path) -> dict[str, Any]:
    """Every output of a :func:`start_spine` run by name; ``stderr``: each command's stderr
    and the process's; ``timings``: :func:`timings`."""
    results, process_err = run.result()
    out: dict[str, Any] = {}
    for preset, r in zip(SAMPLES, results, strict=False):
        out[f"ingest_{preset}"] = r["stdout"].splitlines()[0]
    for name, r in zip(SPINE, results[len(SAMPLES):], strict=False):
        out[name] = json.loads(r["stdout"])
    out["report"] = report_html(work / "report.html")
    out["stderr"] = [r["stderr"] for r in results] + [process_err]
    out["timings"] = timings(results)
    return out


def start_world(store: list[str], world: Path, out: Path) -> Batch:
    """Ingest ``world`` into ``store`` and run :data:`WORLD_COMMANDS`, all in one process."""
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


def world_outputs(run: Batch) -> dict[str, Any]:
    """The outputs of a :func:`start_world` run by name (and ``timings``)."""
    results, _ = run.result()
    first = len(results) - len(WORLD_COMMANDS)
    got: dict[str, Any] = {
        "ingest": results[0]["stdout"].splitlines()[0],
        "series_stored": json.loads(results[5]["stdout"]),
        "ingest_last_day": results[6]["stdout"].splitlines()[0],
        "timings": timings(results),
    }
    for name, r in zip(WORLD_COMMANDS, results[first:], strict=True):
        got[name] = json.loads(r["stdout"])
        if name == "series_update":
            got["series_update_note"] = r["stderr"].strip()
    return got


SIMULATE_WORLD = """
import sys
from pathlib import Path
from aips.simulate import SimulationParams, simulate
simulate(Path(sys.argv[1]), SimulationParams(users=250, days=int(sys.argv[2]), seed=3), workers=1)
"""
"""A simulated world (250 users, 60 days, ~15k events) with campaigns, categories, creators
and users; in its own process, so the simulation does not hold this process's GIL."""


def taobao_parquet(shared: Path, folder: Path) -> Path:
    """The Taobao head as one Parquet file of strings in ``folder`` (``aips source`` input)."""
    import pyarrow as pa
    import pyarrow.csv as pcsv
    import pyarrow.parquet as pq

    names = ["user_id", "item_id", "category_id", "behavior_type", "timestamp"]
    table = pcsv.read_csv(shared.joinpath(*SAMPLES["taobao"]),
                          read_options=pcsv.ReadOptions(column_names=names),
                          convert_options=pcsv.ConvertOptions(column_types=dict.fromkeys(names, pa.string())))
    folder.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, folder / "t.parquet")
    return folder


class SparkCliWork:
    """The processes of the CLI-on-Spark tests, started at once, read when a test needs them.

    Work (each a future, by name):

    * ``server``: the Spark Connect server (:class:`aips.store.spark.ConnectServer`);
    * ``spine_duckdb`` / ``spine_spark``: the spine on a DuckDB store / on the server;
      ``own_process``: ``assets`` on the server in its own process (stdout, stderr);
    * ``world_duckdb`` / ``world_spark``: every other command on the simulated world;
    * ``source``: ``aips source events`` of the Taobao head as Parquet into the server's
      ``sourced`` database, then ``assets`` on it (balance line, JSON, stderrs);
    * ``local_warehouse``: ``ingest`` then ``assets`` on ``local[2]`` with a warehouse
      folder, in two processes (the second with the deprecated ``spark://local[2]``).
    """

    def __init__(self, shared: Path):
        from aips.store.spark import ConnectServer

        self.shared = shared
        self.root = Path(tempfile.mkdtemp(prefix="aips-spark-cli-"))
        self.server = ConnectServer(self.root / "spark-connect", driver_memory="1g", java_options=TINY_DATA_JAVA,
                                    conf={"spark.connect.progress.reportInterval": "100ms"})
        self.started = time.monotonic()
        self._pool = ThreadPoolExecutor(max_workers=9, thread_name_prefix="spark-cli")
        self._work: dict[str, Future] = {}
        self.seconds: dict[str, float] = {}
        """Wall seconds from :meth:`start` until each piece of work was done."""

    def start(self) -> SparkCliWork:
        """Start every process; returns at once."""
        self._work["server"] = self._submit("server", self.server.start)
        self._work["world"] = self._submit("world", self._simulate)
        self._work["spine_duckdb"] = self._submit("spine_duckdb", self._spine_duckdb)
        self._work["world_duckdb"] = self._submit("world_duckdb", self._world_duckdb)
        self._work["spine_spark"] = self._submit("spine_spark", self._spine_spark)
        self._work["world_spark"] = self._submit("world_spark", self._world_spark)
        return self

    def _submit(self, name: str, fn) -> Future:
        def timed():
            try:
                return fn()
            finally:
                self.seconds[name] = time.monotonic() - self.started
        return self._pool.submit(timed)

    def result(self, name: str, timeout: float = 1800) -> Any:
        """The output of one piece of work (waits for it; raises what it raised)."""
        if name not in self._work:  # a follow-up of the Spark spine: submitted when it is done
            self.result("spine_spark", timeout)
        return self._work[name].result(timeout=timeout)

    def url(self) -> str:
        """The server's URL, once it listens."""
        self.result("server")
        return self.server.url

    def _simulate(self) -> Path:
        world = self.root / "world"
        out = subprocess.run([sys.executable, "-c", SIMULATE_WORLD, str(world), str(WORLD_DAYS)],
                             capture_output=True, text=True, env=clean_env(), timeout=600)
        assert out.returncode == 0, out.stderr[-3000:]
        return world

    def _spine_duckdb(self) -> dict[str, Any]:
        work = self.root / "spine-duckdb"
        return spine_outputs(start_spine(["--store", str(work / "aips.duckdb")], work, self.shared), work)

    def _world_duckdb(self) -> dict[str, Any]:
        world = self.result("world")
        return world_outputs(start_world(["--store", str(self.root / "w.duckdb")], world,
                                         self.root / "world-duck"))

    def _spine_spark(self) -> dict[str, Any]:
        url = self.url()
        work = self.root / "spine-spark"
        got = spine_outputs(start_spine(["--store", url, *ONE_PARTITION], work, self.shared), work)
        # then, when the spine's done: the follow-ups that need its tables or the server
        self._work["own_process"] = self._submit("own_process", self._own_process)
        self._work["source"] = self._submit("source", self._source)
        self._work["local_warehouse"] = self._submit("local_warehouse", self._local_warehouse)
        return got

    def _world_spark(self) -> dict[str, Any]:
        world, url = self.result("world"), self.url()
        return world_outputs(start_world(["--store", url, "--database", "world", *ONE_PARTITION], world,
                                         self.root / "world-spark"))

    def _own_process(self) -> tuple[str, str]:
        """``assets`` as a user runs it: its own process (stdout, stderr)."""
        errs: list[str] = []
        out = aips([*SPINE["assets_rees46"], "--store", self.server.url, "--format", "json"],
                   self.root / "spine-spark", stderr=errs)
        return out, errs[0]

    def _source(self) -> dict[str, Any]:
        folder = taobao_parquet(self.shared, self.root / "source" / "ds")
        store = ["--store", self.server.url, "--database", "sourced", *ONE_PARTITION]
        errs: list[str] = []
        line = aips(["source", "events", str(folder), "--preset", "taobao", *store], folder.parent,
                    stderr=errs).splitlines()[0]
        assets = json.loads(aips([*SPINE["assets_taobao"], *store, "--format", "json"], folder.parent,
                                 stderr=errs))
        return {"line": line, "assets": assets, "stderr": errs}

    def _local_warehouse(self) -> dict[str, Any]:
        """Two processes on ``local[2]`` with one warehouse folder (after the spine: one
        more JVM at a time is enough for two cores)."""
        work = self.root / "local"
        work.mkdir()
        warehouse = work / "wh"
        store = ["--store", "local[2]", "--warehouse", str(warehouse), *ONE_PARTITION,
                 "--conf", f"spark.driver.extraJavaOptions={TINY_DATA_JAVA}"]
        errs: list[str] = []
        first = aips(["ingest", str(self.shared.joinpath(*SAMPLES["taobao"])), "--preset", "taobao", *store],
                     work, stderr=errs)
        persisted = (warehouse / "metastore_db").is_dir() and (warehouse / "aips.db" / "events").is_dir()
        old = ["--store", "spark://local[2]", *store[2:]]
        second = json.loads(aips([*SPINE["assets_taobao"], *old, "--format", "json"], work, stderr=errs))
        return {"first": first, "persisted": persisted, "second": second, "stderr": errs}

    def close(self) -> None:
        """Stop every batch and the server (by its pid); remove the scratch folder."""
        self._pool.shutdown(wait=False, cancel_futures=True)
        for batch in Batch.running:
            if batch.process.poll() is None:
                batch.process.kill()
        self.server.stop()
        shutil.rmtree(self.root, ignore_errors=True)
