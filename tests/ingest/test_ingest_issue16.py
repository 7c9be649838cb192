"""Issue 16, loss and bad input: every case here failed (or lost rows silently) before."""

from __future__ import annotations

import pytest

from aips.exceptions import IngestError

HEAD = "ts,user_id,brand,event_type,amount\n"


def _events(ws):
    return ws.store.table("events").to_pyarrow().to_pylist()


def _quarantine(ws):
    return ws.store.table("quarantine").to_pyarrow().to_pylist()


# --- item 2: huge amounts are not stored as +inf ---------------------------------------------


def test_overflowing_amount_is_quarantined_not_inf(ws, tmp_path):
    path = tmp_path / "e.csv"
    path.write_text(
        HEAD
        + "2024-01-02 10:00,u1,b,purchase,1e309\n"
        + "2024-01-02 10:00,u2,b,purchase,"
        + "9" * 400
        + "\n"
        + "2024-01-02 10:00,u3,b,purchase,12.5\n"
    )
    report = ws.ingest(path, quarantine_dir=tmp_path / "q")
    assert (report.loaded, report.quarantined) == (1, 2)
    assert report.reasons == {"non-finite amount": 2}
    assert [r["amount"] for r in _events(ws)] == [12.5]
    assert {r["source_line"] for r in _quarantine(ws)} == {2, 3}


# --- item 3: JSON ids 1.0 and 1 are one id whichever parse path is taken ---------------------


@pytest.mark.parametrize("broken", [False, True])
def test_json_integral_float_ids_equal_integer_ids(ws, tmp_path, broken):
    lines = [
        '{"event_id": 1.0, "ts": "2024-01-02 10:00", "user_id": 7.0, "brand": "b", "event_type": "read"}',
        '{"event_id": 1, "ts": "2024-01-02 10:00", "user_id": 7, "brand": "b", "event_type": "read"}',
        '{"event_id": 2.5, "ts": "2024-01-02 10:00", "user_id": 8, "brand": "b", "event_type": "read"}',
    ]
    if broken:  # a malformed line sends the block down the per-line path
        lines.append("{not json")
    path = tmp_path / "e.jsonl"
    path.write_text("\n".join(lines) + "\n")
    report = ws.ingest(path, quarantine_dir=tmp_path / "q")
    assert (report.loaded, report.duplicates) == (2, 1)
    assert sorted((r["event_id"], r["user_id"]) for r in _events(ws)) == [("1", "7"), ("2.5", "8")]
    path2 = tmp_path / "again.jsonl"  # the other parse path finds the same ids
    path2.write_text("\n".join(lines[:2] if broken else [*lines[:2], "{not json"]) + "\n")
    assert ws.ingest(path2, quarantine_dir=tmp_path / "q").loaded == 0


# --- item 4: derived ids do not collide when a field holds the separator ----------------------


def test_derived_ids_do_not_collide_on_separator(ws, tmp_path):
    path = tmp_path / "e.csv"
    path.write_text(
        "ts,user_id,brand,spu,event_type\n"
        "2024-01-02 10:00,u\x1fb1,c,,read\n"
        "2024-01-02 10:00,u,b1\x1fc,,read\n"
    )
    report = ws.ingest(path, quarantine_dir=tmp_path / "q")
    assert (report.loaded, report.duplicates) == (2, 0)
    assert len({r["event_id"] for r in _events(ws)}) == 2


def test_derived_ids_without_separator_keep_their_old_value(ws, tmp_path):
    """Rows whose fields hold no separator keep the id the earlier scheme gave them, so an
    old file re-loaded into an old store adds nothing."""
    import hashlib

    path = tmp_path / "e.csv"
    path.write_text(HEAD + "2024-01-02 10:00,u1,b,purchase,1.5\n")
    ws.ingest(path, quarantine_dir=tmp_path / "q", tz="UTC")
    ts = 1704189600000000
    old = "\x1f".join([str(ts), "u1", "b", "", "", "purchase", *[""] * 8, "1.5"])
    assert _events(ws)[0]["event_id"] == hashlib.sha256(old.encode()).hexdigest()[:32]


# --- item 5: a file that changes during the load fails the load -------------------------------


def test_file_changed_while_read_fails_and_loads_nothing(ws, tmp_path, monkeypatch):
    from aips.ingest import readers

    path = tmp_path / "e.csv"
    path.write_text(HEAD + "".join(f"2024-01-02 10:00,u{i},b,read,\n" for i in range(50)))
    real = readers.Source.chunks

    def chunks(self):
        for chunk in real(self):
            yield chunk
            with open(self.path, "a") as f:  # someone appends while aips reads
                f.write("2024-01-03 10:00,late,b,read,\n")

    monkeypatch.setattr(readers.Source, "chunks", chunks)
    with pytest.raises(IngestError, match="changed while it was read"):
        ws.ingest(path, quarantine_dir=tmp_path / "q")
    assert not ws.store.has("events") or _events(ws) == []


