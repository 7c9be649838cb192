"""Simulated worlds shared across test folders (one each per session): one with known leaks
(the diagnosis and CLI tests), one where creators drive seeding (the creator ranking and the
planner's creator booking)."""

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


SEEDING_WORLD = SimulationParams.from_dict(dict(
    users=3000, days=120, seed=1, kol_count=8, koc_count=32, creator_seeding_sigma=1.0,
    base_hazard=(0.05, 0.07, 0.35, 0.05),
    channels={"feed_ad": {"intensity": 0.01}, "topic_challenge": {"intensity": 0.01},
              "organic": {"intensity": 0.01}},
))
"""A world where creators drive seeding: 40 creators (8 KOL, 32 KOC) with widely spread true
seeding multipliers (log-normal sigma 1.0), a low baseline hazard for A->I and I->TI and
little feed/topic/organic delivery. Its default sibling (340 creators, 4000 users) has too
few touches per creator to rank them (see the report)."""


@pytest.fixture(scope="session")
def seeding_world(tmp_path_factory):
    """``(world directory, DuckDB store file)`` of :data:`SEEDING_WORLD`."""
    from activation_helpers import load_world

    root = tmp_path_factory.mktemp("seeding")
    simulate(root / "world", SEEDING_WORLD, workers=1)
    path = root / "store.duckdb"
    load_world(root / "world", str(path)).close()
    return root / "world", path
