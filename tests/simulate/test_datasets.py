"""aips.datasets.load_demo: generated once into the cache, then reused."""

from __future__ import annotations

import json
import time

from aips import datasets


def test_load_demo_generates_once_into_the_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("AIPS_CACHE", str(tmp_path / "cache"))
    path = datasets.load_demo()
    assert path.parent == tmp_path / "cache" and path.name.startswith("demo-")
    truth = json.loads((path / "truth.json").read_text())
    assert 200_000 < truth["counts"]["events"] < 800_000  # "a few hundred thousand events"
    assert truth["seed"] == datasets.DEMO_SEED
    stamp = (path / "truth.json").stat().st_mtime_ns
    start = time.perf_counter()
    assert datasets.load_demo() == path
    assert time.perf_counter() - start < 1.0
    assert (path / "truth.json").stat().st_mtime_ns == stamp
    assert datasets.load_demo_truth() == truth


def test_cache_dir_defaults_to_the_home_cache(monkeypatch):
    monkeypatch.delenv("AIPS_CACHE", raising=False)
    assert str(datasets.cache_dir()).endswith(".cache/aips")
