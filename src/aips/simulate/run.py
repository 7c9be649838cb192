"""Run a whole simulation: blocks in worker processes, files, tables, truth; atomically.

File groups (``blocks_per_file`` consecutive blocks) are the unit of work: a worker opens
one Parquet file per local day for its group and appends a row group per block, so the
output never depends on how many workers ran. The main process sums the groups'
aggregates in group order (floating-point sums are therefore reproducible), writes the
side tables and ``truth.json``, then renames the temporary directory into place.
"""

from __future__ import annotations

import ctypes
import multiprocessing as mp
import os
import queue
import shutil
import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from aips.exceptions import AipsError
from aips.simulate.block import BlockStats, empty_stats, run_block
from aips.simulate.params import SimulationParams
from aips.simulate.truth import build_truth
from aips.simulate.world import World, build_world
from aips.simulate.writer import (
    HOLDOUTS_HEADER,
    EventFiles,
    write_audience,
    write_json,
    write_tables,
)

Progress = Callable[[int, int, int], None]
"""``progress(blocks_done, blocks_total, events_written)``."""


@dataclass(frozen=True)
class SimulationResult:
    """What :func:`aips.simulate.simulate` wrote."""

    out: Path
    """The output directory."""
    events: int
    """Events written."""
    files: int
    """Event Parquet files written."""
    users: int
    days: int
    seconds: float
    """Wall-clock time of the run."""
    cpu_seconds: float = 0.0
    """CPU time of the main process and of the workers' block simulation and writing."""

    @property
    def events_per_second(self) -> float:
        return self.events / self.seconds if self.seconds > 0 else float("inf")

    def asdict(self) -> dict:
        d = asdict(self)
        d["out"] = str(self.out)
        return d

    def __str__(self) -> str:
        return (f"{self.events:,} events of {self.users:,} users over {self.days} days -> {self.out} "
                f"({self.files} files, {self.seconds:.1f} s, {self.events_per_second / 1e6:.2f}M events/s)")


_WORLD: tuple[SimulationParams, World] | None = None


def _world(params: SimulationParams) -> World:
    global _WORLD
    if _WORLD is None or _WORLD[0] != params:
        _WORLD = (params, build_world(params))
    return _WORLD[1]


_NOTIFY = None
"""The progress queue of a worker process (set by :func:`_init_worker`)."""


def _init_worker(notify) -> None:
    """Worker set-up: the progress queue, and malloc tuned to keep freed big arrays in the
    heap, so re-allocating them costs no page faults (numpy on large temporaries runs about
    twice as fast). Only in worker processes: it changes how the process returns memory."""
    global _NOTIFY
    _NOTIFY = notify
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(-3, 1 << 30)  # M_MMAP_THRESHOLD
        libc.mallopt(-1, (1 << 31) - 1)  # M_TRIM_THRESHOLD
    except (OSError, AttributeError):
        pass


def _run_group(params: SimulationParams, root: str, group: int, notify=None) -> tuple[int, BlockStats, int, int, float]:
    cpu = time.process_time()
    notify = notify if notify is not None else _NOTIFY
    world = _world(params)
    first = group * params.blocks_per_file
    blocks = range(first, min(first + params.blocks_per_file, params.n_blocks))
    files = EventFiles(world, Path(root), group)
    total = empty_stats(world)
    events = 0
    try:
        for block in blocks:
            out = run_block(world, block)
            files.write_block(block, out.events, out.bounds, out.pair_brand, out.pair_user)
            if out.audience is not None:
                write_audience(world, _audience_part(Path(root), group), out.audience)
            total.add(out.stats)
            events += len(out.events)
            if notify is not None:
                notify.put((1, len(out.events)))
    finally:
        files.close()
    return group, total, events, len(files.files), time.process_time() - cpu


