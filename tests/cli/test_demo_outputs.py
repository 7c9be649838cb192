"""The CLI's JSON outputs on the demo world stay what they were (a regression net).

The golden files in ``golden/demo/`` were recorded with the commands of
``golden/demo/commands.tsv`` on the demo world (``aips demo``'s store: events and side
tables ingested, the counters rollup and the asset history built) before the house was
reshaped (issue 12); a refactor must leave every number as it was. To record them again
after a deliberate change of results, run this file with ``AIPS_RECORD_GOLDEN=1`` and
review the diff.
"""

from __future__ import annotations

import json
import math
import os
import shlex
from pathlib import Path

import pytest
from typer.testing import CliRunner

from aips.cli.app import app

GOLDEN = Path(__file__).parent / "golden" / "demo"
COMMANDS = [
    line.split("\t", 1)
    for line in (GOLDEN / "commands.tsv").read_text(encoding="utf-8").splitlines()
    if line.strip()
]
SIDE_TABLES = ("campaigns", "categories", "creators", "users")


@pytest.fixture(scope="module")
def demo_store(tmp_path_factory) -> str:
    """The demo world ingested as ``aips demo`` does it (rollup and history included)."""
    import aips
    from aips.datasets import load_demo

    world = load_demo()
    path = tmp_path_factory.mktemp("demo") / "aips.duckdb"
    quarantine = path.parent / "quarantine"
    with aips.open(str(path)) as ws:
        ws.ingest(*sorted((world / "events").rglob("*.parquet")), table="events",
                  preset="canonical", quarantine_dir=quarantine)
        for name in SIDE_TABLES:
            if (world / f"{name}.csv").is_file():
                ws.ingest(world / f"{name}.csv", table=name, quarantine_dir=quarantine)
        ws.refresh_counters()
        ws.update_series()
    return str(path)


def _close(a, b, path: str = "$") -> None:
    """Equal JSON, floats to 1e-9 relative (sums may differ in the last bits)."""
    if isinstance(a, float) or isinstance(b, float):
        assert a is not None and b is not None, f"{path}: {a!r} != {b!r}"
        assert math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12), f"{path}: {a!r} != {b!r}"
    elif isinstance(a, dict):
        assert isinstance(b, dict) and list(a) == list(b), f"{path}: keys {list(a)} != {list(b)}"
        for k in a:
            _close(a[k], b[k], f"{path}.{k}")
    elif isinstance(a, list):
        assert isinstance(b, list) and len(a) == len(b), f"{path}: lengths differ"
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _close(x, y, f"{path}[{i}]")
    else:
        assert a == b, f"{path}: {a!r} != {b!r}"


@pytest.mark.parametrize(("name", "command"), COMMANDS, ids=[c[0] for c in COMMANDS])
def test_cli_json_unchanged_on_demo_world(demo_store, name, command):
    args = [*shlex.split(command), "--store", demo_store, "--format", "json"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, f"aips {command}: {result.output}\n{result.exception!r}"
    got = json.loads(result.stdout)
    golden = GOLDEN / f"{name}.json"
    if os.environ.get("AIPS_RECORD_GOLDEN") == "1":
        golden.write_text(json.dumps(got, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    assert golden.is_file(), f"missing golden file {golden} (record it with AIPS_RECORD_GOLDEN=1)"
    _close(json.loads(golden.read_text(encoding="utf-8")), got)
