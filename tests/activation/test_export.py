"""Audience export: hashes against hashlib (on every backend), packs, formats, the manifest,
and atomicity (a failed export leaves no file behind)."""

from __future__ import annotations

import hashlib
import json
import os
import shutil

import ibis
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from activation_helpers import events_table, workspace

import aips.activation.export as export_mod
from aips.activation.export import id_expression
from aips.exceptions import ConfigError

AT = "2024-01-31"
IDS = ["u01", "u02", "u03", "u04", "u05", "User.06@Mail.com", " u07 "]
ROWS = [(u, "b", "2024-01-10 12:00", "collect") for u in IDS] + [("u01", "c", "2024-01-10 12:00", "collect")]


@pytest.fixture
def ws(duckdb_store):
    return workspace(duckdb_store, events_table(ROWS))


def test_hashes_match_hashlib_on_every_backend(store):
    """DuckDB SHA256/MD5 and Spark SHA2/MD5 of salt + id equal Python's hashlib (UTF-8)."""
    ids = ["u1", " u2 ", "Ab@c.com", "用户42", ""]
    store.write("ids", pa.table({"user_id": ids}), overwrite=True)
    t = store.table("ids")
    out = t.select(
        raw=id_expression(t.user_id),
        sha=id_expression(t.user_id, "sha256"),
        md5_salted=id_expression(t.user_id, "md5", salt="pepper"),
        sha_upper=id_expression(t.user_id, "sha256", salt="s", case="upper"),
        sha_lower_norm=id_expression(t.user_id, "sha256", normalize="lower"),
        md5_untrimmed=id_expression(t.user_id, "md5", normalize="none"),
    ).to_pyarrow().to_pylist()
    expected = []
    for i in ids:
        n = i.strip()
        expected.append({
            "raw": n,
            "sha": hashlib.sha256(n.encode()).hexdigest(),
            "md5_salted": hashlib.md5(("pepper" + n).encode()).hexdigest(),
            "sha_upper": hashlib.sha256(("s" + n).encode()).hexdigest().upper(),
            "sha_lower_norm": hashlib.sha256(n.lower().encode()).hexdigest(),
            "md5_untrimmed": hashlib.md5(i.encode()).hexdigest(),
        })
    key = lambda r: r["raw"]  # noqa: E731 - rows may come back in any order
    assert sorted(out, key=key) == sorted(expected, key=key)


def test_txt_packs_and_manifest(ws, tmp_path):
    aud = ws.audience(at=AT, stages="TI", name="ti")  # 7 users, 8 pairs (u01 at b and c)
    manifest = aud.export(tmp_path / "ti.txt", id="sha256", salt="k", max_size=3)
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["ti-00001.txt", "ti-00002.txt", "ti-00003.txt", "ti.manifest.json"]
    lines = [ln for p in sorted(tmp_path.glob("ti-*.txt")) for ln in p.read_text().splitlines()]
    expected = sorted(hashlib.sha256(("k" + u.strip()).encode()).hexdigest() for u in IDS)
    assert lines == expected  # sorted, one a line, no header, user counted once
    on_disk = json.loads((tmp_path / "ti.manifest.json").read_text())
    assert on_disk == manifest
    assert manifest["counts"] == {"pairs": 8, "ids": 7, "dropped_empty_ids": 0, "files": 3,
                                  "by_brand": {"b": 7, "c": 1}}
    assert [f["rows"] for f in manifest["files"]] == [3, 3, 1]
    for f in manifest["files"]:
        data = (tmp_path / f["name"]).read_bytes()
        assert f["sha256"] == hashlib.sha256(data).hexdigest() and f["bytes"] == len(data)
    assert manifest["ids"]["method"] == "sha256" and manifest["ids"]["salted"] is True
    assert "k" not in json.dumps(manifest["ids"])  # the salt itself is never written
    assert manifest["definition"]["stages"] == ["TI"] and manifest["as_of"] == AT


def test_csv_and_parquet(ws, tmp_path):
    aud = ws.audience("b", AT, "TI")
    aud.export(tmp_path / "a.csv", id="md5", case="upper")
    rows = (tmp_path / "a.csv").read_text().splitlines()
    assert rows[0] == '"md5"'
    assert sorted(r.strip('"') for r in rows[1:]) == sorted(
        hashlib.md5(u.strip().encode()).hexdigest().upper() for u in IDS)
    aud.export(tmp_path / "a.parquet", normalize="lower")
    got = pq.read_table(tmp_path / "a.parquet")["user_id"].to_pylist()
    assert got == sorted(u.strip().lower() for u in IDS)
    m = aud.export(tmp_path / "plain", format="txt")
    assert (tmp_path / "plain").read_text().splitlines() == sorted(u.strip() for u in IDS)
    assert m["ids"]["method"] == "raw" and m["ids"]["case"] is None


