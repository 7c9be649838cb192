"""Fixtures of the ingest tests (helpers live in ingest_helpers.py)."""

from __future__ import annotations

import pytest

from aips.config.model import default_model
from aips.workspace import Workspace


@pytest.fixture
def ws(duckdb_store) -> Workspace:
    """A workspace over a fresh in-memory DuckDB store with the default model."""
    return Workspace(duckdb_store, default_model())
