"""What a reader yields: :class:`Chunk`, a block of source rows with their line numbers,
and :class:`Reject`, a row that could not even be split into fields (with its reason)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

RAGGED = "ragged row"
MALFORMED_JSON = "malformed json"
UNDECODABLE = "undecodable text"


@dataclass
class Reject:
    """A row that could not be split into fields."""

    line: int
    reason: str
    raw: str


@dataclass
class Chunk:
    """A block of source rows."""

    data: pa.Table
    lines: np.ndarray
    undecodable: np.ndarray | None = None
    rejects: list[Reject] = field(default_factory=list)
    position: int = 0


def empty_table(names: list[str], typ=None) -> pa.Table:
    """A table of no rows with the columns ``names`` (binary unless ``typ``)."""
    return pa.table({n: pa.array([], typ or pa.binary()) for n in names})


def all_null(table: pa.Table) -> np.ndarray | None:
    """Rows whose fields are all null (blank lines), or None when there are none."""
    if table.num_columns == 0 or table.num_rows == 0:
        return None
    mask = None
    for col in table.columns:
        if col.null_count == 0:
            return None
        nulls = pc.is_null(col)
        mask = nulls if mask is None else pc.and_(mask, nulls)
    arr = (
        mask.to_numpy(zero_copy_only=False)
        if not isinstance(mask, pa.ChunkedArray)
        else np.asarray(mask)
    )
    return arr if arr.any() else None
