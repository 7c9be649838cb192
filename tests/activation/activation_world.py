"""A simulated world with known leaks, shared by the diagnosis and CLI tests (one per session)."""

from __future__ import annotations

import pytest

from aips.simulate import Leak, SimulationParams, simulate

LEAK_WORLD = SimulationParams(
    users=2500, days=120, seed=5, categories=(SimulationParams().categories[0],),
    brands_per_category=4, kol_count=10, koc_count=40,
    leaks=(Leak("Serava", "I->TI", 0.35), Leak("Lumiere", "TI->P", 0.3)),
)
"""One category (facial serum) with four brands: Serava leaks at I->TI, Lumiere at TI->P
(each advance's hazard x 0.3-0.35), Auralis and facial_serum_brand_4 do not."""


@pytest.fixture(scope="session")
def leak_world(tmp_path_factory):
    """``(world directory, DuckDB store file)`` of :data:`LEAK_WORLD`."""
    from activation_helpers import load_world

    root = tmp_path_factory.mktemp("leak")
    simulate(root / "world", LEAK_WORLD, workers=1)
    path = root / "store.duckdb"
    ws = load_world(root / "world", str(path))
    ws.close()
    return root / "world", path
