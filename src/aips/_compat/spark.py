"""The only place pyspark is imported (ruff's banned-api enforces it).

Sessions are built quiet: Spark's own log is at WARN from the JVM's first line (a log4j2
file passed as a Java option before the JVM starts, not ``setLogLevel`` after it) and the
console progress bar is off, so stderr carries aips's messages and stdout only results.

>>> callable(get_or_create_session) and callable(remote_session)
True
>>> QUIET_LOG4J.is_file()
True
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aips.exceptions import MissingDependencyError

INSTALL_HINT = 'PySpark is not installed: pip install "aips[spark]" (and Java 17+ on PATH)'
CONNECT_HINT = ('the Spark Connect client is not installed: pip install "aips[spark]" '
                "(pyspark with its connect extras: grpcio, grpcio-status, googleapis-common-protos, zstandard)")
QUIET_LOG4J = Path(__file__).with_name("log4j2-quiet.properties")
"""Spark's log at WARN (a few chatty start-up loggers at ERROR), on stderr."""

DEFAULT_CONF: dict[str, str] = {
    "spark.sql.shuffle.partitions": "8",
    "spark.sql.execution.arrow.pyspark.enabled": "true",
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.ansi.enabled": "false",
}
"""Session settings aips runs with (on every kind of session; ``--conf`` overrides them)."""
LOCAL_CONF: dict[str, str] = {
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.driver.memory": "2g",
}
"""Settings of a session whose driver this process starts (local mode or a master)."""


def _pyspark_sql():
    try:
        import pyspark.sql  # noqa: TID251 - the one allowed import site
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise MissingDependencyError(INSTALL_HINT) from err
    _quiet_python_loggers()
    return pyspark.sql


QUERY_LOGGERS = ("SQLQueryContextLogger", "DataFrameQueryContextLogger")
"""PySpark 4's Python loggers that print every Spark error as JSON on stderr when it is
raised, even when the caller handles it; aips reports the errors it does not handle itself
(``aips: ...``)."""


def _quiet_python_loggers() -> None:
    import logging

    try:
        from pyspark.logger import PySparkLogger  # noqa: TID251
    except ImportError:  # pragma: no cover - pyspark < 4 has no such loggers
        return
    for name in QUERY_LOGGERS:
        PySparkLogger.getLogger(name).setLevel(logging.CRITICAL)


def is_spark_session(obj: Any) -> bool:
    """True when ``obj`` is a SparkSession, classic or Connect (without importing pyspark)."""
    module = type(obj).__module__
    return module.startswith("pyspark.") and type(obj).__name__ == "SparkSession"


def is_connect_session(obj: Any) -> bool:
    """True when ``obj`` is a Spark Connect client session."""
    return is_spark_session(obj) and ".connect." in type(obj).__module__


CONNECT_MODE_ENV = "SPARK_CONNECT_MODE_ENABLED"
"""Set by PySpark once a Spark Connect session exists in the process."""


def quiet_java_options(extra: str = "") -> str:
    """Java options that make the driver's log quiet from its first line, plus ``extra``."""
    return f"-Dlog4j2.configurationFile=file:{QUIET_LOG4J} {extra}".strip()


def get_or_create_session(master: str = "local[2]", app_name: str = "aips", *,
                          hive: bool = False, **conf: str):
    """A SparkSession configured for aips: small shuffles, Arrow transfer, UTC, quiet.

    Args:
        master: the Spark master URL, e.g. ``local[2]``, ``spark://HOST:7077``, ``yarn``.
        hive: a persistent catalog (Hive metastore; ``conf`` says where).
        **conf: extra Spark settings (``spark.sql.shuffle.partitions="8"``, ...); a
            ``spark.driver.extraJavaOptions`` is kept and the quiet log option added.
    """
    sql = _pyspark_sql()
    settings = {**DEFAULT_CONF, **LOCAL_CONF, **conf}
    settings["spark.driver.extraJavaOptions"] = quiet_java_options(
        settings.get("spark.driver.extraJavaOptions", ""))
    import os

    # a Spark Connect session opened earlier in this process (a notebook on two stores, the
    # tests) leaves PySpark in "connect mode", where the builder only makes remote sessions
    connect_mode = os.environ.pop(CONNECT_MODE_ENV, None)
    try:
        _launch_quiet_driver(master, app_name, settings)
        builder = sql.SparkSession.builder.master(master).appName(app_name)
        for key, value in settings.items():
            builder = builder.config(key, value)
        if hive:
            builder = builder.enableHiveSupport()
        session = builder.getOrCreate()
    finally:
        if connect_mode is not None:
            os.environ[CONNECT_MODE_ENV] = connect_mode
    session.sparkContext.setLogLevel("WARN")
    return session


JVM_NOISE = ("WARNING: Using incubator modules",)
"""Lines the driver's JVM prints on start whatever the log settings (Spark's launcher always
adds ``--add-modules=jdk.incubator.vector``): dropped from what reaches stderr."""


