"""Engine tests run on every backend of the ``store`` fixture (tests/conftest.py)."""

from __future__ import annotations

from engine_helpers import small_spark_shuffles  # noqa: F401 - autouse: one shuffle partition on Spark
