"""Every CLI command, given bad arguments, says what is wrong: never a Python traceback.

The commands are enumerated from :data:`aips.cli.commands.COMMANDS`, and each one's bad
arguments from its own options, so a new command is covered as soon as it is registered:

* ``--store <tmp>/nonexistent/x.duckdb`` (a store that does not exist; under the test's
  temporary folder, as opening a store creates the folder): non-zero exit;
* ``2024-13-45`` for each date option (``--at``, ``--from``, ``--to``, ``--t0``,
  ``--t1``): non-zero exit;
* a value outside the allowed ones for each option of :data:`BAD_VALUES` (``--format
  xml``, ``--level nope``, ...): non-zero exit;

and each message names what was wrong (the store, the date, the value or the option).
* ``--brand NoSuchBrand``: any exit, but no traceback.

:data:`MESSAGES` pins the exact message of a few cases (the gaps issue 12 closed).

The entry point is :func:`aips.cli.app.main`, run in-process as the console script runs it
(an exception escaping it is what the user would see as a traceback). Valid values of
required options come from :data:`VALID` (a new command with a new required option fails
here until it gets one). ``serve`` never starts a server: the test replaces it.
"""

from __future__ import annotations

import functools
import sys
import traceback

import pytest
import typer
from click.testing import CliRunner

from aips.cli.app import app, main
from aips.cli.commands import COMMANDS

DAY, T0 = "2025-12-29", "2025-11-29"
BAD_DATE = "2024-13-45"
DATE_OPTIONS = ("--at", "--from", "--to", "--t0", "--t1")
VALID = {
    "--at": DAY, "--from": T0, "--to": DAY, "--brand": "Serava", "--category": "facial_serum",
    "--campaign": "lumiere-feed-ad-1", "--steps": "read,collect,purchase", "--budget": "500000",
}
"""A valid value of each required option (``--out`` and ``paths`` are set per test), and of
the options in :data:`USUAL`."""
POSITIONAL = {"what": "events", "location": "{tmp}/lake"}
"""A valid value of each positional argument (``aips source events LOCATION``)."""
USUAL = ("--at", "--from", "--to", "--brand", "--category")
"""Options given (valid) even when optional, so that a bad one is the only thing wrong."""
BAD_VALUES = {
    "--format": "xml", "--level": "nope", "--view": "nope", "--freq": "nope", "--lang": "xx",
    "--model": "nope", "--target": "nope", "--by": "nope", "--order": "nope", "--method": "nope",
    "--start": "nope", "--stage": "nope", "--preset": "nope", "--file-format": "nope",
    "--funnel-kind": "nope", "--window": "nope", "--attribution": "nope", "--advance": "nope",
    "--transform": "nope", "--baseline": "nope", "--case": "nope", "--table": "nope",
    "--tz": "Mars/Olympus", "--encoding": "nope", "--port": "99999", "--flow": "nope",
}
"""Wrong values of options that take one of a few known values."""
NAMES = [name for name, _ in COMMANDS]
CREATES_STORE = ("ingest", "source")
"""Commands that create a missing store (by design: the first load or source makes it)."""


@functools.cache
def _commands() -> dict:
    return typer.main.get_command(app).commands  # slow: built once


@functools.cache
def _options(name: str) -> dict[str, bool]:
    """``{option or argument name: required}`` of a command."""
    cmd = _commands()[name]
    out = {}
    for p in cmd.params:
        opts = [o for o in p.opts if o.startswith("--")] or [p.name]
        out[opts[0]] = bool(p.required)
    return out


def _base(name: str, store: str, tmp_path) -> list[str]:
    """The command with a valid value for every required option (and the store)."""
    args = [name]
    for opt, required in _options(name).items():
        if not required and opt not in USUAL:
            continue
        if opt == "paths":
            args.append(str(tmp_path / "events.csv"))
        elif opt in POSITIONAL:
            args.append(POSITIONAL[opt].format(tmp=tmp_path))
        elif opt == "--out":
            args += [opt, str(tmp_path / "out")]
        else:
            assert opt in VALID, f"add a valid value of {opt} (required by `aips {name}`) to VALID"
            args += [opt, VALID[opt]]
    if "--store" in _options(name):
        args += ["--store", store]
    return args


def _with(args: list[str], opt: str, value: str) -> list[str]:
    """``args`` with ``opt`` set to ``value`` (replaced when present)."""
    if opt in args:
        i = args.index(opt)
        return [*args[: i + 1], value, *args[i + 2:]]
    return [*args, opt, value]


