"""A Xiaohongshu-like platform simulator whose ground truth is known.

``simulate(out, ...)`` writes a world ready for ``aips ingest``: canonical ``events``
(Parquet, hive-partitioned by local day), ``campaigns.csv``, ``categories.csv``,
``creators.csv``, ``users.csv`` and ``truth.json`` (what really caused what: per channel
and per campaign incremental purchases and revenue, true ROI(T+x), true decision cycles,
creators' and formats' true effects, the leak and skew knobs, every parameter).

The world (all knobs in :class:`SimulationParams`):

* users with gender, age band, city tier, a baby or not, activity and interests per
  category; 10 % of them are a holdout that never sees paid ads;
* categories with decision cycles (facial serum 29 days, infant food 70, lipstick 14,
  sunscreen 21), competing brands, SPUs with prices;
* channels ``feed_ad``, ``search_ad``, ``kol_note``, ``koc_note``, ``topic_challenge`` and
  ``organic``, each with a true causal effect per exposure on each stage advance
  (A->I, I->TI, TI->P, P->S); campaigns (flights with budgets; spend follows delivered
  impressions); KOL/KOC creators with their own true seeding multipliers; notes in image,
  video or live format whose effects differ by stage;
* behaviour per latent stage (impressions, reads with dwell/completion, searches with
  keywords, likes, collects, comments, shares, follows, screenshots, carts, store visits,
  purchases with amounts, repurchases, posts), a weekly rhythm, hours of the day and
  shopping festivals (Double 11, 618).

How journeys, decisions and counterfactuals work is in :mod:`aips.simulate.journeys`; the
events each latent stage produces in :mod:`aips.simulate.emit`; the truth's keys in
:mod:`aips.simulate.truth`.

Example (a tiny world; the CLI is ``aips simulate --preset demo --out DIR``; ``aips.simulate(...)``
calls the same function):

>>> import json, tempfile, pathlib
>>> out = pathlib.Path(tempfile.mkdtemp()) / "world"
>>> result = simulate(out, users=300, days=30, seed=1)
>>> sorted(p.name for p in out.iterdir())
['campaigns.csv', 'categories.csv', 'creators.csv', 'events', 'truth.json', 'users.csv']
>>> truth = json.loads((out / "truth.json").read_text())
>>> truth["categories"]["facial_serum"]["decision_cycle_days"], truth["counts"]["events"] == result.events
(29, True)
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from aips.exceptions import ConfigError
from aips.simulate.params import SimulationParams
from aips.simulate.parts import (
    CHANNELS,
    EVENT_TYPES,
    FORMATS,
    TRANSITIONS,
    CategoryParams,
    ChannelParams,
    Festival,
    Leak,
    Skew,
)
from aips.simulate.presets import PRESETS

if TYPE_CHECKING:
    from aips.simulate.run import Progress, SimulationResult

__all__ = [
    "CHANNELS",
    "EVENT_TYPES",
    "FORMATS",
    "PRESETS",
    "TRANSITIONS",
    "CategoryParams",
    "ChannelParams",
    "Festival",
    "Leak",
    "SimulationParams",
    "SimulationResult",
    "Skew",
    "simulate",
]


def simulate(
    out: str | Path,
    params: SimulationParams | None = None,
    *,
    preset: str | None = None,
    users: int | None = None,
    days: int | None = None,
    brands: int | None = None,
    seed: int | None = None,
    workers: int | None = None,
    progress: Progress | None = None,
    overwrite: bool = False,
) -> SimulationResult:
    """Simulate a world and write it to ``out``.

    Parameters
    ----------
    out
        Output directory; created, or replaced when ``overwrite`` (written to a temporary
        sibling first and renamed into place, so a failed run leaves nothing behind).
    params
        The world. Default: the ``preset`` (``demo`` when neither is given).
    preset
        ``demo`` (~0.4M events, seconds), ``small`` (~12M) or ``large`` (~1.05B).
    users, days, brands, seed
        Overrides of ``params``: number of users, simulated days, brands per category, seed.
    workers
        Worker processes (default: one per core for worlds of more than 50k users). The
        output does not depend on it.
    progress
        Called as ``progress(blocks_done, blocks_total, events_written)``.
    overwrite
        Replace an existing, non-empty ``out``.

    Returns
    -------
    SimulationResult
        Events and files written, and the time it took.
    """
    if params is not None and preset is not None:
        raise ConfigError("pass either params or preset, not both")
    p = params if params is not None else SimulationParams.preset(preset or "demo")
    changes = {k: v for k, v in {"users": users, "days": days, "brands_per_category": brands, "seed": seed}.items()
               if v is not None}
    if changes:
        p = p.replace(**changes)
    from aips.simulate.run import run_simulation  # lazy: ``import aips`` stays light

    return run_simulation(p, out, workers=workers, progress=progress, overwrite=overwrite)


def __getattr__(name: str):
    # The writer's result types load with the writer (numpy-heavy), only when asked for.
    if name in ("Progress", "SimulationResult"):
        from aips.simulate import run

        return getattr(run, name)
    raise AttributeError(f"module 'aips.simulate' has no attribute {name!r}")
