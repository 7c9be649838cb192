"""Work split into parts that each fit the store's memory limit: how many parts.

Some work grows with the data and cannot spill, or should not (a list aggregate per
journey, a window's sort, a distinct count of ids): it runs a bucket of users or keys at a
time, each bucket small enough for its share of the memory limit.
"""

from __future__ import annotations


def buckets_for(rows: int, row_bytes: int, memory_limit: int | None, *, share: float = 0.5,
                most: int = 256) -> int:
    """How many parts work over ``rows`` rows of ``row_bytes`` working memory each is split
    into so that one part fits in ``share`` of ``memory_limit`` bytes (1 without a limit;
    at most ``most``). The journeys, the first timeline sweep and the id counts use it.

    >>> buckets_for(1_000, 200, 2**30), buckets_for(10_000_000, 200, 2**30), buckets_for(10**9, 64, None)
    (1, 4, 1)
    """
    if not memory_limit or rows <= 0:
        return 1
    budget = max(1, int(memory_limit * share))
    return max(1, min(most, -(-(int(rows) * int(row_bytes)) // budget)))
