"""Fixtures of the upkeep tests."""

from __future__ import annotations

from engine_helpers import small_spark_shuffles  # noqa: F401 - autouse: one shuffle partition on Spark
