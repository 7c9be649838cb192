"""The ``aips`` command line (Typer)."""
