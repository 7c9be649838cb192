"""Chunked output: events as hive-partitioned Parquet, the side tables as CSV.

Layout (what ``aips ingest`` reads)::

    OUT/events/date=YYYY-MM-DD/part-00000.parquet   one file per (local day, file group)
    OUT/campaigns.csv  OUT/categories.csv  OUT/creators.csv  OUT/users.csv  OUT/truth.json
    OUT/campaign_holdouts.csv   only with ``campaign_holdout_share`` > 0

A file group is ``blocks_per_file`` consecutive user blocks; each block is one row group.
Event files hold the canonical columns of DESIGN section 4 (strings, ``ts`` as
``timestamp[us, tz=UTC]``, floats); the ``date`` partition is only in the path. String
columns are written from dictionary codes (no Python strings per row), and the Arrow
schema is not stored, so every reader sees plain strings.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from aips.simulate.emit import ET, VIDEO, Events, unpack
from aips.simulate.parts import CHANNELS, EVENT_TYPES, FORMATS
from aips.simulate.world import DAY, World, block_users

_DICT = pa.dictionary(pa.int32(), pa.string())
SCHEMA = pa.schema(
    [
        ("event_id", pa.string()),
        ("ts", pa.timestamp("us", tz="UTC")),
        ("user_id", _DICT),
        ("brand", _DICT),
        ("spu", _DICT),
        ("category", _DICT),
        ("event_type", _DICT),
        ("channel", _DICT),
        ("campaign_id", _DICT),
        ("creator_id", _DICT),
        ("note_id", _DICT),
        ("content_format", _DICT),
        ("keyword", _DICT),
        ("dwell_s", pa.float64()),
        ("completion", pa.float64()),
        ("amount", pa.float64()),
    ]
)
"""Write schema: dictionary-encoded strings in memory, plain strings on disk."""

STATISTICS = ["ts", "user_id", "brand", "event_type", "dwell_s", "completion", "amount"]
"""The columns whose Parquet statistics are written: ``ts`` (a load reads the files' time
range from them) and what a load checks on every row (required values, number ranges)."""

_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)


def user_ids(index: np.ndarray) -> pa.Array:
    """``u`` + 9 zero-padded digits of each global user index.

    >>> user_ids(np.array([0, 1234])).to_pylist()
    ['u000000000', 'u000001234']
    """
    return _fixed_decimal(b"u", np.asarray(index, dtype=np.int64), 9)


def _fixed_decimal(prefix: bytes, x: np.ndarray, width: int) -> pa.Array:
    n = len(x)
    size = len(prefix) + width
    buf = np.empty((n, size), dtype=np.uint8)
    buf[:, : len(prefix)] = np.frombuffer(prefix, np.uint8)
    for i in range(width - 1, -1, -1):
        x, digit = np.divmod(x, 10)
        buf[:, len(prefix) + i] = 48 + digit
    offsets = np.arange(0, (n + 1) * size, size, dtype=np.int32)
    return pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(buf))


def _hex_table() -> np.ndarray:
    """Four lower-case hex digits of every 16-bit value, as little-endian uint32."""
    v = np.arange(1 << 16, dtype=np.uint32)
    out = np.zeros(1 << 16, dtype=np.uint32)
    for i in range(4):
        out |= _HEX[(v >> np.uint32(4 * (3 - i))) & np.uint32(15)].astype(np.uint32) << np.uint32(8 * i)
    return out


_HEX4 = _hex_table()


def event_ids(block: int, day: int, n: int) -> pa.Array:
    """16 hex digits of ``block << 40 | day << 28 | sequence``: unique and sortable.

    >>> event_ids(1, 2, 2).to_pylist()
    ['0000010020000000', '0000010020000001']
    """
    if n >= 1 << 28:
        raise ValueError("more than 2**28 events of one block on one day")
    prefix = np.frombuffer(f"{(block << 12) | day:09x}".encode(), np.uint8)
    words = np.empty((n, 2), dtype=np.uint64)
    words[:, 0] = prefix[:8].view(np.uint64)[0]
    seq = np.arange(n, dtype=np.uint32)
    high = (_HEX4[seq >> np.uint32(16)] >> np.uint32(8)).astype(np.uint64)  # last 3 of 4 digits
    low = _HEX4[seq & np.uint32(0xFFFF)].astype(np.uint64)
    words[:, 1] = np.uint64(prefix[8]) | (high << np.uint64(8)) | (low << np.uint64(32))
    offsets = np.arange(0, (n + 1) * 16, 16, dtype=np.int32)
    return pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(words))


def _dict(codes: np.ndarray, dictionary: pa.Array) -> pa.DictionaryArray:
    codes = np.asarray(codes).astype(np.int32, copy=False)
    mask = codes < 0
    if mask.any():
        ind = pa.array(np.maximum(codes, 0), mask=mask)
    else:
        ind = pa.array(codes)
    return pa.DictionaryArray.from_arrays(ind, dictionary)


def _floats(values: np.ndarray, valid: np.ndarray) -> pa.Array:
    values = np.where(valid, values, 0.0).astype(np.float64)
    return pa.array(values, mask=~valid)


class Dictionaries:
    """Arrow dictionaries of the world's coded strings, built once per process."""

    def __init__(self, world: World) -> None:
        self.brand = pa.array(world.brand_names)
        self.category = pa.array(world.cat_names)
        self.spu = pa.array(world.spu_names)
        self.event_type = pa.array(list(EVENT_TYPES))
        self.channel = pa.array(list(CHANNELS))
        self.campaign = pa.array(world.camp_ids)
        self.creator = pa.array(world.creator_ids)
        self.note = pa.array(world.note_ids)
        self.format = pa.array(list(FORMATS))
        self.keyword = pa.array(world.keywords)


