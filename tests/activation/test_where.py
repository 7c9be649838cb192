"""``--where`` rules: counters over their own windows, user attributes, and injection attempts
rejected by the whitelist parser before anything reaches the backend.

Log (default model; ``at`` = 2024-03-31): read and purchase windows are 30 days
(03-02..03-31), ``post`` 365 days; infant_food's decision cycle is 70 days, so its purchase
counter looks back to 01-22.
"""

from __future__ import annotations

import pyarrow as pa
import pytest
from activation_helpers import events_table, workspace

from aips.exceptions import ConfigError, RuleError

AT = "2024-03-31"
SERUM, BABY = {"category": "serum"}, {"category": "infant_food"}
ROWS = [
    # u1: 3 reads in the window, 1 read 31 days before (outside): read = 3
    ("u1", "b", "2024-03-01 12:00", "read", SERUM),
    *[("u1", "b", f"2024-03-{d:02d} 12:00", "read", SERUM) for d in (10, 11, 12)],
    # u2: 4 reads and a purchase 02-15 (outside 30 days): purchase = 0 for serum
    *[("u2", "b", f"2024-03-{d:02d} 12:00", "read", SERUM) for d in (5, 6, 7, 8)],
    ("u2", "b", "2024-02-15 12:00", "purchase", {**SERUM, "amount": 10.0}),
    # u3: 3 reads and a purchase in the window
    *[("u3", "b", f"2024-03-{d:02d} 12:00", "read", SERUM) for d in (5, 6, 7)],
    ("u3", "b", "2024-03-20 12:00", "purchase", {**SERUM, "amount": 10.0}),
    # u4 (infant food, 70-day cycle): purchase 02-15 still counts; post a year ago does not
    *[("u4", "n", f"2024-03-{d:02d} 12:00", "read", BABY) for d in (5, 6, 7)],
    ("u4", "n", "2024-02-15 12:00", "purchase", {**BABY, "amount": 10.0}),
    ("u4", "n", "2023-03-01 12:00", "post", BABY),
]
USERS = pa.table({"user_id": ["u1", "u2", "u3", "u4"], "age": [30, 20, 40, 35],
                  "holdout": [False, True, False, False], "gender": ["F", "F", "M", "F"]})


@pytest.fixture
def ws(duckdb_store):
    return workspace(duckdb_store, events_table(ROWS), USERS)


def users(aud) -> set[str]:
    return {r["user_id"] for r in aud.table.to_pyarrow().to_pylist()}


@pytest.mark.parametrize(("rule", "expected"), [
    ("read >= 3 and purchase == 0", {"u1", "u2"}),
    ("read >= 4", {"u2"}),
    ("purchase >= 1", {"u3", "u4"}),  # u4: 70-day cycle window
    ("post >= 1", set()),  # 2023-03-01 is 396 days before
    ("read + purchase >= 4 and not age < 35", {"u3", "u4"}),
    ("holdout == 1 or age - 30 == 0", {"u1", "u2"}),
    ("-read <= -4", {"u2"}),
], ids=["lead-example", "read", "cycle-window", "post-365", "attr", "boolean-attr", "negation"])
def test_where_over_counters_and_attributes(ws, rule, expected):
    assert users(ws.audience(at=AT, where=rule)) == expected


def test_where_on_both_backends(store):
    ws = workspace(store, events_table(ROWS), USERS)
    assert users(ws.audience(at=AT, where="read >= 3 and purchase == 0 and age >= 30")) == {"u1"}


INJECTIONS = [
    "read >= 1; DROP TABLE events",
    "read >= 1 -- comment",
    "read >= 1 or '1' == '1'",
    "read >= 1 or 1=1",
    "__import__('os').system('rm -rf /')",
    "events.user_id == 1",
    "read >= 1 union select * from users",
    "exec(read)",
    "read[0] >= 1",
    "read >= 1 /* x */",
    "read >= 0x10",
    "user_id == 1",  # not a counter or numeric attribute: strings are not reachable
    "gender == 1",
    "lambda: 1",
    "",
]


@pytest.mark.parametrize("rule", INJECTIONS)
def test_injection_rejected(ws, rule):
    with pytest.raises(ConfigError):
        ws.audience(at=AT, where=rule).size()


def test_unknown_name_lists_known(ws):
    with pytest.raises(RuleError, match=r"unknown counter 'raed' \(known: .*read.*\)"):
        ws.audience(at=AT, where="raed >= 1")


def test_rule_error_points_at_the_token(ws):
    with pytest.raises(RuleError) as err:
        ws.audience(at=AT, where="read >= 1; drop table events")
    assert err.value.position == 9
