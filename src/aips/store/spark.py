"""Spark stores: what each store URL means, and a session on it with a persistent catalog.

| URL | meaning |
|---|---|
| ``sc://HOST:PORT`` | a Spark Connect server (its own catalog and warehouse) |
| ``spark://HOST:PORT``, ``yarn``, ``k8s://...`` | a master, as ``spark-submit --master`` takes it |
| ``local[N]``, ``local[*]``, ``local`` | a local session whose catalog (an embedded Derby metastore) and tables persist in ``--warehouse`` (default ``./aips-warehouse/``) |
| ``spark://local[N]`` | deprecated spelling of ``local[N]`` (a note on stderr) |

Every table aips creates goes to one database (``--database``, default ``aips``), created
when missing. Spark settings come from the model file (``store: spark_conf: {...}``) and
``--conf K=V`` (which wins).

>>> spark_target("local[2]")
SparkTarget(kind='local', url='local[2]', note=None)
>>> spark_target("sc://127.0.0.1:15002").kind, spark_target("yarn").kind
('connect', 'master')
>>> spark_target("spark://local[*]").url, spark_target("aips.duckdb") is None
('local[*]', True)
"""

from __future__ import annotations

import contextlib
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from aips.exceptions import StoreError

LOCAL_MASTER = re.compile(r"^local(\[(\d+|\*)(,\s*\d+)?\])?$")
"""``local``, ``local[N]``, ``local[*]``, ``local[N,F]`` (F: task retries)."""
DEFAULT_WAREHOUSE = "aips-warehouse"
"""The folder (relative to the working directory) of a local session's tables and metastore."""
DEFAULT_DATABASE = "aips"
WAREHOUSE_ENV = "AIPS_WAREHOUSE"
DATABASE_ENV = "AIPS_DATABASE"
_DATABASE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class SparkTarget:
    """Where a Spark store lives: ``kind`` is ``local``, ``master`` or ``connect``."""

    kind: Literal["local", "master", "connect"]
    url: str
    note: str | None = None
    """A deprecation message to show once (``spark://local[N]``)."""


def spark_target(text: str) -> SparkTarget | None:
    """The Spark target a ``--store`` value names, or None (a DuckDB store)."""
    text = text.strip()
    if text.startswith("sc://"):
        return SparkTarget("connect", text)
    if text.startswith("spark://"):
        rest = text.removeprefix("spark://")
        if not rest or LOCAL_MASTER.match(rest):
            master = rest or "local[2]"
            return SparkTarget("local", master, note=(
                f"--store {text} is deprecated: write {master} (a local session; spark://HOST:PORT "
                "now means a standalone master)"))
        return SparkTarget("master", text)
    if LOCAL_MASTER.match(text):
        return SparkTarget("local", text)
    if text == "yarn" or text.startswith(("k8s://", "mesos://")):
        return SparkTarget("master", text)
    return None


def is_spark_url(text: str | None) -> bool:
    """True when a ``--store`` value names a Spark store (not a DuckDB file).

    >>> is_spark_url("local[2]"), is_spark_url("out/aips.duckdb")
    (True, False)
    """
    return text is not None and spark_target(str(text)) is not None


@dataclass(frozen=True)
class SparkOptions:
    """How to open a Spark store: warehouse folder, database and settings.

    Attributes:
        warehouse: the folder of a local session's tables and metastore (default
            ``$AIPS_WAREHOUSE`` or ``./aips-warehouse``); on a master, a folder (or URI)
            every executor can reach; ignored by Spark Connect (the server owns its warehouse).
        database: the database (schema) of every table aips creates (default
            ``$AIPS_DATABASE`` or ``aips``).
        conf: Spark settings (``--conf K=V`` over the model's ``store: spark_conf``).
    """

    warehouse: str | None = None
    database: str | None = None
    conf: Mapping[str, Any] = field(default_factory=dict)

    def under(self, conf: Mapping[str, Any]) -> SparkOptions:
        """These options with ``conf`` (the model file's) underneath their own settings."""
        return SparkOptions(self.warehouse, self.database, {**conf, **self.conf})


