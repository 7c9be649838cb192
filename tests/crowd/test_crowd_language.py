"""The one crowd language (:mod:`aips.crowd`): the insight dicts are AudienceSpecs, and
``crowd(view, ...)`` selects the same pairs whatever the form, on DuckDB and PySpark.

The toy log (brand B, reads and collects; the default model: a read is I, a collect TI):

====  ==========================  ================  ==================
user  events (local dates)        stage 2024-03-01  stage 2024-03-10
====  ==========================  ================  ==================
u1    read 02-28, collect 03-05   I                 TI
u2    read 02-28                  I                 I
u3    collect 02-28               TI                TI
u4    read 03-08                  (none)            I
====  ==========================  ================  ==================
"""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pytest

from aips.config.model import default_model
from aips.crowd import AudienceSpec, FlowCell, ReachedCell, as_list, crowd, from_crowd_dict
from aips.exceptions import ConfigError
from aips.store.tables import arrow_schema
from aips.view import View

D0, D1 = dt.date(2024, 3, 1), dt.date(2024, 3, 10)


def _events() -> pa.Table:
    rows = [("u1", "2024-02-28", "read"), ("u1", "2024-03-05", "collect"), ("u2", "2024-02-28", "read"),
            ("u3", "2024-02-28", "collect"), ("u4", "2024-03-08", "read")]
    schema = arrow_schema("events")
    data = [{"event_id": f"e{i}", "user_id": u, "brand": "B", "event_type": e,
             "ts": dt.datetime.fromisoformat(d + " 02:00"), "local_date": dt.date.fromisoformat(d)}
            for i, (u, d, e) in enumerate(rows)]
    return pa.Table.from_pylist(data, schema=schema)


@pytest.fixture
def view(store) -> View:
    store.write("events", _events(), overwrite=True)
    return View(store, default_model())


def _pairs(table) -> set[tuple]:
    return {(r["user_id"], r["stage"]) for r in table.to_pyarrow().to_pylist()}


def test_the_insight_dicts_are_audience_specs():
    assert from_crowd_dict({"brand": "B", "at": "2024-03-10", "stage": "I+TI"}) == AudienceSpec(
        brands=["B"], at=D1, stages=["I", "TI"])
    assert from_crowd_dict({"brand": "B", "at": D1, "stage": "all"}).stages is None
    flow = from_crowd_dict({"brand": "B", "from": D0, "to": D1, "from_stage": "I", "movement": "up"}).flow
    assert flow == FlowCell(from_stages=["I"], to_stages=["A", "I", "TI", "P", "S", "none"], t0=D0, t1=D1,
                            movements=["up"])
    reached = from_crowd_dict({"brand": "B", "reached": "TI", "end": "2024-03-10"})
    assert reached.reached == ReachedCell(stage="TI", end=D1) and reached.as_of() == D1
    assert AudienceSpec.from_text(reached.to_yaml()) == reached
    assert reached.shifted("2024-03-20").reached.end == dt.date(2024, 3, 20)
    assert as_list("a, b") == ["a", "b"]


@pytest.mark.parametrize(("spec", "match"), [
    ({"brand": "B", "at": D1, "colour": "red"}, "unknown crowd spec key"),
    ({"at": D1}, "needs a brand"),
    ({"brand": "B"}, "needs 'at'"),
    ({"brand": "B", "at": D1, "stage": "X"}, "unknown stage"),
    ({"brand": "B", "reached": "Z"}, "unknown stage"),
    ({"brand": "B", "from": D0, "to": D1, "movement": "sideways"}, "unknown movement"),
])
def test_bad_crowd_dicts_say_what_to_fix(spec, match):
    with pytest.raises(ConfigError, match=match):
        from_crowd_dict(spec)


def test_crowd_of_each_form(view):
    assert _pairs(crowd(view, {"brand": "B", "at": D1, "stage": "TI"})) == {("u1", "TI"), ("u3", "TI")}
    assert _pairs(crowd(view, {"brand": "B", "at": D1})) == {
        ("u1", "TI"), ("u2", "I"), ("u3", "TI"), ("u4", "I")}
    up = crowd(view, {"brand": "B", "from": D0, "to": D1, "movement": "up"})
    assert _pairs(up) == {("u1", "TI")}
    new = crowd(view, {"brand": "B", "from": D0, "to": D1, "from_stage": "none"})
    assert _pairs(new) == {("u4", "I")}
    reached = crowd(view, {"brand": "B", "reached": "TI", "end": "2024-03-02"})
    assert _pairs(reached) == {("u3", "TI")}
    # a spec and an Ibis table are crowds too
    spec = AudienceSpec(brands=["B"], at=D1, stages=["I"])
    assert _pairs(crowd(view, spec)) == {("u2", "I"), ("u4", "I")}
    table = crowd(view, spec)
    assert crowd(view, table) is table
    with pytest.raises(ConfigError, match="not a crowd"):
        crowd(view, 42)