def events_table(world: World, dicts: Dictionaries, block: int, first_user: int, day: int,
                 pair_brand: np.ndarray, pair_user: np.ndarray, ev: dict[str, np.ndarray]) -> pa.Table:
    """The Arrow table of one block's events of one day (coded columns -> canonical columns)."""
    n = len(ev["t"])
    etype, note, kw, spu = unpack(ev["code"])
    has_note = note >= 0
    note_c = np.maximum(note, 0)
    brand = pair_brand[ev["ap"]]
    user = pair_user[ev["ap"]]
    present = np.zeros(int(user.max()) + 1 if n else 0, bool)
    present[user] = True
    uniq = np.flatnonzero(present)
    remap = np.cumsum(present) - 1
    eid = event_ids(block, day, n)

    post = etype == ET["post"]
    fmt = np.where(has_note, world.note_format[note_c], np.where(post, -2 - note, -1))
    spu = np.where(spu >= 0, spu, np.where(has_note, world.note_spu[note_c], -1))
    note_codes = np.where(has_note, note, -1)
    note_dict = dicts.note
    if post.any():
        rows = np.flatnonzero(post)
        note_codes[rows] = len(world.note_ids) + np.arange(len(rows))
        ugc = pc.binary_join_element_wise("ugc-", eid.take(pa.array(rows)), "")
        note_dict = pa.concat_arrays([dicts.note, ugc])
    value = ev["value"].astype(np.float64)
    read = etype == ET["read"]
    video = fmt == VIDEO
    ts = (np.int64(world.origin_utc) + ev["t"].astype(np.int64)) * 1_000_000
    cols = [
        eid,
        pa.Array.from_buffers(pa.timestamp("us", tz="UTC"), n, [None, pa.py_buffer(ts)]),
        pa.DictionaryArray.from_arrays(pa.array(remap[user].astype(np.int32)), user_ids(first_user + uniq)),
        _dict(brand, dicts.brand),
        _dict(spu, dicts.spu),
        _dict(world.brand_cat[brand], dicts.category),
        _dict(etype, dicts.event_type),
        _dict(np.where(has_note, world.note_channel[note_c], -1), dicts.channel),
        _dict(np.where(has_note, world.note_campaign[note_c], -1), dicts.campaign),
        _dict(np.where(has_note, world.note_creator[note_c], -1), dicts.creator),
        _dict(note_codes, note_dict),
        _dict(fmt, dicts.format),
        _dict(kw, dicts.keyword),
        _floats(value, read & ~video),
        _floats(value, read & video),
        _floats(value, etype == ET["purchase"]),
    ]
    return pa.Table.from_arrays(cols, schema=SCHEMA)


class EventFiles:
    """The open Parquet files of one file group, one per local day (created lazily)."""

    def __init__(self, world: World, root: Path, group: int) -> None:
        self.world = world
        self.root = root
        self.group = group
        self.dicts = Dictionaries(world)
        self.writers: dict[int, pq.ParquetWriter] = {}
        self.files: list[Path] = []

    def write_block(self, block: int, events: Events, bounds: np.ndarray, pair_brand: np.ndarray,
                    pair_user: np.ndarray) -> None:
        first_user = block * self.world.params.block_users
        for day in np.flatnonzero(np.diff(bounds)):
            lo, hi = bounds[day], bounds[day + 1]
            ev = {k: v[lo:hi] for k, v in events.cols.items()}
            table = events_table(self.world, self.dicts, block, first_user, int(day), pair_brand, pair_user, ev)
            self._writer(int(day)).write_table(table, row_group_size=len(table))

    def _writer(self, day: int) -> pq.ParquetWriter:
        if day not in self.writers:
            folder = self.root / "events" / f"date={self.world.dates[day]}"
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / f"part-{self.group:05d}.parquet"
            self.files.append(path)
            self.writers[day] = pq.ParquetWriter(
                path, SCHEMA, compression=self.world.params.compression, store_schema=False,
                # statistics (min, max, null count) of what an ingest checks: a Parquet load
                # proves from them that no row is bad (aips.ingest.direct._no_bad_rows)
                write_statistics=STATISTICS, use_dictionary=[f.name for f in SCHEMA if pa.types.is_dictionary(f.type)],
                column_encoding={"event_id": "DELTA_BYTE_ARRAY"},
            )
        return self.writers[day]

    def close(self) -> None:
        for w in self.writers.values():
            w.close()
        self.writers.clear()


