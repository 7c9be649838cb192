"""The AIPS model: one YAML file, validated on load.

The shipped ``defaults.yaml`` reproduces DESIGN.md section 2. Load a user's file with
:func:`load_model`; every error names the key path and what was expected, e.g.
``stages.TI.rule: unknown counter 'colect' (known: cart, collect, ...)``.

>>> model = default_model()
>>> model.stages["TI"].window, model.cycle_days("infant_food"), model.cycle_days("toys")
(30, 70, 30)
>>> model.purchase_event, model.organic_channels, model.currency, model.report.max_campaigns
('purchase', ('organic',), '¥', 8)
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from aips.config.rules import Rule, parse_rule
from aips.exceptions import ConfigError, describe_validation_error

NO_CATEGORY = "(no category)"
"""The name of the null category: events without a category are one category (``--category
'(no category)'`` or ``none`` selects it)."""

STAGE_ORDER: tuple[str, ...] = ("A", "I", "TI", "P", "S")
"""Stage names in journey (display) order, A first: the one place the stages are listed."""

STAGES: tuple[str, ...] = tuple(reversed(STAGE_ORDER))
"""Stage names in priority order, highest first (S > P > TI > I > A)."""

STAGE_RANK: dict[str, int] = {s: i + 1 for i, s in enumerate(STAGE_ORDER)}
"""Numeric rank of each stage (higher is further down the journey); no level is 0."""

PURCHASE_EVENT = "purchase"
"""The default canonical event type of a purchase (the model's ``purchase_event``)."""

ORGANIC_CHANNELS: tuple[str, ...] = ("organic",)
"""The default unpaid channel names (the model's ``organic_channels``)."""

CURRENCY = "¥"
"""The default currency symbol of amounts (the model's ``currency``)."""

EVENT_COLUMNS_NUMERIC = ("dwell_s", "completion", "amount")
"""Event columns a counter's ``where`` filter and ``sum`` may use."""

Window = int | Literal["cycle"]

_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Counter(_Strict):
    """A filtered count (or sum) of canonical event types."""

    events: list[str] = Field(min_length=1)
    where: str | None = None
    sum: Literal["amount", "dwell_s", "completion"] | None = None
    window: Window = 30

    @field_validator("window")
    @classmethod
    def _positive(cls, v: Window) -> Window:
        if isinstance(v, int) and v < 1:
            raise ValueError("a window is a whole number of days >= 1, or 'cycle'")
        return v


class Stage(_Strict):
    """A stage rule and the window its counters are summed over (None: each counter's own)."""

    rule: str
    window: Window | None = None

    @field_validator("window")
    @classmethod
    def _positive(cls, v: Window | None) -> Window | None:
        if isinstance(v, int) and v < 1:
            raise ValueError("a window is a whole number of days >= 1, or 'cycle'")
        return v


class ReportCaps(_Strict):
    """How many items the brand report lists at most."""

    max_campaigns: int = Field(default=8, ge=1)
    max_categories: int = Field(default=8, ge=1)


_DURATION = re.compile(r"^\d+(\.\d+)?[dhms]?$")


def _off(v: Any) -> Any:
    """YAML reads a bare ``off`` (or ``no``) as False: both mean the check is off."""
    return "off" if v is False or v is None else v


class IngestWindow(_Strict):
    """The time window of accepted events at ingest (CLI flags ``--max-future``, ``--min-date``
    win over it): later than the load time plus ``max_future``, or before ``min_date``
    (UTC), an event is quarantined with its reason; ``off`` accepts any date."""

    max_future: str = "1d"
    min_date: str = "2000-01-01"

    @field_validator("max_future", mode="before")
    @classmethod
    def _duration(cls, v: Any) -> str:
        text = str(_off(v)).strip().lower()
        if text != "off" and not _DURATION.match(text):
            raise ValueError(f"max_future {v!r}: a duration such as 1d, 12h, 30m, or off")
        return text

    @field_validator("min_date", mode="before")
    @classmethod
    def _date(cls, v: Any) -> str:
        text = str(_off(v)).strip()
        if text.lower() != "off":
            try:
                dt.date.fromisoformat(text)
            except ValueError:
                raise ValueError(f"min_date {v!r}: a date such as 2000-01-01, or off") from None
        return text


class StoreSection(_Strict):
    """The ``store:`` section: DuckDB resources and Spark settings (checked and applied by
    :mod:`aips.store.settings`; ``$AIPS_MEMORY_LIMIT`` ... and ``--memory-limit`` win)."""

    memory_limit: str | int | None = None
    """``4GiB``, ``2GB``, ``50%`` (of the machine's memory); default: 25 % of it, at most 1.5 GiB."""
    threads: int | None = Field(default=None, ge=1)
    temp_directory: str | None = None
    """Where DuckDB spills when a query needs more than the limit (default ``<store>.tmp``)."""
    spark_conf: dict[str, str | int | float | bool] = Field(default_factory=dict)
    """Spark settings for Spark stores (``--conf K=V`` overrides them), e.g.
    ``spark.executor.memory: 8g``."""


class Model(_Strict):
    """The whole model. Build it with :func:`load_model` or :func:`default_model`."""

    timezone: str = "Asia/Shanghai"
    level: Literal["brand", "spu"] = "brand"
    taxonomy: dict[str, str] = Field(default_factory=dict)
    counters: dict[str, Counter]
    stages: dict[str, Stage]
    cycle: Literal["configured", "estimate"] = "configured"
    default_cycle_days: int = Field(default=30, ge=1)
    categories: dict[str, int] = Field(default_factory=dict)
    purchase_event: str = PURCHASE_EVENT
    """The canonical event type of a sale (ROI, decision cycles, loyalty, purchase journeys)."""
    organic_channels: tuple[str, ...] = ORGANIC_CHANNELS
    """Unpaid channels: skipped by last-non-organic, dropped by ``drop_organic``."""
    currency: str = Field(default=CURRENCY, min_length=1)
    """The symbol before amounts in the report and the dashboard."""
    report: ReportCaps = Field(default_factory=ReportCaps)
    ingest: IngestWindow = Field(default_factory=IngestWindow)
    store: StoreSection = Field(default_factory=StoreSection)

    model_config = ConfigDict(extra="forbid", frozen=True, ignored_types=(cached_property,))

    @field_validator("timezone")
    @classmethod
    def _zone(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {v!r} (an IANA name such as Asia/Shanghai)") from None
        return v

    @field_validator("categories")
    @classmethod
    def _cycles(cls, v: dict[str, int]) -> dict[str, int]:
        for name, days in v.items():
            if days < 1:
                raise ValueError(f"decision cycle of {name!r} must be >= 1 day, got {days}")
        return v

    # --- derived views -------------------------------------------------------------------

    @cached_property
    def rules(self) -> dict[str, Rule]:
        """Parsed stage rules, in priority order (S first)."""
        return {s: parse_rule(self.stages[s].rule, self.counters) for s in STAGES}

    @cached_property
    def filters(self) -> dict[str, Rule | None]:
        """Parsed counter ``where`` filters."""
        return {
            name: parse_rule(c.where, EVENT_COLUMNS_NUMERIC) if c.where else None
            for name, c in self.counters.items()
        }

    @property
    def event_types(self) -> set[str]:
        """Canonical event types: the taxonomy's targets and every type a counter counts."""
        types = set(self.taxonomy.values())
        for counter in self.counters.values():
            types.update(counter.events)
        return types

    def cycle_days(self, category: str | None) -> int:
        """Decision cycle x of a category (the default for unknown or missing ones)."""
        return self.categories.get(category or "", self.default_cycle_days)

    def stage_window(self, stage: str, counter: str) -> Window:
        """The window over which ``counter`` is summed in ``stage``'s rule."""
        own = self.stages[stage].window
        return own if own is not None else self.counters[counter].window

    def with_overrides(self, **changes: Any) -> Model:
        """A copy with some top-level fields replaced, validated again.

        >>> default_model().with_overrides(level="spu").level
        'spu'
        """
        data = self.model_dump()
        data.update(changes)
        return _validate(data, source="overrides")


def _validate(data: Any, source: str) -> Model:
    if not isinstance(data, Mapping):
        raise ConfigError(f"{source}: the model must be a mapping of keys, got {type(data).__name__}")
    try:
        model = Model.model_validate(dict(data))
    except ValidationError as err:
        raise describe_validation_error(err) from None
    _check_semantics(model)
    return model


def _check_semantics(model: Model) -> None:
    """Cross-key checks pydantic cannot express: names, stages, rules."""
    missing = [s for s in STAGES if s not in model.stages]
    if missing:
        raise ConfigError(
            f"missing stage(s) {', '.join(missing)} (expected exactly {', '.join(STAGES)})",
            path="stages",
        )
    extra = [s for s in model.stages if s not in STAGES]
    if extra:
        raise ConfigError(
            f"unknown stage {extra[0]!r} (expected exactly {', '.join(STAGES)})", path="stages"
        )
    for name in model.counters:
        if not _NAME.match(name) or name in ("and", "or", "not"):
            raise ConfigError(
                "a counter name is lower-case letters, digits and _ and not and/or/not",
                path=f"counters.{name}",
            )
    known_types = set(model.taxonomy.values())
    for name, counter in model.counters.items():
        if model.taxonomy:
            for i, event in enumerate(counter.events):
                if event not in known_types:
                    raise ConfigError(
                        f"unknown event type {event!r} (canonical types in the taxonomy: "
                        f"{', '.join(sorted(known_types))})",
                        path=f"counters.{name}.events.{i}",
                    )
        if counter.where:
            parse_rule(counter.where, EVENT_COLUMNS_NUMERIC, path=f"counters.{name}.where")
    for stage in STAGES:
        parse_rule(model.stages[stage].rule, model.counters, path=f"stages.{stage}.rule")
    if model.taxonomy and model.purchase_event not in known_types:
        raise ConfigError(
            f"unknown event type {model.purchase_event!r} (canonical types in the taxonomy: "
            f"{', '.join(sorted(known_types))})",
            path="purchase_event",
        )


def read_yaml(path: Path, what: str, missing: str = "") -> Any:
    """The YAML data of the ``what`` file ``path`` (a model, a mapping); a missing or
    unreadable file or invalid YAML is a :class:`ConfigError` naming the file (and the line
    and column of a YAML error). ``missing`` ends the message of a missing file."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ConfigError(f"{what} file {path} does not exist{missing}") from None
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError(f"cannot read {what} file {path}: {err}") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ConfigError(f"{path}: not valid YAML{where}: {getattr(err, 'problem', err)}") from None
    except RecursionError:
        raise ConfigError(
            f"{path}: the YAML is nested too deeply to read (thousands of levels); a {what} "
            "file is a few levels deep: check that the file is the one you meant"
        ) from None


def load_model(path: str | Path | None = None) -> Model:
    """Load and validate a model from YAML; ``None`` gives the shipped defaults.

    Keys missing from the file keep their default values for top-level scalars
    (``timezone``, ``level``, ...); ``counters`` and ``stages`` given in the file replace
    the defaults whole, so a rule never refers to a counter the user did not see.

    >>> load_model().timezone
    'Asia/Shanghai'
    """
    if path is None:
        return default_model()
    path = Path(path)
    data = read_yaml(path, "model", missing=" (create one with `aips init`)")
    if data is None:
        data = {}
    if not isinstance(data, Mapping):
        raise ConfigError(f"{path}: the model must be a mapping of keys, got {type(data).__name__}")
    merged = {**_default_data(), **data}
    try:
        return _validate(merged, source=str(path))
    except ConfigError as err:
        raise ConfigError(f"{path}: {err}") from None


def _default_data() -> dict[str, Any]:
    return yaml.safe_load(default_yaml_text())


def default_yaml_text() -> str:
    """The commented default model, as ``aips init`` writes it."""
    return resources.files("aips.config").joinpath("defaults.yaml").read_text(encoding="utf-8")


def default_model() -> Model:
    """The shipped defaults (DESIGN.md section 2)."""
    return _validate(_default_data(), source="defaults.yaml")
