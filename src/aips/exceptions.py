"""Every error aips raises on purpose, under one base class.

Each message says what was wrong and what to do next, so that the CLI can print it
as is (``aips: <message>``) and exit non-zero.
"""

from __future__ import annotations


class AipsError(Exception):
    """Base class of every error raised by aips on purpose."""


class ConfigError(AipsError):
    """The YAML model or a call's parameters are invalid.

    ``path`` is the dotted key path in the model (``stages.TI.rule``), when known.
    """

    def __init__(self, message: str, path: str | None = None):
        self.path = path
        super().__init__(f"{path}: {message}" if path else message)


class RuleError(ConfigError):
    """A rule expression could not be parsed or refers to unknown names.

    ``position`` is the 0-based character offset of the offending token in ``text``.
    """

    def __init__(self, message: str, text: str, position: int, path: str | None = None):
        self.text = text
        self.position = position
        self.reason = message
        pointer = f"\n  {text}\n  {' ' * position}^"
        super().__init__(f"{message} at position {position}{pointer}", path=path)


class IngestError(AipsError):
    """A source file cannot be read at all (nothing of it was loaded)."""


class StoreError(AipsError):
    """The store cannot be opened, or lacks a table the call needs."""


class CapabilityError(AipsError):
    """The backend cannot do what was asked (with the reason and the alternative)."""


class MissingDependencyError(AipsError, ImportError):
    """An optional dependency is not installed; the message gives the pip command."""


class NotFittedError(AipsError, AttributeError):
    """A fitter's result was read before :meth:`fit` (an ``AttributeError`` too, so
    ``hasattr`` and ``getattr(obj, name, default)`` keep working)."""