def test_file_truncated_while_read_fails(ws, tmp_path, monkeypatch):
    from aips.ingest import readers

    path = tmp_path / "e.csv"
    path.write_text(HEAD + "".join(f"2024-01-02 10:00,u{i},b,read,\n" for i in range(50)))
    real = readers.Source.chunks

    def chunks(self):
        for chunk in real(self):
            yield chunk
            with open(self.path, "r+") as f:
                f.truncate(40)

    monkeypatch.setattr(readers.Source, "chunks", chunks)
    with pytest.raises(IngestError, match="changed while it was read"):
        ws.ingest(path, quarantine_dir=tmp_path / "q")


# --- item 1: a stray quote does not swallow rows silently --------------------------------------


def _stray_quote_file(path, rows, bad_row):
    lines = ["ts,user_id,brand,event_type,keyword"]
    for i in range(1, rows + 1):
        keyword = '"glow serum' if i == bad_row else "kw"
        lines.append(f"2024-01-02 10:00,u{i},b,read,{keyword}")
    path.write_text("\n".join(lines) + "\n")


@pytest.mark.parametrize(("rows", "bad_row"), [(10_000, 100), (300_000, 3)])
def test_unclosed_quote_fails_naming_line_and_column(ws, tmp_path, rows, bad_row):
    path = tmp_path / "e.csv"
    _stray_quote_file(path, rows, bad_row)
    with pytest.raises(IngestError) as err:
        ws.ingest(path, quarantine_dir=tmp_path / "q")
    message = str(err.value)
    assert f"e.csv: line {bad_row + 1}: column keyword: a field spans" in message
    assert "max_field_lines" in message
    assert not ws.store.has("events") or _events(ws) == []


def test_long_quoted_field_within_raised_limit_loads(ws, tmp_path):
    path = tmp_path / "e.csv"
    text = "\n".join(f"line {i}" for i in range(20))
    path.write_text(f'{HEAD.strip()},keyword\n2024-01-02 10:00,u1,b,read,,"{text}"\n')
    with pytest.raises(IngestError, match="line 2: column keyword"):
        ws.ingest(path, quarantine_dir=tmp_path / "q")
    mapping = {"csv": {"max_field_lines": 50}}
    assert ws.ingest(path, mapping=mapping, quarantine_dir=tmp_path / "q").loaded == 1


def test_lines_not_accounted_for_fail_the_load(ws, tmp_path, monkeypatch):
    """The safety net: if the reader ever drops rows unseen, the line count catches it."""
    from aips.ingest import readers

    path = tmp_path / "e.csv"
    path.write_text(HEAD + "".join(f"2024-01-02 10:00,u{i},b,read,\n" for i in range(5)))
    real = readers.read_batches

    def lossy(reader, p):
        for batch in real(reader, p):
            yield batch.slice(0, batch.num_rows - 1)

    monkeypatch.setattr(readers, "read_batches", lossy)
    with pytest.raises(IngestError, match="the file has 6 lines but its rows account for 5"):
        ws.ingest(path, quarantine_dir=tmp_path / "q")


# --- item 7 (ingest): clear messages instead of tracebacks ------------------------------------


def test_cr_only_line_ends_are_read(ws, tmp_path):
    path = tmp_path / "e.csv"
    path.write_bytes(
        b"ts,user_id,brand,event_type\r2024-01-02 10:00,u1,b,read\r2024-01-02 10:00,,b,read\r"
    )
    report = ws.ingest(path, quarantine_dir=tmp_path / "q")
    assert (report.loaded, report.quarantined) == (1, 1)
    assert [q["source_line"] for q in _quarantine(ws)] == [3]


def test_json_nested_100k_deep_is_quarantined(ws, tmp_path):
    good = '{"ts": "2024-01-02 10:00", "user_id": "u1", "brand": "b", "event_type": "read"}'
    deep = '{"ts": "2024-01-02 10:00", "user_id": "u2", "x": ' + "[" * 100_000 + "]" * 100_000 + "}"
    path = tmp_path / "e.jsonl"
    path.write_text(good + "\n" + deep + "\n")
    report = ws.ingest(path, quarantine_dir=tmp_path / "q")
    assert (report.loaded, report.quarantined, report.reasons) == (1, 1, {"malformed json": 1})
    assert _quarantine(ws)[0]["source_line"] == 2


