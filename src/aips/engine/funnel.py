"""Funnels over event types with a conversion window, after PostHog's semantics.

A funnel is a list of steps (canonical event types), a conversion window and an order. The
engine builds one row per counted user, then counts per step; every step is computed in the
backend with window functions and a few equi-joins (nothing runs per user in Python).

**Attempts.** Every step-0 event of a user (``unordered``: every event matching any step)
whose local date is in the funnel's date range starts an *attempt*. The date range selects
users by their first step only: later steps may fall after its end, within the window.

**Window.** Step k belongs to an attempt when its time is at most ``window`` seconds after
the attempt's **first** step (not after step k-1). Times are compared and subtracted in
whole microseconds (the store's precision), so conversion times keep their sub-second part.

**Order of events.** A user's events are ordered by ``ts``, then step order (an event of
step 0 before one of step 1), then other events, then ``event_id``. Events at the same
instant are taken as PostHog takes them: a group of simultaneous events of one *kind*
(the same steps and exclusion slots, PostHog's per-event step list) is processed event by
event; a group mixing kinds is processed by step, and there an exclusion event counts for
nothing and, in strict order, neither does any other event (it does not break the order).
So two steps at the same instant convert.

**Orders.**

* ``ordered`` (default): from the attempt's step-0 event, step k is the *earliest* step-k
  event after the attempt's step k-1 (other events may come between). The same event is
  never used for two steps, so ``read, read`` needs two reads.
* ``strict``: among all of the user's events in the funnel's scope (every event type,
  after the ``brand`` filter), an attempt that has done steps 0..k-1 waits for step k: the
  next event must be a step-k event, or another event of step k-1's kind (it keeps the
  attempt waiting: PostHog keeps the slots an event matches), or a tied event of a mixed
  group (skipped); any other event stops the attempt. This is PostHog's strict order,
  which looks at all of the person's events, not only the step events.
* ``unordered``: an attempt starts at any step event; it reaches as many *distinct* steps
  as occur (in any order) from that event to the end of the window. Step k is "k+1
  distinct steps done"; the conversion time of step k is the gap between the k-th and the
  (k+1)-th distinct step in time order. Steps must be distinct event types.

**Exclusions** (``Exclusion(event, from_step, to_step)``, 0-based steps as in PostHog; a
bare event covers the whole funnel, 0 to the last step). An attempt that has done steps
0..j-1 with FROM < j <= TO and meets the exclusion event (within its window, before its
step j) is *excluded at step j-1*. In ``ordered`` funnels it stays where it was, marked,
and its next step-j event still counts as its furthest step (marked): PostHog keeps the
excluded attempt in its slot, and an advance from an excluded slot is not stored but does
update the user's furthest step. In ``strict`` order the exclusion event also stops the
attempt, and it marks any attempt at the same step that has reached the user's furthest
step before, within that attempt's window (PostHog marks the kept furthest step).

**The user's furthest step.** A user counts at every step up to the furthest step reached
by any attempt, excluded or not (a user who reached step 2 is in the counts of steps 0, 1
and 2). For each event at which some attempt reached that step, the attempt that started
last stands for it (the one PostHog's slots hold). The user is counted by the first of
those, in time, that is never excluded; when all are excluded the user is **dropped from
the whole funnel** (from every step, including step 0): a later attempt that gets less far
does not rescue them, and one that gets as far does. Their conversion times come from the
counting attempt. Average and median conversion times of step k are over the users who
reached step k only, in seconds; the median is exact (interpolated between the two middle
values). In ``unordered`` funnels an exclusion must cover the whole funnel (PostHog refuses
partial exclusions there), and the counting attempt is the first by (furthest step, not
excluded, earliest last step, latest start); a user whose counting attempt is excluded is
dropped. An exclusion step may not be a step's event type.

Where aips still differs from PostHog is listed in ``docs/funnels.md``.

**Breakdowns** (``breakdown=COL``): an events column (``channel``, ``category``,
``campaign_id``, ``creator_id``, ...) or, with ``users`` given, a column of the users table.
For an events column each counted user gets one value (PostHog's breakdown attribution):

* ``first_touch``: the value of the user's earliest step event (any step) in the funnel's
  scope that has a non-empty value;
* ``last_touch``: the value of the user's latest such event;
* ``step_N``: the value of the user's earliest step-N event with a non-empty value.

Empty strings and nulls are skipped ("first non-empty value"); a user with no value gets
null. The funnel's scope is the events after the ``brand`` filter, from the first day of
the date range to its last day plus the window. A users-table column is the user's value,
whatever the attribution.

>>> import datetime as dt, ibis
>>> ev = ibis.memtable({
...     "event_id": ["1", "2", "3"], "user_id": ["u", "u", "u"], "brand": ["b"] * 3,
...     "event_type": ["read", "collect", "purchase"], "local_date": [dt.date(2024, 1, 1)] * 3,
...     "ts": [dt.datetime(2024, 1, 1, 8), dt.datetime(2024, 1, 1, 9), dt.datetime(2024, 1, 3, 9)]})
>>> spec = FunnelSpec(("read", "collect", "purchase"), parse_window("14d"))
>>> per_user = funnel_users(ev, spec)
>>> per_user.select("reached", "conv_s_1", "conv_s_2").to_pyarrow().to_pylist()
[{'reached': 3, 'conv_s_1': 3600.0, 'conv_s_2': 172800.0}]
"""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass, field
from functools import reduce

