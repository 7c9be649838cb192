"""Issue 16 items 13, 14 and 18: a filter that matches nothing is an error naming what exists,
``aips info`` says what the store holds, data without categories is one category, and the
README's example file loads clean and its commands run.

The store is ``examples/events.csv`` (3 users, 2 brands, 2024-10-01 .. 2024-10-20), loaded
as the README says; the Taobao sample (no categories) comes from ``../shared/data``.
"""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pytest
from test_bad_arguments import run_main
from typer.testing import CliRunner

import aips
from aips.cli.app import app
from aips.exceptions import AipsError, ConfigError, StoreError
from aips.store.tables import EVENTS

ROOT = Path(__file__).parents[2]
EXAMPLE = ROOT / "examples" / "events.csv"
TAOBAO = ("taobao-userbehavior", "UserBehavior_userhead_43users.csv.gz")


def run_json(*args: str):
    """The JSON printed by ``aips ARGS`` (exit 0)."""
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def example_store(tmp_path_factory) -> str:
    store = str(tmp_path_factory.mktemp("example") / "aips.duckdb")
    code, out = run_main(["ingest", str(EXAMPLE), "--preset", "canonical", "--store", store])
    assert code == 0, out
    return store


@pytest.fixture(scope="module")
def taobao_store(tmp_path_factory, shared_data) -> str:
    store = str(tmp_path_factory.mktemp("taobao") / "aips.duckdb")
    code, out = run_main(["ingest", str(shared_data.joinpath(*TAOBAO)), "--preset", "taobao", "--store", store])
    assert code == 0, out
    return store


# --- item 18: the example file and the README ------------------------------------------------


def test_example_file_has_every_canonical_column_and_loads_clean(example_store):
    with EXAMPLE.open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert set(rows[0]) == set(EVENTS.names) - {"local_date", "load_id"}
    assert 24 <= len(rows) <= 60
    assert len({r["user_id"] for r in rows}) == 3 and len({r["brand"] for r in rows}) == 2
    with aips.open(example_store) as ws:
        assert ws.events.count().execute() == len(rows)
        assert ws.store.table("quarantine").count().execute() == 0


def test_readme_documents_the_columns_and_its_example_commands_run(tmp_path, monkeypatch):
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "DESIGN section 4" not in readme  # a document the repository does not have
    for column in (*(n for n in EVENTS.names if n not in ("local_date", "load_id")),
                   "decision_cycle_days", "holdout", "followers", "spend"):
        assert f"| {column} |" in readme or f" {column}," in readme or f" {column} " in readme, column
    block = readme[readme.index("`examples/events.csv` is a small file"):]
    block = block[block.index("```sh") + 5:]
    commands = [line.split("#")[0].split() for line in block[:block.index("```")].splitlines()
                if line.startswith("aips ")]
    assert commands[0][:2] == ["aips", "ingest"] and len(commands) >= 3
    monkeypatch.chdir(ROOT)
    store = str(tmp_path / "aips.duckdb")
    for args in commands:
        code, out = run_main([*args[1:], "--store", store])
        assert code == 0, f"{' '.join(args)}:\n{out}"
        if args[1] == "ingest":
            assert "0 quarantined" in out, out


# --- item 13: a filter that matches nothing ----------------------------------------------------

