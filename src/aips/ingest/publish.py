"""Publication: dedupe against the store and insert rows, quarantine rows and ``loads`` rows.

Inside ``store.transaction()`` (one DuckDB transaction; on Spark the inserts run in this
order and a crash between them is healed by loading again):

1. new rows: staged rows (the scratch rows and the rows of Parquet files read directly by
   the backend, :mod:`aips.ingest.direct`), first occurrence per key (event id), not yet
   in the table (:mod:`aips.ingest.dedupe`), inserted with one ``INSERT ... SELECT``;
2. quarantine rows not already recorded (same table, file, line, reason and text);
3. one ``loads`` row per file: its SHA-256, the model's time zone, the counts and the
   local dates it touched; none for a file whose bytes were loaded before and that
   added nothing this time (so loading a file again changes nothing).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import ibis
import pyarrow as pa

from aips.config.model import Model
from aips.ingest import dedupe
from aips.ingest.report import FileReport
from aips.ingest.stage import Scratch
from aips.ingest.validate import SPECS
from aips.store.connect import Store
from aips.store.tables import SCHEMAS

QUARANTINE_KEY = ("table_name", "source_file", "source_line", "reason", "raw")
"""A quarantine row already recorded with these values is not recorded again."""


def publish(
    store: Store,
    scratch: Scratch,
    table: str,
    files: list[FileReport],
    model: Model,
    extras,
    tables: set[str],
    direct: list[ibis.Table] | None = None,
    unique: bool = False,
    verify: Callable[[], None] | None = None,
    quarantine_rows: ibis.Table | None = None,
) -> None:
    """Dedupe against the store and insert rows, quarantine rows and ``loads`` rows.

    ``direct``: more staged rows, read by the backend straight from their files
    (:mod:`aips.ingest.direct`), deduplicated and inserted with the scratch rows in the
    same statement; ``unique``: their keys are proven unique (and there are no scratch
    rows); ``verify``: called last inside the transaction (a raise undoes it all);
    ``quarantine_rows``: the quarantined rows as a table of the backend (files read by it,
    :mod:`aips.ingest.backend_read`) instead of the scratch's.
    """
    key = SPECS[table].key
    schema = ibis.schema({**SCHEMAS[table].fields, **dict.fromkeys(extras, "string")})

    def ensure(name: str, sch=None) -> ibis.Table:
        return store.backend.table(name) if name in tables else store.ensure(name, sch)

    staged = scratch.staged()
    quarantined = None
    if any(f.quarantined for f in files):
        quarantined = quarantine_rows if quarantine_rows is not None else scratch.quarantined()
    by_file = {f.load_id: f for f in files}
    with store.transaction():  # DuckDB: all or nothing, table creation included
        target = ensure(table, schema)
        quarantine, loads = ensure("quarantine"), ensure("loads")
        if table == "events":
            staged = dedupe.with_event_ids(staged)
        parts = ([staged] if scratch.rows or not direct else []) + list(direct or [])
        staged = parts[0].union(*parts[1:], distinct=False) if len(parts) > 1 else parts[0]
        new = (dedupe.new_rows(staged, target, key, unique=unique and not scratch.rows)
               if scratch.rows or direct else None)
        q_new = None
        if quarantined is not None:
            q_new = quarantined.anti_join(quarantine, list(QUARANTINE_KEY))
        columns = target.columns
        inserted: dict[str, int] = {}
        if new is not None:
            if "load_id" in columns:
                store.backend.insert(table, new.select(*columns))
                mine = target.filter(target.load_id.isin(list(by_file)))
                stats = (
                    mine.group_by("load_id")
                    .aggregate(n=mine.count(), lo=mine.local_date.min(), hi=mine.local_date.max())
                    .to_pyarrow()
                    .to_pylist()
                )
                for row in stats:
                    f = by_file[row["load_id"]]
                    f.min_date, f.max_date = row["lo"], row["hi"]
                    inserted[row["load_id"]] = row["n"]
            else:
                counts = new.group_by("_file").aggregate(n=new.count()).to_pyarrow().to_pylist()
                store.backend.insert(table, new.select(*columns))
                inserted = {files[row["_file"]].load_id: row["n"] for row in counts}
        q_counts: dict[str, int] = {}
        if q_new is not None:
            counted = q_new.group_by("load_id").aggregate(n=q_new.count()).to_pyarrow().to_pylist()
            q_counts = {r["load_id"]: r["n"] for r in counted}
        if q_counts:
            store.backend.insert("quarantine", q_new.select(*quarantine.columns))
        for f in files:
            staged_rows = f.loaded
            f.loaded = inserted.get(f.load_id, 0)
            f.duplicates = staged_rows - f.loaded
        unchanged = [f.sha256 for f in files if f.loaded == 0 and not q_counts.get(f.load_id)]
        previous = _previous_loads(loads, table, unchanged)
        rows = []
        for f in files:
            if f.loaded == 0 and not q_counts.get(f.load_id) and f.sha256 in previous:
                f.already_loaded_by = previous[f.sha256]
                continue
            rows.append(_loads_row(f, table, model))
        if rows:
            store.write("loads", pa.Table.from_pylist(rows, schema=SCHEMAS["loads"].to_pyarrow()))
        if verify is not None:
            verify()


def _previous_loads(loads: ibis.Table, table: str, shas: list[str | None]) -> dict[str, str]:
    shas = [s for s in shas if s]
    if not shas:
        return {}
    rows = (
        loads.filter((loads.table_name == table) & loads.file_sha256.isin(shas))
        .group_by("file_sha256")
        .aggregate(load_id=loads.load_id.min())
        .to_pyarrow()
        .to_pylist()
    )
    return {r["file_sha256"]: r["load_id"] for r in rows}


def _loads_row(f: FileReport, table: str, model: Model) -> dict[str, Any]:
    return {
        "load_id": f.load_id,
        "table_name": table,
        "source_file": f.source_file,
        "file_sha256": f.sha256,
        "loaded_at": dt.datetime.now(dt.UTC).replace(tzinfo=None),
        "timezone": model.timezone,
        "rows_read": f.rows_read,
        "loaded": f.loaded,
        "duplicates": f.duplicates,
        "ignored": f.ignored,
        "quarantined": f.quarantined,
        "min_date": f.min_date,
        "max_date": f.max_date,
    }
