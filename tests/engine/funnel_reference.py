"""Plain-Python funnel oracles for the tests.

``posthog_user`` ports the state machine of PostHog's funnel UDF (``aggregate_funnel``,
``steps.rs``: per-step ``entered_timestamp`` slots, events processed in time order, each
event's steps processed from the highest down, a strict reset after each event in strict
order, ``max_step`` replaced only by a further step or by the same step when the kept one
is excluded, an excluded ``max_step`` drops the user). It serves ordered and strict
funnels on events with distinct timestamps.

``unordered_user`` is a direct per-user reading of the unordered semantics documented in
``aips.engine.funnel``.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class _Entered:
    ts: float = 0.0
    excluded: bool = False
    timings: list = field(default_factory=list)

    def copy(self) -> _Entered:
        return _Entered(self.ts, self.excluded, list(self.timings))


def posthog_user(events, steps, window, order="ordered", exclusions=(), start=None, end=None):
    """PostHog's result for one user, or None when the user is not in the funnel.

    Args:
        events: list of ``(ts_seconds, event_type, local_day)`` (distinct ``ts``; ts large).
        steps: event types.
        window: seconds.
        exclusions: ``(event, from_step, to_step)`` (0-based, to_step inclusive bound).
        start, end: day range for step-0 events.

    Returns:
        ``(reached, [conversion seconds per step 1..reached-1])`` or None.
    """
    n = len(steps)
    ent = [_Entered() for _ in range(n + 1)]
    max_step = (0, _Entered())
    for ts, etype, day in sorted(events, key=lambda e: e[0]):
        in_range = (start is None or day >= start) and (end is None or day <= end)
        matched = [i + 1 for i, s in enumerate(steps) if s == etype and (i > 0 or in_range)]
        # exclusion at 0-based step j is an exclusion check of the attempt at UDF slot j + 1
        excl = [j + 1 for (ev, f, t) in exclusions if ev == etype for j in range(f, t)]
        ent[0] = _Entered(ts, False, [])
        work = [(s, False) for s in matched] + [(s + 1, True) for s in excl]
        for step, is_excl in sorted(work, key=lambda w: w[0], reverse=True):
            prev = ent[step - 1]
            in_window = ts - prev.ts <= window
            already = ent[step].ts == prev.ts and ent[step].ts != 0.0
            if is_excl:
                if in_window and not already and not prev.excluded:
                    prev.excluded = True
                    if max_step[0] == step - 1 and ts - max_step[1].ts <= window:
                        max_step[1].excluded = True
                continue
            if in_window and not already and not prev.excluded:
                ent[step] = _Entered(prev.ts, False, prev.timings + [ts])
                if step > max_step[0] or (step == max_step[0] and max_step[1].excluded):
                    max_step = (step, ent[step].copy())
        if order == "strict":
            for i in range(1, n + 1):
                if i not in matched:
                    ent[i] = _Entered()
    if max_step[0] == 0 or max_step[1].excluded:
        return None
    t = max_step[1].timings
    return max_step[0], [int(t[k] - t[k - 1]) for k in range(1, len(t))]


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