RANGE = "the data runs from 2024-10-01 to 2024-10-20"
WRONG = [
    (["assets", "--at", "2024-11-11"], RANGE),
    (["penetration", "--at", "2019-01-01"], RANGE),
    (["competitors", "--at", "2024-11-11"], RANGE),
    (["assets", "--at", "2024-10-10", "--brand", "glowlb"], "closest brands: glowlab"),
    (["series", "--from", "2024-10-20", "--to", "2024-10-01"], "--from 2024-10-20 is after --to 2024-10-01"),
    (["series", "--from", "2025-01-01", "--to", "2025-02-01"], RANGE),
    (["flows", "--from", "2024-10-20", "--to", "2024-10-01"], "--from 2024-10-20 is after --to 2024-10-01"),
    (["flows", "--from", "2024-10-01", "--to", "2024-10-20", "--brand", "dewmst"], "closest brands: dewmist"),
    (["competitors", "--at", "2024-10-10", "--category", "facial_serun"], "closest categories: facial_serum"),
    (["cycle", "--category", "face_crem"], "closest categories: face_cream"),
    (["cycle", "--category", "face_cream", "--brand", "glowlb"], "closest brands: glowlab"),
    (["funnel", "--steps", "read,purchase", "--brand", "glowlb"], "closest brands: glowlab"),
    (["funnel", "--steps", "read,purchase", "--from", "2030-01-01"], RANGE),
    (["loyalty", "--brand", "glowlb"], "closest brands: glowlab"),
    (["loyalty", "--t0", "2024-10-20", "--t1", "2024-10-01"], "--t0 2024-10-20 is after --t1 2024-10-01"),
    (["audience", "--brand", "glowlb", "--at", "2024-10-10"], "closest brands: glowlab"),
    (["audience", "--brand", "glowlab", "--at", "2024-11-11"], RANGE),
    (["creators", "--brand", "glowlb", "--at", "2024-10-10"], "closest brands: glowlab"),
    (["creators", "--category", "serum", "--at", "2024-10-10"], "closest categories:"),
    (["diagnose", "--brand", "glowlb", "--at", "2024-10-10"], "closest brands: glowlab"),
    (["diagnose", "--brand", "glowlab", "--at", "2025-06-01"], RANGE),
    (["portrait", "--brand", "glowlb", "--at", "2024-10-10"], "closest brands: glowlab"),
    (["portrait", "--brand", "glowlab", "--at", "2024-11-11"], RANGE),
    (["content", "--brand", "glowlb"], "closest brands: glowlab"),
    (["engagement", "--brand", "glowlb", "--from", "2024-10-01", "--to", "2024-10-20"], "closest brands: glowlab"),
    (["engagement", "--brand", "glowlab", "--from", "2024-11-01", "--to", "2024-11-20"], RANGE),
    (["report", "--brand", "glowlb"], "closest brands: glowlab"),
    (["attribute", "--brand", "glowlb"], "closest brands: glowlab"),
]


@pytest.mark.parametrize(("args", "message"), WRONG, ids=[" ".join(a) for a, _ in WRONG])
def test_a_filter_matching_nothing_is_an_error_naming_what_exists(example_store, tmp_path, args, message):
    code, out = run_main([*args, "--store", example_store, *(["--out", str(tmp_path)] if args[0] == "report" else [])])
    assert code != 0, f"aips {' '.join(args)} exited 0:\n{out}"
    assert out.startswith("aips: ") and message in " ".join(out.split()), f"aips {' '.join(args)}:\n{out}"


def test_roi_of_an_unknown_campaign_names_the_closest(tmp_path):
    camps = tmp_path / "campaigns.csv"
    camps.write_text("campaign_id,brand,category,channel,start_date,end_date,spend\n"
                     "glowlab_autumn,glowlab,facial_serum,feed_ad,2024-10-01,2024-10-10,1000\n", encoding="utf-8")
    store = str(tmp_path / "aips.duckdb")
    for args in ([str(EXAMPLE), "--preset", "canonical"], [str(camps), "--table", "campaigns"]):
        code, out = run_main(["ingest", *args, "--store", store])
        assert code == 0, out
    code, out = run_main(["roi", "--campaign", "glowlab_autum", "--store", store])
    assert code != 0 and "closest campaigns: glowlab_autumn" in out, out


def test_level_spu_on_data_without_spus(tmp_path):
    rows = list(csv.DictReader(EXAMPLE.open(encoding="utf-8")))
    path = tmp_path / "nospu.csv"
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, [c for c in rows[0] if c != "spu"])
        w.writeheader()
        w.writerows({k: v for k, v in r.items() if k != "spu"} for r in rows)
    store = str(tmp_path / "aips.duckdb")
    assert run_main(["ingest", str(path), "--preset", "canonical", "--store", store])[0] == 0
    for args in (["assets", "--at", "2024-10-10"], ["flows", "--from", "2024-10-01", "--to", "2024-10-10"]):
        code, out = run_main([*args, "--level", "spu", "--store", store])
        assert code != 0 and "no event of the store has an SPU" in out, out
    assert run_main(["assets", "--at", "2024-10-10", "--store", store])[0] == 0


