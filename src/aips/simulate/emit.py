"""Behaviour: the events a block's journeys produce, as integer-coded columns.

Every feed exposure is an ``impression``. What else a user does depends on the latent
stage of the pair at that moment (see :mod:`aips.simulate.journeys`):

* **A** (aware): impressions only. The move to I is marked by a shallow read, a like or a
  follow of the last note seen.
* **I**: some impressions are opened (mostly shallow reads), liked or followed; some
  users search the brand (they browse the results without opening them).
* **TI**: more reads, half of them deep; collects, comments, shares, screenshots;
  searches followed by a read. The move to TI is marked by a collect, a search and read,
  a share, a comment, a screenshot or two deep reads.
* **P**: a cart (on-platform orders) or a store visit (most orders flowing back from other
  stores), then the ``purchase`` with its amount, then repurchases.
* **S**: a ``post`` (the user's own note about the brand, a new ``note_id``).

After a failed advance the pair stalls: engagement drops to ``stalled_factor``.

Proportions at default rates (checked in ``tests/simulate/test_statistics.py``): events are
~86 % impressions, ~6.5 % reads, ~4 % searches, ~1 % likes, ~0.5 % collects, ~0.4 %
purchases, ~0.05 % posts. On the last day, under the default stage rules of DESIGN
section 2, the (user, brand) pairs with a level split about A 90 %, I 6 %, TI 1.7 %,
P 1.1 %, S 0.9 % (S counts posts over 365 days, P purchases over the category cycle).

Events are held as four coded columns (see :class:`Events`); :func:`pack` and
:func:`unpack` convert the packed one:

>>> etype, note, kw, spu = unpack(pack(ET["purchase"], NO_NOTE, -1, 17))
>>> EVENT_TYPES[int(etype)], int(note), int(kw), int(spu)
('purchase', -1, -1, 17)
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from aips.simulate.journeys import Exposures, Outcome, Pairs, Searches, pick_note
from aips.simulate.parts import EVENT_TYPES, FORMATS
from aips.simulate.world import Users, World

ET = {name: np.int8(i) for i, name in enumerate(EVENT_TYPES)}
VIDEO = FORMATS.index("video")
NO_NOTE = -1
POST_NOTE = -2
"""``note`` code of a ``post`` in image format; ``-2 - format`` in general: the writer gives
the user's new note an id of its own."""


@dataclass
class Events:
    """Events of a block as four parallel columns.

    ``ap`` (int32) is the active pair, ``t`` (int32) seconds since the first local midnight,
    ``value`` (float32) the read's dwell (image, live) or completion (video), or the order
    amount; ``code`` (uint64) packs the event type (bits 60-63), SPU + 1 (40-59), keyword + 1
    (24-39) and note + 4 (0-23). Use :func:`unpack` to split ``code``.
    """

    cols: dict[str, np.ndarray] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.cols["t"]) if self.cols else 0


def pack(etype, note, kw, spu) -> np.ndarray:
    """The ``code`` column from its parts (arrays or scalars)."""
    u = np.uint64
    return (
        (np.asarray(etype).astype(u) << u(60))
        | ((np.asarray(spu) + 1).astype(u) << u(40))
        | ((np.asarray(kw) + 1).astype(u) << u(24))
        | (np.asarray(note) + 4).astype(u)
    )


