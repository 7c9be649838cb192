"""Loads (aips.ingest.load): idempotence, atomicity, bookkeeping, time zones, mappings."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import subprocess
import sys
import textwrap

import pytest
from ingest_helpers import BAD

from aips.exceptions import ConfigError, IngestError
from aips.ingest import publish as publish_module
from aips.ingest.stage import scratch_root
from aips.store.connect import connect
from aips.workspace import Workspace

CSV = "ts,user_id,brand,event_type,amount\n"


def _snapshot(store):
    out = {}
    for name in ("events", "quarantine", "loads"):
        out[name] = store.table(name).to_pyarrow().to_pylist() if store.has(name) else None
    return out


def test_loading_twice_changes_nothing(ws, tmp_path):
    path = BAD / "duplicate_rows_no_ids.csv"
    bad = BAD / "null_user_ids.csv"
    first = ws.ingest(path, bad, quarantine_dir=tmp_path)
    before = _snapshot(ws.store)
    again = ws.ingest(path, bad, quarantine_dir=tmp_path)
    assert _snapshot(ws.store) == before
    assert (again.loaded, again.duplicates, again.quarantined) == (
        0,
        first.loaded + first.duplicates,
        first.quarantined,
    )
    assert [f.already_loaded_by for f in again.files] == first.load_ids
    assert "already loaded" in str(again)


def test_loads_rows(ws, tmp_path):
    path = BAD / "negative_amounts.csv"
    report = ws.ingest(path, quarantine_dir=tmp_path)
    (row,) = ws.store.table("loads").to_pyarrow().to_pylist()
    assert row["file_sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert row["timezone"] == "Asia/Shanghai" and row["table_name"] == "events"
    assert (row["rows_read"], row["loaded"], row["quarantined"]) == (3, 2, 1)
    assert row["min_date"] == row["max_date"] == dt.date(2024, 1, 2)
    assert row["load_id"] == report.files[0].load_id
    assert set(ws.store.table("events").load_id.to_pyarrow().to_pylist()) == {row["load_id"]}


def test_duplicates_across_files_first_file_wins(ws, tmp_path):
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    a.write_text("event_id," + CSV + "e1,2024-01-02 10:00,u1,b,read,\n", encoding="utf-8")
    b.write_text(
        "event_id," + CSV + "e1,2024-01-02 11:00,u2,b,read,\ne2,2024-01-02 11:00,u2,b,read,\n",
        encoding="utf-8",
    )
    report = ws.ingest(b, a, quarantine_dir=tmp_path)  # b comes first on the command line
    assert [(f.loaded, f.duplicates) for f in report.files] == [(2, 0), (0, 1)]
    users = {r["event_id"]: r["user_id"] for r in ws.store.table("events").to_pyarrow().to_pylist()}
    assert users == {"e1": "u2", "e2": "u2"}


def test_ts_and_local_date(ws, tmp_path):
    path = tmp_path / "e.csv"
    path.write_text(
        CSV + "2024-01-01 23:30,u1,b,read,\n2024-01-01T23:30:00Z,u2,b,read,\n", encoding="utf-8"
    )
    ws.ingest(path, quarantine_dir=tmp_path)
    rows = {
        r["user_id"]: (r["ts"], r["local_date"])
        for r in ws.store.table("events").to_pyarrow().to_pylist()
    }
    assert rows["u1"] == (
        dt.datetime(2024, 1, 1, 15, 30),
        dt.date(2024, 1, 1),
    )  # naive: Shanghai wall time
    assert rows["u2"] == (
        dt.datetime(2024, 1, 1, 23, 30),
        dt.date(2024, 1, 2),
    )  # aware: 07:30 next day in Shanghai


def test_tz_option_and_model_zone(duckdb_store, tmp_path):
    from aips.config.model import default_model

    ws = Workspace(duckdb_store, default_model().with_overrides(timezone="UTC"))
    path = tmp_path / "e.csv"
    path.write_text(CSV + "2024-01-01 23:30,u1,b,read,\n", encoding="utf-8")
    ws.ingest(path, tz="Asia/Tokyo", quarantine_dir=tmp_path)
    (row,) = ws.store.table("events").to_pyarrow().to_pylist()
    assert (row["ts"], row["local_date"]) == (dt.datetime(2024, 1, 1, 14, 30), dt.date(2024, 1, 1))
    assert ws.store.table("loads").timezone.to_pyarrow().to_pylist() == ["UTC"]
    with pytest.raises(ConfigError, match="unknown time zone"):
        ws.ingest(path, tz="Moon/Base", quarantine_dir=tmp_path)


def test_mapping_file(ws, tmp_path):
    mapping = tmp_path / "m.yaml"
    mapping.write_text(
        textwrap.dedent(
            """
            columns: {ts: time, user_id: uid, brand: shop, event_type: action, amount: {source: value, event_types: [purchase]}}
            constants: {channel: kol_note}
            event_types: {pay: purchase, look: read}
            ignore: [heartbeat]
            timestamp: {format: "%d/%m/%Y %H:%M", timezone: UTC}
            """
        ),
        encoding="utf-8",
    )
    data = tmp_path / "mine.csv"
    data.write_text(
        "time,uid,shop,action,value,extra\n01/02/2024 10:00,u1,s,look,99,x\n01/02/2024 11:00,u1,s,pay,99,x\n"
        "01/02/2024 12:00,u1,s,HEARTBEAT,,x\n",
        encoding="utf-8",
    )
    report = ws.ingest(data, mapping=mapping, quarantine_dir=tmp_path)
    assert (report.loaded, report.ignored, report.files[0].unused_columns) == (2, 1, ["extra"])
    rows = sorted(ws.store.table("events").to_pyarrow().to_pylist(), key=lambda r: r["ts"])
    assert [(r["event_type"], r["amount"], r["channel"]) for r in rows] == [
        ("read", None, "kol_note"),
        ("purchase", 99.0, "kol_note"),
    ]
    assert rows[0]["ts"] == dt.datetime(2024, 2, 1, 10, 0)
    with pytest.raises(
        IngestError, match="takes ts from column 'time', which the file does not have"
    ):
        ws.ingest(BAD / "gbk.csv", mapping=mapping, quarantine_dir=tmp_path)


def test_missing_files_and_empty_calls(ws):
    with pytest.raises(IngestError, match="nope.csv: no such file"):
        ws.ingest("nope.csv")
    with pytest.raises(IngestError, match="no files given"):
        ws.ingest()


def test_failure_in_publication_rolls_back(ws, tmp_path, monkeypatch):
    ws.ingest(BAD / "gbk.csv", quarantine_dir=tmp_path)
    before = _snapshot(ws.store)

    def boom(*args, **kwargs):
        raise KeyboardInterrupt

    # _loads_row runs after the events and quarantine rows were inserted
    monkeypatch.setattr(publish_module, "_loads_row", boom)
    with pytest.raises(KeyboardInterrupt):
        ws.ingest(BAD / "negative_amounts.csv", quarantine_dir=tmp_path / "q")
    assert _snapshot(ws.store) == before
    assert not (tmp_path / "q").exists() or not list((tmp_path / "q").glob("*.csv"))


def test_kill_mid_load_leaves_the_store_as_it_was(tmp_path):
    """SIGKILL inside the publishing transaction; the next load cleans the scratch data."""
    store_file = tmp_path / "s.duckdb"
    first = connect(str(store_file))
    Workspace(first, _model()).ingest(BAD / "gbk.csv", quarantine_dir=tmp_path)
    before = _snapshot(first)
    first.close()
    script = textwrap.dedent(
        f"""
        import os, signal
        import aips
        from aips.ingest import publish
        def die(*a, **k):
            os.kill(os.getpid(), signal.SIGKILL)
        publish._loads_row = die
        aips.open({str(store_file)!r}).ingest({str(BAD / "negative_amounts.csv")!r}, quarantine_dir={str(tmp_path)!r})
        """
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=120)
    assert proc.returncode == -9, proc.stderr.decode()
    root = tmp_path / ".s.duckdb.scratch"
    assert root.is_dir() and any(root.iterdir()), "the killed load left its scratch data"
    again = connect(str(store_file))
    try:
        assert _snapshot(again) == before
        report = Workspace(again, _model()).ingest(
            BAD / "negative_amounts.csv", quarantine_dir=tmp_path
        )
        assert report.loaded == 2
        assert not root.exists(), "stale scratch data of the dead process was removed"
    finally:
        again.close()


def _model():
    from aips.config.model import default_model

    return default_model()


def test_progress_bar_runs(ws, tmp_path):
    report = ws.ingest(BAD / "gbk.csv", progress=True, quarantine_dir=tmp_path)
    assert report.loaded == 2


def test_other_tables_and_scratch_location(duckdb_store, tmp_path):
    store = connect(str(tmp_path / "x.duckdb"))
    try:
        assert scratch_root(store) == tmp_path / ".x.duckdb.scratch"
        report = Workspace(store, _model()).ingest(BAD / "campaigns_bad.csv", table="campaigns")
        assert report.quarantine_file == str(
            tmp_path / "quarantine" / f"{report.files[0].load_id}.csv"
        )
        (row,) = store.table("campaigns").to_pyarrow().to_pylist()
        assert row == {
            "campaign_id": "c1", "brand": "b", "category": "facial_serum", "channel": "feed_ad",
            "start_date": dt.date(2024, 1, 1), "end_date": dt.date(2024, 1, 31), "spend": 1000.0,
        }  # fmt: skip
        assert os.listdir(tmp_path / "quarantine") == [f"{report.files[0].load_id}.csv"]
    finally:
        store.close()
