"""Shared by the reporting and browser tests: one small simulated store per test session,
the dashboard's data service over it, and the headline numbers computed independently
with the plain workspace API (the oracle the report's and the dashboard's cards are
checked against).

The world is simulated once per session (2,000 users, 90 days, seed 11: ~0.2M events)
into the session's temporary folder and ingested like ``aips demo`` does. The main brand
is the simulator's leak brand (its diagnosis has a leak); the second brand is another
brand of the same category.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import aips

USERS, DAYS, SEED = 2000, 90, 11
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
]


@dataclass
class World:
    """The session's store and what the tests need to know about it."""

    store: Path
    brand: str
    other: str
    category: str | None


_WORLD: World | None = None
_SERVICE = None
_ORACLE: dict = {}


def build_world(base: Path) -> World:
    """Simulate and ingest the session's world under ``base`` (once per session)."""
    global _WORLD
    if _WORLD is not None:
        return _WORLD
    root = base / "report-world"
    shutil.rmtree(root, ignore_errors=True)
    world = root / "world"
    aips.simulate(world, users=USERS, days=DAYS, seed=SEED, overwrite=True)
    store = root / "aips.duckdb"
    with aips.open(str(store)) as ws:
        ws.ingest(*sorted((world / "events").rglob("*.parquet")), table="events", preset="canonical",
                  quarantine_dir=root / "quarantine")
        for name in ("campaigns", "categories", "creators", "users"):
            ws.ingest(world / f"{name}.csv", table=name, quarantine_dir=root / "quarantine")
        ws.refresh_counters()
        ws.update_series()
    truth = json.loads((world / "truth.json").read_text(encoding="utf-8"))
    brand = truth["leaks"][0]["brand"]
    category = truth["brands"][brand]["category"]
    other = next(b for b in truth["categories"][category]["brands"] if b != brand)
    _WORLD = World(store=store, brand=brand, other=other, category=category)
    return _WORLD


def service(world: World):
    """The dashboard's data service over the session's store (shared: sections computed once)."""
    global _SERVICE
    if _SERVICE is None:
        from aips.dashboard.service import DataService

        _SERVICE = DataService(str(world.store))
    return _SERVICE


def plain_workspace(store: Path):
    """A workspace without the report's cache: the independent oracle."""
    return aips.open(str(store), read_only=True)  # beside the dashboard's read-only service


def engine_cards(world: World, brand: str) -> dict[str, float | None]:
    """The headline numbers of ``brand`` over the default period, straight from the API.

    AIPS total and TI from ``assets``, I+TI from ``seeded_crowd``, new TI from
    ``new_ti_counts``, penetration from ``penetration``, ROI(T+x) as Σ revenue ÷ Σ spend of
    ``roi(c)`` over the brand's campaigns launched in the period.
    """
    if brand in _ORACLE:
        return _ORACLE[brand]
    ws = plain_workspace(world.store)
    try:
        ev = ws.events
        end = ev.local_date.max().to_pyarrow().as_py()
        start = end - dt.timedelta(days=29)
        a = ws.assets(end).to_pyarrow().to_pandas()
        a = a[a["brand"] == brand]
        seeded = ws.seeded_crowd(end).to_pyarrow().to_pandas()
        new = ws.new_ti_counts(start, end).to_pyarrow().to_pandas()
        pen = ws.penetration(end).to_pyarrow().to_pandas()
        camps = ws.store.table("campaigns").to_pyarrow().to_pandas()
        camps = camps[(camps["brand"] == brand) & (camps["start_date"] >= start) & (camps["start_date"] <= end)]
        fits = [ws.roi(c) for c in camps["campaign_id"]]
        spend = sum(f.spend_ for f in fits)
        out = {
            "aips_total": int(a["users"].sum()),
            "ti": int(a.loc[a["stage"] == "TI", "users"].sum()),
            "i_ti": int(seeded.loc[seeded["brand"] == brand, "users"].sum()),
            "new_ti": int(new.loc[new["brand"] == brand, "new_ti"].sum()),
            "penetration": float(pen.loc[pen["brand"] == brand, "penetration"].iloc[0]),
            "roi": (sum(f.revenue_ for f in fits) / spend) if spend > 0 else None,
        }
    finally:
        ws.close()
    _ORACLE[brand] = out
    return out


def assert_cards_match(found: dict[str, str], expected: dict[str, float | None]) -> None:
    """``found``: ``{metric: data-value text}`` from a page; every expected metric must match."""
    assert set(expected) <= set(found), f"cards missing: {set(expected) - set(found)}"
    for metric, value in expected.items():
        text = found[metric]
        if value is None:
            assert text == "", f"{metric}: expected no value, page has {text!r}"
        else:
            assert text != "", f"{metric}: page has no value, engine says {value}"
            assert abs(float(text) - float(value)) <= 1e-9 * max(1.0, abs(float(value))), \
                f"{metric}: page {text} != engine {value}"


def screenshot_dir(tmp_path: Path) -> Path:
    """Where a test saves screenshots (copied to ``out/screenshots`` when AIPS_SCREENSHOTS=1)."""
    d = tmp_path / "screenshots"
    d.mkdir(parents=True, exist_ok=True)
    return d


def publish_screenshots(folder: Path) -> None:
    """Copy a test's screenshots to ``out/screenshots/`` when ``AIPS_SCREENSHOTS=1``."""
    if os.environ.get("AIPS_SCREENSHOTS") != "1":
        return
    target = Path(os.environ.get("AIPS_SCREENSHOTS_DIR", "out/screenshots"))
    target.mkdir(parents=True, exist_ok=True)
    for png in folder.glob("*.png"):
        shutil.copy2(png, target / png.name)