def run_simulation(params: SimulationParams, out: str | Path, *, workers: int | None = None,
                   progress: Progress | None = None, overwrite: bool = False) -> SimulationResult:
    """Simulate ``params`` into ``out`` (see :func:`aips.simulate.simulate`)."""
    start = time.perf_counter()
    cpu_main = time.process_time()
    out = Path(out)
    if out.exists() and any(out.iterdir()) and not overwrite:
        raise AipsError(f"{out} exists and is not empty; pass overwrite=True (--overwrite) to replace it")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.parent / f".{out.name}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    world = _world(params)
    n_groups = -(-params.n_blocks // params.blocks_per_file)
    if workers is None:
        workers = min(os.cpu_count() or 1, n_groups) if params.users > 50_000 else 1
    workers = max(1, min(workers, n_groups))
    done = [0, 0]

    def tick(blocks: int, events: int) -> None:
        done[0] += blocks
        done[1] += events
        if progress is not None:
            progress(done[0], params.n_blocks, done[1])

    results: dict[int, tuple[BlockStats, int, int, float]] = {}
    worker_cpu = 0.0
    try:
        if workers == 1:
            for g in range(n_groups):
                notes = queue.SimpleQueue()
                _, stats, events, files, _cpu = _run_group(params, str(tmp), g, notes)
                while not notes.empty():
                    tick(*notes.get())
                results[g] = (stats, events, files, 0.0)
        else:
            results = _parallel(params, tmp, n_groups, workers, tick)
        total = empty_stats(world)
        events = files = 0
        for g in range(n_groups):
            stats, n, f, c = results[g]
            total.add(stats)
            events += n
            files += f
            worker_cpu += c
        impressions = total.arrays["note_impressions"]
        camp_imp = np.bincount(np.maximum(world.note_campaign, 0), weights=impressions * (world.note_campaign >= 0),
                               minlength=len(world.camp_ids))
        spend = np.round(camp_imp * world.camp_cpm / 1000, 2)
        write_tables(world, tmp, spend)
        if params.campaign_holdout_share > 0:
            _join_audience(tmp, n_groups)
        write_json(tmp / "truth.json", build_truth(world, total, spend, camp_imp))
        if out.exists():
            if any(out.iterdir()) and not overwrite:
                raise AipsError(f"{out} was created by someone else while simulating; not replaced")
            shutil.rmtree(out)
        tmp.rename(out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return SimulationResult(out=out, events=events, files=files, users=params.users, days=params.days,
                            seconds=time.perf_counter() - start,
                            cpu_seconds=time.process_time() - cpu_main + worker_cpu)


def _audience_part(root: Path, group: int) -> Path:
    return root / f".campaign_holdouts-{group:05d}.csv"


def _join_audience(root: Path, n_groups: int) -> None:
    """``campaign_holdouts.csv`` from the groups' parts, in group order (reproducible)."""
    with open(root / "campaign_holdouts.csv", "wb") as out:
        out.write(HOLDOUTS_HEADER)
        for g in range(n_groups):
            part = _audience_part(root, g)
            if part.exists():
                with open(part, "rb") as f:
                    shutil.copyfileobj(f, out)
                part.unlink()


def _parallel(params, tmp: Path, n_groups: int, workers: int, tick) -> dict:
    ctx = _context()
    notes = ctx.Queue()
    results = {}
    try:
        with ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_init_worker,
                                 initargs=(notes,)) as pool:
            pending = {pool.submit(_run_group, params, str(tmp), g) for g in range(n_groups)}
            while pending:
                finished, pending = wait(pending, timeout=0.2, return_when=FIRST_COMPLETED)
                _drain(notes, tick)
                for fut in finished:
                    g, stats, events, files, cpu = fut.result()
                    results[g] = (stats, events, files, cpu)
            _drain(notes, tick)
    finally:
        notes.close()
        notes.join_thread()
    return results


def _context():
    """``fork`` when this process runs no other thread (fast, and scripts need no
    ``if __name__ == "__main__"`` guard); otherwise ``forkserver`` (forking a threaded process
    can deadlock), whose workers re-import the caller's main module like ``spawn`` does."""
    methods = mp.get_all_start_methods()
    if "fork" in methods and threading.active_count() == 1:
        return mp.get_context("fork")
    if "forkserver" in methods:
        ctx = mp.get_context("forkserver")
        ctx.set_forkserver_preload(["aips.simulate.run"])  # workers start with numpy etc. loaded
        return ctx
    return mp.get_context("spawn")  # pragma: no cover - Windows


def _drain(notes, tick) -> None:
    while True:
        try:
            tick(*notes.get_nowait())
        except queue.Empty:
            return