import ibis

from aips.exceptions import ConfigError

ORDERS = ("ordered", "strict", "unordered")
"""Funnel orders (see the module docstring)."""

_BIG = 2**62
"""Stands for 'no such event' in ``ord`` comparisons."""

_UNITS = {"d": 86400, "h": 3600, "m": 60, "s": 1}


def parse_window(window: str | int | dt.timedelta) -> int:
    """A conversion window in seconds from ``"14d"``, ``"12h"``, ``"30m"``, ``"90s"``.

    An ``int`` is seconds; a ``timedelta`` is converted.

    >>> parse_window("14d"), parse_window("2h"), parse_window(dt.timedelta(minutes=1))
    (1209600, 7200, 60)
    """
    if isinstance(window, dt.timedelta):
        seconds = int(window.total_seconds())
    elif isinstance(window, int):
        seconds = window
    else:
        match = re.fullmatch(r"\s*(\d+)\s*([dhms])\s*", str(window).lower())
        if not match:
            raise ConfigError(
                f"bad window {window!r}: a whole number followed by d, h, m or s (e.g. 14d)"
            )
        seconds = int(match.group(1)) * _UNITS[match.group(2)]
    if seconds <= 0:
        raise ConfigError(f"the conversion window must be positive, got {window!r}")
    return seconds


@dataclass(frozen=True)
class Exclusion:
    """An exclusion step: ``event`` between steps ``from_step`` and ``to_step`` (0-based).

    ``to_step=None`` means the last step.
    """

    event: str
    from_step: int = 0
    to_step: int | None = None

    @classmethod
    def parse(cls, text: str) -> Exclusion:
        """``"EVENT"`` (the whole funnel) or ``"EVENT:FROM-TO"``.

        >>> Exclusion.parse("share:1-2")
        Exclusion(event='share', from_step=1, to_step=2)
        """
        match = re.fullmatch(r"\s*([^:\s]+)\s*(?::\s*(\d+)\s*-\s*(\d+)\s*)?", text)
        if not match:
            raise ConfigError(f"bad exclusion {text!r}: EVENT or EVENT:FROM-TO (e.g. share:1-2)")
        event, lo, hi = match.groups()
        if lo is None:
            return cls(event)
        return cls(event, int(lo), int(hi))


