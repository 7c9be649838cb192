"""Event ids and duplicate removal, on the backend through Ibis (DuckDB and Spark alike).

**Derived event ids.** A row without a source ``event_id`` gets

    event_id = first 32 hex digits of sha256(key)

where ``key`` joins the mapped, canonical values with the unit separator ``\\x1f`` in
this order: ``ts`` (integer microseconds since the Unix epoch, UTC), ``user_id``,
``brand``, ``spu``, ``category``, ``event_type`` (canonical), ``channel``,
``campaign_id``, ``creator_id``, ``note_id``, ``content_format``, ``keyword``,
``dwell_s``, ``completion``, ``amount`` (numbers in shortest round-trip form: ``1.5``,
``10``, ``1e+20``); a null is the empty string.

That join is ambiguous when a field itself holds ``\x1f`` (``u\x1fb1`` + ``c`` and
``u`` + ``b1\x1fc`` join alike), so such a row's key is instead ``v2\x1e`` followed by
each field as ``<length>:<text>`` (length in characters), joined with ``\x1f``: the
length prefix makes it unambiguous, and ``\x1e`` (never in a key of the first form,
which starts with the digits of ``ts``) keeps the two forms apart. Rows without the
separator in any field (all ordinary data) keep the key, hence the id, they always had:
stores loaded before this rule and files re-loaded into them stay duplicate-free. The key is built with vectorised pyarrow
compute; the hash is computed by the backend (DuckDB ``sha256``, Spark ``sha2(.., 256)``;
they agree byte for byte, which ``tests/ingest/test_parity.py`` checks). The same event
mapped the same way therefore always gets the same id, and loading a file twice adds
nothing.

**Duplicates** are rows whose event id (or, for the other tables, primary key) is
already in the store, or appears earlier in the same load (the earlier file, then the
earlier line, wins).

>>> import pyarrow as pa
>>> key_text({"ts": pa.array([0], pa.timestamp("us")), "user_id": pa.array(["u1"]),
...           "brand": pa.array(["b"]), "event_type": pa.array(["read"]),
...           "amount": pa.array([1.5])}).to_pylist()
['0\\x1fu1\\x1fb\\x1f\\x1f\\x1fread\\x1f\\x1f\\x1f\\x1f\\x1f\\x1f\\x1f\\x1f\\x1f1.5']
"""

from __future__ import annotations

from collections.abc import Callable

import ibis
import pyarrow as pa
import pyarrow.compute as pc

from aips.buckets import buckets_for
from aips.ingest.validate import KEY_FIELDS

SEPARATOR = "\x1f"
ID_DIGITS = 32
VERSION_2 = "v2\x1e"


def key_text(columns: dict[str, pa.Array]) -> pa.Array:
    """The id key of each row (null where the row has a source ``event_id``)."""
    n = len(next(iter(columns.values())))
    source_id = columns.get("event_id")
    if source_id is not None and source_id.null_count == 0:
        return pa.nulls(n, pa.string())
    parts = []
    for name in KEY_FIELDS:
        col = columns.get(name)
        if col is None:
            parts.append(pa.nulls(n, pa.string()))
        elif pa.types.is_timestamp(col.type):
            parts.append(pc.cast(pc.cast(col, pa.int64()), pa.string()))
        else:
            parts.append(pc.cast(col, pa.string()))
    key = pc.binary_join_element_wise(
        *parts, SEPARATOR, null_handling="replace", null_replacement=""
    )
    holds_separator = None
    for part in parts:
        has = pc.fill_null(pc.match_substring(part, SEPARATOR), False)
        holds_separator = has if holds_separator is None else pc.or_(holds_separator, has)
    if pc.any(holds_separator).as_py():
        key = pc.if_else(holds_separator, _prefixed_key(parts), key)
    if source_id is not None and source_id.null_count < len(source_id):
        key = pc.if_else(pc.is_null(source_id), key, pa.scalar(None, pa.string()))
    return key


def _prefixed_key(parts: list[pa.Array]) -> pa.Array:
    """The unambiguous key: ``v2\x1e`` + ``<length>:<text>`` per field, joined by ``\x1f``.

    >>> _prefixed_key([pa.array(["u\x1fb1"]), pa.array(["c"])]).to_pylist()
    ['v2\\x1e4:u\\x1fb1\\x1f1:c']
    """
    fields = []
    for part in parts:
        text = pc.fill_null(part, "")
        length = pc.cast(pc.utf8_length(text), pa.string())
        fields.append(pc.binary_join_element_wise(length, text, ":"))
    return pc.binary_join_element_wise(
        pa.repeat(pa.scalar(VERSION_2), len(parts[0])),
        pc.binary_join_element_wise(*fields, SEPARATOR),
        "",
    )


