"""The only place pyspark is imported (ruff's banned-api enforces it).

>>> callable(get_or_create_session)
True
"""

from __future__ import annotations

from typing import Any

from aips.exceptions import MissingDependencyError

INSTALL_HINT = 'PySpark is not installed: pip install "aips[spark]" (and Java 17+ on PATH)'


def _pyspark_sql():
    try:
        import pyspark.sql  # noqa: TID251 - the one allowed import site
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise MissingDependencyError(INSTALL_HINT) from err
    return pyspark.sql


def is_spark_session(obj: Any) -> bool:
    """True when ``obj`` is a SparkSession (without importing pyspark when it is absent)."""
    module = type(obj).__module__
    return module.startswith("pyspark.") and type(obj).__name__ == "SparkSession"


def get_or_create_session(master: str = "local[2]", app_name: str = "aips", **conf: str):
    """A SparkSession configured for aips: small shuffles, Arrow transfer, UTC.

    Args:
        master: the Spark master URL, e.g. ``local[2]``.
        **conf: extra Spark settings (``spark.sql.shuffle.partitions="8"``, ...).
    """
    sql = _pyspark_sql()
    builder = (
        sql.SparkSession.builder.master(master)
        .appName(app_name)
        .config("spark.sql.shuffle.partitions", "8")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.ui.enabled", "false")
        .config("spark.driver.memory", "4g")
        .config("spark.sql.ansi.enabled", "false")
    )
    for key, value in conf.items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    return session