@pytest.mark.parametrize("what", ["mapping", "model"])
def test_yaml_nested_20k_deep_is_a_clear_error(ws, tmp_path, what):
    from aips.config.model import load_model
    from aips.exceptions import ConfigError

    path = tmp_path / f"{what}.yaml"
    path.write_text("columns: " + "{a: " * 20_000 + "1" + "}" * 20_000 + "\n")
    with pytest.raises(ConfigError, match=f"{what}.yaml: the YAML is nested too deeply"):
        if what == "model":
            load_model(path)
        else:
            data = tmp_path / "e.csv"
            data.write_text(HEAD + "2024-01-02 10:00,u1,b,read,\n")
            ws.ingest(data, mapping=path, quarantine_dir=tmp_path / "q")


def test_a_20mb_line_names_an_option_that_exists(ws, tmp_path):
    path = tmp_path / "e.csv"
    path.write_text(f"{HEAD.strip()},keyword\n2024-01-02 10:00,u1,b,read,,{'x' * 20_000_000}\n")
    with pytest.raises(IngestError, match="longer than the reader's block") as err:
        ws.ingest(path, quarantine_dir=tmp_path / "q")
    assert "block_mib: 64" in str(err.value)
    mapping = {"csv": {"block_mib": 64}}  # the option exists: the row now reaches the field limit
    with pytest.raises(IngestError, match="line 2: column keyword: a field spans 1 line"):
        ws.ingest(path, mapping=mapping, quarantine_dir=tmp_path / "q")
    mapping = {"csv": {"block_mib": 64, "max_field_kib": 30_000}}
    assert ws.ingest(path, mapping=mapping, quarantine_dir=tmp_path / "q").loaded == 1


def test_readme_in_a_data_folder_is_skipped_with_a_note(ws, tmp_path):
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "e.csv").write_text(HEAD + "2024-01-02 10:00,u1,b,read,\n")
    (folder / "README.txt").write_text("Events of the spring campaign.\nColumns: ts, user_id\n")
    (folder / "notes.txt").write_text("exported by hand\n")
    report = ws.ingest(folder, quarantine_dir=tmp_path / "q")
    assert report.loaded == 1
    assert sorted(report.skipped) == [str(folder / "README.txt"), str(folder / "notes.txt")]
    assert f"skipped {folder / 'README.txt'}: not a data file" in str(report)
    assert report.asdict()["skipped"] == report.skipped


def test_columns_differing_only_in_case_are_ambiguous(ws, tmp_path):
    path = tmp_path / "e.csv"
    path.write_text("ts,user_id,BRAND,Brand,event_type\n2024-01-02 10:00,u1,b,c,read\n")
    with pytest.raises(IngestError, match="columns 'BRAND' and 'Brand' both read as brand"):
        ws.ingest(path, quarantine_dir=tmp_path / "q")


# --- item 6: timestamps far in the future or before a floor are quarantined -------------------


def _dated(tmp_path, *days):
    path = tmp_path / "e.csv"
    path.write_text(HEAD + "".join(f"{d} 10:00,u{i},b,read,\n" for i, d in enumerate(days)))
    return path


def test_future_and_too_early_timestamps_are_quarantined(ws, tmp_path):
    import datetime as dt

    soon = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=12)).strftime("%Y-%m-%d")
    path = _dated(tmp_path, "2024-01-02", "9999-12-31", "1999-12-31", soon)
    report = ws.ingest(path, quarantine_dir=tmp_path / "q", tz="UTC")
    assert report.loaded == 2  # 2024 and within the 1-day tolerance
    assert report.reasons == {"future timestamp": 1, "timestamp before min_date": 1}
    assert {(q["source_line"], q["column_name"]) for q in _quarantine(ws)} == {(3, "ts"), (4, "ts")}


def test_time_window_is_configurable(ws, tmp_path):
    path = _dated(tmp_path, "2024-01-02", "9999-12-31", "1999-12-31")
    report = ws.ingest(path, quarantine_dir=tmp_path / "q", max_future="off", min_date="1990-01-01")
    assert (report.loaded, report.quarantined) == (3, 0)


def test_time_window_cli_flags(tmp_path, monkeypatch, capsys):
    from ingest_helpers import run_cli

    path = _dated(tmp_path, "2024-01-02", "2031-01-01", "1995-06-01")
    store = str(tmp_path / "s.duckdb")
    code, out, err = run_cli(
        ["ingest", str(path), "--store", store, "--min-date", "1990-01-01", "--format", "json"],
        monkeypatch,
        capsys,
    )
    assert code == 0, err
    assert '"future timestamp": 1' in out and '"loaded": 2' in out
    code, out, err = run_cli(
        ["ingest", str(path), "--store", store, "--max-future", "soon"], monkeypatch, capsys
    )
    assert code == 1 and "aips: max_future 'soon': expected a duration" in err
