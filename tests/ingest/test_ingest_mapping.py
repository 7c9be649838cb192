"""Mapping files and presets (aips.ingest.mapping): keys, checks, precedence."""

from __future__ import annotations

from pathlib import Path

import pytest

from aips.config.model import default_model
from aips.exceptions import ConfigError
from aips.ingest.load import event_type_map
from aips.ingest.mapping import Mapping, load_mapping, load_preset, preset_names, resolve_mapping

EXAMPLE = (
    Path(__file__).resolve().parents[2] / "src" / "aips" / "ingest" / "presets" / "example_map.yaml"
)


def test_presets():
    assert preset_names() == ["canonical", "rees46", "taobao"]
    taobao = load_preset("taobao")
    assert (taobao.csv.header, taobao.csv.names[3], taobao.timestamp.unit) == (
        False,
        "behavior_type",
        "s",
    )
    assert {k: v.source for k, v in taobao.columns.items()}["brand"] == "category_id"
    assert taobao.event_types == {"pv": "read", "fav": "collect", "cart": "cart", "buy": "purchase"}
    rees = load_preset("rees46")
    assert rees.ignore == ["remove_from_cart"]
    assert rees.columns["amount"].source == "price" and rees.columns["amount"].event_types == [
        "purchase"
    ]
    assert load_preset("canonical").columns == {}


def test_example_map_is_valid():
    m = load_mapping(EXAMPLE)
    assert m.columns["user_id"].source == "uid" and m.constants == {"channel": "organic"}
    assert event_type_map(m, default_model())["pay"] == "purchase"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("columns: {usr: user}", "columns: 'usr' is not a column of the events table"),
        ("colums: {}", "colums: unknown key"),
        ("timestamp: {unit: h}", "timestamp.unit"),
        ("timestamp: {unit: s, format: '%Y'}", "either unit"),
        ("timestamp: {timezone: Mars/Base}", "unknown time zone 'Mars/Base'"),
        ("encoding: klingon", "unknown encoding 'klingon'"),
        ("csv: {delimiter: ';;'}", "one character"),
        ("table: campaigns\nignore: [x]", "apply to the events table only"),
        ("columns: {channel: c}\nconstants: {channel: x}", "both in columns and constants"),
        ("columns: {local_date: d}", "'local_date' is not a column"),
        ("[1, 2]", "a mapping file is a YAML mapping"),
        ("columns: {a: [", "not valid YAML at line 1"),
    ],
)
def test_errors_name_the_file_and_key(tmp_path, text, message):
    path = tmp_path / "m.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_mapping(path)
    assert str(path) in str(err.value) and message in str(err.value)


def test_missing_file():
    with pytest.raises(ConfigError, match="does not exist"):
        load_mapping("/nonexistent/m.yaml")


def test_resolve():
    assert resolve_mapping().table == "events"
    assert resolve_mapping(table="campaigns").table == "campaigns"
    assert (
        resolve_mapping(mapping={"columns": {"user_id": "uid"}}).columns["user_id"].source == "uid"
    )
    assert (
        resolve_mapping(mapping={"columns": {"campaign_id": "id"}}, table="campaigns").table
        == "campaigns"
    )
    with pytest.raises(ConfigError, match="either a preset or a mapping"):
        resolve_mapping(preset="taobao", mapping={})
    with pytest.raises(ConfigError, match="loads the events table, not campaigns"):
        resolve_mapping(preset="taobao", table="campaigns")
    with pytest.raises(ConfigError, match="unknown preset 'tmall'"):
        resolve_mapping(preset="tmall")


def test_event_type_map():
    model = default_model()
    m = event_type_map(Mapping(event_types={"Click_Through": "store_visit", "zan": "like"}), model)
    assert m["click_through"] == "store_visit" and m["zan"] == "like"
    assert m["view"] == "read" and m["purchase"] == "purchase"  # taxonomy and canonical types
    assert (
        event_type_map(Mapping(event_types={"x": "Fav"}), model)["x"] == "collect"
    )  # through the taxonomy
    with pytest.raises(ConfigError, match="'x' maps to 'teleport'"):
        event_type_map(Mapping(event_types={"x": "teleport"}), model)