@dataclass(frozen=True)
class FunnelSpec:
    """What a funnel computes; validated on construction.

    Attributes:
        steps: event types, in order (at least one).
        window_s: conversion window in seconds (see :func:`parse_window`).
        order: ``ordered``, ``strict`` or ``unordered``.
        exclusions: :class:`Exclusion` steps.
        start, end: local dates selecting attempts by their first step (inclusive).
        brand: only this brand's events.
    """

    steps: tuple[str, ...]
    window_s: int
    order: str = "ordered"
    exclusions: tuple[Exclusion, ...] = field(default_factory=tuple)
    start: dt.date | None = None
    end: dt.date | None = None
    brand: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "steps", tuple(self.steps))
        n = len(self.steps)
        if n == 0:
            raise ConfigError("a funnel needs at least one step")
        if self.order not in ORDERS:
            raise ConfigError(f"unknown funnel order {self.order!r} (expected {', '.join(ORDERS)})")
        if self.window_s <= 0:
            raise ConfigError("the conversion window must be positive")
        if self.order == "unordered" and len(set(self.steps)) != n:
            raise ConfigError("an unordered funnel needs distinct steps (each event type once)")
        if self.start and self.end and self.start > self.end:
            raise ConfigError(f"the date range is empty: {self.start} is after {self.end}")
        fixed = []
        for ex in self.exclusions:
            to = n - 1 if ex.to_step is None else ex.to_step
            if ex.event in self.steps:
                raise ConfigError(f"exclusion {ex.event!r} is also a step; exclude another event")
            if not 0 <= ex.from_step < to <= n - 1:
                raise ConfigError(
                    f"exclusion {ex.event}:{ex.from_step}-{to}: need 0 <= FROM < TO <= {n - 1} "
                    "(0-based step indices)"
                )
            if self.order == "unordered" and (ex.from_step, to) != (0, n - 1):
                raise ConfigError("an unordered funnel takes only whole-funnel exclusions (EVENT)")
            fixed.append(Exclusion(ex.event, ex.from_step, to))
        object.__setattr__(self, "exclusions", tuple(fixed))

    @property
    def n(self) -> int:
        return len(self.steps)


# --- the event stream --------------------------------------------------------------------------

US = 1_000_000
"""Microseconds per second: times are compared and subtracted in whole microseconds."""


def _epoch_us(ts: ibis.Value) -> ibis.Value:
    """Microseconds since the epoch, the same on every backend (``epoch_seconds`` alone
    truncates on Spark and is fractional on DuckDB; see ENGINE-NOTES)."""
    whole = ts.truncate("s")
    return whole.epoch_seconds().cast("int64") * US + ts.delta(whole, unit="microsecond").cast("int64")


def _excl_covers(spec: FunnelSpec, k: int) -> list[int]:
    """Exclusions that apply to an attempt that has done ``k`` steps (FROM < k <= TO)."""
    return [e for e, x in enumerate(spec.exclusions) if x.from_step < k <= x.to_step]


def funnel_stream(events: ibis.Table, spec: FunnelSpec) -> ibis.Table:
    """The funnel's scope, one row per event, with the per-user order and step flags.

    Columns: ``user_id``, ``ord`` (0-based position in the user's event order), ``us``
    (epoch microseconds), ``local_date``, ``m0``..``m{n-1}`` (matches step i), ``x0``..
    (matches exclusion e, and counts: not tied with a different kind of step event),
    ``start`` (may start an attempt), ``single`` (strict order only: the event is not tied
    with an event of another kind) and the events columns kept for breakdowns. Only users
    with at least one possible start are kept.
    """
    ev = events
    if spec.brand is not None:
        ev = ev.filter(ev.brand == spec.brand)
    if spec.order != "strict":
        wanted = sorted(set(spec.steps) | {x.event for x in spec.exclusions})
        ev = ev.filter(ev.event_type.isin(wanted))
    if spec.start is not None:
        ev = ev.filter(ev.local_date >= spec.start)
    if spec.end is not None:
        days = math.ceil(spec.window_s / 86400) + 1
        ev = ev.filter(ev.local_date <= spec.end + dt.timedelta(days=days))
    flags = {f"m{i}": ev.event_type == s for i, s in enumerate(spec.steps)}
    flags.update({f"x{e}": ev.event_type == x.event for e, x in enumerate(spec.exclusions)})
    first = flags["m0"] if spec.order != "unordered" else ev.event_type.isin(list(spec.steps))
    in_range = first
    if spec.start is not None:
        in_range = in_range & (ev.local_date >= spec.start)
    if spec.end is not None:
        in_range = in_range & (ev.local_date <= spec.end)
    ev = ev.mutate(start=in_range, **flags)
    starters = ev.filter(ev.start).select(_u=ev.user_id).distinct()
    ev = ev.semi_join(starters, ev.user_id == starters._u)
    if spec.order != "unordered" and (spec.order == "strict" or spec.exclusions):
        ev = _mark_ties(ev, spec)
    tie = ibis.cases(*((ev.event_type == s, i) for i, s in enumerate(spec.steps)), else_=spec.n)
    order = ibis.window(group_by=ev.user_id, order_by=[ev.ts, tie, ev.event_id])
    return ev.mutate(ord=ibis.row_number().over(order).cast("int64"), us=_epoch_us(ev.ts))


