"""Per-pair counters and per-user attributes that audience ``--where`` rules run over.

**Counters** are summed per (user, brand) over *each counter's own window* ending on ``at``
(``Model.counters[c].window``: W days d-W+1 .. d, or ``cycle``, the decision cycle of each
event's category), from the stored ``counters_daily`` rollup when it is current, else from
events. Pairs with no counted event in a window have 0 there.

**Attributes** are the numeric and boolean columns of the ``users`` table (booleans as 1/0),
since the rule language has numbers only; string attributes are filtered separately
(``attrs``: ``gender=F``). A counter and an attribute with the same name: the counter wins.

Everything here builds Ibis expressions; nothing runs.

>>> import datetime as dt, ibis
>>> from aips.config.model import default_model
>>> ev = ibis.memtable({"user_id": ["u", "u"], "brand": ["b", "b"], "spu": [None, None],
...     "category": [None, None], "local_date": [dt.date(2024, 1, 1), dt.date(2024, 3, 1)],
...     "event_type": ["read", "read"], "dwell_s": [1.0, 1.0], "completion": [None, None],
...     "amount": [None, None]})
>>> t = pair_counters(ev, default_model(), dt.date(2024, 3, 1), ["read"])
>>> t.to_pyarrow().to_pylist()
[{'user_id': 'u', 'brand': 'b', 'read': 1}]
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from functools import reduce

import ibis

from aips.config.model import Model
from aips.engine.counters import counter_dtype, daily_counters, is_rollup
from aips.engine.cycles import with_cycle_days

KEYS = ("user_id", "brand")


def _in_window(t: ibis.Table, at: dt.date, window) -> ibis.Value:
    day = ibis.literal(at)
    if window == "cycle":
        return t.local_date + t.cycle_days.as_interval("D") > day
    return t.local_date > day - ibis.interval(days=int(window))


def pair_counters(
    source: ibis.Table,
    model: Model,
    at: dt.date,
    names: Iterable[str],
    categories: ibis.Table | None = None,
) -> ibis.Table:
    """``user_id, brand, <counter>...``: each counter summed over its own window ending ``at``.

    Args:
        source: ``events`` or the ``counters_daily`` rollup (already filtered by brand, if
            wanted).
        names: the counters to compute (those a rule uses).
        categories: the store's ``categories`` table (decision cycles), if any.
    """
    names = list(dict.fromkeys(names))
    windows = {n: model.counters[n].window for n in names}
    fixed = [int(w) for w in windows.values() if w != "cycle"]
    uses_cycle = "cycle" in windows.values()
    longest = max(fixed, default=0)
    if uses_cycle and categories is None:
        longest = max(longest, model.default_cycle_days, *model.categories.values())
    t = source.filter(source.local_date <= ibis.literal(at))
    if not uses_cycle or categories is None:
        t = t.filter(t.local_date > ibis.literal(at) - ibis.interval(days=longest))
    if not is_rollup(t):
        t = daily_counters(t, model)
    if uses_cycle:
        t = with_cycle_days(t, model, categories)
        keep = [_in_window(t, at, "cycle")] + ([_in_window(t, at, longest)] if fixed else [])
        t = t.filter(reduce(lambda a, b: a | b, keep))
    if not names:
        return t.select(*KEYS).distinct()
    sums = {
        n: t[n].sum(where=_in_window(t, at, windows[n])).fill_null(0).cast(counter_dtype(model, n))
        for n in names
    }
    return t.group_by(list(KEYS)).aggregate(**sums)


def numeric_attributes(users: ibis.Table | None) -> dict[str, str]:
    """Columns of ``users`` usable in rules: name -> ``numeric`` or ``boolean``."""
    if users is None:
        return {}
    out = {}
    for name, dtype in users.schema().items():
        if name == "user_id":
            continue
        if dtype.is_boolean():
            out[name] = "boolean"
        elif dtype.is_numeric():
            out[name] = "numeric"
    return out


def string_attributes(users: ibis.Table | None) -> list[str]:
    """Columns of ``users`` usable in ``attrs`` filters (everything but ``user_id``)."""
    return [] if users is None else [c for c in users.columns if c != "user_id"]


def attribute_values(users: ibis.Table, names: Iterable[str]) -> ibis.Table:
    """``user_id`` and the named numeric attributes (booleans as 1/0), one row per user."""
    kinds = numeric_attributes(users)
    cols = {}
    for n in names:
        col = users[n]
        cols[n] = col.cast("int64") if kinds[n] == "boolean" else col
    # one row per user even when the users table has duplicates
    return users.group_by("user_id").aggregate(**{n: v.max() for n, v in cols.items()})
