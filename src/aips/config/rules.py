"""The rule language: a small, safe expression grammar parsed by a whitelist.

Stage rules (``deep_read >= 2 or collect + comment >= 1``), counter filters
(``dwell_s >= 5 or completion >= 0.5``) and audience ``--where`` clauses are written in it.
Text is tokenised and parsed by hand (recursive descent) into a tiny AST; nothing is ever
``eval``-ed or spliced into SQL. The AST is then compiled into an Ibis expression over
columns the caller provides, so the same rule runs on every backend.

Grammar (lowest precedence first)::

    expr       := or
    or         := and ("or" and)*
    and        := not ("and" not)*
    not        := "not" not | comparison
    comparison := sum (("<" | "<=" | ">" | ">=" | "==" | "!=") sum)?
    sum        := unary (("+" | "-") unary)*
    unary      := "-" unary | atom
    atom       := NUMBER | NAME | "(" expr ")"

A rule as a whole must be boolean; arithmetic takes numbers; ``and``/``or``/``not`` take
booleans. Anything else (attribute access, calls, subscripts, strings, lambdas, SQL) is
rejected with a :class:`~aips.exceptions.RuleError` that gives the position of the
offending token.

>>> rule = parse_rule("deep_read >= 2 or (search >= 1 and read >= 1)")
>>> sorted(rule.names)
['deep_read', 'read', 'search']
>>> evaluate(rule, {"deep_read": 0, "search": 1, "read": 3})
True
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from aips.exceptions import RuleError

MAX_RULE_LENGTH = 4000
MAX_DEPTH = 60
MAX_TERMS = 200  # operands joined by one chain of + - / and / or
# Integer literals must fit a signed 64-bit column; larger ones cannot be compared in SQL.
MAX_INT = 2**63 - 1

_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<number>(?:\d+\.\d*|\.\d+|\d+)(?:[eE][+-]?\d+)?)
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<op><=|>=|==|!=|<|>|\+|-|\(|\))
    """,
    re.VERBOSE,
)
_KEYWORDS = {"and", "or", "not"}
_COMPARISONS = {"<", "<=", ">", ">=", "==", "!="}


@dataclass(frozen=True)
class Token:
    kind: str  # "number", "name", "op", "kw", "end"
    text: str
    pos: int


# --- AST ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Num:
    value: float | int
    pos: int


@dataclass(frozen=True)
class Name:
    name: str
    pos: int


@dataclass(frozen=True)
class Neg:
    operand: Node
    pos: int


@dataclass(frozen=True)
class BinOp:  # + -
    op: str
    left: Node
    right: Node
    pos: int


@dataclass(frozen=True)
class Compare:
    op: str
    left: Node
    right: Node
    pos: int


@dataclass(frozen=True)
class BoolOp:  # and / or, n-ary
    op: str
    operands: tuple[Node, ...]
    pos: int


@dataclass(frozen=True)
class Not:
    operand: Node
    pos: int


Node = Num | Name | Neg | BinOp | Compare | BoolOp | Not
_BOOLEAN = (Compare, BoolOp, Not)


@dataclass(frozen=True)
class Rule:
    """A parsed, type-checked rule: its source text, AST and the names it uses."""

    text: str
    tree: Node

    @property
    def names(self) -> frozenset[str]:
        """The counter (or column) names the rule refers to."""
        return frozenset(_names(self.tree))

    def __str__(self) -> str:
        return self.text


def _names(node: Node) -> Iterable[str]:
    if isinstance(node, Name):
        yield node.name
    elif isinstance(node, (Neg, Not)):
        yield from _names(node.operand)
    elif isinstance(node, (BinOp, Compare)):
        yield from _names(node.left)
        yield from _names(node.right)
    elif isinstance(node, BoolOp):
        for operand in node.operands:
            yield from _names(operand)


# --- tokenizer ---------------------------------------------------------------------------


def tokenize(text: str) -> list[Token]:
    """Split ``text`` into tokens, rejecting any character outside the whitelist."""
    tokens: list[Token] = []
    pos = 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None:
            char = text[pos]
            hint = {
                ".": " (attribute access is not allowed)",
                "'": " (strings are not allowed)",
                '"': " (strings are not allowed)",
                "[": " (subscripts are not allowed)",
                ";": " (statements are not allowed)",
                "=": " (use == to compare)",
                ",": " (calls are not allowed)",
            }.get(char, "")
            raise RuleError(f"unexpected character {char!r}{hint}", text, pos)
        kind = match.lastgroup or ""
        if text.startswith("--", pos):
            raise RuleError("'--' is not allowed (SQL comments are not rules)", text, pos)
        if kind == "number":
            # "1.5.2" or "3abc": a number glued to more characters is a typo, not two tokens.
            end = match.end()
            if end < len(text) and (text[end].isalnum() or text[end] in "._"):
                raise RuleError(f"malformed number {text[pos:end + 1]!r}", text, pos)
        if kind == "name" and match.group() in _KEYWORDS:
            kind = "kw"
        if kind != "ws":
            tokens.append(Token(kind, match.group(), pos))
        pos = match.end()
    tokens.append(Token("end", "", len(text)))
    return tokens


