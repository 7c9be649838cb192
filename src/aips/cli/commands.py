"""The registry of CLI commands defined in their own modules: (name, function)."""

from __future__ import annotations

from aips.cli.flows_cmd import competitors_command, flows_command, penetration_command

COMMANDS: list[tuple[str, object]] = [
    ("flows", flows_command),
    ("competitors", competitors_command),
    ("penetration", penetration_command),
]
