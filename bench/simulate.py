"""Benchmark of ``aips simulate``: events written per second and peak memory.

Runs the simulator on a world of about N events (users scaled from the ``small`` preset's
rate of ~150 events per user over 180 days), samples the resident memory of the whole
process tree (main process + workers) every 0.2 s, and prints one Markdown table row per
size plus the projected time for 1B events. Goals (issue 3): >= 2M events/s sustained,
peak RSS < 4 GiB.

    .venv/bin/python bench/simulate.py                    # 10M events (the CI-sized case)
    .venv/bin/python bench/simulate.py --events 10M 100M  # 100M by hand
    .venv/bin/python bench/simulate.py --preset large     # the 1B-event world, by hand
    .venv/bin/python bench/simulate.py --keep --out /data/sim   # keep the output

Output goes to a temporary directory removed afterwards unless ``--keep``.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

EVENTS_PER_USER = 150.0
"""Events per user over 180 days at default rates (measured on the small preset)."""


def _size(text: str) -> int:
    text = text.strip().upper()
    mult = {"K": 1e3, "M": 1e6, "B": 1e9, "G": 1e9}.get(text[-1], 1)
    return int(float(text.rstrip("KMBG")) * mult)


class TreeRss:
    """Peak summed RSS of this process and its children, sampled in a thread."""

    def __init__(self, every: float = 0.2) -> None:
        self.every = every
        self.peak = 0
        self._stop = threading.Event()
        self._me = psutil.Process()

    def _sample(self) -> int:
        total = 0
        for proc in [self._me, *self._me.children(recursive=True)]:
            try:
                total += proc.memory_info().rss
            except psutil.Error:
                pass
        return total

    def __enter__(self) -> TreeRss:
        def loop() -> None:
            while not self._stop.is_set():
                self.peak = max(self.peak, self._sample())
                self._stop.wait(self.every)

        self._thread = threading.Thread(target=loop, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def machine() -> str:
    load = os.getloadavg()
    cpu = platform.processor() or platform.machine()
    return (f"{psutil.cpu_count(logical=True)} cores ({cpu}), {psutil.virtual_memory().total / 2**30:.0f} GiB RAM, "
            f"Python {platform.python_version()}, load average at start {load[0]:.1f}")


def run(params, out: Path, workers: int | None) -> tuple[object, int, float]:
    from aips.simulate import simulate

    last = [time.perf_counter()]

    def progress(done: int, total: int, events: int) -> None:
        now = time.perf_counter()
        if now - last[0] > 10 or done == total:
            last[0] = now
            print(f"  {done}/{total} blocks, {events:,} events", file=sys.stderr, flush=True)

    with TreeRss() as rss:
        result = simulate(out, params, workers=workers, progress=progress, overwrite=True)
    return result, rss.peak, result.cpu_seconds


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", nargs="*", default=["10M"], help="target sizes, e.g. 10M 100M")
    parser.add_argument("--preset", choices=["demo", "small", "large"], help="run a preset instead of --events")
    parser.add_argument("--days", type=int, default=180)
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--out", type=Path, default=None, help="output directory (default: a temporary one)")
    parser.add_argument("--keep", action="store_true", help="keep the output")
    args = parser.parse_args(argv)

    from aips.simulate import SimulationParams

    print(f"machine: {machine()}")
    if args.preset:
        worlds = [(args.preset, SimulationParams.preset(args.preset))]
    else:
        worlds = []
        for text in args.events:
            users = max(1000, int(_size(text) / EVENTS_PER_USER * 180 / args.days))
            blocks = -(-users // 20_000)
            per_file = max(1, min(8, blocks // 2))  # at least two file groups: both cores work
            worlds.append((text, SimulationParams.preset("large", users=users, days=args.days,
                                                        blocks_per_file=per_file)))
    print("| world | users | days | events | files | wall s | events/s | CPU s | events/CPU-s | peak RSS (tree) | disk | 1B projected |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for label, params in worlds:
        base = args.out or Path(tempfile.mkdtemp(prefix="aips-bench-"))
        out = base / f"world-{label}"
        try:
            result, peak, cpu = run(params, out, args.workers)
            disk = sum(f.stat().st_size for f in out.rglob("*") if f.is_file())
            eps = result.events / result.seconds
            print(f"| {label} | {params.users:,} | {params.days} | {result.events:,} | {result.files:,} | "
                  f"{result.seconds:.1f} | {eps / 1e6:.2f}M | {cpu:.0f} | {result.events / cpu / 1e6:.2f}M | "
                  f"{peak / 2**30:.2f} GiB | "
                  f"{disk / 2**30:.2f} GiB | {1e9 / eps / 60:.0f} min |", flush=True)
        finally:
            if not args.keep:
                shutil.rmtree(out, ignore_errors=True)
                if args.out is None:
                    shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