def run_main(args: list[str]) -> tuple[int, str]:
    """Run the ``aips`` entry point with ``args``: (exit code, output); fails on a traceback."""
    old_argv, code, crash = sys.argv, 0, None
    with CliRunner().isolation() as (_out, _err, mixed):
        sys.argv = ["aips", *args]
        try:
            main()
        except SystemExit as exit_:
            code = exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
        except Exception as err:  # noqa: BLE001 - exactly what the console script prints as a traceback
            crash = "".join(traceback.format_exception(err))
        finally:
            sys.argv = old_argv
        output = mixed.getvalue().decode("utf-8", "replace")
    assert crash is None, f"aips {' '.join(args)} raised:\n{crash}"
    assert "Traceback (most recent call last)" not in output, f"aips {' '.join(args)}:\n{output}"
    return code, output


@pytest.fixture(autouse=True)
def _no_server(monkeypatch):
    """``aips serve`` must fail before serving; if it gets that far, the test fails."""
    import aips.dashboard.server as server

    def refuse(*_args, **_kwargs):
        raise AssertionError("aips serve reached the server with bad arguments")

    monkeypatch.setattr(server, "serve", refuse)


@pytest.fixture
def inputs(tmp_path):
    (tmp_path / "events.csv").write_text(
        "event_id,ts,user_id,brand,event_type\ne1,2024-01-01 10:00:00,u1,b,read\n", encoding="utf-8")
    return tmp_path


@pytest.mark.parametrize("name", NAMES)
def test_missing_store(name, inputs):
    if "--store" not in _options(name):
        pytest.skip(f"aips {name} reads no store")
    if name in CREATES_STORE:
        pytest.skip(f"aips {name} creates the store")
    missing = str(inputs / "nonexistent" / "x.duckdb")
    code, output = run_main(_base(name, missing, inputs))
    assert code != 0, f"aips {name} with a missing store exited 0:\n{output}"
    assert missing in output.replace("\n", ""), f"aips {name}: the message does not name the store:\n{output}"
    # a read command never creates a store (nor its folder): item 17 of issue 16
    assert not (inputs / "nonexistent").exists(), f"aips {name} created {missing}'s folder"
    assert "no store at" in output, f"aips {name}: the message does not say there is no store:\n{output}"


@pytest.mark.parametrize("name", NAMES)
def test_bad_dates(name, demo_store, inputs):
    options = [o for o in DATE_OPTIONS if o in _options(name)]
    if not options:
        pytest.skip(f"aips {name} takes no date")
    for opt in options:
        args = _with(_base(name, demo_store, inputs), opt, BAD_DATE)
        code, output = run_main(args)
        assert code != 0, f"aips {' '.join(args)} exited 0:\n{output}"
        assert BAD_DATE in output, f"aips {' '.join(args)}: the message does not name the date:\n{output}"


@pytest.mark.parametrize("name", NAMES)
def test_wrong_flag_values(name, demo_store, inputs):
    options = [o for o in BAD_VALUES if o in _options(name)]
    if not options:
        pytest.skip(f"aips {name} has no option with a few known values")
    for opt in options:
        args = _with(_base(name, demo_store, inputs), opt, BAD_VALUES[opt])
        code, output = run_main(args)
        assert code != 0, f"aips {' '.join(args)} exited 0:\n{output}"
        named = BAD_VALUES[opt] in output or f"Invalid value for '{opt}'" in output
        assert named, f"aips {' '.join(args)}: the message does not name the value:\n{output}"


@pytest.mark.parametrize("name", NAMES)
def test_unknown_brand(name, demo_store, inputs):
    if "--brand" not in _options(name):
        pytest.skip(f"aips {name} takes no brand")
    args = _with(_base(name, demo_store, inputs), "--brand", "NoSuchBrand")
    code, output = run_main(args)
    assert code != 0, f"aips {' '.join(args)} exited 0 on a brand with no events:\n{output}"
    assert "NoSuchBrand" in output, f"aips {' '.join(args)}: the message does not name the brand:\n{output}"


MESSAGES = {
    ("attribute", "--brand", "NoSuchBrand"):
        "aips: no events of brand 'NoSuchBrand' in the store (closest brands: Solara, Serava, Kissora)",
    ("audience", "--from", BAD_DATE): f"aips: t0 '{BAD_DATE}' is not a date; expected YYYY-MM-DD",
    ("audience", "--to", BAD_DATE): f"aips: t1 '{BAD_DATE}' is not a date; expected YYYY-MM-DD",
    ("audience", "--funnel-kind", "nope"):
        "aips: funnel: kind: Input should be 'converted' or 'dropped', got 'nope'",
}
"""(command, option, bad value): the exact message (a filter that matches nothing names what
exists; an option is checked even when the options that use it are absent)."""


@pytest.mark.parametrize(("name", "opt", "value"), list(MESSAGES))
def test_exact_messages(name, opt, value, demo_store, inputs):
    args = _with(_base(name, demo_store, inputs), opt, value)
    code, output = run_main(args)
    assert code != 0, f"aips {' '.join(args)} exited 0:\n{output}"
    assert MESSAGES[name, opt, value] in output, f"aips {' '.join(args)}:\n{output}"
