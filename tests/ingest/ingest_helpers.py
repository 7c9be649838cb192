"""Shared pieces of the ingest tests: the corpus, the real samples, the CLI runner."""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BAD = ROOT / "tests" / "data" / "bad"
BACKENDS = [b for b in os.environ.get("AIPS_TEST_BACKENDS", "duckdb,pyspark").split(",") if b]


def run_cli(args: list[str], monkeypatch, capsys) -> tuple[int, str, str]:
    """Run ``aips ARGS`` in-process through the real entry point; (exit code, stdout, stderr)."""
    from aips.cli.app import main

    monkeypatch.setattr(sys, "argv", ["aips", *args])
    code = 0
    try:
        main()
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    out = capsys.readouterr()
    return code, out.out, out.err