def _launch_quiet_driver(master: str, app_name: str, settings: Mapping[str, str]) -> None:
    """Start this process's Spark driver JVM (when none runs yet) with its stdout and stderr
    on a pipe: a thread passes its lines on to our stderr, less :data:`JVM_NOISE`. So stdout
    carries only aips's output even when a Java library prints there, and the JVM's own
    start-up warning does not reach the terminal."""
    import subprocess
    import sys
    import threading

    from pyspark import SparkConf, SparkContext  # noqa: TID251
    from pyspark.java_gateway import launch_gateway  # noqa: TID251

    if SparkContext._gateway is not None:
        return
    conf = SparkConf().setMaster(master).setAppName(app_name).setAll(list(settings.items()))
    gateway = launch_gateway(conf, popen_kwargs={"stdout": subprocess.PIPE, "stderr": subprocess.STDOUT})

    def relay(stream: Any) -> None:
        for raw in iter(stream.readline, b""):
            line = raw.decode("utf-8", "replace")
            if not line.startswith(JVM_NOISE):
                sys.stderr.write(line)
                sys.stderr.flush()

    threading.Thread(target=relay, args=(gateway.proc.stdout,), name="aips-spark-driver-log",
                     daemon=True).start()
    SparkContext._ensure_initialized(gateway=gateway)


def remote_session(url: str, **conf: str):
    """A Spark Connect client session on ``url`` (``sc://HOST:PORT``) with aips's settings."""
    sql = _pyspark_sql()
    try:
        from pyspark.sql.connect.utils import check_dependencies  # noqa: TID251

        check_dependencies()
    except ImportError as err:
        raise MissingDependencyError(f"{CONNECT_HINT} ({err})") from err
    import warnings

    # Ibis passes verifySchema to createDataFrame; the Connect client ignores it, and says so
    warnings.filterwarnings("ignore", message="'verifySchema' is ignored", category=UserWarning)
    session = sql.SparkSession.builder.remote(url).getOrCreate()
    for key, value in {**DEFAULT_CONF, **conf}.items():
        session.conf.set(key, value)
    return session


def spark_errors() -> tuple[type[BaseException], ...]:
    """The exception classes a Spark session raises for a failed job or query."""
    try:
        from pyspark.errors import PySparkException  # noqa: TID251
    except ImportError:  # pragma: no cover
        return ()
    return (PySparkException,)


def release_checkpoint(df: Any) -> None:
    """Free the rows of a ``df.localCheckpoint()``. A classic session keeps them until the
    JVM collects the RDD (``unpersist`` does not reach them); a Spark Connect client
    releases its server-side relation when ``df`` is garbage-collected."""
    if is_connect_session(df.sparkSession):
        return
    plan = df._jdf.queryExecution().analyzed()
    if plan.getClass().getSimpleName() == "LogicalRDD":
        plan.rdd().unpersist(False)


def conf_items(conf: Mapping[str, Any]) -> dict[str, str]:
    """Spark settings as strings (``True`` -> ``"true"``).

    >>> conf_items({"spark.sql.ansi.enabled": False, "spark.sql.shuffle.partitions": 4})
    {'spark.sql.ansi.enabled': 'false', 'spark.sql.shuffle.partitions': '4'}
    """
    return {k: (str(v).lower() if isinstance(v, bool) else str(v)) for k, v in conf.items()}


@dataclass(frozen=True)
class JobStatus:
    """What Spark is running now: its active stages' tasks (one snapshot).

    >>> JobStatus(stages=2, tasks=16, done=9, running=2).share
    0.5625
    """

    stages: int
    """Stages running (or, on Spark Connect, known to the running query)."""
    tasks: int
    """Tasks of those stages."""
    done: int
    """Tasks completed."""
    running: int
    """Tasks running now."""
    bytes_read: int | None = None
    """Input bytes read so far (Spark Connect reports it; None elsewhere)."""

    @property
    def share(self) -> float:
        """Completed tasks / tasks (0 when no task is known yet)."""
        return self.done / self.tasks if self.tasks else 0.0


def watch_jobs(session: Any, report: Callable[[JobStatus | None], None],
               interval: float = 0.5) -> Callable[[], None]:
    """Call ``report`` with the running job's :class:`JobStatus` (None between jobs) while
    ``session`` works; returns the function that stops watching.

    A session whose driver is in this process is polled from a daemon thread through its
    SparkContext's status tracker every ``interval`` seconds; a Spark Connect session
    reports through PySpark 4's client progress handler
    (``SparkSession.registerProgressHandler``), called as the server sends progress
    (``spark.connect.progress.reportInterval`` on the server, 2 s by default).
    """
    if is_connect_session(session):
        def handler(stages=None, inflight_tasks=0, operation_id=None, done=False, **_: Any) -> None:
            stages = list(stages or [])
            if done or not stages:
                report(None)
                return
            report(JobStatus(stages=sum(1 for s in stages if not s.done),
                             tasks=sum(s.num_tasks for s in stages),
                             done=sum(s.num_completed_tasks for s in stages),
                             running=int(inflight_tasks),
                             bytes_read=sum(s.num_bytes_read for s in stages)))

        session.registerProgressHandler(handler)
        return lambda: session.removeProgressHandler(handler)

    from aips.polling import poll

    tracker = session.sparkContext.statusTracker()

    def status() -> JobStatus | None:
        infos = [i for i in (tracker.getStageInfo(s) for s in tracker.getActiveStageIds()) if i]
        return JobStatus(stages=len(infos), tasks=sum(i.numTasks for i in infos),
                         done=sum(i.numCompletedTasks for i in infos),
                         running=sum(i.numActiveTasks for i in infos)) if infos else None

    return poll(status, report, interval=interval, name="aips-spark-progress", join_timeout=5)
