"""Small worlds for docs, doctests and tests, generated once and cached.

Nothing big ships in the package: :func:`load_demo` simulates the ``demo`` world (a few
hundred thousand events, a few seconds) on first use and caches it under
``$AIPS_CACHE`` (default ``~/.cache/aips``), in a folder named after a hash of the
simulator's parameters, so a change of the simulator regenerates it.

>>> path = load_demo()
>>> sorted(p.name for p in path.iterdir())
['campaigns.csv', 'categories.csv', 'creators.csv', 'events', 'truth.json', 'users.csv']
>>> import duckdb
>>> duckdb.sql(f"select count(*) > 100000 from '{path}/events/*/*.parquet'").fetchone()[0]
True
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

__all__ = ["cache_dir", "load_demo", "load_demo_truth"]

DEMO_SEED = 7
"""Seed of the cached demo world."""


def cache_dir() -> Path:
    """Where generated datasets live: ``$AIPS_CACHE`` or ``~/.cache/aips``."""
    root = os.environ.get("AIPS_CACHE")
    return Path(root).expanduser() if root else Path.home() / ".cache" / "aips"


def _demo_params():
    from aips.simulate import SimulationParams

    return SimulationParams.preset("demo", seed=DEMO_SEED)


def _fingerprint(params) -> str:
    from aips.simulate.truth import FORMAT

    text = json.dumps({"params": params.to_dict(), "truth": FORMAT, "layout": 1}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def load_demo(refresh: bool = False) -> Path:
    """Path of the demo world (``events/``, CSV tables, ``truth.json``), simulated on first call.

    Parameters
    ----------
    refresh
        Simulate it again even when cached.
    """
    from aips.simulate import simulate

    params = _demo_params()
    path = cache_dir() / f"demo-{_fingerprint(params)}"
    if refresh and path.exists():
        shutil.rmtree(path)
    if (path / "truth.json").exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    with _lock(path.parent / f"{path.name}.lock"):
        if not (path / "truth.json").exists():
            simulate(path, params, workers=1, overwrite=True)
    return path


def load_demo_truth() -> dict:
    """The demo world's ``truth.json`` as a dict (see :mod:`aips.simulate.truth`)."""
    return json.loads((load_demo() / "truth.json").read_text(encoding="utf-8"))


class _lock:
    """An exclusive file lock (no-op where ``fcntl`` is missing), so concurrent test workers
    generate the demo once."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __enter__(self):
        self.f = open(self.path, "a+")
        try:
            import fcntl

            fcntl.flock(self.f, fcntl.LOCK_EX)
        except ImportError:  # pragma: no cover - Windows
            pass
        return self

    def __exit__(self, *exc) -> None:
        self.f.close()
