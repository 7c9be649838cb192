"""The diagnosis finds the stage the simulator was configured to leak, and attaches the
playbook; the playbook is data a user can override."""

from __future__ import annotations

import json

import pytest
from activation_helpers import WS, events_table, strict_ti_model, workspace

from aips.activation.playbook import load_playbook
from aips.exceptions import ConfigError
from aips.store.connect import connect


@pytest.fixture(scope="module")
def diagnosis(leak_world):
    world, path = leak_world
    truth = json.loads((world / "truth.json").read_text())
    ws = WS(connect(str(path)), strict_ti_model())
    at = ws.events.local_date.max().to_pyarrow().as_py()
    out = {b: ws.diagnose(b, at, actions=False) for b in ("Serava", "Lumiere")}
    ws.close()
    return truth, out


@pytest.mark.parametrize("brand", ["Serava", "Lumiere"])
def test_finds_the_configured_leak(diagnosis, brand):
    truth, out = diagnosis
    configured = next(lk["transition"] for lk in truth["leaks"] if lk["brand"] == brand)
    d = out[brand]
    assert d.is_leak and d.focus == configured
    assert d.leaks[0]["transition"] == configured and d.leaks[0]["gap"] <= -0.2
    assert f"{configured.replace('->', ' -> ')} advance rate" in d.leaks[0]["evidence"]
    assert d.category == "facial_serum" and len(d.peers) == 3
    stages = {"I->TI": ["I"], "TI->P": ["TI", "P"]}[configured]
    assert [e["stage"] for e in d.playbook] == stages
    row = d.metrics.set_index("metric").loc[f"{configured} advance rate"]
    assert row["leaking"] and row["p_value"] < 0.05 and row["brand"] < row["category_median"]
    assert configured.split("->")[0] in str(d)


def test_report_and_actions_on_hand_data(duckdb_store):
    """b1's I -> TI is 0/4 against b2's 3/4 (min_base lowered for a tiny log)."""
    rows = []
    for i in range(4):  # b1: four users at I all along (t0 = 02-19); b2: three of four collect
        for day in ("02-18", "03-05"):
            rows += [(f"u{i}", "b1", f"2024-{day} 12:00", "read", {"category": "serum"}),
                     (f"v{i}", "b2", f"2024-{day} 12:00", "read", {"category": "serum"})]
        if i < 3:
            rows.append((f"v{i}", "b2", "2024-03-10 12:00", "collect", {"category": "serum"}))
    ws = workspace(duckdb_store, events_table(rows))
    d = ws.diagnose("b1", "2024-03-20", period=30, min_base=1, lang="zh")
    assert d.focus == "I->TI" and d.leaks[0]["transition"] == "I->TI"
    assert "流失环节" in d.summary and d.playbook[0]["name"] == "兴趣"
    audience = d.actions["audience"]
    assert audience["size"] == 4  # u0..u3: at I on t0 (02-19) and still on 03-20
    assert "--flow I:I" in audience["command"]
    again = ws.audience_from_spec(audience["spec"])
    assert again.size() == 4
    assert json.dumps(d.asdict(), ensure_ascii=False, default=str)


def test_playbook_is_data_and_overridable(tmp_path, monkeypatch):
    pb = load_playbook()
    for stage in ("A", "I", "TI", "P", "S"):
        for lang in ("en", "zh"):
            entry = pb.stage(stage, lang)
            assert entry["name"] and entry["goal"] and entry["strategies"] and entry["content"]
    mine = tmp_path / "mine.yaml"
    mine.write_text(
        "stages:\n  I:\n    strategies:\n      - {en: Answer every comment within an hour}\n"
        "transitions:\n  P->S:\n    stages: [P, S]\n", encoding="utf-8")
    custom = load_playbook(mine)
    assert custom.stage("I", "zh")["strategies"] == ["Answer every comment within an hour"]
    assert custom.stage("I", "en")["name"] == "Interest"  # kept from the shipped file
    assert [e["stage"] for e in custom.entry("P->S")] == ["P", "S"]
    monkeypatch.setenv("AIPS_PLAYBOOK", str(mine))
    assert load_playbook().stage("I")["strategies"] == ["Answer every comment within an hour"]
    bad = tmp_path / "bad.yaml"
    bad.write_text("stages:\n  X: {}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="unknown stage"):
        load_playbook(bad)
    bad.write_text("stages:\n  I: {strategy: []}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="unknown key"):
        load_playbook(bad)


HOSTILE = "b1 $(touch x); '<script>x</script>"


def test_suggested_commands_quote_user_values_for_the_shell(duckdb_store):
    """Issue 16 item 10: a brand name is user data; the suggested command must run as typed."""
    import shlex

    rows = []
    for i in range(4):
        for day in ("02-18", "03-05"):
            rows += [(f"u{i}", HOSTILE, f"2024-{day} 12:00", "read", {"category": "serum"}),
                     (f"v{i}", "b2", f"2024-{day} 12:00", "read", {"category": "serum"})]
        if i < 3:
            rows.append((f"v{i}", "b2", "2024-03-10 12:00", "collect", {"category": "serum"}))
    ws = workspace(duckdb_store, events_table(rows))
    d = ws.diagnose(HOSTILE, "2024-03-20", period=30, min_base=1)
    argv = shlex.split(d.actions["audience"]["command"])
    assert argv[argv.index("--brand") + 1] == HOSTILE
    out = argv[argv.index("--out") + 1]
    assert out.endswith("_i_stuck.txt") and out.startswith(HOSTILE.lower().replace(" ", "_"))
    assert argv[:2] == ["aips", "audience"] and argv[-2:] == ["--id", "sha256"]
