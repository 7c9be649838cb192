"""``aips demo``: the whole pipeline on the simulated demo world, end to end.

1. the demo world (seeded; :func:`aips.datasets.load_demo` simulates it once into the cache,
   it is copied to ``OUT/world``);
2. a fresh store ``OUT/aips.duckdb`` (an old one is deleted, so the demo is repeatable);
3. ingest of the events and the campaigns, categories, creators and users tables;
4. the counters rollup and the daily asset history;
5. the reports ``OUT/report.html`` (English) and ``OUT/report_zh.html`` (Chinese) for the
   demo's main brand: the brand the simulator made leak (a diagnosis worth reading), else
   the brand with the most TI users;
6. a one-screen summary: stage counts, period, ROI, the leaking stage, timings, the paths.

Registered by the main app as ``app.command("demo")(demo_command)``.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path
from typing import Annotated

import typer

SIDE_TABLES = ("campaigns", "categories", "creators", "users", "campaign_holdouts")


def _main_brand(ws, world: Path) -> str:
    """The simulator's leak brand (or skew brand), else the brand with the most TI users."""
    truth = world / "truth.json"
    if truth.is_file():
        data = json.loads(truth.read_text(encoding="utf-8"))
        for key in ("leaks", "skews"):
            for item in data.get(key) or []:
                if item.get("brand"):
                    return str(item["brand"])
    from aips.reporting.period import data_range

    last = data_range(ws)[1]
    df = ws.assets(last).to_pyarrow().to_pandas()
    ti = df[df["stage"] == "TI"].sort_values(["users", "brand"], ascending=[False, True])
    return str(ti["brand"].iloc[0])


def _world(dest: Path) -> tuple[Path, str]:
    """The demo world copied to ``dest`` (from the cache, simulated into it the first time)."""
    from aips.datasets import load_demo

    source = load_demo()
    if dest.exists():
        shutil.rmtree(dest)
    shutil.copytree(source, dest)
    return dest, f"cached demo world {source}"


def _ingest(ws, world: Path, quarantine: Path, status) -> tuple[int, int]:
    """The world's events and side tables into ``ws``: (events loaded, rows quarantined)."""
    status.update("demo: ingesting the events")
    files = sorted((world / "events").rglob("*.parquet"))
    rep = ws.ingest(*files, table="events", preset="canonical", quarantine_dir=quarantine)
    loaded, quarantined = rep.loaded, rep.quarantined
    for name in SIDE_TABLES:
        path = world / f"{name}.csv"
        if path.is_file():
            status.update(f"demo: ingesting {name}")
            r = ws.ingest(path, table=name, quarantine_dir=quarantine)
            quarantined += r.quarantined
    return loaded, quarantined


def _compute(ws, console, status) -> None:
    """The counters rollup and the daily asset history (the report works without them)."""
    status.update("demo: counters and the daily asset history")
    for name, compute in (("refresh_counters", ws.refresh_counters),
                          ("update_series", ws.update_series)):
        try:
            compute()
        except Exception as err:  # noqa: BLE001 - the report still works without them
            console.print(f"[yellow]{name} skipped: {err}[/yellow]")


def _stage_table(data, brand: str):
    """The brand's stage counts on the period's end and its previous end (``None`` at SPU level)."""
    from rich.table import Table

    from aips.config.model import STAGE_ORDER
    from aips.reporting.labels import fmt_count, stage_label

    p = data.period
    stages = data.sections.get("stages")
    if stages is None or stages["level"] != "brand":
        return None
    table = Table(title=f"{brand}: crowd asset on {p.end}", show_edge=False)
    for col in ("stage", "exclusive", "cumulative", f"on {p.prev_end}"):
        table.add_column(col, justify="left" if col == "stage" else "right")
    frame = stages["frame"].set_index("stage")
    for s in [x for x in STAGE_ORDER if x in frame.index]:
        r = frame.loc[s]
        prev = fmt_count(r["previous"]) if "previous" in frame else ""
        table.add_row(stage_label(s), fmt_count(r["exclusive"]), fmt_count(r["cumulative"]), prev)
    return table