def parse_conf(pairs: list[str] | None) -> dict[str, str]:
    """``--conf K=V`` values as a mapping.

    >>> parse_conf(["spark.sql.shuffle.partitions=4", "spark.executor.memory=8g"])
    {'spark.sql.shuffle.partitions': '4', 'spark.executor.memory': '8g'}
    """
    out: dict[str, str] = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise StoreError(f"--conf takes KEY=VALUE (a Spark setting), got {pair!r}")
        out[key.strip()] = value.strip()
    return out


def _database(options: SparkOptions) -> str:
    import os

    name = options.database or os.environ.get(DATABASE_ENV) or DEFAULT_DATABASE
    if not _DATABASE_NAME.match(name):
        raise StoreError(f"--database must be a plain name (letters, digits, _), got {name!r}")
    return name


def _warehouse(options: SparkOptions, target: SparkTarget) -> Path | None:
    import os

    given = options.warehouse or os.environ.get(WAREHOUSE_ENV)
    if target.kind != "local" and not given:
        return None  # a cluster's own catalog (spark-defaults / hive-site.xml)
    folder = Path(given or DEFAULT_WAREHOUSE).expanduser().resolve()
    if folder.exists() and not folder.is_dir():
        raise StoreError(f"--warehouse {folder} is a file; give a folder for the Spark tables")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def catalog_conf(warehouse: Path) -> dict[str, str]:
    """Settings of a persistent catalog in ``warehouse``: tables in it, Derby metastore beside."""
    metastore = warehouse / "metastore_db"
    return {
        "spark.sql.catalogImplementation": "hive",
        "spark.sql.warehouse.dir": str(warehouse),
        "spark.hadoop.javax.jdo.option.ConnectionURL": f"jdbc:derby:;databaseName={metastore};create=true",
        "spark.driver.extraJavaOptions": f"-Dderby.system.home={warehouse} "
                                         f"-Dderby.stream.error.file={warehouse / 'derby.log'}",
    }


def open_spark(target: SparkTarget, options: SparkOptions | None = None) -> tuple[Any, str]:
    """An Ibis pyspark backend on ``target`` using its database, and the store's description.

    Raises:
        StoreError: the warehouse is in use by another local session, or the server or
            master cannot be reached.
        MissingDependencyError: pyspark (or its Spark Connect client) is not installed.
    """
    import ibis

    from aips._compat import spark as compat

    options = options or SparkOptions()
    if target.note:
        print(f"aips: {target.note}", file=sys.stderr, flush=True)
    conf = compat.conf_items(options.conf)
    database = _database(options)
    if target.kind == "connect":
        try:
            session = compat.remote_session(target.url, **conf)
        except compat.spark_errors() as err:
            raise StoreError(f"cannot reach the Spark Connect server {target.url}: {_first_line(err)}") from None
        where = target.url
    else:
        warehouse = _warehouse(options, target)
        extra: dict[str, str] = {}
        if warehouse is not None:
            extra = catalog_conf(warehouse)
            java = conf.pop("spark.driver.extraJavaOptions", "")
            extra["spark.driver.extraJavaOptions"] += f" {java}".rstrip()
        session = compat.get_or_create_session(target.url, hive=warehouse is not None, **{**extra, **conf})
        where = target.url + (f" (warehouse {warehouse})" if warehouse else "")
    backend = ibis.pyspark.connect(session)
    use_database(backend, database, where)
    return backend, f"{where}, database {database}"


def use_database(backend: Any, database: str, where: str = "") -> None:
    """Create ``database`` when missing and make it the session's current one."""
    from aips._compat import spark as compat

    try:
        if database not in backend.list_databases():
            backend.create_database(database, force=True)
        backend._session.catalog.setCurrentDatabase(database)
    except compat.spark_errors() + (OSError,) as err:
        text = str(err)
        if "metastore" in text.lower() or "derby" in text.lower():
            raise StoreError(
                f"the Spark catalog of {where} cannot be opened: its embedded metastore admits one "
                "process at a time (another aips command or session is using it?); share one "
                "catalog between processes through a Spark Connect server (--store sc://HOST:PORT)"
            ) from None
        raise StoreError(f"cannot use database {database!r} on {where}: {_first_line(err)}") from None


def session_location(session: Any) -> str:
    """A description of a SparkSession handed in by the caller."""
    from aips._compat import spark as compat

    if compat.is_connect_session(session):
        return "spark connect"
    return str(session.sparkContext.master)


def _first_line(err: BaseException) -> str:
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__


CONNECT_SERVER_CLASS = "org.apache.spark.sql.connect.service.SparkConnectServer"