def _mark_ties(ev: ibis.Table, spec: FunnelSpec) -> ibis.Table:
    """``single``: the event's (user, ts) group holds one kind of event only.

    An event's kind is the set of steps it may take (step 0 only inside the date range) and
    of the exclusion slots it covers, PostHog's per-event step list. Events tied with an
    event of another kind are processed by step and ignore exclusions and the strict
    order's reset (PostHog's ``processing_multiple_events``). Outside strict order, events
    of no kind are not in PostHog's event list, so they do not make a group mixed.
    """
    bits = [ev.start] + [ev[f"m{i}"] for i in range(1, spec.n)]
    for k in range(1, spec.n):
        cover = _excl_covers(spec, k)
        if cover:
            bits.append(reduce(lambda p, q: p | q, [ev[f"x{e}"] for e in cover]))
    kind = reduce(lambda p, q: p + q, [b.cast("int64") * (1 << i) for i, b in enumerate(bits)])
    if spec.order != "strict":
        kind = ibis.cases((kind != 0, kind))
    same_ts = ibis.window(group_by=[ev.user_id, ev.ts])
    single = (kind.min().over(same_ts) == kind.max().over(same_ts)).fill_null(True)
    ev = ev.mutate(single=single)
    return ev.mutate(**{f"x{e}": ev[f"x{e}"] & ev.single for e in range(len(spec.exclusions))})


# --- attempts ----------------------------------------------------------------------------------


def _after(stream: ibis.Table, inclusive: bool = False) -> ibis.Window:
    """Rows after the current one in the user's order (and the current one if inclusive)."""
    return ibis.window(
        group_by=stream.user_id, order_by=ibis.desc(stream.ord), preceding=(None, 0 if inclusive else 1)
    )


def _first(flag: ibis.Value, value: ibis.Value, window: ibis.Window) -> ibis.Value:
    return ibis.cases((flag, value)).min().over(window)


def _pick(values: list[ibis.Value], index: ibis.Value) -> ibis.Value:
    """``values[index]`` for an integer column ``index``."""
    return ibis.cases(*((index == i, v) for i, v in enumerate(values)))


def _steps(look: ibis.Table, spec: FunnelSpec, carried_at, ok_at) -> ibis.Table:
    """Follow each attempt from its start row: the step-(k-1) row holds what the attempt
    needs to find step k (``carried_at(k)``: column names, suffixed ``@k``); ``ok_at(a, k)``
    says whether step k is reached; ``o_k``/``s_k`` are its ``ord``/``us`` (null if not)."""
    a = None
    for k in range(1, spec.n):
        carried = {f"{c}@{k}": look[c] for c in carried_at(k)}
        if a is None:  # step 0's row is the attempt's own row: no join
            a = look.filter(look.start).select("user_id", o_0=look.ord, s_0=look.us, **carried)
        else:
            r = look.select(_u=look.user_id, _o=look.ord, **carried)
            a = a.left_join(r, [a.user_id == r._u, a[f"o_{k - 1}"] == r._o]).drop("_u", "_o")
        ok = ok_at(a, k)
        a = a.mutate(**{f"o_{k}": ibis.cases((ok, a[f"a{k}_o@{k}"])),
                        f"s_{k}": ibis.cases((ok, a[f"a{k}_s@{k}"]))})
    if a is None:  # a one-step funnel
        a = look.filter(look.start).select("user_id", o_0=look.ord, s_0=look.us)
    return a


