"""The ``aips`` command: a thin layer over the Python API.

Heavy modules are imported inside commands, so ``aips --help`` stays fast. Every
:class:`~aips.exceptions.AipsError` is printed as ``aips: <message>`` with exit code 1.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from aips.exceptions import AipsError

app = typer.Typer(
    name="aips",
    help="Crowd-asset analytics (AIPS: Awareness, Interest, True Interest, Purchase, Share).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _group() -> None:
    """Crowd-asset analytics (AIPS: Awareness, Interest, True Interest, Purchase, Share)."""


@app.command("init")
def init_command(
    path: Annotated[Path, typer.Argument(help="Where to write the model.")] = Path("aips.yaml"),
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing file.")] = False,
) -> None:
    """Write a commented aips.yaml with the default model (DESIGN section 2)."""
    from aips.config.model import default_yaml_text
    from aips.io import atomic_write_text

    if path.exists() and not force:
        raise AipsError(f"{path} exists; pass --force to overwrite it")
    atomic_write_text(path, default_yaml_text())
    typer.echo(f"wrote {path}: edit the taxonomy, counters, stages and categories, then `aips ingest`")


def _register() -> None:
    """Attach the commands that live in their own modules."""
    from aips.cli import commands
    from aips.cli.common import with_store_options

    for name, func in commands.COMMANDS:
        app.command(name)(with_store_options(func))


_register()


def main() -> None:
    """Entry point of the ``aips`` script."""
    try:
        # Standalone mode prints usage errors as click does; our own errors come through.
        app()
    except AipsError as err:
        typer.echo(f"aips: {err}", err=True)
        sys.exit(1)
