"""The CLI's JSON outputs on the demo world stay what they were (a regression net).

The golden files in ``golden/demo/`` were recorded with the commands of
``golden/demo/commands.tsv`` on the demo world (``aips demo``'s store: events and side
tables ingested, the counters rollup and the asset history built) before the house was
reshaped (issue 12); a refactor must leave every number as it was. To record them again
after a deliberate change of results, run this file with ``AIPS_RECORD_GOLDEN=1`` and
review the diff. The ``demo_store`` fixture is in ``conftest.py``.
"""

from __future__ import annotations

import json
import os
import shlex

import pytest
from cli_helpers import COMMANDS, GOLDEN, close_json
from typer.testing import CliRunner

from aips.cli.app import app


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
    close_json(json.loads(golden.read_text(encoding="utf-8")), got)
