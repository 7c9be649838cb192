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
    except Exception as err:
        lang = argv_lang(sys.argv[1:])
        if _is_duckdb_out_of_memory(err):
            typer.echo(f"aips: {out_of_memory_message(err, lang)}", err=True)
        elif _is_disk_full(err):
            typer.echo(f"aips: {disk_full_message(err, lang)}", err=True)
        else:
            raise
        sys.exit(1)


def argv_lang(args: list[str]) -> str:
    """The ``--lang`` of a command line (``en`` when absent): the errors caught outside the
    command speak its language too.

    >>> argv_lang(["assets", "--lang", "zh"]), argv_lang(["report", "--lang=zh"]), argv_lang(["info"])
    ('zh', 'zh', 'en')
    """
    for i, arg in enumerate(args):
        if arg == "--lang" and i + 1 < len(args):
            return args[i + 1]
        if arg.startswith("--lang="):
            return arg.removeprefix("--lang=")
    return "en"


def _first_line(err: BaseException, prefix: str) -> str:
    """The backend's own first line of ``err``, without its ``prefix`` (DuckDB's error kind)."""
    text = str(err).strip()
    first = text.splitlines()[0] if text else type(err).__name__
    return first.removeprefix(prefix)


def _is_disk_full(err: BaseException) -> bool:
    kind = type(err)
    return (kind.__module__.lstrip("_").startswith("duckdb") and "No space left on device" in str(err)) or \
        getattr(err, "errno", None) == 28  # ENOSPC


def disk_full_message(err: BaseException, lang: str = "en") -> str:
    """What to do when the disk fills up, most often with DuckDB's spill files (the
    backend's own first line kept).

    >>> disk_full_message(Exception('IO Error: Could not write file "s.duckdb.tmp/t.tmp": No space left on device'))[:62]
    'the disk is full: Could not write file "s.duckdb.tmp/t.tmp": N'
    >>> disk_full_message(Exception("IO Error: No space left on device"), "zh")[:29]
    '磁盘已满：No space left on device。'
    """
    from aips.config.labels import t

    return t("error.disk_full", lang, first=_first_line(err, "IO Error: "))


def _is_duckdb_out_of_memory(err: BaseException) -> bool:
    kind = type(err)
    return kind.__name__ == "OutOfMemoryException" and kind.__module__.lstrip("_").startswith("duckdb")


def out_of_memory_message(err: BaseException, lang: str = "en") -> str:
    """What to do when a query needs more than the store's memory limit (DuckDB's own
    first line kept).

    >>> out_of_memory_message(Exception("Out of Memory Error: could not allocate block (5.9 GiB/6.0 GiB used)"))[:79]
    'DuckDB ran out of memory: could not allocate block (5.9 GiB/6.0 GiB used). Give'
    """
    from aips.config.labels import t

    return t("error.out_of_memory", lang, first=_first_line(err, "Out of Memory Error: "))
