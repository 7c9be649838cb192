"""The bad-input corpus (tests/data/bad/cases.yaml): exact counts, reasons, lines and
messages through the Python API, and ``aips ingest`` exits with a clear message and
loses no row on every file."""

from __future__ import annotations

import json

import pyarrow.csv as pacsv
import pytest
import yaml
from ingest_helpers import BAD, run_cli

from aips.exceptions import IngestError
from aips.store.connect import connect

CASES = yaml.safe_load((BAD / "cases.yaml").read_text(encoding="utf-8"))
COUNTS = ("rows_read", "loaded", "duplicates", "ignored", "quarantined")


def _id(case: dict) -> str:
    return case["file"] + (
        "[" + ",".join(f"{k}={v}" for k, v in case["options"].items()) + "]"
        if case.get("options")
        else ""
    )


def test_corpus_is_big_enough():
    files = {c["file"] for c in CASES}
    assert len(files) >= 25
    assert all((BAD / f).exists() for f in files)
    on_disk = {p.name for p in BAD.iterdir() if p.suffix not in (".py", ".md", ".yaml")}
    assert on_disk == files, "every corpus file has a case in cases.yaml"


@pytest.mark.parametrize("case", CASES, ids=_id)
def test_case(case, tmp_path, monkeypatch, capsys):
    """``aips ingest FILE --format json`` on an empty store, then the store itself."""
    path = BAD / case["file"]
    store_file = tmp_path / "s.duckdb"
    args = [
        "ingest",
        str(path),
        "--store",
        str(store_file),
        "--format",
        "json",
        "--quarantine-dir",
        str(tmp_path / "q"),
    ]
    for key, value in (case.get("options") or {}).items():
        args += [f"--{key.replace('_', '-')}", str(value)]
    code, out, err = run_cli(args, monkeypatch, capsys)
    store = connect(str(store_file))
    try:
        if "error" in case:
            assert code == 1
            assert err.startswith(f"aips: {path}: ") and case["error"] in err
            assert not store.has("events") or store.table("events").count().execute() == 0
            assert not (tmp_path / "q").exists(), "no quarantine file for a failed load"
            return
        assert code == 0, err
        report = json.loads(out)
        expect = case["expect"]
        assert list(report)[:7] == [*COUNTS, "reasons", "quarantine_file"]
        assert report["rows_read"] == sum(report[k] for k in COUNTS[1:])
        assert {k: report[k] for k in COUNTS} == {k: expect.get(k, 0) for k in COUNTS}
        assert report["reasons"] == expect.get("reasons", {})
        table = (case.get("options") or {}).get("table", "events")
        assert store.table(table).count().execute() == report["loaded"]
        quarantine = store.table("quarantine").order_by("source_line").to_pyarrow().to_pylist()
        assert [[q["source_line"], q["reason"]] for q in quarantine] == expect.get("lines", [])
        assert all(q["source_file"] == str(path) for q in quarantine)
        if report["quarantined"]:
            written = pacsv.read_csv(report["quarantine_file"]).to_pylist()
            assert [[q["source_line"], q["reason"]] for q in written] == expect.get("lines", [])
        else:
            assert report["quarantine_file"] is None
        (loads,) = store.table("loads").to_pyarrow().to_pylist()
        assert {k: loads[k] for k in COUNTS} == {k: report[k] for k in COUNTS}
    finally:
        store.close()


def test_error_is_an_ingest_error(ws, tmp_path):
    """The Python API raises IngestError (the CLI turns it into exit 1)."""
    with pytest.raises(IngestError, match="truncated or corrupt gzip data"):
        ws.ingest(BAD / "truncated.csv.gz", quarantine_dir=tmp_path)
    assert not ws.store.has("events")