def test_re_export_replaces_stale_packs(ws, tmp_path):
    aud = ws.audience(at=AT, stages="TI")
    aud.export(tmp_path / "x.txt", max_size=2)  # 4 packs
    aud.export(tmp_path / "x.txt", max_size=5)  # 2 packs: 3 and 4 go away
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x-00001.txt", "x-00002.txt", "x.manifest.json"]
    (tmp_path / "keep-00009.txt").write_text("mine")
    aud.export(tmp_path / "x.txt")
    assert (tmp_path / "keep-00009.txt").exists()


def test_failed_export_leaves_nothing(ws, tmp_path, monkeypatch):
    aud = ws.audience(at=AT, stages="TI")
    real = export_mod._batches

    def broken(expr, rows):
        for i, batch in enumerate(real(expr, 2)):
            if i == 1:
                raise OSError("disk full")
            yield batch

    monkeypatch.setattr(export_mod, "_batches", broken)
    with pytest.raises(OSError, match="disk full"):
        aud.export(tmp_path / "y.txt", max_size=1)
    assert list(tmp_path.iterdir()) == []
    # an earlier export under the same name survives a failed one untouched
    monkeypatch.setattr(export_mod, "_batches", real)
    aud.export(tmp_path / "y.txt")
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    monkeypatch.setattr(export_mod, "_batches", broken)
    with pytest.raises(OSError):
        aud.export(tmp_path / "y.txt", id="md5")
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


def test_empty_ids_dropped_and_bad_options(duckdb_store, tmp_path):
    ws = workspace(duckdb_store, events_table([("  ", "b", "2024-01-10 12:00", "collect"),
                                               ("u1", "b", "2024-01-10 12:00", "collect")]))
    m = ws.audience("b", AT, "TI").export(tmp_path / "e.txt")
    assert m["counts"]["ids"] == 1 and m["counts"]["dropped_empty_ids"] == 1
    aud = ws.audience("b", AT, "TI")
    with pytest.raises(ConfigError, match="id method"):
        aud.export(tmp_path / "e.txt", id="sha1")
    with pytest.raises(ConfigError, match="file format"):
        aud.export(tmp_path / "e.xlsx")
    with pytest.raises(ConfigError, match="max_size"):
        aud.export(tmp_path / "e.txt", max_size=0)
    with pytest.raises(ConfigError, match="hex case"):
        id_expression(ibis.literal("x"), "md5", case="title")


def _state(folder):
    return {p.name: p.read_bytes() for p in folder.iterdir()}


def _set_is_whole(folder, stem):
    """The manifest beside the packs lists exactly this stem's packs, each with its sha256."""
    import hashlib

    m = folder / f"{stem}.manifest.json"
    packs = sorted(p.name for p in folder.iterdir() if p.name.startswith(f"{stem}-"))
    if not m.exists():
        return None
    files = json.loads(m.read_text())["files"]
    assert sorted(f["name"] for f in files) == packs
    for f in files:
        assert hashlib.sha256((folder / f["name"]).read_bytes()).hexdigest() == f["sha256"]
    return [f["name"] for f in files]


def test_multi_pack_export_is_published_as_a_set(ws, tmp_path, monkeypatch):
    """Issue 16 item 12: a failure between any two renames leaves the old set intact, no temp dirs."""
    aud = ws.audience(at=AT, stages="TI")
    aud.export(tmp_path / "s.txt", max_size=3)  # old set: 3 packs
    before = _state(tmp_path)
    real = os.replace
    calls = {"n": 0, "fail_at": 0}

    def flaky(src, dst):
        calls["n"] += 1
        if calls["n"] == calls["fail_at"]:
            raise OSError("killed between renames")
        return real(src, dst)

    monkeypatch.setattr(export_mod.os, "replace", flaky)
    for fail_at in range(1, 12):
        calls.update(n=0, fail_at=fail_at)
        try:
            aud.export(tmp_path / "s.txt", id="md5", max_size=2)  # new set: 4 packs
        except OSError:
            assert _state(tmp_path) == before, f"old set changed after a failure at rename {fail_at}"
        else:
            assert _set_is_whole(tmp_path, "s") == [f"s-0000{i}.txt" for i in range(1, 5)]
            break
        assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]
    else:
        raise AssertionError("the export never succeeded")
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_a_kill_between_renames_never_mixes_two_sets(ws, tmp_path):
    """A process killed at any rename leaves the old set, the new set or no manifest; the next
    export sweeps the dead process's temporary folder."""
    aud = ws.audience(at=AT, stages="TI")
    aud.export(tmp_path / "k.txt", max_size=3)
    old = _set_is_whole(tmp_path, "k")
    staged = tmp_path / "staged"
    aud.export(staged / "k.txt", id="md5", max_size=2)
    new_files = _set_is_whole(staged, "k")
    seen = set()
    for kill_at in range(1, 12):
        folder = tmp_path / f"run{kill_at}"
        shutil.copytree(tmp_path, folder, ignore=lambda d, n: [x for x in n if x.startswith(("run", "staged"))])
        tmp = folder / f".k.export-999999999-x{kill_at}"
        shutil.copytree(staged, tmp)
        pid = os.fork()
        if pid == 0:  # the child publishes and dies at the kill_at-th rename
            def dying(src, dst, real=os.replace, n=[0], kill_at=kill_at):  # noqa: B006 - a counter
                n[0] += 1
                if n[0] == kill_at:
                    os._exit(9)
                real(src, dst)

            export_mod.os.replace = dying
            try:
                export_mod._publish(tmp, folder, new_files, "k.manifest.json")
            finally:
                os._exit(0)
        os.waitpid(pid, 0)
        visible = [p for p in folder.iterdir() if not p.name.startswith(".")]
        if (folder / "k.manifest.json").exists():
            listed = _set_is_whole(folder, "k")
            assert listed in (old, new_files)
            seen.add("old" if listed == old else "new")
        else:
            seen.add("none")
            assert all(p.name.startswith("k-") for p in visible)
        aud.export(folder / "k.txt", max_size=3)  # the next export: whole, and sweeps the dead folder
        assert _set_is_whole(folder, "k") == old
        assert not [p for p in folder.iterdir() if p.name.startswith(".")]
    assert seen == {"old", "none", "new"}