# --- parser ------------------------------------------------------------------------------


class _Parser:
    def __init__(self, text: str):
        self.text = text
        self.tokens = tokenize(text)
        self.i = 0
        self.depth = 0

    @property
    def tok(self) -> Token:
        return self.tokens[self.i]

    def error(self, message: str, token: Token | None = None) -> RuleError:
        token = token or self.tok
        return RuleError(message, self.text, token.pos)

    def take(self) -> Token:
        token = self.tok
        self.i += 1
        return token

    def parse(self) -> Node:
        if self.tok.kind == "end":
            raise self.error("empty rule")
        node = self.or_()
        if self.tok.kind != "end":
            what = "'('" if self.tok.text == "(" else repr(self.tok.text)
            extra = " (calls are not allowed)" if self.tok.text == "(" else ""
            raise self.error(f"unexpected {what}{extra}, expected an operator or the end")
        return node

    def _enter(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.error(f"rule nested deeper than {MAX_DEPTH} levels")

    def or_(self) -> Node:
        return self._boolop("or", self.and_)

    def and_(self) -> Node:
        return self._boolop("and", self.not_)

    def _boolop(self, op: str, sub: Callable[[], Node]) -> Node:
        first = self.tok
        operands = [sub()]
        while self.tok.kind == "kw" and self.tok.text == op:
            token = self.take()
            operands.append(sub())
            if len(operands) > MAX_TERMS:
                raise self.error(f"more than {MAX_TERMS} terms joined by {op!r}", token)
        if len(operands) == 1:
            return operands[0]
        return BoolOp(op, tuple(operands), first.pos)

    def not_(self) -> Node:
        if self.tok.kind == "kw" and self.tok.text == "not":
            token = self.take()
            self._enter()
            operand = self.not_()
            self.depth -= 1
            return Not(operand, token.pos)
        return self.comparison()

    def comparison(self) -> Node:
        left = self.sum_()
        if self.tok.kind == "op" and self.tok.text in _COMPARISONS:
            token = self.take()
            right = self.sum_()
            if self.tok.kind == "op" and self.tok.text in _COMPARISONS:
                raise self.error("chained comparisons are not allowed; join them with 'and'")
            return Compare(token.text, left, right, token.pos)
        return left

    def sum_(self) -> Node:
        left = self.unary()
        terms = 1
        while self.tok.kind == "op" and self.tok.text in ("+", "-"):
            token = self.take()
            terms += 1
            if terms > MAX_TERMS:
                raise self.error(f"more than {MAX_TERMS} terms joined by '+'/'-'", token)
            right = self.unary()
            left = BinOp(token.text, left, right, token.pos)
        return left

    def unary(self) -> Node:
        if self.tok.kind == "op" and self.tok.text == "-":
            token = self.take()
            self._enter()
            operand = self.unary()
            self.depth -= 1
            return Neg(operand, token.pos)
        return self.atom()

    def atom(self) -> Node:
        token = self.tok
        if token.kind == "number":
            self.take()
            value = float(token.text)
            if not math.isfinite(value):
                raise self.error(f"number {token.text!r} is out of range", token)
            is_int = re.fullmatch(r"\d+", token.text) is not None
            if is_int and int(token.text) > MAX_INT:
                raise self.error(
                    f"number {token.text} is out of range (integers go up to {MAX_INT})", token
                )
            return Num(int(token.text) if is_int else value, token.pos)
        if token.kind == "name":
            self.take()
            if self.tok.kind == "op" and self.tok.text == "(":
                raise self.error(f"calls are not allowed ({token.text}(...))")
            return Name(token.text, token.pos)
        if token.kind == "op" and token.text == "(":
            self.take()
            self._enter()
            node = self.or_()
            self.depth -= 1
            if not (self.tok.kind == "op" and self.tok.text == ")"):
                raise self.error("expected ')'")
            self.take()
            return node
        if token.kind == "end":
            raise self.error("unexpected end of rule, expected a name, a number or '('")
        raise self.error(f"unexpected {token.text!r}, expected a name, a number or '('")


def _check_types(node: Node, text: str, want_bool: bool) -> None:
    """Raise if a boolean sits where a number is expected, or the reverse."""
    is_bool = isinstance(node, _BOOLEAN)
    if want_bool and not is_bool:
        raise RuleError("expected a condition (a comparison such as 'read >= 1')", text, node.pos)
    if not want_bool and is_bool:
        raise RuleError("expected a number, got a condition", text, node.pos)
    if isinstance(node, (Neg,)):
        _check_types(node.operand, text, False)
    elif isinstance(node, (BinOp, Compare)):
        _check_types(node.left, text, False)
        _check_types(node.right, text, False)
    elif isinstance(node, BoolOp):
        for operand in node.operands:
            _check_types(operand, text, True)
    elif isinstance(node, Not):
        _check_types(node.operand, text, True)


def parse_rule(
    text: str, known: Iterable[str] | None = None, path: str | None = None
) -> Rule:
    """Parse and type-check a rule.

    Args:
        text: the rule, e.g. ``"read + like + follow + search >= 1"``.
        known: if given, the names the rule may use; any other name is an error that
            lists the known ones.
        path: the key path in the model, prefixed to error messages.

    Raises:
        RuleError: with the position of the offending token.

    >>> parse_rule("colect >= 1", known=["collect", "comment"]).names
    Traceback (most recent call last):
    ...
    aips.exceptions.RuleError: unknown counter 'colect' (known: collect, comment) at position 0
      colect >= 1
      ^
    """
    try:
        if not isinstance(text, str):
            raise RuleError(f"a rule must be text, got {type(text).__name__}", str(text), 0)
        if len(text) > MAX_RULE_LENGTH:
            raise RuleError(f"rule longer than {MAX_RULE_LENGTH} characters", text[:80], 0)
        tree = _Parser(text).parse()
        _check_types(tree, text, want_bool=True)
        if known is not None:
            known_set = set(known)
            for node in _walk(tree):
                if isinstance(node, Name) and node.name not in known_set:
                    listing = ", ".join(sorted(known_set)) or "none"
                    raise RuleError(
                        f"unknown counter {node.name!r} (known: {listing})", text, node.pos
                    )
        return Rule(text, tree)
    except RuleError as err:
        if path and err.path is None:
            raise RuleError(err.reason, err.text, err.position, path=path) from None
        raise


def _walk(node: Node) -> Iterable[Node]:
    yield node
    for child in _children(node):
        yield from _walk(child)


def _children(node: Node) -> tuple[Node, ...]:
    if isinstance(node, (Neg, Not)):
        return (node.operand,)
    if isinstance(node, (BinOp, Compare)):
        return (node.left, node.right)
    if isinstance(node, BoolOp):
        return node.operands
    return ()


# --- compilation -------------------------------------------------------------------------

_CMP: dict[str, Callable[[Any, Any], Any]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
    "==": operator.eq,
    "!=": operator.ne,
}


def _fold(node: Node, leaf: Callable[[Name], Any], boolean: Mapping[str, Callable]) -> Any:
    if isinstance(node, Num):
        return node.value
    if isinstance(node, Name):
        return leaf(node)
    if isinstance(node, Neg):
        return -_fold(node.operand, leaf, boolean)
    if isinstance(node, BinOp):
        left, right = _fold(node.left, leaf, boolean), _fold(node.right, leaf, boolean)
        return left + right if node.op == "+" else left - right
    if isinstance(node, Compare):
        return _CMP[node.op](_fold(node.left, leaf, boolean), _fold(node.right, leaf, boolean))
    if isinstance(node, BoolOp):
        values = [_fold(operand, leaf, boolean) for operand in node.operands]
        combine = boolean[node.op]
        result = values[0]
        for value in values[1:]:
            result = combine(result, value)
        return result
    if isinstance(node, Not):
        return boolean["not"](_fold(node.operand, leaf, boolean))
    raise TypeError(f"not a rule node: {node!r}")  # unreachable for parsed rules


def compile_rule(rule: Rule | str, columns: Mapping[str, Any]):
    """Compile a rule into an Ibis boolean expression over the given columns.

    Args:
        rule: a parsed :class:`Rule` or its text.
        columns: name -> Ibis numeric value (a table column or any expression).
            A null value counts as 0, so a missing counter never makes a rule null.

    >>> import ibis
    >>> t = ibis.memtable({"read": [0, 2], "like": [1, 0]})
    >>> expr = compile_rule("read + like >= 2", {"read": t.read, "like": t.like})
    >>> t.select(ok=expr).to_pyarrow()["ok"].to_pylist()
    [False, True]
    """
    if isinstance(rule, str):
        rule = parse_rule(rule, known=columns.keys())
    missing = rule.names - set(columns)
    if missing:
        name = sorted(missing)[0]
        node = next(n for n in _walk(rule.tree) if isinstance(n, Name) and n.name == name)
        raise RuleError(
            f"unknown counter {name!r} (known: {', '.join(sorted(columns))})",
            rule.text,
            node.pos,
        )
    import ibis  # local: keeps the parser importable without a backend

    def leaf(node: Name):
        return columns[node.name].fill_null(0)

    boolean = {
        "and": operator.and_,
        "or": operator.or_,
        "not": operator.invert,
    }
    expr = _fold(rule.tree, leaf, boolean)
    if isinstance(expr, bool):  # a rule of constants only, e.g. "1 >= 0"
        return ibis.literal(expr)
    return expr.fill_null(False)


def evaluate(rule: Rule | str, values: Mapping[str, float]) -> bool:
    """Evaluate a rule on plain Python numbers (missing names count as 0).

    Useful for documentation and small checks; engines use :func:`compile_rule`.

    >>> evaluate("deep_read >= 2 or collect + comment >= 1", {"comment": 1})
    True
    """
    if isinstance(rule, str):
        rule = parse_rule(rule)
    boolean = {
        "and": lambda a, b: a and b,
        "or": lambda a, b: a or b,
        "not": lambda a: not a,
    }
    return bool(_fold(rule.tree, lambda node: values.get(node.name, 0) or 0, boolean))
