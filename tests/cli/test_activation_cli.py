"""``aips audience``, ``aips creators`` and ``aips diagnose`` end to end on a simulated store."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from typer.testing import CliRunner

from aips.cli.app import app
from aips.config.model import default_yaml_text
from aips.exceptions import RuleError
from aips.store.connect import connect

runner = CliRunner()


@pytest.fixture(scope="module")
def env(leak_world, tmp_path_factory):
    _, path = leak_world
    store = connect(str(path))
    at = store.table("events").local_date.max().to_pyarrow().as_py()
    store.close()
    root = tmp_path_factory.mktemp("cli")
    strict = root / "strict.yaml"
    text = default_yaml_text()
    old = 'rule: "deep_read >= 2 or collect + comment + share + screenshot + cart + store_visit >= 1 or (search >= 1 and read >= 1)"'
    assert old in text
    strict.write_text(text.replace(old, 'rule: "deep_read >= 2 or collect + comment + share + screenshot + cart + store_visit >= 1"'))
    return {"store": str(path), "at": at.isoformat(), "t0": (at - dt.timedelta(days=30)).isoformat(),
            "root": root, "strict": str(strict)}


def run(env, *args):
    result = runner.invoke(app, [*args, "--store", env["store"]])
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    assert result.exit_code == 0, result.output
    return result.output


def test_audience_size_export_and_saved_spec(env):
    out = json.loads(run(env, "audience", "--brand", "Serava", "--at", env["at"], "--stage", "TI", "--format", "json"))
    assert out["pairs"] == out["users"] == out["by_brand"][0]["users"] > 0
    target = env["root"] / "packs" / "stuck.txt"
    manifest = json.loads(run(env, "audience", "--brand", "Serava", "--at", env["at"], "--flow", "I:I",
                              "--from", env["t0"], "--out", str(target), "--id", "sha256", "--salt", "x",
                              "--max-size", "25", "--name", "stuck", "--format", "json"))
    files = sorted(p.name for p in target.parent.iterdir())
    assert files == sorted([f["name"] for f in manifest["files"]] + ["stuck.manifest.json"])
    assert sum(f["rows"] for f in manifest["files"]) == manifest["counts"]["ids"] > 25
    spec = env["root"] / "comp.yaml"
    first = json.loads(run(env, "audience", "--competitors", "--brand", "Serava", "--at", env["at"],
                           "--stage", "TI", "--save", str(spec), "--format", "json"))
    assert {b["brand"] for b in first["by_brand"]} <= {"Lumiere", "Auralis", "facial_serum_brand_4"}
    again = json.loads(run(env, "audience", "--spec", str(spec), "--format", "json"))
    assert again["pairs"] == first["pairs"]
    earlier = (dt.date.fromisoformat(env["at"]) - dt.timedelta(days=20)).isoformat()
    rerun = json.loads(run(env, "audience", "--spec", str(spec), "--at", earlier, "--format", "json"))
    assert rerun["as_of"] == earlier
    venn = json.loads(run(env, "audience", "--brand", "Serava", "--at", env["at"], "--stage", "I+TI",
                          "--overlap", str(spec), "--format", "json"))
    assert sum(c["size"] for c in venn) >= first["users"]
    table = run(env, "audience", "--brand", "Serava", "--at", env["at"], "--stage", "TI",
                "--minus", str(spec), "--on", "user")
    assert "distinct users" in table


def test_where_injection_is_an_error(env):
    result = runner.invoke(app, ["audience", "--brand", "Serava", "--at", env["at"], "--where",
                                 "read >= 1; drop table events", "--store", env["store"]])
    assert isinstance(result.exception, RuleError)


def test_creators_and_diagnose(env):
    out = json.loads(run(env, "creators", "--brand", "Serava", "--target", "TI", "--at", env["at"],
                         "--budget", "200000", "--top", "10", "--attribution", "none", "--format", "json"))
    assert 0 < len(out["creators"]) <= 10 and out["mix_summary"]["cost"] <= 200000
    assert {"seeding_rate", "seeding_lift", "target_reach", "cost_per_new_ti"} <= set(out["creators"][0])
    d = json.loads(run(env, "diagnose", "--brand", "Serava", "--at", env["at"], "--config", env["strict"],
                       "--no-actions", "--format", "json"))
    assert d["focus"] == "I->TI" and d["leaking"] and d["playbook"][0]["stage"] == "I"
    text = run(env, "diagnose", "--brand", "Serava", "--at", env["at"], "--config", env["strict"],
               "--no-actions", "--lang", "zh", "--format", "csv")
    assert text.startswith("metric,brand,category_median")


def test_people_selecting_flags_mean_the_same_everywhere(env):
    """``--stage all`` is every stage; ``--brand`` is the brand column, also at SPU level;
    ``--spu`` needs the SPU level; ``--brand`` takes comma-separated lists."""
    at = env["at"]
    every = json.loads(run(env, "audience", "--brand", "Serava", "--at", at, "--format", "json"))
    all_ = json.loads(run(env, "audience", "--brand", "Serava", "--at", at, "--stage", "all", "--format", "json"))
    assert all_["pairs"] == every["pairs"] > 0
    rows = json.loads(run(env, "flows", "--from", env["t0"], "--to", at, "--level", "spu", "--brand", "Serava",
                          "--format", "json"))
    spus = {r["spu"] for r in json.loads(run(env, "assets", "--at", at, "--level", "spu", "--brand", "Serava",
                                             "--format", "json"))}
    assert rows and {r["spu"] for r in rows} <= spus
    spu = rows[0]["spu"]
    one = json.loads(run(env, "assets", "--at", at, "--level", "spu", "--spu", spu, "--format", "json"))
    assert {r["spu"] for r in one} == {spu}
    result = runner.invoke(app, ["assets", "--at", at, "--spu", spu, "--level", "brand", "--store", env["store"]])
    assert "--spu needs --level spu" in str(result.exception)
    two = json.loads(run(env, "audience", "--brand", "Serava,Lumiere", "--at", at, "--stage", "TI",
                         "--format", "json"))
    assert {b["brand"] for b in two["by_brand"]} == {"Serava", "Lumiere"}


def test_audience_csv_guards_formula_cells_unless_raw_csv(env):
    """Issue 16 item 11: CSV exports are for spreadsheets (guarded); --raw-csv keeps raw values."""
    base = ["audience", "--brand", "Serava", "--at", env["at"], "--stage", "TI", "--format", "json"]
    guarded = json.loads(run(env, *base, "--out", str(env["root"] / "csv" / "g.csv")))
    raw = json.loads(run(env, *base, "--out", str(env["root"] / "csv" / "r.csv"), "--raw-csv"))
    assert guarded["csv_formula_guard"] is True and raw["csv_formula_guard"] is False
    # ordinary ids are untouched either way
    assert (env["root"] / "csv" / "g.csv").read_bytes() == (env["root"] / "csv" / "r.csv").read_bytes()
