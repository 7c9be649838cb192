"""A DuckDB out-of-memory error reaches the user as one ``aips:`` line that says what to
do, with exit code 1, not a traceback (a billion event ids once ran a check out of 6 GiB)."""

from __future__ import annotations

import duckdb
import pytest

import aips.cli.app as cli


def test_out_of_memory_is_one_line_with_the_remedy(monkeypatch, capsys):
    def boom() -> None:
        raise duckdb.OutOfMemoryException(
            "Out of Memory Error: could not allocate block of size 256.0 KiB (5.9 GiB/6.0 GiB used)\n\n"
            "Possible solutions:\n* Reducing the number of threads (SET threads=X)")

    monkeypatch.setattr(cli, "app", boom)
    with pytest.raises(SystemExit) as done:
        cli.main()
    assert done.value.code == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("aips: DuckDB ran out of memory: could not allocate")
    assert "--memory-limit" in err and "Traceback" not in err


def test_other_errors_are_not_swallowed(monkeypatch):
    monkeypatch.setattr(cli, "app", lambda: (_ for _ in ()).throw(duckdb.BinderException("x")))
    with pytest.raises(duckdb.BinderException):
        cli.main()


def test_a_full_disk_is_one_line_with_the_remedy(monkeypatch, capsys):
    """The 1B-event snapshot once spilled until the disk was full: one line, not a traceback."""
    def boom() -> None:
        raise duckdb.IOException('IO Error: Could not write file "s.duckdb.tmp/duckdb_temp_storage_DEFAULT-5.tmp": '
                                 "No space left on device")

    monkeypatch.setattr(cli, "app", boom)
    with pytest.raises(SystemExit) as done:
        cli.main()
    assert done.value.code == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith('aips: the disk is full: Could not write file "s.duckdb.tmp/')
    assert "AIPS_TEMP_DIRECTORY" in err and "Traceback" not in err
