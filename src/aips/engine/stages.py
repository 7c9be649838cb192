"""Exclusive stage level from windowed counters and the model's rules; cumulative views.

A stage rule is a boolean expression over counters (``deep_read >= 2 or collect + comment
>= 1``). The grammar has only ``+`` and ``-`` between numbers and names, so every comparison
is *linear*: ``left OP right`` is ``sum(coef * counter) OP constant``. Such a linear form,
with each counter summed over its window, is an **atom**. Windowed sums are linear too, so
an atom can be summed over a window in one go (``collect + comment + ... + store_visit`` is
one column rather than six). The engine computes atoms (per snapshot day, or as running sums
in the timeline sweep) and :func:`level_expr` turns them into the exclusive level.

Levels: a (user, entity) is at the highest of S > P > TI > I > A whose rule holds on the
day; it has no level when no rule holds, **or when every atom is zero** (no counted
behaviour in any window: a rule that would hold on nothing, such as ``not read >= 1``,
never creates a level out of thin air).

>>> from aips.config.model import default_model
>>> plan = RulePlan.of(default_model())
>>> len(plan.atoms), sorted({w for a in plan.atoms for (_, w, _) in a.terms}, key=str)
(8, [30, 365, 'cycle'])
"""

from __future__ import annotations

import operator
from collections.abc import Mapping
from dataclasses import dataclass
from functools import reduce

import ibis

from aips.config.model import STAGE_RANK, STAGES, Model, Window
from aips.config.rules import BinOp, BoolOp, Compare, Name, Neg, Node, Not, Num
from aips.exceptions import ConfigError

LEVELS = ("brand", "spu")
SEEDED = "I+TI"
"""Stage value of the seeded crowd (exclusive I plus exclusive TI) in :func:`seeded_assets`."""


# --- levels --------------------------------------------------------------------------------


def resolve_level(model: Model, level: str | None = None) -> str:
    """The level of a call: ``level`` if given, else the model's (``brand`` or ``spu``)."""
    level = level or model.level
    if level not in LEVELS:
        raise ConfigError(f"unknown level {level!r} (expected brand or spu)")
    return level


def entity_keys(level: str) -> tuple[str, ...]:
    """Columns identifying the entity: ``("brand",)`` or ``("spu", "brand")``.

    At SPU level the brand is kept beside the SPU (an SPU belongs to its brand).
    """
    return ("brand",) if level == "brand" else ("spu", "brand")


def for_level(table: ibis.Table, level: str) -> ibis.Table:
    """Rows usable at ``level``: at SPU level, rows with a null ``spu`` are dropped."""
    return table if level == "brand" else table.filter(table.spu.notnull())


# --- atoms ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Atom:
    """A linear form ``sum(coef * counter summed over window)``.

    ``terms`` is a sorted tuple of ``(counter, window, coef)``; ``name`` is its column name.
    """

    terms: tuple[tuple[str, Window, int], ...]
    name: str

    @property
    def windows(self) -> tuple[Window, ...]:
        """The distinct windows of its terms (ints first, then ``cycle``)."""
        return tuple(sorted({w for _, w, _ in self.terms}, key=lambda w: (isinstance(w, str), w)))


_FLIP = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "==": "==", "!=": "!="}
_OPS = {
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
    "==": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
}


def _linear(node: Node, stage: str, model: Model, sign: int, out: dict, const: list) -> None:
    if isinstance(node, Num):
        const[0] += sign * node.value
    elif isinstance(node, Name):
        key = (node.name, model.stage_window(stage, node.name))
        out[key] = out.get(key, 0) + sign
    elif isinstance(node, Neg):
        _linear(node.operand, stage, model, -sign, out, const)
    elif isinstance(node, BinOp):
        _linear(node.left, stage, model, sign, out, const)
        _linear(node.right, stage, model, sign if node.op == "+" else -sign, out, const)
    else:  # pragma: no cover - parse_rule type-checks rules
        raise ConfigError(f"not a number in a rule: {node!r}")


@dataclass(frozen=True)
class _Cmp:
    atom: Atom | None  # None: a comparison of constants
    op: str
    value: float


