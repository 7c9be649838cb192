"""The demo world's store, built once per test session for the CLI tests."""

from __future__ import annotations

import pytest
from cli_helpers import ingest_world


@pytest.fixture(scope="session")
def demo_store(tmp_path_factory) -> str:
    """The demo world ingested as ``aips demo`` does it (rollup and history included)."""
    from aips.datasets import load_demo

    return ingest_world(load_demo(), tmp_path_factory.mktemp("demo") / "aips.duckdb")