class ConnectServer:
    """A Spark Connect server on 127.0.0.1 started from the ``pyspark`` package itself
    (its ``bin/spark-submit`` and the server jar it ships), with its catalog (embedded Derby
    metastore) and warehouse in ``folder``: for tests, benchmarks and a laptop that wants
    several aips processes on one catalog. Use it as a context manager; it stops the server
    (by its pid) on exit.

    Args:
        folder: where the warehouse, the metastore and ``server.log`` live.
        port: the gRPC port (0: a free one).
        master: the server's master (``local[2]``).
        driver_memory: the server JVM's heap.
        conf: extra Spark settings of the server.
        java_options: extra options of the server's JVM (the tests start it with only the
            quick JIT tier: ``-XX:TieredStopAtLevel=1``).
    """

    def __init__(self, folder: str | Path, port: int = 0, master: str = "local[2]",
                 driver_memory: str = "2g", conf: Mapping[str, str] | None = None, java_options: str = ""):
        self.folder = Path(folder).resolve()
        self.port = port or _free_port()
        self.master = master
        self.driver_memory = driver_memory
        self.conf = dict(conf or {})
        self.java_options = java_options
        self.process: Any = None

    @property
    def url(self) -> str:
        return f"sc://127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        """The ``spark-submit`` command line."""
        from aips._compat import spark as compat

        home = spark_home()
        warehouse = self.folder / "warehouse"
        conf = {
            "spark.connect.grpc.binding.address": "127.0.0.1",
            "spark.connect.grpc.binding.port": str(self.port),
            "spark.ui.enabled": "false",
            "spark.ui.showConsoleProgress": "false",
            "spark.sql.shuffle.partitions": "8",
            "spark.sql.catalogImplementation": "hive",
            "spark.sql.warehouse.dir": str(warehouse),
            "spark.hadoop.javax.jdo.option.ConnectionURL":
                f"jdbc:derby:;databaseName={self.folder / 'metastore_db'};create=true",
            **self.conf,
        }
        java = compat.quiet_java_options(f"-Dderby.system.home={self.folder} "
                                         f"-Dderby.stream.error.file={self.folder / 'derby.log'} {self.java_options}")
        cmd = [str(home / "bin" / "spark-submit"), "--master", self.master,
               "--driver-memory", self.driver_memory, "--driver-java-options", java]
        for key, value in conf.items():
            cmd += ["--conf", f"{key}={value}"]
        return [*cmd, "--class", CONNECT_SERVER_CLASS, "spark-internal"]

    def start(self, timeout: float = 240.0) -> str:
        """Start the server and wait until it accepts connections; its URL."""
        import os
        import socket
        import subprocess
        import time

        self.folder.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "SPARK_HOME": str(spark_home())}
        env.pop("SPARK_REMOTE", None)
        log = open(self.folder / "server.log", "ab")  # noqa: SIM115 - the child keeps it
        self.process = subprocess.Popen(self.command(), stdout=log, stderr=subprocess.STDOUT, env=env,
                                        cwd=self.folder, start_new_session=True)
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise StoreError(f"the Spark Connect server exited with code {self.process.returncode}; "
                                 f"see {self.folder / 'server.log'}")
            with socket.socket() as sock:
                sock.settimeout(1.0)
                if sock.connect_ex(("127.0.0.1", self.port)) == 0:
                    return self.url
            time.sleep(0.5)
        self.stop()
        raise StoreError(f"the Spark Connect server did not listen on port {self.port} within {timeout:g} s; "
                         f"see {self.folder / 'server.log'}")

    def stop(self) -> None:
        """Stop the server (its process group, started by :meth:`start`) and wait for it."""
        import os
        import signal
        import subprocess

        if self.process is None or self.process.poll() is not None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=30)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=30)

    def __enter__(self) -> ConnectServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def spark_home() -> Path:
    """The ``pyspark`` package folder (it holds ``bin/spark-submit`` and ``jars/``), found
    without importing pyspark."""
    import importlib.util

    from aips._compat.spark import INSTALL_HINT
    from aips.exceptions import MissingDependencyError

    spec = importlib.util.find_spec("pyspark")
    if spec is None or not spec.submodule_search_locations:
        raise MissingDependencyError(INSTALL_HINT)
    return Path(list(spec.submodule_search_locations)[0])


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
