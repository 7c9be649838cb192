"""Every ``aips`` command on one store, timed against one snapshot (issue 13).

Runs, in one run on one store, ``aips assets --recompute`` (one snapshot: the unit) and every other
command, each in its own process, and prints per command the wall time, the CPU time of
the process tree, the ratio of each to the snapshot's and the peak RSS of the process tree
(psutil, sampled every 0.1 s), with the store's size and the machine. Goals at 12M events
(the ``small`` preset): ``report`` <= 15x, ``attribute --compare`` <= 5x, every other
command <= 3x; peak RSS <= 2 GiB.

    .venv/bin/python bench/scale.py /work/scale/small/aips.duckdb
    .venv/bin/python bench/scale.py --world /work/scale/small/world     # ingest it first
    .venv/bin/python bench/scale.py STORE --commands diagnose,creators,report
    .venv/bin/python bench/scale.py STORE --list                         # the command lines

The store is copied to a scratch folder first (``series --backfill`` rewrites the stored
history; the copy keeps the original untouched), removed at the end unless ``--keep``.
Dates, brand, category and campaign default to the store's: the last day with events, the
first brand by name, its category and its first campaign. Machines are noisy: compare the
ratios of one run (the snapshot is measured in the same run), and CPU seconds.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

BASE = "assets"
"""The unit: one snapshot computed (``aips assets --at LAST --recompute``: from the rollup, or
the events, even when the stored stage timelines are current; ``assets-stored`` reads them)."""

COMMANDS: dict[str, str] = {
    "assets": "assets --at {at} --recompute",
    "series-update": "series --update --brand {brand}",
    "assets-stored": "assets --at {at}",
    "series-backfill": "series --backfill --from {start} --to {at} --brand {brand}",
    "series": "series --from {start} --to {at} --brand {brand}",
    "flows": "flows --from {t0} --to {at}",
    "competitors": "competitors --at {at}",
    "funnel": "funnel --steps read,collect,purchase --window 14d",
    "cycle": "cycle --category {category}",
    "roi": "roi --campaign {campaign}",
    "attribute": "attribute --compare",
    "audience": "audience --brand {brand} --at {at} --stage TI",
    "portrait": "portrait --brand {brand} --at {at}",
    "content": "content --brand {brand}",
    "engagement": "engagement --brand {brand} --from {t0} --to {at}",
    "creators": "creators --brand {brand} --at {at}",
    "loyalty": "loyalty",
    "diagnose": "diagnose --brand {brand} --at {at}",
    "report": "report --brand {brand} --out {scratch}/report.html",
}
"""Name -> ``aips`` arguments (``{at}``, ``{brand}``, ... filled from the store)."""

GOALS = {"report": 15.0, "attribute": 5.0}
"""Ratio goals to the snapshot (every other command: :data:`DEFAULT_GOAL`)."""
DEFAULT_GOAL = 3.0
RSS_GOAL_GIB = 2.0
"""Peak RSS goal at 12M events (the ``small`` preset); at 100M it is 4 GiB (:func:`rss_goal`)."""


def rss_goal(events: int) -> float:
    """The issue's peak RSS goal in GiB for a store of ``events`` events: 2 at 12M, 4 at 100M
    (the midpoint, 50M, divides them).

    >>> rss_goal(11_950_000), rss_goal(99_186_598)
    (2.0, 4.0)
    """
    return RSS_GOAL_GIB if events < 50_000_000 else 4.0


@dataclass
class Result:
    name: str
    wall: float
    cpu: float
    peak_rss: int
    code: int
    tail: str = ""


def select(names: str | None) -> list[str]:
    """The commands to run, in :data:`COMMANDS` order; the snapshot always first.

    >>> select("report,diagnose")
    ['assets', 'diagnose', 'report']
    >>> select("nope")
    Traceback (most recent call last):
    SystemExit: unknown command(s): nope (known: assets, series-update, assets-stored, series-backfill, series, flows, competitors, funnel, cycle, roi, attribute, audience, portrait, content, engagement, creators, loyalty, diagnose, report)
    """
    if not names:
        return list(COMMANDS)
    wanted = {n.strip() for n in names.split(",") if n.strip()}
    unknown = sorted(wanted - set(COMMANDS))
    if unknown:
        raise SystemExit(f"unknown command(s): {', '.join(unknown)} (known: {', '.join(COMMANDS)})")
    return [n for n in COMMANDS if n == BASE or n in wanted]


def argv(name: str, params: dict[str, str]) -> list[str]:
    """The ``aips`` argument list of a command, with the store appended.

    >>> argv("diagnose", {"at": "2026-02-27", "brand": "Auralis", "store": "s.duckdb"})
    ['diagnose', '--brand', 'Auralis', '--at', '2026-02-27', '--store', 's.duckdb']
    """
    return [*COMMANDS[name].format(**params).split(), "--store", params["store"]]


def defaults(store: str) -> dict[str, str]:
    """``at`` (the last day with events), ``t0``/``start`` (57 / 179 days before), ``brand``
    (first by name), its ``category`` and first ``campaign``, read from the store."""
    import duckdb

    con = duckdb.connect(store, read_only=True)
    try:
        last = con.sql("select max(local_date) from events").fetchone()[0]
        brand = con.sql("select min(brand) from events").fetchone()[0]
        cat = con.execute("select category from events where brand = ? and category is not null "
                          "group by 1 order by count(*) desc limit 1", [brand]).fetchone()
        camp = con.execute("select campaign_id from campaigns where brand = ? order by start_date, "
                           "campaign_id limit 1", [brand]).fetchone()
        events = con.sql("select count(*) from events").fetchone()[0]
        users = con.sql("select count(distinct user_id) from events").fetchone()[0]
    finally:
        con.close()
    return {"at": last.isoformat(), "t0": (last - dt.timedelta(days=57)).isoformat(),
            "start": (last - dt.timedelta(days=179)).isoformat(), "brand": brand,
            "category": cat[0] if cat else "none", "campaign": camp[0] if camp else "",
            "events": f"{events:,}", "users": f"{users:,}"}


def run(name: str, cmd: list[str], every: float = 0.1) -> Result:
    """Run ``cmd``; wall time, CPU time (user + system of the tree) and peak tree RSS."""
    import psutil

    cpu0 = _children_cpu()
    t = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    ps = psutil.Process(proc.pid)
    peak = 0
    stop = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not stop.is_set():
            total = 0
            try:
                tree = [ps, *ps.children(recursive=True)]
            except psutil.Error:
                tree = []
            for p in tree:
                try:
                    total += p.memory_info().rss
                except psutil.Error:
                    pass
            peak = max(peak, total)
            stop.wait(every)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    _, err = proc.communicate()
    wall = time.perf_counter() - t
    stop.set()
    thread.join()
    # CPU of the whole tree: RUSAGE_CHILDREN grows by every descendant that was waited for
    # (the command, and the workers it waited for) once the command has been reaped
    cpu = _children_cpu() - cpu0
    return Result(name, wall, cpu, peak, proc.returncode, (err or "")[-2000:])


def _children_cpu() -> float:
    """User + system seconds of every waited-for descendant so far (``RUSAGE_CHILDREN``)."""
    import resource

    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def machine() -> str:
    import psutil

    cpu = platform.processor() or platform.machine()
    return (f"{psutil.cpu_count(logical=True)} cores ({cpu}), {psutil.virtual_memory().total / 2**30:.0f} GiB RAM, "
            f"Python {platform.python_version()}, load average {os.getloadavg()[0]:.1f}")


def build_store(world: Path, store: Path, aips: list[str]) -> None:
    """Ingest a simulated world (events, then its campaigns, categories, creators, users)."""
    subprocess.run([*aips, "ingest", str(world / "events"), "--store", str(store)], check=True,
                   stdout=subprocess.DEVNULL)
    for name in ("campaigns", "categories", "creators", "users"):
        path = world / f"{name}.csv"
        if path.exists():
            subprocess.run([*aips, "ingest", str(path), "--table", name, "--store", str(store)],
                           check=True, stdout=subprocess.DEVNULL)


def main(args_in: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("store", nargs="?", help="a DuckDB store (copied to the scratch folder first)")
    ap.add_argument("--world", type=Path, help="a simulated world folder to ingest into a new store")
    ap.add_argument("--commands", help=f"comma-separated subset of: {', '.join(COMMANDS)}")
    ap.add_argument("--scratch", type=Path, help="scratch folder (default: a new temp folder)")
    ap.add_argument("--keep", action="store_true", help="keep the scratch folder")
    ap.add_argument("--list", action="store_true", help="print the command lines and exit")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                    help="override a parameter (at, t0, start, brand, category, campaign)")
    args = ap.parse_args(args_in)
    if not args.store and not args.world:
        ap.error("give a store path or --world DIR")
    names = select(args.commands)
    aips = [sys.executable, "-c", "import sys; from aips.cli.app import main; sys.exit(main())"]
    scratch = args.scratch or Path(tempfile.mkdtemp(prefix="aips-scale-"))
    scratch.mkdir(parents=True, exist_ok=True)
    store = scratch / "aips.duckdb"
    try:
        if args.world:
            if not args.list:
                t = time.perf_counter()
                build_store(args.world, store, aips)
                print(f"ingested {args.world} in {time.perf_counter() - t:.0f} s", flush=True)
        elif not args.list:
            shutil.copy(args.store, store)
        params = defaults(str(store) if store.exists() else args.store)
        params.update(dict(kv.split("=", 1) for kv in args.set))
        params.update(store=str(store), scratch=str(scratch))
        if args.list:
            for n in names:
                print(f"{n:16s} aips {' '.join(argv(n, params))}")
            return 0
        size = os.path.getsize(store) / 2**30
        print(f"store: {params['events']} events, {params['users']} users, {size:.2f} GiB on disk; "
              f"brand {params['brand']}, at {params['at']}")
        print(f"machine: {machine()}", flush=True)
        results = {}
        for n in names:
            res = run(n, [*aips, *argv(n, params)])
            results[n] = res
            status = "" if res.code == 0 else f"  EXIT {res.code}: {res.tail.strip().splitlines()[-1:]}"
            print(f"  {n:16s} {res.wall:7.1f} s wall {res.cpu:7.1f} s CPU {res.peak_rss / 2**30:5.2f} GiB{status}",
                  flush=True)
        print(table(results, int(params["events"].replace(",", ""))))
        print(f"load average after: {os.getloadavg()[0]:.1f}")
        return 0 if all(r.code == 0 for r in results.values()) else 1
    finally:
        if not args.keep and not args.scratch:
            shutil.rmtree(scratch, ignore_errors=True)


def table(results: dict[str, Result], events: int = 0) -> str:
    """The Markdown table: wall, CPU, ratios to the snapshot, peak RSS, goal (the RSS goal
    of a store of ``events`` events, :func:`rss_goal`)."""
    base = results[BASE]
    rss_gib = rss_goal(events)
    lines = ["| command | wall s | CPU s | x snapshot (wall) | x snapshot (CPU) | peak RSS GiB | goal |",
             "|---|---|---|---|---|---|---|"]
    for n, r in results.items():
        goal = GOALS.get(n, DEFAULT_GOAL)
        rw, rc = r.wall / base.wall, (r.cpu / base.cpu if base.cpu else float("nan"))
        ok = "ok" if min(rw, rc) <= goal and r.peak_rss / 2**30 <= rss_gib else "MISSED"
        mark = "(unit)" if n == BASE else f"<= {goal:g}x, {ok}"
        fail = "" if r.code == 0 else f" (exit {r.code})"
        lines.append(f"| {n}{fail} | {r.wall:.1f} | {r.cpu:.1f} | {rw:.2f} | {rc:.2f} | "
                     f"{r.peak_rss / 2**30:.2f} | {mark} |")
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