@dataclass(frozen=True)
class RulePlan:
    """The atoms of a model's rules and each stage's rule rewritten over them.

    Build with :meth:`RulePlan.of`. ``atoms`` are in a stable order; ``rules`` maps each
    stage to a tree of ``BoolOp``/``Not`` nodes whose leaves are comparisons of one atom.
    """

    atoms: tuple[Atom, ...]
    rules: Mapping[str, object]

    @classmethod
    def of(cls, model: Model) -> RulePlan:
        """Decompose the model's stage rules into atoms."""
        atoms: dict[tuple, Atom] = {}

        def rewrite(node: Node, stage: str):
            if isinstance(node, BoolOp):
                return (node.op, tuple(rewrite(o, stage) for o in node.operands))
            if isinstance(node, Not):
                return ("not", (rewrite(node.operand, stage),))
            if isinstance(node, Compare):
                coefs: dict = {}
                const = [0]
                _linear(node.left, stage, model, 1, coefs, const)
                _linear(node.right, stage, model, -1, coefs, const)
                terms = tuple(
                    sorted(((c, w, k) for (c, w), k in coefs.items() if k != 0), key=str)
                )
                op, value = node.op, -const[0]
                if not terms:
                    return _Cmp(None, op, value)
                if terms[0][2] < 0:  # canonical sign: the first coefficient is positive
                    terms = tuple((c, w, -k) for c, w, k in terms)
                    op, value = _FLIP[op], -value
                if terms not in atoms:
                    atoms[terms] = Atom(terms, f"_a{len(atoms)}")
                return _Cmp(atoms[terms], op, value)
            raise ConfigError(f"stage {stage}: the rule is not a condition")  # pragma: no cover

        rules = {s: rewrite(model.rules[s].tree, s) for s in STAGES}
        return cls(tuple(atoms.values()), rules)

    @property
    def counter_windows(self) -> tuple[tuple[str, Window], ...]:
        """Distinct ``(counter, window)`` pairs the atoms use, in a stable order."""
        seen: dict = {}
        for atom in self.atoms:
            for c, w, _ in atom.terms:
                seen[(c, w)] = None
        return tuple(seen)

    @property
    def windows(self) -> tuple[Window, ...]:
        """Distinct windows (ints ascending, then ``cycle``)."""
        ws = {w for a in self.atoms for w in a.windows}
        return tuple(sorted(ws, key=lambda w: (isinstance(w, str), w)))

    @property
    def uses_cycle(self) -> bool:
        return "cycle" in self.windows

    @property
    def max_fixed_window(self) -> int:
        """The longest whole-number window (0 when every window is ``cycle``)."""
        return max((w for w in self.windows if isinstance(w, int)), default=0)

    @property
    def counters(self) -> tuple[str, ...]:
        """Counters the rules use."""
        return tuple(dict.fromkeys(c for c, _ in self.counter_windows))


def atom_dtype(model: Model, atom: Atom) -> str:
    """``float64`` when a term sums a numeric column, else ``int64``."""
    return "float64" if any(model.counters[c].sum for c, _, _ in atom.terms) else "int64"


def scaled(value: ibis.Value, coef: int) -> ibis.Value:
    """``coef * value`` without multiplying by 1 or -1."""
    return value if coef == 1 else -value if coef == -1 else value * coef


def _fold(tree, leaf, negate):
    """A rule tree folded: ``leaf`` on each comparison, ``&`` / ``|`` for and / or, ``negate``
    for not (the same walk for Ibis expressions and for Python bools)."""
    if isinstance(tree, _Cmp):
        return leaf(tree)
    op, operands = tree
    parts = [_fold(o, leaf, negate) for o in operands]
    if op == "not":
        return negate(parts[0])
    return reduce(operator.and_ if op == "and" else operator.or_, parts)


def _rule(plan: RulePlan, stage: str, atoms: Mapping[str, ibis.Value]) -> ibis.Value:
    """The boolean expression of ``stage``'s rule over the atom values."""

    def leaf(cmp: _Cmp) -> ibis.Value:
        if cmp.atom is None:
            return ibis.literal(bool(_OPS[cmp.op](0, cmp.value)))
        return _OPS[cmp.op](atoms[cmp.atom.name], cmp.value)

    return _fold(plan.rules[stage], leaf, operator.invert)


def _holds_at_zero(plan: RulePlan, stage: str) -> bool:
    """Whether ``stage``'s rule holds when every atom is 0 (then a pair without any counted
    event would get a level, and the level needs an explicit "some atom is nonzero" guard)."""
    return bool(_fold(plan.rules[stage], lambda cmp: bool(_OPS[cmp.op](0, cmp.value)), operator.not_))


