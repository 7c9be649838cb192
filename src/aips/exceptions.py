"""Every error aips raises on purpose, under one base class.

Each message says what was wrong and what to do next, so that the CLI can print it
as is (``aips: <message>``) and exit non-zero.
"""

from __future__ import annotations

from typing import Any


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


class CapabilityError(StoreError):
    """The store's backend cannot do what was asked; raised before any work starts, with
    the alternative (:func:`aips.store.capabilities.require`)."""


class StoreLockedError(StoreError):
    """Another process held the store's file (a writer, or readers when writing) for
    longer than the lock timeout (``--lock-timeout``, ``$AIPS_LOCK_TIMEOUT``)."""


class MissingDependencyError(AipsError, ImportError):
    """An optional dependency is not installed; the message gives the pip command."""


class NotFittedError(AipsError, AttributeError):
    """A fitter's result was read before :meth:`fit` (an ``AttributeError`` too, so
    ``hasattr`` and ``getattr(obj, name, default)`` keep working)."""


class ConservationError(AipsError):
    """An attribution model's credits do not add up to the conversions (a bug in the model)."""


def describe_validation_error(err: Any, source: str | None = None) -> ConfigError:
    """The first problem of a pydantic ``ValidationError`` as a :class:`ConfigError`.

    The message reads ``source: key.path: what was wrong`` (``source`` left out when None),
    plus how many other problems there are, so the user fixes one key at a time.
    ``err`` is duck-typed (``errors()``, ``error_count()``): this module imports no pydantic.

    >>> class Fake:
    ...     def errors(self): return [{"loc": ("stages", "TI"), "type": "extra_forbidden", "msg": "x"}]
    ...     def error_count(self): return 2
    >>> str(describe_validation_error(Fake(), "aips.yaml"))
    'aips.yaml: stages.TI: unknown key (and 1 more problems)'
    """
    first = err.errors()[0]
    loc = ".".join(str(part) for part in first["loc"]) or "(top level)"
    msg = _PLAIN.get(first["type"]) or str(first["msg"]).removeprefix("Value error, ")
    if isinstance(first.get("input"), (str, int, float)) and first["type"] not in _PLAIN:
        msg += f", got {first['input']!r}"  # name the value: the key alone may not locate it
    count = err.error_count()
    more = f" (and {count - 1} more problems)" if count > 1 else ""
    error = ConfigError(f"{msg}{more}", path=loc)
    if source:
        error.args = (f"{source}: {error}",)
    return error


_PLAIN = {"extra_forbidden": "unknown key", "missing": "required key is missing"}
"""Plain words for pydantic's error types whose own message is unclear in a YAML file."""