def with_event_ids(staged: ibis.Table) -> ibis.Table:
    """``event_id`` filled from the hash of ``_key`` where the source had none."""
    derived = staged._key.hexdigest("sha256").substr(0, ID_DIGITS)
    return staged.mutate(event_id=staged.event_id.coalesce(derived))


KEY_BYTES = 64
"""Working memory per row of a group-by on a text key (the key, its count, its hash and the
hash table's overhead), in bytes: DuckDB holds a 16-character id in about 48."""
KEY_MEMORY_SHARE = 0.5
"""Share of the store's memory limit one bucket of keys may use."""
MAX_KEY_BUCKETS = 256


def key_counts(table: ibis.Table, key: str, *, memory_limit: int | None = None, rows: int | None = None,
               **flags: Callable[[ibis.Value], ibis.Value]) -> dict[str, int]:
    """``rows``, ``keyed`` (rows whose ``key`` is not null), ``distinct`` (distinct non-null
    keys) and, per flag, the rows whose key it marks (``flag(key)``), counted in the backend.

    By a group-by on the key, not ``count(DISTINCT ..)``, which keeps every key in memory
    (a billion event ids failed in 6 GiB) and is slower as well (12M ids of Parquet files:
    1.8 against 2.7-3.5 s). With ``memory_limit`` (bytes), when the keys would not fit in
    half of it, the keys are counted a bucket at a time (``hash(key) % B``: a key is in one
    bucket, so the counts add up): a group-by that spills a billion 16-character ids would
    need ~48 GB of disk, B scans of the key column need none. ``rows``: the table's row
    count when the caller knows it (else one count first, to size the buckets).

    >>> import ibis
    >>> t = ibis.memtable({"k": ["a", "a", "b", None, " c"]})
    >>> key_counts(t, "k", padded=lambda k: k.startswith(" "))
    {'rows': 5, 'keyed': 4, 'distinct': 3, 'padded': 1}
    >>> key_counts(t, "k", memory_limit=3 * KEY_BYTES, rows=5, padded=lambda k: k.startswith(" "))
    {'rows': 5, 'keyed': 4, 'distinct': 3, 'padded': 1}
    """
    buckets = 1
    if memory_limit:
        if rows is None:
            rows = int(table.count().to_pyarrow().as_py())
        buckets = buckets_for(rows, KEY_BYTES, memory_limit, share=KEY_MEMORY_SHARE, most=MAX_KEY_BUCKETS)
    total = dict.fromkeys(["rows", "keyed", "distinct", *flags], 0)
    for b in range(buckets):
        part = table
        if buckets > 1:  # a null key goes to bucket 0
            part = table.filter((table[key].hash() % buckets).abs().fill_null(0) == b)
        per = part.group_by(key).aggregate(_n=part.count())
        k = per[key]
        got = per.aggregate(rows=per._n.sum(), keyed=per._n.sum(where=k.notnull()),
                            distinct=per.count(where=k.notnull()),
                            **{name: per._n.sum(where=flag(k).fill_null(False)) for name, flag in flags.items()}
                            ).to_pyarrow().to_pylist()[0]
        for name in total:
            total[name] += int(got[name] or 0)
    return total


def first_occurrences(staged: ibis.Table, key: str | tuple[str, ...]) -> ibis.Table:
    """One row per key (a column, or a tuple of columns): the one with the smallest ``_pos``
    (earliest file, then line).

    Skips the work when the keys are already unique (one cheap aggregate first).
    """
    keys = [key] if isinstance(key, str) else list(key)
    if len(keys) == 1:
        got = key_counts(staged, keys[0])
        stats = {"n": got["rows"], "unique": got["distinct"]}
    else:
        distinct = staged.select(*keys).distinct().count().to_pyarrow().as_py()
        stats = {"n": staged.count().to_pyarrow().as_py(), "unique": distinct}
    if stats["n"] == stats["unique"]:
        return staged
    firsts = staged.group_by(keys).aggregate(_first=staged._pos.min())
    return staged.semi_join(
        firsts, [*(staged[k] == firsts[k] for k in keys), staged._pos == firsts._first]
    )


def new_rows(staged: ibis.Table, target: ibis.Table, key: str | tuple[str, ...], *,
             unique: bool = False) -> ibis.Table:
    """Staged rows to insert: first occurrences whose key is not in ``target``.

    ``unique``: the caller has proven the staged keys unique (the direct Parquet load's
    per-file counts), so the check of :func:`first_occurrences` (one more pass) is skipped.
    """
    keys = key if isinstance(key, str) else list(key)
    return (staged if unique else first_occurrences(staged, key)).anti_join(target, keys)
