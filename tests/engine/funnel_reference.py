"""Plain-Python funnel oracles for the tests.

``posthog_user`` ports the state machine of PostHog's funnel UDF (``aggregate_funnel``,
``funnel-udf/src/steps.rs``, read at commit 862e672): per-step ``entered_timestamp``
slots; events grouped by timestamp; a group of one event, or of events with equal step
lists, is processed event by event (each event's steps from the highest down, exclusions
first; in strict order every slot the event does not match is cleared afterwards); a group
of events with different step lists is flattened to (event, step) pairs for its positive
steps only, sorted by step, processed without the strict reset and without exclusions,
and an event is not used twice by one attempt. An advance from an excluded slot is not
stored but still updates ``max_step`` (so the excluded attempt's furthest step is kept and
marked); ``max_step`` is replaced only by a further step, or by the same step when the
kept one is excluded; an exclusion also marks ``max_step`` when it is at the excluded
slot's step and the exclusion is within its window; an excluded ``max_step`` drops the
user. Processing stops once the last step is reached.

``unordered_user`` is a direct per-user reading of the unordered semantics documented in
``aips.engine.funnel``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import groupby


@dataclass
class _Entered:
    ts: float = 0.0
    excluded: bool = False
    timings: list = field(default_factory=list)
    uuids: list = field(default_factory=list)

    def copy(self) -> _Entered:
        return _Entered(self.ts, self.excluded, list(self.timings), list(self.uuids))


def posthog_user(events, steps, window, order="ordered", exclusions=(), start=None, end=None):
    """PostHog's result for one user, or None when the user is not in the funnel.

    Args:
        events: list of ``(ts_seconds, event_type, local_day)`` (ts large, may be fractional
            and may tie).
        steps: event types.
        window: seconds.
        order: ``ordered`` or ``strict``.
        exclusions: ``(event, from_step, to_step)`` (0-based, to_step inclusive bound).
        start, end: day range for step-0 events (events before ``start`` are out of scope).

    Returns:
        ``(reached, [conversion seconds per step 1..reached-1])`` or None.
    """
    n = len(steps)
    rows = []
    for uid, (ts, etype, day) in enumerate(sorted(events, key=lambda e: e[0])):
        if start is not None and day < start:
            continue
        in_range = end is None or day <= end
        arr = [i + 1 for i, s in enumerate(steps) if s == etype and (i > 0 or in_range)]
        # exclusion_i (i = 1..n-1) is set when an exclusion covers FROM < i <= TO; it is
        # passed as step -(i + 1) and checks the slot of attempts that have done i steps
        arr += [-(i + 1) for i in range(1, n) if any(ev == etype and f < i <= t for ev, f, t in exclusions)]
        if arr or order == "strict":
            rows.append((ts, uid, arr))
    ent = [_Entered() for _ in range(n + 1)]
    state = {"max": (0, _Entered())}

    def process(ts, uid, arr, multi):
        for step in reversed(arr):
            excl = step < 0
            step = abs(step)
            prev_i = step - 1
            prev_ts = ent[prev_i].ts
            in_window = prev_ts != 0.0 and ts - prev_ts <= window
            already = ent[step].ts == prev_ts and ent[step].ts != 0.0
            if not in_window or already:
                continue
            prev = ent[prev_i]
            if excl:
                if not prev.excluded:
                    prev.excluded = True
                    m_step, m_val = state["max"]
                    if m_step == prev_i and ts - m_val.ts <= window:
                        m_val.excluded = True
                continue
            if multi and uid in prev.uuids:
                continue
            new = _Entered(prev.ts, prev.excluded, prev.timings + [ts], prev.uuids + [uid])
            if not prev.excluded:
                ent[step] = new.copy()
            m_step, m_val = state["max"]
            if step > m_step or (step == m_step and m_val.excluded):
                state["max"] = (step, new)
        if not multi and order == "strict":
            for i in range(1, n + 1):
                if i not in arr:
                    ent[i] = _Entered()

    for ts, group in groupby(rows, key=lambda r: r[0]):
        group = list(group)
        ent[0] = _Entered(ts)
        if len(group) == 1 or all(g[2] == group[0][2] for g in group):
            for _, uid, arr in group:
                process(ts, uid, arr, False)
        else:
            items = sorted(((uid, s) for _, uid, arr in group for s in arr if s > 0), key=lambda it: it[1])
            for uid, s in items:
                process(ts, uid, [s], True)
        if ent[n].ts > 0.0:
            break
    m_step, m_val = state["max"]
    if m_step == 0 or m_val.excluded:
        return None
    t = m_val.timings
    return m_step, [t[k] - t[k - 1] for k in range(1, len(t))]


def unordered_user(events, steps, window, exclusions=(), start=None, end=None):
    """The unordered funnel of one user (documented semantics), or None."""
    evs = sorted(events, key=lambda e: (e[0], steps.index(e[1]) if e[1] in steps else len(steps)))
    attempts = []
    for i, (ts0, et0, day0) in enumerate(evs):
        if et0 not in steps:
            continue
        if (start is not None and day0 < start) or (end is not None and day0 > end):
            continue
        first: dict[str, tuple[int, float]] = {}
        for j in range(i, len(evs)):
            ts, et, _ = evs[j]
            if ts - ts0 > window:
                break
            if et in steps and et not in first:
                first[et] = (j, ts)
        order = sorted(first.values())
        excluded = False
        limit = order[-1][0] if len(first) == len(steps) else float("inf")
        for j in range(i + 1, len(evs)):
            ts, et, _ = evs[j]
            if ts - ts0 > window or j >= limit:
                break
            if any(et == ev for ev, _, _ in exclusions):
                excluded = True
                order = [o for o in order if o[0] < j]
                break
        attempts.append((len(order), excluded, order[-1][0], i, [o[1] for o in order]))
    if not attempts:
        return None
    attempts.sort(key=lambda a: (-a[0], a[1], a[2], -a[3]))
    reach, excluded, _, _, times = attempts[0]
    if excluded:
        return None
    return reach, [int(times[k] - times[k - 1]) for k in range(1, reach)]