def _finish(a, spec, o, s, reach, excluded, o_last, stops=None, chooser="posthog") -> ibis.Table:
    """Common tail: conversion times, the counted attempt per user, excluded users dropped.

    ``posthog`` (ordered, strict): the attempts at the user's furthest step; per event that
    reached it, the one that started last (the one PostHog's slots hold); the user is counted
    by the first of those never excluded, and dropped when all are. An attempt is excluded
    when ``excluded`` says so or (``stops``: strict order) when an exclusion stopped an
    attempt at the same step after it reached it, within its window.
    ``unordered``: the first attempt by (furthest step, not excluded, o_last, last start);
    dropped when excluded.
    """
    conv = {f"conv_s_{k}": ibis.cases((reach > k, (s[k] - s[k - 1]).cast("float64") / US)) for k in range(1, spec.n)}
    a = a.select(
        "user_id", o0=o[0], s0=s[0], reached=reach, excluded=excluded, o_last=o_last, **conv,
    )
    if chooser == "unordered" or not spec.exclusions:
        rank = ibis.row_number().over(
            group_by=a.user_id, order_by=[ibis.desc(a.reached), a.excluded.cast("int8"), a.o_last, ibis.desc(a.o0)]
        )
        best = a.mutate(_r=rank)
        best = best.filter((best._r == 0) & ~best.excluded)
    else:
        top = a.mutate(_top=a.reached.max().over(group_by=a.user_id))
        top = top.filter(top.reached == top._top)
        rep = ibis.row_number().over(group_by=[top.user_id, top.o_last], order_by=ibis.desc(top.o0))
        reps = top.mutate(_rep=rep)
        reps = reps.filter((reps._rep == 0) & ~reps.excluded)
        if stops is not None:
            reps = reps.anti_join(stops, [
                reps.user_id == stops._u, reps.reached == stops._level,
                stops._xo > reps.o_last, stops._xs - reps.s0 <= spec.window_s * US,
            ])
        best = reps.mutate(_r=ibis.row_number().over(group_by=reps.user_id, order_by=reps.o_last))
        best = best.filter(best._r == 0)
    return best.select("user_id", "reached", start_s=best.s0.cast("float64") / US, **conv)


def _ordered(stream: ibis.Table, spec: FunnelSpec) -> ibis.Table:
    n, W = spec.n, spec.window_s * US
    after = _after(stream)
    look = stream.mutate(
        **{f"a{k}_o": _first(stream[f"m{k}"], stream.ord, after) for k in range(1, n)},
        **{f"a{k}_s": _first(stream[f"m{k}"], stream.us, after) for k in range(1, n)},
        **{f"y{e}_o": _first(stream[f"x{e}"], stream.ord, after) for e in range(len(spec.exclusions))},
        **{f"y{e}_s": _first(stream[f"x{e}"], stream.us, after) for e in range(len(spec.exclusions))},
    )

    def carried_at(k):
        # the step-(k-1) row of each attempt holds its next step-k and exclusion events
        return [f"a{k}_o", f"a{k}_s"] + [
            f"y{e}_{c}" for e, x in enumerate(spec.exclusions) if x.from_step == k - 1 for c in "os"
        ]

    def ok_at(a, k):
        return a[f"a{k}_o@{k}"].notnull() & (a[f"a{k}_s@{k}"] - a.s_0 <= W)

    a = _steps(look, spec, carried_at, ok_at)
    o = [a[f"o_{k}"] for k in range(n)]
    s = [a[f"s_{k}"] for k in range(n)]
    raw = reduce(lambda x, y: x + y, [ok.notnull().cast("int64") for ok in o])
    reach, excluded = raw, ibis.literal(False)
    for e, x in enumerate(spec.exclusions):
        x_o, x_s = a[f"y{e}_o@{x.from_step + 1}"], a[f"y{e}_s@{x.from_step + 1}"]
        limit = o[x.to_step].fill_null(_BIG)
        hit = o[x.from_step].notnull() & x_o.notnull() & (x_s - a.s_0 <= W) & (x_o < limit)
        before = reduce(lambda p, q: p + q, [(oj < x_o).fill_null(False).cast("int64") for oj in o])
        # excluded while it had done `before` steps: PostHog keeps the attempt in its slot,
        # marked, and its next step still counts as its furthest (marked) step
        reach = ibis.cases((hit, ibis.least(reach, before + 1)), else_=reach)
        excluded = excluded | hit
    return _finish(a, spec, o, s, reach, excluded, _pick(o, reach - 1))


