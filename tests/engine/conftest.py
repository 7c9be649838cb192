"""Engine tests run on every backend of the ``store`` fixture (tests/conftest.py)."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _small_spark_shuffles(request):
    """Tiny test data: one shuffle partition makes Spark several times faster (same results)."""
    store = request.getfixturevalue("store") if "store" in request.fixturenames else None
    if store is None or store.kind != "pyspark":
        yield
        return
    conf = store.backend._session.conf
    old = conf.get("spark.sql.shuffle.partitions")
    conf.set("spark.sql.shuffle.partitions", "1")
    yield
    conf.set("spark.sql.shuffle.partitions", old)

