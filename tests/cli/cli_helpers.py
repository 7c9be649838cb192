"""Shared pieces of the CLI tests: the demo world's golden outputs and a store builder."""

from __future__ import annotations

import math
from pathlib import Path

SIDE_TABLES = ("campaigns", "categories", "creators", "users")

GOLDEN = Path(__file__).parent / "golden" / "demo"
COMMANDS = [
    line.split("\t", 1)
    for line in (GOLDEN / "commands.tsv").read_text(encoding="utf-8").splitlines()
    if line.strip()
]
"""(name, command) of each recorded command."""


def close_json(a, b, path: str = "$") -> None:
    """Equal JSON, floats to 1e-9 relative (sums may differ in the last bits)."""
    if isinstance(a, float) or isinstance(b, float):
        assert a is not None and b is not None, f"{path}: {a!r} != {b!r}"
        assert math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12), f"{path}: {a!r} != {b!r}"
    elif isinstance(a, dict):
        assert isinstance(b, dict) and list(a) == list(b), f"{path}: keys {list(a)} != {list(b)}"
        for k in a:
            close_json(a[k], b[k], f"{path}.{k}")
    elif isinstance(a, list):
        assert isinstance(b, list) and len(a) == len(b), f"{path}: lengths differ"
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            close_json(x, y, f"{path}[{i}]")
    else:
        assert a == b, f"{path}: {a!r} != {b!r}"


def ingest_world(world: Path, path: Path, config: str | None = None) -> str:
    """Ingest a simulated world into a DuckDB store at ``path`` as ``aips demo`` does it
    (events and side tables, the counters rollup and the asset history); its path."""
    import aips

    quarantine = path.parent / "quarantine"
    with aips.open(str(path), config) as ws:
        ws.ingest(*sorted((world / "events").rglob("*.parquet")), table="events",
                  preset="canonical", quarantine_dir=quarantine)
        for name in SIDE_TABLES:
            if (world / f"{name}.csv").is_file():
                ws.ingest(world / f"{name}.csv", table=name, quarantine_dir=quarantine)
        ws.refresh_counters()
        ws.update_series()
    return str(path)
