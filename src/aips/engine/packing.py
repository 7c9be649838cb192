"""Capped atoms packed into int64 words: the timeline sweep sums one column, not one per atom.

The sweep (:mod:`aips.engine.timelines`) keeps a running sum of every atom per (user,
entity); on DuckDB each summed column costs about as much as the sort it rides on (measured
on the 12M-event store: 8 sums over 21M delta rows 32 CPU s, 1 sum 11.7 s). A stage rule only
compares an atom with constants, so the atom is needed only up to its **cap**: the least m
such that every value >= m answers each comparison alike (``deep_read >= 2``: 2; an atom
that is only tested for being nonzero: 1). When every coefficient of an atom is positive
and its counters are counts, each rollup row's part of it can be capped first:

    min(sum over rows of min(part, cap), cap) == min(sum over rows of part, cap)

so a windowed sum of capped parts is >= cap exactly when the true value is, and equal to it
below. A capped part summed over a window is at most ``cap * rows in the window``, and
those rows number at most ``min(window, span) * day_rows`` (``day_rows``: the most rollup
rows one (user, entity) can have on one day, that is the most (spu, category) one brand
has; ``span``: days the rollup covers). Each (atom, window) part thus gets a **field** of
fixed width, and fields are packed side by side into words of at most
:data:`WORD_BITS` bits: a sum of words is the word of the sums (no field can carry into the
next), also for the running sums of +/- deltas, which equal windowed sums at every day.

The bounds come from the data (:func:`bounds_query`, one small aggregate, run by the caller:
engine functions do not execute); :meth:`Packing.of` returns None when a model's atoms
cannot be capped (a negative coefficient, a sum counter) or a field would not fit, and the
sweep then sums the atoms one by one, as before.

>>> from aips.config.model import default_model
>>> from aips.engine.stages import RulePlan
>>> plan = RulePlan.of(default_model())
>>> p = Packing.of(plan, default_model(), Bounds(day_rows=4, span_days=180, max_cycle=70))
>>> p.words, [f.bits for f in p.fields if f.cap == 2]
(1, [8])
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from functools import reduce

import ibis

from aips.config.model import STAGES, Model, Window
from aips.engine.counters import ROLLUP_KEYS
from aips.engine.cycles import cycle_days_table
from aips.engine.stages import Atom, RulePlan, _Cmp, atom_dtype, entity_keys

WORD_BITS = 62
"""Bits per word: an int64 with headroom (Spark's ANSI mode fails on overflow, and the
running sum of a day's deltas may pass through values above the final one)."""


@dataclass(frozen=True)
class Bounds:
    """What bounds a field: the most rollup rows of one (user, entity) on one day, the days
    the rollup covers (first to last, inclusive), the longest decision cycle."""

    day_rows: int
    span_days: int
    max_cycle: int

    @classmethod
    def of_row(cls, row: Mapping) -> Bounds | None:
        """From a row of :func:`bounds_query` (None for an empty rollup)."""
        if row["day_rows"] is None or row["first"] is None:
            return None
        return cls(int(row["day_rows"]), (row["last"] - row["first"]).days + 1, int(row["max_cycle"]))


def bounds_query(rollup: ibis.Table, level: str, model: Model,
                 categories: ibis.Table | None = None) -> ibis.Table:
    """One row: ``day_rows``, ``first``, ``last``, ``max_cycle`` of ``rollup`` at ``level``.

    ``day_rows`` bounds the rows one (user, entity) has on a day by the distinct values of
    the rollup's other keys per entity (at brand level its (spu, category) pairs): a small
    aggregate, cheaper than counting rows per (user, entity, day).
    """
    ent = list(entity_keys(level))
    rest = [k for k in ROLLUP_KEYS if k not in ("user_id", "local_date", *ent)]
    per = rollup.select(*ent, *rest).distinct()
    per = per.group_by(ent).aggregate(n=per.count())
    cycles = cycle_days_table(model, categories)
    out = per.aggregate(day_rows=per.n.max()).cross_join(
        rollup.aggregate(first=rollup.local_date.min(), last=rollup.local_date.max()))
    out = out.cross_join(cycles.aggregate(max_cycle=cycles.cycle_days.max()))
    return out.select("day_rows", "first", "last",
                      max_cycle=ibis.greatest(out.max_cycle.fill_null(0),
                                              ibis.literal(model.default_cycle_days, "int64")))


@dataclass(frozen=True)
class Field:
    """One (atom, window) part: its cap and where it sits in which word."""

    atom: str
    window: Window
    cap: int
    word: int
    offset: int
    bits: int


def saturation(op: str, value: float) -> int:
    """The least m >= 1 such that ``x OP value`` is the same for every integer x >= m.

    >>> saturation(">=", 2), saturation(">", 2), saturation("==", 2), saturation("<", 0.5)
    (2, 3, 3, 1)
    """
    m = math.ceil(value) if op in (">=", "<") else math.floor(value) + 1
    return max(1, m)


def _caps(plan: RulePlan) -> dict[str, int]:
    """Each atom's cap: the least m >= 1 beyond which no comparison of it changes (1 at
    least: the level also asks whether an atom is nonzero)."""
    caps = {a.name: 1 for a in plan.atoms}

    def visit(tree) -> None:
        if isinstance(tree, _Cmp):
            if tree.atom is not None:
                caps[tree.atom.name] = max(caps[tree.atom.name], saturation(tree.op, tree.value))
            return
        for operand in tree[1]:
            visit(operand)

    for s in STAGES:
        visit(plan.rules[s])
    return caps


def _cappable(model: Model, atom: Atom) -> bool:
    return atom_dtype(model, atom) == "int64" and all(k > 0 for _, _, k in atom.terms)


@dataclass(frozen=True)
class Packing:
    """The fields of a model's capped atoms, packed into ``words`` int64 words."""

    fields: tuple[Field, ...]
    words: int

    @classmethod
    def of(cls, plan: RulePlan, model: Model, bounds: Bounds | None) -> Packing | None:
        """The packing under ``bounds``, or None when the atoms cannot be capped or packed."""
        if bounds is None or not plan.atoms or not all(_cappable(model, a) for a in plan.atoms):
            return None
        caps = _caps(plan)
        fields: list[Field] = []
        used: list[int] = []  # bits used per word
        for atom in plan.atoms:
            for w in atom.windows:
                days = bounds.max_cycle if w == "cycle" else int(w)
                most = caps[atom.name] * min(days, bounds.span_days) * bounds.day_rows
                bits = most.bit_length()
                if bits > WORD_BITS:
                    return None
                word = next((i for i, u in enumerate(used) if u + bits <= WORD_BITS), len(used))
                if word == len(used):
                    used.append(0)
                fields.append(Field(atom.name, w, caps[atom.name], word, used[word], bits))
                used[word] += bits
        return cls(tuple(fields), len(used))

    def pack(self, parts: Mapping[tuple[str, Window], ibis.Value]) -> list[ibis.Value]:
        """The words of one row from its (atom, window) parts (int64, >= 0; absent: 0)."""
        words: list[list[ibis.Value]] = [[] for _ in range(self.words)]
        for f in self.fields:
            part = parts.get((f.atom, f.window))
            if part is not None:
                words[f.word].append(ibis.least(part, f.cap) * (1 << f.offset))
        return [reduce(lambda a, b: a + b, ws) if ws else ibis.literal(0, "int64") for ws in words]

    def flags(self) -> list[Field]:
        """The fields of atoms the rules only test for being nonzero (cap 1), of one
        whole-number window: their windowed sums may be replaced by 0/1 (whether any row
        of the window has a nonzero part), which the sweep builds per island of rows
        (:func:`aips.engine.timelines._island_deltas`).

        >>> from aips.config.model import default_model
        >>> from aips.engine.stages import RulePlan
        >>> plan = RulePlan.of(default_model())
        >>> p = Packing.of(plan, default_model(), Bounds(day_rows=4, span_days=180, max_cycle=70))
        >>> [(f.atom, f.window) for f in p.flags()][:2]
        [('_a0', 365), ('_a3', 30)]
        """
        per_atom: dict[str, list[Field]] = {}
        for f in self.fields:
            per_atom.setdefault(f.atom, []).append(f)
        return [fs[0] for fs in per_atom.values()
                if len(fs) == 1 and fs[0].cap == 1 and isinstance(fs[0].window, int)]

    def unpack(self, words: list[ibis.Value]) -> dict[str, ibis.Value]:
        """Each atom's value, exact below its cap and >= cap above (what the rules compare),
        from (running sums of) words."""
        out: dict[str, ibis.Value] = {}
        for f in self.fields:
            value = (words[f.word] >> f.offset) & ((1 << f.bits) - 1)
            out[f.atom] = out[f.atom] + value if f.atom in out else value
        return out