def _strict(stream: ibis.Table, spec: FunnelSpec) -> ibis.Table:
    """Strict order, as PostHog's slots do it: an attempt that has done k steps waits for
    step k; events tied with another kind of event (not ``single``) are skipped; an event of
    step k-1's kind keeps it waiting; any other event stops it (an exclusion event that
    covers step k, within the window, also excludes it)."""
    n, W = spec.n, spec.window_s * US
    # Speed: strict scope is every event. An event that may take no step is a no-op when
    # tied with another kind (drop it), and otherwise stops every attempt: after one such
    # event the next ones in a row change nothing (drop them too).
    any_step = reduce(lambda p, q: p | q, [stream[f"m{j}"] for j in range(1, n)], stream.start)
    plain = stream.single & ~any_step
    prev_plain = plain.lag().over(ibis.window(group_by=stream.user_id, order_by=stream.ord))
    stream = stream.mutate(_keep=any_step | (plain & ~prev_plain.fill_null(False)))  # (a window
    stream = stream.filter(stream._keep).drop("_keep")  # inside a filter fails on PySpark)
    after = _after(stream)
    took = [stream.start] + [stream[f"m{j}"] for j in range(1, n)]  # PostHog's step list
    cols = {}
    for k in range(1, n):
        brk = stream.single & ~took[k - 1] & ~stream[f"m{k}"]
        cols[f"a{k}_o"] = _first(stream[f"m{k}"], stream.ord, after)
        cols[f"a{k}_s"] = _first(stream[f"m{k}"], stream.us, after)
        cols[f"b{k}_o"] = _first(brk, stream.ord, after)
        cover = _excl_covers(spec, k)
        if cover:
            xk = reduce(lambda p, q: p | q, [stream[f"x{e}"] for e in cover])
            cols[f"c{k}_o"] = _first(brk & xk, stream.ord, after)
            cols[f"c{k}_s"] = _first(brk & xk, stream.us, after)
    look = stream.mutate(**cols)

    def carried_at(k):
        return [c for c in (f"a{k}_o", f"a{k}_s", f"b{k}_o", f"c{k}_o", f"c{k}_s") if c in look.columns]

    def ok_at(a, k):
        a_o, b_o = a[f"a{k}_o@{k}"], a[f"b{k}_o@{k}"]
        return a_o.notnull() & (b_o.isnull() | (a_o < b_o)) & (a[f"a{k}_s@{k}"] - a.s_0 <= W)

    a = _steps(look, spec, carried_at, ok_at)
    o = [a[f"o_{k}"] for k in range(n)]
    s = [a[f"s_{k}"] for k in range(n)]
    reach = reduce(lambda x, y: x + y, [ok.notnull().cast("int64") for ok in o])
    stops = None
    levels = [k for k in range(1, n) if _excl_covers(spec, k)]
    if levels:
        # the exclusion event that stopped the attempt at its furthest step, if any
        stop = []
        for k in levels:
            a_o, b_o, c_o, c_s = (a[f"{c}@{k}"] for c in (f"a{k}_o", f"b{k}_o", f"c{k}_o", f"c{k}_s"))
            by_excl = (reach == k) & (c_o == b_o) & (a_o.isnull() | (b_o < a_o)) & (c_s - a.s_0 <= W)
            stop.append((by_excl.fill_null(False), k, c_o, c_s))
        a = a.mutate(
            _xo=ibis.cases(*((c, xo) for c, _, xo, _ in stop)),
            _xs=ibis.cases(*((c, xs) for c, _, _, xs in stop)),
        )
        stops = a.filter(a._xo.notnull()).select(_u=a.user_id, _level=reach, _xo=a._xo, _xs=a._xs).distinct()
        o = [a[f"o_{k}"] for k in range(n)]
        s = [a[f"s_{k}"] for k in range(n)]
        reach = reduce(lambda x, y: x + y, [ok.notnull().cast("int64") for ok in o])
    return _finish(a, spec, o, s, reach, ibis.literal(False), _pick(o, reach - 1), stops=stops)


