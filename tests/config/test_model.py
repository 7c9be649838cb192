"""The YAML model: defaults reproduce DESIGN section 2; errors name the key path."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from aips.config.model import STAGES, default_model, default_yaml_text, load_model
from aips.exceptions import ConfigError


def test_defaults_reproduce_design_section_2():
    m = default_model()
    assert m.timezone == "Asia/Shanghai"
    assert m.level == "brand"
    assert list(m.stages) == list(STAGES) == ["S", "P", "TI", "I", "A"]
    assert {s: m.stages[s].window for s in STAGES} == {"S": 365, "P": "cycle", "TI": 30, "I": 30, "A": 30}
    assert m.stages["TI"].rule == (
        "deep_read >= 2 or collect + comment + share + screenshot + cart + store_visit >= 1 "
        "or (search >= 1 and read >= 1)"
    )
    assert m.stages["I"].rule == "read + like + follow + search >= 1"
    assert m.stages["A"].rule == "impression >= 1"
    assert m.stages["P"].rule == "purchase >= 1"
    assert m.stages["S"].rule == "post >= 1"
    assert m.counters["deep_read"].events == ["read"]
    assert m.counters["deep_read"].where == "dwell_s >= 5 or completion >= 0.5"
    assert m.counters["purchase"].window == "cycle"
    assert m.counters["post"].window == 365
    assert m.cycle_days("facial_serum") == 29
    assert m.cycle_days("infant_food") == 70
    assert m.cycle_days(None) == m.cycle_days("toys") == 30
    assert m.stage_window("P", "purchase") == "cycle"
    assert m.taxonomy["pv"] == "read" and m.taxonomy["fav"] == "collect" and m.taxonomy["buy"] == "purchase"


def _write(tmp_path: Path, data: dict | str) -> Path:
    path = tmp_path / "aips.yaml"
    path.write_text(data if isinstance(data, str) else yaml.safe_dump(data))
    return path


def _defaults() -> dict:
    return yaml.safe_load(default_yaml_text())


def test_unknown_counter_in_rule(tmp_path):
    data = _defaults()
    data["stages"]["TI"]["rule"] = "colect >= 1"
    with pytest.raises(ConfigError) as info:
        load_model(_write(tmp_path, data))
    assert "stages.TI.rule: unknown counter 'colect' (known: cart, collect, comment," in str(info.value)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda d: d.update(timezone="Mars/Olympus"), "timezone: unknown time zone 'Mars/Olympus'"),
        (lambda d: d.update(level="sku"), "level: Input should be 'brand' or 'spu'"),
        (lambda d: d["stages"]["TI"].update(window=0), "stages.TI.window"),
        (lambda d: d["stages"]["TI"].update(window="week"), "stages.TI.window"),
        (lambda d: d["stages"].pop("S"), "stages: missing stage(s) S"),
        (lambda d: d["stages"].update(X={"rule": "read >= 1"}), "stages: unknown stage 'X'"),
        (lambda d: d["counters"]["read"].update(events=["reed"]), "counters.read.events.0: unknown event type 'reed'"),
        (lambda d: d["counters"]["read"].update(events=[]), "counters.read.events"),
        (lambda d: d["counters"]["deep_read"].update(where="dwell >= 5"), "counters.deep_read.where: unknown counter 'dwell'"),
        (lambda d: d["counters"]["read"].update(colour="red"), "counters.read.colour: unknown key"),
        (lambda d: d.update(colour="red"), "colour: unknown key"),
        (lambda d: d["categories"].update(facial_serum=0), "categories: decision cycle of 'facial_serum' must be >= 1 day"),
        (lambda d: d["stages"]["I"].update(rule="read >= 1 or os.system"), "stages.I.rule: unexpected character '.'"),
        (lambda d: d.update(purchase_event="sale"), "purchase_event: unknown event type 'sale'"),
        (lambda d: d.update(report={"max_campaigns": 0}), "report.max_campaigns: Input should be greater than or equal to 1, got 0"),
        (lambda d: d.update(currency=""), "currency"),
        (lambda d: d.update(organic_channels="natural"), "organic_channels"),
    ],
)
def test_errors_name_the_key_path(tmp_path, change, expected):
    data = _defaults()
    change(data)
    with pytest.raises(ConfigError) as info:
        load_model(_write(tmp_path, data))
    assert expected in str(info.value)


def test_partial_file_keeps_other_defaults(tmp_path):
    m = load_model(_write(tmp_path, {"timezone": "Europe/Paris", "categories": {"toys": 12}}))
    assert m.timezone == "Europe/Paris"
    assert m.cycle_days("toys") == 12
    assert m.stages["TI"].window == 30


def test_not_yaml_and_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="not valid YAML at line 1"):
        load_model(_write(tmp_path, "stages: [unclosed"))
    with pytest.raises(ConfigError, match="does not exist"):
        load_model(tmp_path / "nope.yaml")
    with pytest.raises(ConfigError, match="must be a mapping"):
        load_model(_write(tmp_path, "- a\n- b\n"))


def test_init_writes_the_commented_defaults(tmp_path):
    aips = Path(sys.executable).with_name("aips")
    out = subprocess.run([aips, "init"], cwd=tmp_path, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    text = (tmp_path / "aips.yaml").read_text()
    assert text.startswith("# aips model")
    assert load_model(tmp_path / "aips.yaml") == default_model()
    again = subprocess.run([aips, "init"], cwd=tmp_path, capture_output=True, text=True)
    assert again.returncode == 1 and "exists; pass --force" in again.stderr


def test_the_written_model_documents_the_data_keys():
    """``aips init`` writes every key of the model, each under a comment saying what it does."""
    lines = default_yaml_text().splitlines()
    for key in ("purchase_event:", "organic_channels:", "currency:", "report:"):
        at = next(i for i, line in enumerate(lines) if line.startswith(key))
        assert lines[at - 1].startswith("#"), f"{key} has no comment above it"
    assert set(_defaults()) == set(default_model().model_dump())
