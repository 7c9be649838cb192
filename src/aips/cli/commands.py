"""The registry of CLI commands defined in their own modules: (name, function)."""

from __future__ import annotations

COMMANDS: list[tuple[str, object]] = []