def _unordered(stream: ibis.Table, spec: FunnelSpec) -> ibis.Table:
    """Long form: one row per (attempt, step found), ranked in time, pivoted back.

    (Building the time order with expressions instead would grow the SQL as n**4.)
    """
    n, W = spec.n, spec.window_s * US
    incl, after = _after(stream, inclusive=True), _after(stream)
    cols = {f"f{i}_o": _first(stream[f"m{i}"], stream.ord, incl) for i in range(n)}
    cols.update({f"f{i}_s": _first(stream[f"m{i}"], stream.us, incl) for i in range(n)})
    if spec.exclusions:  # all whole-funnel: the first exclusion event after the start
        xany = reduce(lambda p, q: p | q, [stream[f"x{e}"] for e in range(len(spec.exclusions))])
        cols.update(y_o=_first(xany, stream.ord, after), y_s=_first(xany, stream.us, after))
    else:
        cols.update(y_o=ibis.null("int64"), y_s=ibis.null("int64"))
    a = stream.mutate(**cols)
    a = a.filter(a.start)
    idx = ibis.memtable({"_i": list(range(n))}, schema={"_i": "int64"})
    long = a.cross_join(idx)
    long = long.select(
        "user_id", "y_o", "y_s", o0=long.ord, s0=long.us,
        fo=_pick([long[f"f{i}_o"] for i in range(n)], long._i),
        fs=_pick([long[f"f{i}_s"] for i in range(n)], long._i),
    )
    long = long.filter(long.fo.notnull() & (long.fs - long.s0 <= W))
    attempt = ibis.window(group_by=[long.user_id, long.o0])
    complete = long.fo.count().over(attempt) == n
    limit = ibis.cases((complete, long.fo.max().over(attempt)), else_=_BIG)
    long = long.mutate(hit=long.y_o.notnull() & (long.y_s - long.s0 <= W) & (long.y_o < limit))
    long = long.filter(~(long.hit & (long.fo > long.y_o)))
    pos = ibis.row_number().over(group_by=[long.user_id, long.o0], order_by=long.fo)
    long = long.mutate(pos=pos)
    per = long.group_by(["user_id", "o0"]).aggregate(
        reached=long.count().cast("int64"),
        excluded=long.hit.max(),
        o_last=long.fo.max(),
        **{f"s_{p}": ibis.cases((long.pos == p, long.fs)).max() for p in range(n)},
    )
    s = [per[f"s_{p}"] for p in range(n)]
    return _finish(per, spec, [per.o0], s, per.reached, per.excluded, per.o_last, chooser="unordered")


# --- per-user results and counts ---------------------------------------------------------------