def _summary(console, data, brand: str, how: str, loaded: int, quarantined: int) -> None:
    """The one-screen summary: world, period, stage counts, headline cards, the diagnosis, omissions."""
    from aips.reporting.labels import fmt_count, fmt_pct

    p = data.period
    console.rule(f"[bold]aips demo[/bold]: {brand}" + (f" ({data.category})" if data.category else ""))
    console.print(f"world: {how}; {fmt_count(loaded)} events loaded, {quarantined} rows quarantined")
    console.print(f"period {p.start} .. {p.end} ({p.days} days), compared with {p.prev_start} .. {p.prev_end}")
    table = _stage_table(data, brand)
    if table is not None:
        console.print(table)
    cards = {c["metric"]: c for c in data.sections.get("cards") or []}
    line = []
    if "new_ti" in cards:
        line.append(f"new TI {fmt_count(cards['new_ti']['value'])}")
    if "penetration" in cards:
        line.append(f"penetration {fmt_pct(cards['penetration']['value'])}")
    if "roi" in cards:
        roi = cards["roi"]["value"]
        line.append(f"ROI(T+x) of the period's campaigns {'n/a' if roi is None else f'{roi:.2f}'} (attributed)")
    if line:
        console.print("; ".join(line))
    diag = data.sections.get("diagnosis")
    if diag and diag.get("focus"):
        word = "leaking stage" if diag["is_leak"] else "weakest stage (no significant leak)"
        summary = (diag.get("summary") or {}).get("en", "")
        console.print(f"[bold red]{word}: {diag['focus']}[/bold red] {summary}")
    if data.omitted:
        console.print("sections omitted: " + "; ".join(f"{k} ({v})" for k, v in data.omitted.items()))


def demo_command(
    out: Annotated[Path, typer.Option("--out", help="Output folder: world/, aips.duckdb, report.html, report_zh.html.")] = Path("out/demo"),
) -> None:
    """Simulate the demo world, ingest it, compute, and write the brand report (en + zh)."""
    from rich.console import Console

    from aips.cli.common import open_ws
    from aips.reporting.data import collect
    from aips.reporting.html import write_report

    console = Console()
    started = time.perf_counter()
    steps: list[tuple[str, float]] = []
    mark = [started]

    def step(name: str) -> None:
        now = time.perf_counter()
        steps.append((name, now - mark[0]))
        mark[0] = now

    out.mkdir(parents=True, exist_ok=True)
    with console.status("demo: preparing the simulated world") as status:
        world, how = _world(out / "world")
        step("world")
        store = out / "aips.duckdb"
        for old in (store, Path(f"{store}.wal")):
            old.unlink(missing_ok=True)
        shutil.rmtree(out / "quarantine", ignore_errors=True)
        with open_ws(str(store), None) as ws:
            loaded, quarantined = _ingest(ws, world, out / "quarantine", status)
            step("ingest")
            _compute(ws, console, status)
            step("compute")
            brand = _main_brand(ws, world)

            def progress(section: str, done: int, total: int) -> None:
                status.update(f"demo: report for {brand}: {section} ({done}/{total})")

            data = collect(ws, brand, langs=("en", "zh"), progress=progress)
            step("report data")
            status.update("demo: writing the reports")
            en = write_report(data, out / "report.html", "en")
            zh = write_report(data, out / "report_zh.html", "zh")
            step("write")
    total = time.perf_counter() - started

    _summary(console, data, brand, how, loaded, quarantined)
    console.print("time: " + ", ".join(f"{name} {sec:.1f} s" for name, sec in steps) + f"; total [bold]{total:.1f} s[/bold]")
    console.print(f"report: [bold]{en.resolve()}[/bold]")
    console.print(f"报告（中文）: [bold]{zh.resolve()}[/bold]")
