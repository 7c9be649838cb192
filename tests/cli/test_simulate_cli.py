"""``aips simulate``: the Typer command (registered by the main app as ``simulate``)."""

from __future__ import annotations

import json

import typer
from typer.testing import CliRunner

from aips.cli.simulate_cmd import simulate_command


def app() -> typer.Typer:
    a = typer.Typer()
    a.command("simulate")(simulate_command)
    a.command("noop")(lambda: None)  # two commands, so "simulate" is a sub-command
    return a


def test_simulate_command_writes_a_world(tmp_path):
    out = tmp_path / "world"
    result = CliRunner().invoke(app(), ["simulate", "--users", "300", "--days", "20", "--seed", "3", "--brands", "2",
                                        "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "events" in result.output and str(out) in result.output.replace("\n", "")
    truth = json.loads((out / "truth.json").read_text())
    assert truth["seed"] == 3 and truth["params"]["users"] == 300 and len(truth["brands"]) == 8


def test_params_file_and_refusal_to_overwrite(tmp_path):
    params = tmp_path / "world.yaml"
    params.write_text("users: 200\ndays: 10\nseed: 4\n")
    out = tmp_path / "world"
    runner = CliRunner()
    assert runner.invoke(app(), ["simulate", "--params", str(params), "--out", str(out)]).exit_code == 0
    assert json.loads((out / "truth.json").read_text())["seed"] == 4
    again = runner.invoke(app(), ["simulate", "--params", str(params), "--out", str(out)])
    assert again.exit_code != 0 and "overwrite" in str(again.exception)
    assert runner.invoke(app(), ["simulate", "--params", str(params), "--out", str(out), "--overwrite"]).exit_code == 0


def test_help_lists_the_flags():
    result = CliRunner().invoke(app(), ["simulate", "--help"])
    for flag in ("--preset", "--users", "--days", "--brands", "--seed", "--out", "--params", "--workers"):
        assert flag in result.output
