"""The whitelist rule language: golden cases, the Ibis compilation, and a fuzz test."""

from __future__ import annotations

from pathlib import Path

import ibis
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from aips.config.rules import compile_rule, evaluate, parse_rule
from aips.exceptions import AipsError, RuleError

CASES = yaml.safe_load((Path(__file__).parents[1] / "fixtures/rules/cases.yaml").read_text())


@pytest.mark.parametrize("case", CASES["valid"], ids=lambda c: c["text"])
def test_valid_rules_parse(case):
    assert sorted(parse_rule(case["text"]).names) == case["names"]


@pytest.mark.parametrize("case", CASES["invalid"], ids=lambda c: c["text"] or "<empty>")
def test_invalid_rules_are_rejected_with_position(case):
    with pytest.raises(RuleError) as info:
        parse_rule(case["text"])
    assert case["error"] in str(info.value)
    assert info.value.position == case["position"]


def test_unknown_counter_lists_known_ones():
    with pytest.raises(RuleError) as info:
        parse_rule("colect >= 1", known=["collect", "comment"], path="stages.TI.rule")
    message = str(info.value)
    assert message.startswith("stages.TI.rule: unknown counter 'colect' (known: collect, comment)")
    assert info.value.position == 0


@pytest.mark.parametrize(
    ("rule", "values", "expected"),
    [
        ("deep_read >= 2 or collect + comment >= 1 or (search >= 1 and read >= 1)", {"deep_read": 1}, False),
        ("deep_read >= 2 or collect + comment >= 1 or (search >= 1 and read >= 1)", {"deep_read": 2}, True),
        ("deep_read >= 2 or collect + comment >= 1 or (search >= 1 and read >= 1)", {"search": 1}, False),
        ("deep_read >= 2 or collect + comment >= 1 or (search >= 1 and read >= 1)", {"search": 1, "read": 1}, True),
        ("not read >= 1", {"read": 0}, True),
        ("read - like > 0", {"read": 2, "like": 2}, False),
        ("-read < -1", {"read": 2}, True),
        ("read >= 1 and not like >= 1 or follow == 1", {"follow": 1}, True),  # and binds tighter
        ("read >= 1 and (not like >= 1 or follow == 1)", {"follow": 1}, False),
    ],
)
def test_evaluate_and_compile_agree(rule, values, expected):
    """The Ibis compilation gives the same truth value as Python evaluation (and the hand value)."""
    assert evaluate(rule, values) is expected
    names = sorted(parse_rule(rule).names)
    table = ibis.memtable({n: [values.get(n, 0)] for n in names})
    compiled = compile_rule(rule, {n: table[n] for n in names})
    assert table.select(ok=compiled).to_pyarrow()["ok"].to_pylist() == [expected]


def test_null_counter_counts_as_zero():
    table = ibis.memtable({"read": [None, 1]}, schema={"read": "int64"})
    compiled = compile_rule("read >= 1 or not read >= 1", {"read": table.read})
    assert table.select(ok=compiled).to_pyarrow()["ok"].to_pylist() == [True, True]


def test_deep_nesting_is_refused_not_a_recursion_error():
    with pytest.raises(RuleError, match="nested deeper"):
        parse_rule("(" * 500 + "read >= 1" + ")" * 500)
    with pytest.raises(RuleError, match="nested deeper"):
        parse_rule("not " * 500 + "read >= 1")


ALPHABET = st.sampled_from(
    list("abcdefghijklmnopqrstuvwxyz_0123456789 .()+-*/<>=!'\"[];:,#\\\n\t")
    + ["and", "or", "not", "read", ">=", "==", "__import__", "lambda", "1e9", "ä", "≥", "\x00"]
)


@settings(max_examples=1500, deadline=None)
@given(st.lists(ALPHABET, max_size=40).map("".join))
def test_fuzz_only_our_error_type(text):
    """No input raises anything but RuleError (an AipsError)."""
    try:
        rule = parse_rule(text)
    except RuleError:
        return
    # Whatever parsed must also compile and evaluate without error.
    names = sorted(rule.names)
    evaluate(rule, {n: 1 for n in names})
    table = ibis.memtable({n: [1] for n in names} or {"x": [1]})
    compile_rule(rule, {n: table[n] for n in names})


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=60))
def test_fuzz_arbitrary_unicode(text):
    try:
        parse_rule(text, known=["read", "like"])
    except AipsError:
        pass


@pytest.mark.parametrize("op", ["+", "-"])
def test_long_sum_is_refused_not_a_recursion_error(op):
    text = op.join(["a"] * 1991) + " >= 1"
    with pytest.raises(RuleError, match="more than 200 terms"):
        parse_rule(text)


def test_long_boolean_chain_is_refused():
    text = " or ".join(["a>0"] * 300)
    with pytest.raises(RuleError, match="more than 200 terms"):
        parse_rule(text)


def test_200_terms_still_parse_and_compile():
    rule = parse_rule(" + ".join(["a"] * 200) + " >= 1")
    assert evaluate(rule, {"a": 1})
    t = ibis.memtable({"a": [0, 1]})
    assert t.select(ok=compile_rule(rule, {"a": t.a})).to_pyarrow()["ok"].to_pylist() == [
        False,
        True,
    ]


@pytest.mark.parametrize("literal", ["99999999999999999999", "9223372036854775808"])
def test_integer_literal_out_of_range_is_a_rule_error(literal):
    with pytest.raises(RuleError, match="out of range") as err:
        parse_rule(f"read >= {literal}")
    assert err.value.position == len("read >= ")


def test_largest_int64_literal_compiles():
    t = ibis.memtable({"read": [1]})
    expr = compile_rule("read >= 9223372036854775807", {"read": t.read})
    assert t.select(ok=expr).to_pyarrow()["ok"].to_pylist() == [False]
