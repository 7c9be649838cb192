"""``aips simulate``: write a simulated Xiaohongshu-like world with known ground truth.

Registered by the main app as ``app.command("simulate")(simulate_command)``.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer


class Preset(StrEnum):
    demo = "demo"
    small = "small"
    large = "large"


def simulate_command(
    out: Annotated[Path, typer.Option("--out", help="Output directory (events/, CSV tables, truth.json).")],
    preset: Annotated[Preset, typer.Option("--preset", help="World size: demo (~0.4M events), small (~12M), large (~1.05B).")] = Preset.demo,
    users: Annotated[int | None, typer.Option("--users", min=1, help="Number of users (overrides the preset).")] = None,
    days: Annotated[int | None, typer.Option("--days", min=1, help="Simulated days (overrides the preset).")] = None,
    brands: Annotated[int | None, typer.Option("--brands", min=1, help="Competing brands per category.")] = None,
    seed: Annotated[int | None, typer.Option("--seed", help="Seed (default 0, or the --params file's): the same seed gives byte-identical output.")] = None,
    params: Annotated[Path | None, typer.Option("--params", exists=True, dir_okay=False,
                                                help="YAML file of SimulationParams (keys as in truth.json 'params'; may set 'preset').")] = None,
    campaign_holdout: Annotated[float | None, typer.Option(
        "--campaign-holdout", min=0.0, max=0.99,
        help="Share of each paid campaign's audience held out of that campaign only (writes "
             "campaign_holdouts.csv; per-campaign incremental ROI). Default 0: none.")] = None,
    workers: Annotated[int | None, typer.Option("--workers", min=1, help="Worker processes (default: one per core for big worlds).")] = None,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace an existing, non-empty output directory.")] = False,
) -> None:
    """Simulate users, brands, campaigns, creators and journeys; write data ready for `aips ingest`."""
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    from aips.simulate import SimulationParams, simulate

    console = Console(stderr=True)
    if params is not None:
        world = SimulationParams.from_yaml(params)
    else:
        world = SimulationParams.preset(preset.value)
    if campaign_holdout is not None:
        world = world.replace(campaign_holdout_share=campaign_holdout)

    columns = (TextColumn("simulating"), BarColumn(), MofNCompleteColumn(), TextColumn("blocks"),
               TextColumn("{task.fields[events]:,} events"), TimeElapsedColumn(), TimeRemainingColumn())
    with Progress(*columns, console=console, transient=True) as bar:
        task = bar.add_task("simulate", total=None, events=0)

        def progress(done: int, total: int, events: int) -> None:
            bar.update(task, completed=done, total=total, events=events)

        result = simulate(out, world, users=users, days=days, brands=brands, seed=seed, workers=workers,
                          progress=progress, overwrite=overwrite)
    console.print(
        f"[bold]{result.events:,}[/bold] events ({result.users:,} users, {result.days} days, "
        f"{result.files} files) written to [bold]{result.out}[/bold] in {result.seconds:.1f} s "
        f"({result.events_per_second / 1e6:.2f}M events/s); ground truth in {result.out / 'truth.json'}"
    )