def test_csv_export_neutralises_formula_cells(duckdb_store, tmp_path):
    """Issue 16 item 11: a raw id a spreadsheet would run (=, +, -, @, tab) gets a leading '."""
    import csv

    ids = ["=1+2", '=HYPERLINK("http://x")', "@SUM(A1)", "+x", "\tA", "-42", "u1", "a=b"]
    ws = workspace(duckdb_store, events_table([(u, "b", "2024-01-10 12:00", "collect") for u in ids]))
    aud = ws.audience("b", AT, "TI")

    def cells(path):
        with open(path, newline="", encoding="utf-8") as f:
            return sorted(r[0] for r in list(csv.reader(f))[1:])

    m = aud.export(tmp_path / "safe.csv", normalize="none")
    assert m["csv_formula_guard"] is True
    assert cells(tmp_path / "safe.csv") == sorted(
        ["'=1+2", "'=HYPERLINK(\"http://x\")", "'@SUM(A1)", "'+x", "'\tA", "-42", "u1", "a=b"])
    m = aud.export(tmp_path / "raw.csv", normalize="none", raw_csv=True)
    assert m["csv_formula_guard"] is False and cells(tmp_path / "raw.csv") == sorted(ids)
    m = aud.export(tmp_path / "raw.txt", normalize="none")
    assert m["csv_formula_guard"] is None
    assert sorted((tmp_path / "raw.txt").read_text().splitlines()) == sorted(ids)
    aud.export(tmp_path / "hashed.csv", id="sha256", normalize="none")
    assert cells(tmp_path / "hashed.csv") == sorted(hashlib.sha256(u.encode()).hexdigest() for u in ids)


@pytest.mark.parametrize("fmt", ["csv", "txt", "parquet"])
def test_large_export_is_written_by_the_backend_with_the_same_ids(store, tmp_path, monkeypatch, fmt):
    """Above the threshold, a Spark store writes the packs itself (manifest ``writer``:
    ``backend``), DuckDB streams them; either way the packs hold the same ids, sorted, in
    packs of at most max_size, with the formula guard applied (in the backend on Spark)."""
    import csv

    ids = ["=1+2", "@SUM(A1)", "+x", "-42", "u1", "a=b", "u2", "u3", "u4", "u5", "zz"]
    ws = workspace(store, events_table([(u, "b", "2024-01-10 12:00", "collect") for u in ids]))
    monkeypatch.setenv("AIPS_EXPORT_BACKEND_ROWS", "3")
    m = ws.audience("b", AT, "TI").export(tmp_path / f"big.{fmt}", normalize="none", max_size=4)
    assert m["writer"] == ("backend" if store.capabilities.writes_file_sets else "stream")
    got = []
    for f in m["files"]:
        path = tmp_path / f["name"]
        assert f["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
        if fmt == "csv":
            with open(path, newline="", encoding="utf-8") as fh:
                rows = list(csv.reader(fh))
            assert rows[0] == ["user_id"]
            part = [r[0] for r in rows[1:]]
        elif fmt == "txt":
            part = path.read_text(encoding="utf-8").splitlines()
        else:
            part = pq.read_table(path).column("user_id").to_pylist()
        assert len(part) == f["rows"] <= 4
        got += part
    guarded = {"=1+2": "'=1+2", "@SUM(A1)": "'@SUM(A1)", "+x": "'+x"} if fmt == "csv" else {}
    assert got == [guarded.get(i, i) for i in sorted(ids)]
    assert [f["name"] for f in m["files"]] == [f"big-{i:05d}.{fmt}" for i in (1, 2, 3)]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([f["name"] for f in m["files"]]
                                                                 + ["big.manifest.json"])
