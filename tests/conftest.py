"""Shared fixtures: the ``store`` fixture runs a test on DuckDB and on PySpark (local mode).

One Spark session serves the whole test run (start-up costs seconds). Set
``AIPS_TEST_BACKENDS=duckdb`` to skip the Spark half while iterating.

``tests/`` mirrors ``src/aips/``. Pytest imports helper modules by basename (rootdir, no
``__init__.py``), so the folders whose helpers are shared with other folders are put on
``sys.path`` here, and their names stay unique across the tree.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
HELPER_DIRS = ("analytics", "analytics/attribution", "activation", "engine", "maintain", "reporting")
"""Folders whose helper modules are imported from other folders (e.g. ``outcomes_helpers``
by analytics, engine and cli tests)."""
for _d in HELPER_DIRS:
    if str(TESTS / _d) not in sys.path:
        sys.path.insert(0, str(TESTS / _d))

pytest_plugins = ["activation_world"]  # the leak world fixture, shared by activation and cli tests

from aips.store.connect import Store, connect  # noqa: E402
from spark_cli_work import TINY_DATA_JAVA  # noqa: E402

BACKENDS = [b for b in os.environ.get("AIPS_TEST_BACKENDS", "duckdb,pyspark").split(",") if b]


TINY_DATA_CONF = {"spark.sql.codegen.wholeStage": "false", "spark.sql.adaptive.enabled": "false"}
"""Spark settings for the tests' tiny data, which change plans, never results: no generated
code to compile per query, no re-planning between stages. Measured on the Spark half of two
test files, alternating runs: 159-167 s against 177-199 s."""


@pytest.fixture(scope="session")
def spark_session():
    """One local[2] Spark session for the test run, with a throw-away warehouse."""
    from aips._compat.spark import get_or_create_session

    warehouse = tempfile.mkdtemp(prefix="aips-spark-warehouse-")
    session = get_or_create_session(
        "local[2]",
        **{
            "spark.sql.warehouse.dir": warehouse,
            "spark.driver.extraJavaOptions": f"-Dderby.system.home={warehouse} {TINY_DATA_JAVA}",
            # tiny test data: one shuffle partition makes Spark several times faster (same results)
            "spark.sql.shuffle.partitions": "1",
            **TINY_DATA_CONF,
        },
    )
    yield session
    session.stop()
    shutil.rmtree(warehouse, ignore_errors=True)


def _backend_param(name: str):
    """``pyspark`` carries the ``spark`` mark, so ``-m "not spark"`` deselects it too."""
    return pytest.param(name, marks=pytest.mark.spark) if name == "pyspark" else name


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        "notimpl(backends, raises, reason): a known gap of a backend, like ibis's notimpl: the test "
        "must fail there with exception type RAISES (strict xfail), so a fix shows up as XPASS",
    )


def pytest_collection_modifyitems(config, items):
    """Turn ``notimpl`` marks into strict xfails on the named backends of the ``store`` fixture."""
    for item in items:
        backend = getattr(getattr(item, "callspec", None), "params", {}).get("store")
        for mark in item.iter_markers("notimpl"):
            backends = mark.args[0] if mark.args else mark.kwargs["backends"]
            if backend in backends:
                item.add_marker(pytest.mark.xfail(
                    raises=mark.kwargs["raises"], reason=f"{backend}: {mark.kwargs['reason']}", strict=True))
    # the in-process Spark tests after the rest (stable: each group keeps its order), so they
    # run once the CLI-on-Spark background work (started after the browser tests) is done and
    # the DuckDB tests overlap it instead; the CLI-on-Spark tests, which read it, come last
    # under xdist the CLI-on-Spark file goes first: its worker starts the work and waits for
    # it while the other worker runs the rest
    first_or_last = -1 if XDIST else 2
    items.sort(key=lambda i: first_or_last if i.nodeid.startswith(SPARK_CLI_TESTS) else 1 if "spark" in i.keywords else 0)


SPARK_CLI_TESTS = "tests/store/test_spark_cli.py"
XDIST = bool(os.environ.get("PYTEST_XDIST_WORKER"))
"""Running in a pytest-xdist worker (``make test``: two, each test file on one of them): the
CLI-on-Spark work starts with the first test of its file, in the worker that runs that
file, not in the background beforehand (each worker would start its own)."""
_SPARK_CLI = {"work": None, "start_with": set()}
"""The background work of the CLI-on-Spark tests (``spark_cli_work.SparkCliWork``) and the
tests whose setup starts it (the first of them to run does)."""


def pytest_collection_finish(session):
    """When the CLI-on-Spark tests are selected, start their processes in the background
    after the last browser test (those time themselves against Chromium: the background
    JVMs would only slow them), or at once when there are none."""
    if XDIST or "pyspark" not in BACKENDS or not any(i.nodeid.startswith(SPARK_CLI_TESTS) for i in session.items):
        return
    browser = [n for n, i in enumerate(session.items) if i.nodeid.startswith("tests/browser/")]
    _SPARK_CLI["start_with"] = {i.nodeid for i in session.items[browser[-1] + 1 if browser else 0:]}


def _spark_cli_work():
    """The CLI-on-Spark tests' background work, started now if it is not yet."""
    if _SPARK_CLI["work"] is None:
        from spark_cli_work import SparkCliWork

        _SPARK_CLI["work"] = SparkCliWork(SHARED_DATA).start()
    return _SPARK_CLI["work"]


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    if _SPARK_CLI["work"] is None and item.nodeid in _SPARK_CLI["start_with"] and SHARED_DATA.is_dir():
        _spark_cli_work()