def _guarded(plan: RulePlan, atoms: Mapping[str, ibis.Value], level: ibis.Value,
             none: ibis.Value) -> ibis.Value:
    """``level``, or ``none`` when every atom is 0; the guard is left out when no rule holds
    at all-zero atoms (then ``level`` is already ``none`` there)."""
    if not any(_holds_at_zero(plan, s) for s in STAGES):
        return level
    active = reduce(lambda a, b: a | b, [atoms[a.name] != 0 for a in plan.atoms])
    return ibis.ifelse(active, level, none)


def level_expr(plan: RulePlan, atoms: Mapping[str, ibis.Value]) -> ibis.Value:
    """The exclusive level (string, null when none) from atom values keyed by atom name.

    Priority S > P > TI > I > A; null when no rule holds or every atom is 0.
    """
    if not plan.atoms:
        return ibis.null("string")
    level = ibis.cases(*[(_rule(plan, s, atoms), s) for s in STAGES], else_=ibis.null("string"))
    return _guarded(plan, atoms, level, ibis.null("string"))


def level_rank_expr(plan: RulePlan, atoms: Mapping[str, ibis.Value]) -> ibis.Value:
    """:func:`level_expr` as the stage's rank (A 1 ... S 5; 0 when no level), an integer.

    Cheaper to compute and compare than the stage's text where a query evaluates levels on
    many rows and keeps few (the sweep); :func:`rank_stage` turns it back into the stage.
    """
    zero = ibis.literal(0, "int8")
    if not plan.atoms:
        return zero
    level = ibis.cases(*[(_rule(plan, s, atoms), ibis.literal(STAGE_RANK[s], "int8")) for s in STAGES],
                       else_=zero)
    return _guarded(plan, atoms, level, zero)


def rank_stage(rank: ibis.Value) -> ibis.Value:
    """The stage of a :func:`level_rank_expr` rank (null for 0)."""
    return ibis.cases(*[(rank == STAGE_RANK[s], s) for s in STAGES], else_=ibis.null("string"))


# --- aggregated views ------------------------------------------------------------------------


def stages_table() -> ibis.Table:
    """The five stages with their rank (A 1 ... S 5), as a tiny memtable."""
    return ibis.memtable(
        {"stage": list(STAGES), "rank": [STAGE_RANK[s] for s in STAGES]},
        schema={"stage": "string", "rank": "int64"},
    )


def count_assets(snapshot: ibis.Table, by: tuple[str, ...]) -> ibis.Table:
    """Users per entity and stage of a snapshot: ``(*by, stage, users)``."""
    return snapshot.group_by([*by, "stage"]).aggregate(users=snapshot.user_id.count())


def cumulative_assets(assets: ibis.Table, by: tuple[str, ...]) -> ibis.Table:
    """Users at or above each stage, from exclusive counts ``(*by, stage, users)``.

    A user at P counts in A, I, TI and P. Stages with no user at or above them are absent.

    >>> t = ibis.memtable({"brand": ["b", "b"], "stage": ["P", "I"], "users": [2, 5]})
    >>> out = cumulative_assets(t, ("brand",)).order_by("stage").to_pyarrow()
    >>> dict(zip(out["stage"].to_pylist(), out["users"].to_pylist()))
    {'A': 7, 'I': 7, 'P': 2, 'TI': 2}
    """
    ranks = stages_table()
    at = assets.join(ranks, assets.stage == ranks.stage).select(*by, "users", have=ranks["rank"])
    grid = at.cross_join(ranks.select(stage=ranks.stage, want=ranks["rank"]))
    grid = grid.filter(grid.have >= grid.want)
    return grid.group_by([*by, "stage"]).aggregate(users=grid.users.sum())


def seeded_assets(assets: ibis.Table, by: tuple[str, ...]) -> ibis.Table:
    """The seeded crowd (exclusive I plus exclusive TI) per entity: ``(*by, stage='I+TI', users)``."""
    seeded = assets.filter(assets.stage.isin(["I", "TI"]))
    return seeded.group_by(list(by)).aggregate(
        stage=ibis.literal(SEEDED), users=seeded.users.sum()
    )