def test_the_python_api_raises_the_same_errors(example_store):
    with aips.open(example_store) as ws:
        with pytest.raises(ConfigError, match=RANGE):
            ws.assets("2024-11-11")
        with pytest.raises(ConfigError, match="is after"):
            ws.asset_series("2024-10-20", "2024-10-01")
        with pytest.raises(ConfigError, match=RANGE):
            ws.asset_series("2025-01-01", "2025-01-31")
        with pytest.raises(ConfigError, match="is after"):
            ws.flow_matrix("2024-10-20", "2024-10-01")
        with pytest.raises(ConfigError, match="closest categories: face_cream"):
            ws.decision_cycle("face_crem")
        with pytest.raises(ConfigError, match="closest brands: glowlab"):
            ws.diagnose("glowlb", "2024-10-10")
        assert ws.assets("2024-10-20").count().execute() > 0  # a day inside the data still answers


# --- item 13: aips info -----------------------------------------------------------------------


def test_info_says_what_the_store_holds(example_store):
    info = run_json("info", "--store", example_store, "--format", "json")
    assert info["tables"] == {"events": 27, "loads": 1, "quarantine": 0}
    assert info["date_range"] == ["2024-10-01", "2024-10-20"]
    assert info["brands"] == {"count": 2, "top": [{"name": "glowlab", "events": 15}, {"name": "dewmist", "events": 12}]}
    assert info["categories"]["count"] == 2
    assert [(r["source_file"].endswith("events.csv"), r["loaded"], r["quarantined"]) for r in info["loads"]] == [(True, 27, 0)]
    assert info["quarantine"] == []
    code, out = run_main(["info", "--store", example_store])
    assert code == 0 and "2024-10-20" in out and "glowlab" in out and "facial_serum" in out, out


def test_info_counts_quarantine_by_reason_and_refuses_an_empty_store(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("event_id,ts,user_id,brand,event_type\ne1,2024-01-01 10:00:00,u1,b,read\n"
                    "e2,not a time,u1,b,read\ne3,2024-01-02 10:00:00,,b,read\n", encoding="utf-8")
    store = str(tmp_path / "aips.duckdb")
    run_main(["ingest", str(path), "--preset", "canonical", "--store", store])
    with aips.open(store) as ws:
        info = ws.info()
    assert info["tables"]["quarantine"] == 2 and sum(r["rows"] for r in info["quarantine"]) == 2
    assert all(r["reason"] for r in info["quarantine"])
    with aips.open(str(tmp_path / "empty.duckdb")) as ws, pytest.raises(StoreError, match="no table 'events'"):
        ws.info()


# --- item 14: data without categories --------------------------------------------------------


def test_cycle_runs_on_the_null_category(taobao_store):
    for extra in ([], ["--category", "none"]):
        res = run_json("cycle", "--store", taobao_store, "--format", "json", *extra)
        assert res["category"] == "(no category)" and res["n"] > 100 and res["purchases"] > 0
    with aips.open(taobao_store) as ws:
        assert ws.decision_cycle(None, n_bootstrap=0).n_ == res["n"]


def test_diagnose_compares_with_the_brands_of_the_null_category(taobao_store):
    with aips.open(taobao_store) as ws:
        day = ws.view.last_day().isoformat()
        brand = ws.info()["brands"]["top"][0]["name"]
    code, out = run_main(["diagnose", "--brand", brand, "--at", day, "--store", taobao_store])
    assert code == 0, out
    assert "None" not in out and "category (no category)" in out, out
    assert int(re.search(r"vs (\d+) other brand", out).group(1)) > 10
    code, out = run_main(["diagnose", "--brand", brand, "--at", day, "--store", taobao_store, "--lang", "zh"])
    assert code == 0 and "品类 （无品类）" in out and "None" not in out, out


def test_cycle_without_category_on_categorised_data_names_the_categories(example_store):
    code, out = run_main(["cycle", "--store", example_store])
    assert code != 0 and "face_cream" in out and "--category" in out, out
    with aips.open(example_store) as ws, pytest.raises(AipsError):
        ws.decision_cycle(None)