def unpack(code: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(etype, note, keyword, spu)`` codes (-1 where absent) from a ``code`` column."""
    u = np.uint64
    etype = (code >> u(60)).astype(np.int8)
    spu = ((code >> u(40)) & u(0xFFFFF)).astype(np.int64) - 1
    kw = ((code >> u(24)) & u(0xFFFF)).astype(np.int64) - 1
    note = (code & u(0xFFFFFF)).astype(np.int64) - 4
    return etype, note, kw, spu


class _Buffer:
    def __init__(self) -> None:
        self.parts: list[tuple] = []

    def add(self, ap, t, etype, note=NO_NOTE, kw=-1, spu=-1, value=np.nan) -> None:
        n = len(ap)
        if n == 0:
            return
        code = pack(etype, note, kw, spu)
        self.parts.append((
            np.asarray(ap, np.int32), np.asarray(t, np.int64),
            np.broadcast_to(code, (n,)), np.broadcast_to(np.asarray(value, np.float32), (n,)),
        ))

    def finish(self) -> Events:
        if not self.parts:
            z = np.zeros(0)
            return Events({"ap": z.astype(np.int32), "t": z.astype(np.int64), "code": z.astype(np.uint64), "value": z.astype(np.float32)})
        cols = [np.concatenate(c) for c in zip(*self.parts, strict=True)]
        return Events(dict(zip(("ap", "t", "code", "value"), cols, strict=True)))


def _delay(rng, n, lo, mean):
    return (lo + rng.exponential(mean, n)).astype(np.int64)


def _read_value(rng, fmt, deep):
    """Dwell seconds (image, live) or completion (video) of reads, deep or shallow."""
    n = len(fmt)
    dwell = np.where(deep, 5.0 + rng.exponential(25.0, n), rng.uniform(1.0, 4.9, n))
    compl = np.where(deep, rng.uniform(0.5, 1.0, n), rng.uniform(0.02, 0.49, n))
    return np.where(fmt == VIDEO, np.round(compl, 2), np.round(dwell, 1))


def emit_events(
    world: World,
    users: Users,
    ex: Exposures,
    pairs: Pairs,
    searches: Searches,
    fact: Outcome,
    rng: np.random.Generator,
) -> Events:
    """All events of the block (unsorted; times may run past the horizon and are cut later)."""
    p = world.params
    buf = _Buffer()
    when = fact.times(pairs)
    adv = fact.adv
    stall = p.stalled_factor

    # Impressions (ghosts are never shown), and what users do with them given the stage.
    shown = np.flatnonzero(~ex.ghost)
    ap, t, note = ex.ap[shown], ex.t[shown], ex.note[shown]
    buf.add(ap, t, ET["impression"], note=note)
    stage = np.zeros(len(t), dtype=np.int8)
    for k in range(4):
        stage += adv[ap, k] & (t >= when[ap, k])
    nxt = np.minimum(stage, 3)
    stalled = (stage < 4) & ~adv[ap, nxt] & (t >= when[ap, nxt])
    rate = np.asarray(p.read_rate)[stage] * np.where(stalled, stall, 1.0)
    r = np.flatnonzero(rng.random(len(t)) < rate)
    r_ap, r_stage, r_note = ap[r], stage[r], note[r]
    r_t = t[r] + _delay(rng, len(r), 3, 40.0)
    r_factor = np.where(stalled[r], stall, 1.0)
    deep = rng.random(len(r)) < np.asarray(p.deep_read)[r_stage]
    buf.add(r_ap, r_t, ET["read"], note=r_note, value=_read_value(rng, world.note_format[r_note], deep))
    for kind, probs in p.engage.items():
        hit = np.flatnonzero(rng.random(len(r)) < np.asarray(probs)[r_stage] * r_factor)
        buf.add(r_ap[hit], r_t[hit] + _delay(rng, len(hit), 2, 20.0), ET[kind], note=r_note[hit])

    _searches(world, users, pairs, searches, fact, when, rng, buf)
    _markers(world, _LastNote(ap, t, note), pairs, when, adv, rng, buf)
    return buf.finish()


def _keywords(world: World, brand: np.ndarray, rng) -> np.ndarray:
    kinds = list(world.params.keyword_mix)
    probs = np.asarray(list(world.params.keyword_mix.values()))
    kind = np.minimum(np.searchsorted(np.cumsum(probs / probs.sum()), rng.random(len(brand)), "right"), len(kinds) - 1)
    table, offset, count = [], np.zeros((len(world.brand_names), len(kinds)), np.int64), np.zeros_like(
        np.zeros((len(world.brand_names), len(kinds)), np.int64))
    for b, kw in enumerate(world.brand_keywords):
        for j, name in enumerate(kinds):
            offset[b, j] = len(table)
            count[b, j] = len(kw[name])
            table.extend(kw[name].tolist())
    pick = offset[brand, kind] + (rng.random(len(brand)) * count[brand, kind]).astype(np.int64)
    return np.asarray(table, dtype=np.int32)[pick]


def _searches(world, users, pairs, searches, fact, when, rng, buf) -> None:
    p = world.params
    s_ap = searches.ap
    real = fact.adv[s_ap, searches.stage - 1]
    s = np.flatnonzero(real)
    ap = s_ap[s]
    t = (fact.t0[ap] + searches.rel[s]).astype(np.int64)
    brand = pairs.brand[ap]
    buf.add(ap, t, ET["search"], kw=_keywords(world, brand, rng))
    org = searches.org_note[s]
    buf.add(ap, t + _delay(rng, len(s), 1, 2.0), ET["impression"], note=org)
    ad = fact.ad_note[s]
    shown = np.flatnonzero(ad >= 0)
    buf.add(ap[shown], t[shown] + _delay(rng, len(shown), 1, 2.0), ET["impression"], note=ad[shown])
    # TI users open a result after searching (search + read is a TI signal).
    ti = np.flatnonzero((searches.stage[s] == 2) & (rng.random(len(s)) < p.search_read))
    use_ad = (ad[ti] >= 0) & (rng.random(len(ti)) < 0.4)
    note = np.where(use_ad, ad[ti], org[ti])
    deep = rng.random(len(ti)) < p.deep_read[2]
    buf.add(ap[ti], t[ti] + _delay(rng, len(ti), 8, 30.0), ET["read"], note=note,
            value=_read_value(rng, world.note_format[note], deep))


class _LastNote:
    """The note of a pair's last shown exposure at or before a time."""

    def __init__(self, ap: np.ndarray, t: np.ndarray, note: np.ndarray) -> None:
        self.key = (ap.astype(np.int64) << 32) | t
        self.note = note

    def __call__(self, ap: np.ndarray, at: np.ndarray) -> np.ndarray:
        i = np.searchsorted(self.key, (ap.astype(np.int64) << 32) + np.floor(at).astype(np.int64), "right") - 1
        return self.note[np.maximum(i, 0)]


def _markers(world, last_note, pairs, when, adv, rng, buf) -> None:
    p = world.params
    # A -> I: a shallow read, a like or a follow of the last note seen.
    a = np.flatnonzero(adv[:, 0])
    t = when[a, 0].astype(np.int64)
    note = last_note(a, when[a, 0])
    kind = np.searchsorted([0.6, 0.85], rng.random(len(a)), "right")
    value = _read_value(rng, world.note_format[note], np.zeros(len(a), bool))
    r = kind == 0
    buf.add(a[r], t[r], ET["read"], note=note[r], value=value[r])
    buf.add(a[kind == 1], t[kind == 1], ET["like"], note=note[kind == 1])
    buf.add(a[kind == 2], t[kind == 2], ET["follow"], note=note[kind == 2])

    # I -> TI: one deep-interest signal.
    a = np.flatnonzero(adv[:, 1])
    t = when[a, 1].astype(np.int64)
    note = last_note(a, when[a, 1])
    kind = np.searchsorted(np.cumsum([0.40, 0.18, 0.08, 0.08, 0.10]), rng.random(len(a)), "right")
    for j, etype in enumerate(("collect", "search", "share", "comment", "screenshot")):
        sel = kind == j
        if etype == "search":
            buf.add(a[sel], t[sel] - 60, ET["search"], kw=_keywords(world, pairs.brand[a[sel]], rng))
            v = _read_value(rng, world.note_format[note[sel]], np.ones(sel.sum(), bool))
            buf.add(a[sel], t[sel], ET["read"], note=note[sel], value=v)
        else:
            buf.add(a[sel], t[sel], ET[etype], note=note[sel])
    sel = kind == 5
    v = _read_value(rng, world.note_format[note[sel]], np.ones(sel.sum(), bool))
    buf.add(a[sel], t[sel], ET["read"], note=note[sel], value=v)
    other = pick_note(world, world.organic_pool + pairs.brand[a[sel]], rng.random(sel.sum()))
    v = _read_value(rng, world.note_format[other], np.ones(sel.sum(), bool))
    buf.add(a[sel], t[sel] + _delay(rng, sel.sum(), 600, 900.0), ET["read"], note=other, value=v)

    # TI -> P: cart (on platform) or store visit (mostly off platform), then the orders.
    a = np.flatnonzero(adv[:, 2])
    t = when[a, 2].astype(np.int64)
    note = last_note(a, when[a, 2])
    on = pairs.on_platform[a]
    buf.add(a[on], t[on] - _delay(rng, on.sum(), 300, 1200.0), ET["cart"], note=note[on],
            spu=pairs.spu[a[on], 0])
    visit = ~on & (rng.random(len(a)) < p.store_visit_before_offsite)
    buf.add(a[visit], t[visit] - _delay(rng, visit.sum(), 60, 900.0), ET["store_visit"], note=note[visit])
    times = when[a, 2][:, None] + pairs.offset[a]
    ok = ~np.isnan(times)
    rows, cols = np.nonzero(ok)
    buf.add(a[rows], times[rows, cols].astype(np.int64), ET["purchase"],
            spu=pairs.spu[a[rows], cols], value=pairs.amount[a[rows], cols])

    # P -> S: the user's own note.
    a = np.flatnonzero(adv[:, 3])
    fmts = list(p.post_formats)
    probs = np.asarray(list(p.post_formats.values()))
    pick = np.minimum(np.searchsorted(np.cumsum(probs / probs.sum()), rng.random(len(a)), "right"), len(fmts) - 1)
    fmt = np.asarray([FORMATS.index(f) for f in fmts], dtype=np.int8)[pick]
    buf.add(a, when[a, 3].astype(np.int64), ET["post"], note=POST_NOTE - fmt, spu=pairs.spu[a, 0])