def write_tables(world: World, root: Path, spend: np.ndarray) -> None:
    """``campaigns.csv``, ``categories.csv``, ``creators.csv`` and ``users.csv``."""
    p = world.params
    with open(root / "campaigns.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["campaign_id", "brand", "category", "channel", "start_date", "end_date", "spend"])
        for k, cid in enumerate(world.camp_ids):
            b = world.camp_brand[k]
            w.writerow([cid, world.brand_names[b], world.cat_names[world.brand_cat[b]], CHANNELS[world.camp_channel[k]],
                        world.dates[world.camp_start[k]], world.dates[world.camp_end[k]], f"{spend[k]:.2f}"])
    with open(root / "categories.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["category", "decision_cycle_days"])
        for c in p.categories:
            w.writerow([c.name, int(round(c.decision_cycle_days))])
    with open(root / "creators.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["creator_id", "tier", "followers", "fee"])
        for i, cid in enumerate(world.creator_ids):
            w.writerow([cid, world.creator_tier[i], int(world.creator_followers[i]), f"{world.creator_fee[i]:.2f}"])
    _write_users(world, root / "users.csv")


def _write_users(world: World, path: Path) -> None:
    import pyarrow.csv as pcsv

    from aips.simulate.world import AGE_BANDS

    p = world.params
    schema = pa.schema([("user_id", pa.string()), ("holdout", pa.bool_()), ("gender", pa.string()),
                        ("age_band", pa.string()), ("city_tier", pa.string()), ("has_baby", pa.bool_())])
    genders, ages, tiers = pa.array(list(world.genders)), pa.array(list(AGE_BANDS)), pa.array(list(world.tiers))
    with open(path, "wb") as f:
        f.write(b"user_id,holdout,gender,age_band,city_tier,has_baby\n")
    with open(path, "ab") as sink, pcsv.CSVWriter(
        sink, schema, write_options=pcsv.WriteOptions(include_header=False, quoting_style="none")
    ) as out:
        for block in range(p.n_blocks):
            u = block_users(world, block)
            table = pa.Table.from_arrays([
                user_ids(u.first + np.arange(u.n)), pa.array(u.holdout),
                genders.take(pa.array(u.gender.astype(np.int32))), ages.take(pa.array(u.age.astype(np.int32))),
                tiers.take(pa.array(u.tier.astype(np.int32))), pa.array(u.has_baby),
            ], schema=schema)
            out.write_table(table)


HOLDOUTS_HEADER = b"campaign_id,user_id,holdout,first_date\n"
"""Columns of ``campaign_holdouts.csv``: one row per (campaign, user it targeted)."""


def write_audience(world: World, path: Path, audience) -> None:
    """Append a block's per-campaign holdout rows (no header) to ``path``: campaign id, user
    id, held out of the campaign, local date of the first (would-be) exposure."""
    import pyarrow.csv as pcsv

    schema = pa.schema([("campaign_id", pa.string()), ("user_id", pa.string()),
                        ("holdout", pa.bool_()), ("first_date", pa.string())])
    camps, dates = pa.array(world.camp_ids), pa.array([str(d) for d in world.dates])
    table = pa.Table.from_arrays([
        camps.take(pa.array(audience.camp)), user_ids(audience.user), pa.array(audience.held),
        dates.take(pa.array(audience.t // DAY)),
    ], schema=schema)
    with open(path, "ab") as sink, pcsv.CSVWriter(
        sink, schema, write_options=pcsv.WriteOptions(include_header=False, quoting_style="none")
    ) as out:
        out.write_table(table)


def write_json(path: Path, data: dict) -> None:
    """Write JSON with sorted-free, stable formatting (same input, same bytes)."""
    path.write_text(json.dumps(data, indent=1, ensure_ascii=False, allow_nan=False) + "\n", encoding="utf-8")


def local_date(world: World, day: int) -> str:
    """ISO local date of day index ``day`` (may lie past the horizon)."""
    start = dt.date.fromisoformat(world.params.start_date)
    return (start + dt.timedelta(days=int(day))).isoformat()


__all__ = ["SCHEMA", "EventFiles", "events_table", "event_ids", "user_ids", "write_tables", "write_json", "DAY"]
