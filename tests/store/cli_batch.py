"""Run many ``aips`` commands in one process, as the CLI's entry point runs each one.

The Spark tests run dozens of commands against one Spark Connect server. Each ``aips``
process spends ~2 CPU s importing Python, Ibis and the Connect client before it does
anything (~10 s of wall time on a busy 2-core machine), so the suite runs them here, in one
process with one Connect client: ``python cli_batch.py COMMANDS.json RESULTS.json``, where
``COMMANDS.json`` is a list of argument lists and ``RESULTS.json`` gets, per command, its
``code``, ``stdout``, ``stderr`` and wall ``seconds``. A failing command is recorded and the batch goes on.

Errors are written as :func:`aips.cli.app.main` writes them (``aips: ...`` on stderr, exit
status 1). A command that must show what a user's own process does (a fresh JVM, quiet
start-up, a catalog surviving the process) is run in its own process instead.
"""

from __future__ import annotations

import json
import sys
import time
import traceback

from typer.testing import CliRunner

from aips.cli.app import app
from aips.exceptions import AipsError


def run(commands: list[list[str]]) -> list[dict[str, object]]:
    """Each command's ``code``, ``stdout``, ``stderr`` and wall ``seconds``."""
    runner = CliRunner()
    results = []
    for args in commands:
        started = time.monotonic()
        result = runner.invoke(app, args, catch_exceptions=True)
        seconds = time.monotonic() - started
        stderr = result.stderr
        if isinstance(result.exception, AipsError):
            stderr += f"aips: {result.exception}\n"
        elif result.exception is not None and not isinstance(result.exception, SystemExit):
            stderr += "".join(traceback.format_exception(result.exception))
        results.append({"args": args, "code": result.exit_code, "stdout": result.stdout, "stderr": stderr,
                        "seconds": round(seconds, 2)})
    return results


if __name__ == "__main__":
    with open(sys.argv[1], encoding="utf-8") as fh:
        batch = json.load(fh)
    with open(sys.argv[2], "w", encoding="utf-8") as fh:
        json.dump(run(batch), fh)
