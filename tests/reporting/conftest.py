"""Session fixtures of the reporting tests: the simulated store and its report data."""

from __future__ import annotations

import pytest
from report_helpers import build_world, service


@pytest.fixture(scope="session")
def world(tmp_path_factory):
    """The session's small simulated store (built once, shared with the browser tests)."""
    return build_world(tmp_path_factory.getbasetemp())


@pytest.fixture(scope="session")
def report_data(world):
    """Every section of the main brand's report (English and Chinese texts)."""
    return service(world).report_data(world.brand)