def pytest_sessionfinish(session):
    if _SPARK_CLI["work"] is not None:
        _SPARK_CLI["work"].close()


@pytest.fixture(scope="session")
def spark_cli_work(shared_data):
    """The CLI-on-Spark tests' processes (started in the background, see
    :func:`pytest_collection_finish`); each test reads its outputs."""
    return _spark_cli_work()


_SPARK_PART = {"tests": set(), "seconds": 0.0}
"""Time spent in tests marked ``spark`` (setup, call, teardown; a session fixture's start
counts in the first test that uses it)."""


_WORKERS: dict[str, dict] = {}
"""Per xdist worker (``main`` without xdist): its tests, their seconds and when its last one
ended (seconds since the first report): how evenly ``--dist loadfile`` shares the suite."""
_T0: list[float] = []


def pytest_runtest_logreport(report):
    if "spark" in report.keywords:
        _SPARK_PART["tests"].add(report.nodeid)
        _SPARK_PART["seconds"] += report.duration
    now = time.monotonic()
    if not _T0:  # the first report's start
        _T0.append(now - report.duration)
    worker = getattr(getattr(getattr(report, "node", None), "gateway", None), "id", "main")
    w = _WORKERS.setdefault(worker, {"tests": set(), "seconds": 0.0, "last": 0.0})
    w["tests"].add(report.nodeid)
    w["seconds"] += report.duration
    w["last"] = now - _T0[0]


def pytest_terminal_summary(terminalreporter):
    """Say what the Spark part of the suite cost (issue 14 keeps it under 5 minutes), and
    each worker's share (the suite's wall time is its busiest worker's)."""
    if _SPARK_PART["tests"]:
        terminalreporter.write_line(f"Spark part of the suite: {len(_SPARK_PART['tests'])} tests, "
                                    f"{_SPARK_PART['seconds']:.0f} s")
    for worker, w in sorted(_WORKERS.items()):
        terminalreporter.write_line(f"worker {worker}: {len(w['tests'])} tests, {w['seconds']:.0f} s "
                                    f"in tests, its last one ended {w['last']:.0f} s after the first")


@pytest.fixture(params=[_backend_param(b) for b in BACKENDS])
def store(request) -> Store:
    """A fresh, empty store on each backend (DuckDB in memory; a clean Spark catalog)."""
    if request.param == "duckdb":
        s = connect(":memory:")
        yield s
        s.close()
        return
    session = request.getfixturevalue("spark_session")
    s = connect(session)
    for name in s.backend.list_tables():
        s.backend.drop_table(name, force=True)
    yield s
    for name in s.backend.list_tables():
        s.backend.drop_table(name, force=True)


SHARED_DATA = Path(os.environ.get("AIPS_SHARED_DATA") or TESTS.parents[1] / "shared" / "data")
"""The real public samples: ``../shared/data`` beside the repository (``AIPS_SHARED_DATA``
points elsewhere, e.g. from a git worktree)."""


@pytest.fixture(scope="session")
def shared_data():
    """``../shared/data``; the test FAILS when it is absent: a silent skip would hide that the
    real-data checks did not run."""
    if not SHARED_DATA.is_dir():
        pytest.fail(
            f"{SHARED_DATA} is missing: the real-data tests need ../shared/data beside the repository "
            "(CI always has it); put it there or set AIPS_SHARED_DATA=/path/to/shared/data",
            pytrace=False)
    return SHARED_DATA


@pytest.fixture
def duckdb_store() -> Store:
    """A fresh in-memory DuckDB store."""
    s = connect(":memory:")
    yield s
    s.close()