def funnel_users(
    events: ibis.Table,
    spec: FunnelSpec,
    breakdown: str | None = None,
    attribution: str = "first_touch",
    users: ibis.Table | None = None,
) -> ibis.Table:
    """One row per counted user: how far they got and their conversion times.

    Args:
        events: the canonical ``events`` table (or any table with its columns).
        spec: the funnel.
        breakdown: an events column, or a column of ``users`` (when ``users`` is given and
            has it), to split the funnel by.
        attribution: ``first_touch``, ``last_touch`` or ``step_N`` (events columns only).
        users: the ``users`` table, for user-attribute breakdowns.

    Returns:
        ``user_id``, ``reached`` (number of steps done, 1..n), ``start_s`` (epoch seconds of
        the counted attempt's first step, float), ``conv_s_1``..``conv_s_{n-1}`` (seconds
        from step k-1 to step k, float with the sub-second part, null when step k was not
        reached) and, with a breakdown, ``value``
        (string, null when the user has none). Excluded users are absent.
    """
    step = parse_attribution(attribution, spec.n)  # a wrong name fails even without a breakdown
    stream = funnel_stream(events, spec)
    build = {"ordered": _ordered, "strict": _strict, "unordered": _unordered}[spec.order]
    per_user = build(stream, spec)
    if breakdown is None:
        return per_user
    if users is not None and breakdown in users.columns and breakdown != "user_id":
        vals = users.select(_u=users.user_id, value=users[breakdown].cast("string"))
    else:
        if breakdown not in events.columns:
            raise ConfigError(
                f"unknown breakdown column {breakdown!r} (an events column such as channel, "
                "category, campaign_id, or a column of the users table)"
            )
        col = stream[breakdown].cast("string")
        cand = reduce(lambda p, q: p | q, [stream[f"m{i}"] for i in range(spec.n)])
        if step is not None:
            cand = stream[f"m{step}"]
        good = cand & col.notnull() & (col != "")
        pick = col.argmax(stream.ord, where=good) if attribution == "last_touch" else col.argmin(stream.ord, where=good)
        vals = stream.group_by(_u=stream.user_id).aggregate(value=pick)
    joined = per_user.left_join(vals, per_user.user_id == vals._u)
    return joined.drop("_u")


def parse_attribution(attribution: str, n: int) -> int | None:
    """The step of ``step_N`` attribution (None for first/last touch); validates the name."""
    if attribution in ("first_touch", "last_touch"):
        return None
    match = re.fullmatch(r"step_(\d+)", attribution or "")
    if not match or int(match.group(1)) >= n:
        raise ConfigError(
            f"unknown attribution {attribution!r} (first_touch, last_touch or step_N with "
            f"0 <= N <= {n - 1})"
        )
    return int(match.group(1))


def funnel_counts(per_user: ibis.Table, n: int, by: str | None = None) -> ibis.Table:
    """Users at each step and conversion-time aggregates, one row (per ``by`` value).

    Columns: ``count_k`` (users who reached step k, k = 0..n-1), ``avg_s_k`` and ``median_s_k``
    (k >= 1; seconds from step k-1 to step k over the users who reached step k).
    """
    aggs = {
        f"count_{k}": per_user.count(where=per_user.reached >= k + 1).fill_null(0).cast("int64")
        for k in range(n)
    }
    for k in range(1, n):
        conv = per_user[f"conv_s_{k}"].cast("float64")
        aggs[f"avg_s_{k}"] = conv.mean()
        aggs[f"median_s_{k}"] = conv.median()
    if by is None:
        return per_user.aggregate(**aggs)
    return per_user.group_by(by).aggregate(**aggs)


def funnel_user_list(per_user: ibis.Table, step: int, kind: str = "converted") -> ibis.Table:
    """Users (``user_id``) who reached step ``step`` (``converted``) or stopped just before it
    (``dropped``: reached step ``step - 1`` but not ``step``), for audiences."""
    if kind == "converted":
        return per_user.filter(per_user.reached >= step + 1).select("user_id")
    if kind == "dropped":
        if step < 1:
            raise ConfigError("nobody drops off before step 0; ask for step >= 1")
        return per_user.filter(per_user.reached == step).select("user_id")
    raise ConfigError(f"unknown user list {kind!r} (converted or dropped)")
