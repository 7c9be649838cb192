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


@pytest.mark.parametrize("flag", [["--lang", "zh"], ["--lang=zh"]])
def test_both_lines_follow_the_commands_lang(monkeypatch, capsys, flag):
    """Caught outside the command, they still speak its --lang: Chinese throughout."""
    errors = [duckdb.OutOfMemoryException("Out of Memory Error: could not allocate block (5.9 GiB/6.0 GiB used)"),
              duckdb.IOException("IO Error: No space left on device")]
    monkeypatch.setattr(cli.sys, "argv", ["aips", "assets", "--at", "2026-02-27", *flag])
    for error, start in zip(errors, ["aips: DuckDB 内存不足：could not allocate", "aips: 磁盘已满：No space left"],
                            strict=True):
        monkeypatch.setattr(cli, "app", lambda error=error: (_ for _ in ()).throw(error))
        with pytest.raises(SystemExit):
            cli.main()
        err = capsys.readouterr().err
        assert err.startswith(start) and err.count("\n") == 1, err
        assert "--memory-limit" in err and "Give the store" not in err
