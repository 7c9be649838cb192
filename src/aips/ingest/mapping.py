"""Mapping files: how the columns of a source file become a canonical table.

A mapping is a small YAML file (``aips ingest FILE --map MAP.yaml``); the presets
(``--preset canonical|taobao|rees46``) are mapping files bundled in
``aips/ingest/presets/``. Every key is optional; see ``presets/example_map.yaml`` for a
commented example. The keys:

``table``
    The canonical table the rows go to: ``events`` (default), ``campaigns``,
    ``categories``, ``creators`` or ``users``.
``format``
    ``csv``, ``tsv``, ``jsonl``, ``parquet`` or ``xlsx``; by default from the file name
    (``.csv``, ``.tsv``/``.txt``, ``.jsonl``/``.ndjson``/``.json``, ``.parquet``/``.pq``,
    ``.xlsx``/``.xlsm``/``.xls``, each optionally ``.gz``). Gzip is recognised by content.
``encoding``
    A Python codec name (``utf-8``, ``gbk``, ``gb18030``, ...). By default it is detected:
    a BOM, else UTF-8 when the text is UTF-8, else GB18030 (a superset of GBK and GB2312),
    else charset-normalizer's guess. ``--encoding`` overrides it.
``csv``
    ``delimiter`` (default: sniffed from the first line among ``,`` tab ``;`` ``|``),
    ``header`` (default true; false means the first line is data), ``names`` (column
    names when there is no header, or to rename the header's columns), ``quote``, and
    the limits on one quoted field, ``max_field_lines`` (default 8) and ``max_field_kib``
    (default 64): a field spanning more lines or kibibytes is almost always a quote that
    was never closed swallowing the rows after it, so the load fails naming the file, the
    line where the field starts and its column (raise the limit for genuinely long text).
    ``block_mib`` (default 8) is the reader's block: no row may be longer.
``sheet``
    The worksheet of an Excel file (name or 0-based index). A workbook with more than one
    non-empty sheet needs it; nothing is guessed.
``columns``
    ``canonical column: source column``. A canonical column not listed is taken from a
    source column of the same name when there is one (so canonical files need no
    mapping). The value may also be ``{source: COLUMN, event_types: [purchase, ...]}``:
    the value is then kept only on rows of those canonical event types (null elsewhere),
    e.g. REES46's ``price`` is an order value only on purchases. Source columns mapped
    to nothing are not loaded (the report lists them).
``constants``
    ``canonical column: value`` for every row, e.g. ``channel: organic``.
``event_types``
    ``raw value: canonical or taxonomy name``, applied before the model's taxonomy.
    Raw values are compared trimmed and lower-cased. A raw type found in neither this map
    nor the taxonomy (nor a canonical type itself) is quarantined as
    ``unknown event type``.
``ignore``
    Raw event types dropped on purpose and counted as ``ignored`` (not quarantined).
``timestamp``
    ``unit: s|ms|us`` (numbers since the Unix epoch, always UTC instants), ``format``
    (strftime-style: ``%Y %y %m %d %H %I %M %S %f %p %z %b %B %%``; e.g.
    ``"%d/%m/%Y %H:%M"``, which also settles day-first dates) and ``timezone`` (the IANA
    zone of timestamps that carry none; ``--tz`` overrides it; default the model's zone).

>>> m = load_preset("taobao")
>>> m.columns["brand"].source, m.event_types["pv"], m.timestamp.unit
('category_id', 'read', 's')
>>> Mapping.model_validate({"columns": {"usr": "user"}})
Traceback (most recent call last):
...
pydantic_core._pydantic_core.ValidationError: 1 validation error for Mapping
...
"""

from __future__ import annotations

from collections.abc import Mapping as AbcMapping
from importlib import resources
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from aips.config.model import read_yaml
from aips.exceptions import ConfigError, describe_validation_error
from aips.store.tables import SCHEMAS

TABLES = ("events", "campaigns", "categories", "creators", "users", "campaign_holdouts")
"""Tables a file can be loaded into."""

DERIVED = {"local_date", "load_id"}
"""Canonical columns aips computes itself; a mapping cannot set them."""

FORMATS = ("csv", "tsv", "jsonl", "parquet", "xlsx")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CsvOptions(_Strict):
    """How a delimited text file is split into fields."""

    delimiter: str | None = None
    header: bool = True
    names: list[str] | None = None
    quote: str = '"'
    max_field_lines: int = Field(8, ge=1)
    max_field_kib: int = Field(64, ge=1)
    block_mib: int = Field(8, ge=1, le=1024)

    @field_validator("delimiter", "quote")
    @classmethod
    def _one_char(cls, v: str | None) -> str | None:
        if v is not None and len(v) != 1:
            raise ValueError(f"must be one character, got {v!r}")
        return v


class TimestampOptions(_Strict):
    """How the ``ts`` column is read."""

    unit: Literal["s", "ms", "us"] | None = None
    format: str | None = None
    timezone: str | None = None

    @field_validator("timezone")
    @classmethod
    def _zone(cls, v: str | None) -> str | None:
        return None if v is None else check_zone(v)

    @model_validator(mode="after")
    def _one_way(self) -> TimestampOptions:
        if self.unit and self.format:
            raise ValueError("give either unit (epoch numbers) or format (text), not both")
        return self


class ColumnSpec(_Strict):
    """A source column, optionally kept only on rows of some canonical event types."""

    source: str
    event_types: list[str] | None = None


class Mapping(_Strict):
    """A validated mapping file (see the module docstring for the keys)."""

    name: str | None = None
    description: str | None = None
    table: Literal["events", "campaigns", "categories", "creators", "users",
                   "campaign_holdouts"] = "events"
    format: Literal["csv", "tsv", "jsonl", "parquet", "xlsx"] | None = None
    encoding: str | None = None
    csv: CsvOptions = Field(default_factory=CsvOptions)
    sheet: str | int | None = None
    columns: dict[str, ColumnSpec] = Field(default_factory=dict)
    constants: dict[str, str | int | float | bool] = Field(default_factory=dict)
    event_types: dict[str, str] = Field(default_factory=dict)
    ignore: list[str] = Field(default_factory=list)
    timestamp: TimestampOptions = Field(default_factory=TimestampOptions)

    @field_validator("columns", mode="before")
    @classmethod
    def _specs(cls, v: Any) -> Any:
        if isinstance(v, AbcMapping):
            return {k: {"source": s} if isinstance(s, str) else s for k, s in v.items()}
        return v

    @field_validator("event_types", mode="before")
    @classmethod
    def _lower_keys(cls, v: Any) -> Any:
        if isinstance(v, AbcMapping):
            return {str(k).strip().lower(): val for k, val in v.items()}
        return v

    @field_validator("ignore")
    @classmethod
    def _lower(cls, v: list[str]) -> list[str]:
        return [str(x).strip().lower() for x in v]

    @field_validator("encoding")
    @classmethod
    def _codec(cls, v: str | None) -> str | None:
        return None if v is None else check_encoding(v)

    @model_validator(mode="after")
    def _known_columns(self) -> Mapping:
        allowed = set(SCHEMAS[self.table].names) - DERIVED
        for key in ("columns", "constants"):
            for col in getattr(self, key):
                if col not in allowed and self.table != "users":
                    raise ValueError(
                        f"{key}: {col!r} is not a column of the {self.table} table "
                        f"(columns: {', '.join(sorted(allowed))})"
                    )
        both = set(self.columns) & set(self.constants)
        if both:
            raise ValueError(f"{sorted(both)[0]!r} is given both in columns and constants")
        if self.table != "events" and (self.event_types or self.ignore):
            raise ValueError("event_types and ignore apply to the events table only")
        return self

    def with_overrides(self, **changes: Any) -> Mapping:
        """A copy with some keys replaced (``None`` values are skipped), validated again.

        Nested keys use ``section__key``: ``timestamp__timezone="UTC"``.
        """
        data = self.model_dump()
        for key, value in changes.items():
            if value is None:
                continue
            if "__" in key:
                section, sub = key.split("__", 1)
                data[section] = {**data[section], sub: value}
            else:
                data[key] = value
        return _validate(data, "overrides")


def check_zone(name: str) -> str:
    """The IANA zone name, or ValueError with a hint."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"unknown time zone {name!r} (an IANA name such as Asia/Shanghai or UTC)"
        ) from None
    return name


def check_encoding(name: str) -> str:
    """The normalised codec name, or ValueError."""
    import codecs

    try:
        return codecs.lookup(name).name
    except LookupError:
        raise ValueError(f"unknown encoding {name!r} (e.g. utf-8, gbk, gb18030)") from None


def _validate(data: Any, source: str) -> Mapping:
    if data is None:
        data = {}
    if not isinstance(data, AbcMapping):
        raise ConfigError(
            f"{source}: a mapping file is a YAML mapping of keys, got {type(data).__name__}"
        )
    try:
        return Mapping.model_validate(dict(data))
    except ValidationError as err:
        raise describe_validation_error(err, source) from None


def load_mapping(path: str | Path) -> Mapping:
    """Read and validate a mapping YAML file; errors name the file and the key."""
    path = Path(path)
    return _validate(read_yaml(path, "mapping"), str(path))


def preset_names() -> list[str]:
    """The bundled presets (``example_map`` is documentation, not a preset).

    >>> preset_names()
    ['canonical', 'rees46', 'taobao']
    """
    files = resources.files("aips.ingest").joinpath("presets").iterdir()
    names = sorted(f.name.removesuffix(".yaml") for f in files if f.name.endswith(".yaml"))
    return [n for n in names if n != "example_map"]


def load_preset(name: str) -> Mapping:
    """A bundled preset by name."""
    if name not in preset_names():
        raise ConfigError(f"unknown preset {name!r} (presets: {', '.join(preset_names())})")
    text = (
        resources.files("aips.ingest")
        .joinpath("presets")
        .joinpath(f"{name}.yaml")
        .read_text(encoding="utf-8")
    )
    return _validate(yaml.safe_load(text), f"preset {name}")


def resolve_mapping(
    preset: str | None = None, mapping: Any = None, table: str | None = None
) -> Mapping:
    """The mapping for a load from ``--preset``, ``--map`` (a path, dict or Mapping) and ``--table``.

    With neither preset nor mapping, source columns are taken by their canonical names.
    """
    if preset is not None and mapping is not None:
        raise ConfigError("give either a preset or a mapping file, not both")
    if preset is not None:
        result = load_preset(preset)
    elif isinstance(mapping, Mapping):
        result = mapping
    elif isinstance(mapping, AbcMapping):
        result = _validate(mapping, "mapping")
    elif mapping is not None:
        result = load_mapping(mapping)
    else:
        result = Mapping(table=table or "events")
    if table is not None and table != result.table:
        if "table" not in result.model_fields_set:
            return result.with_overrides(table=table)
        raise ConfigError(
            f"the {'preset ' + preset if preset else 'mapping'} loads the {result.table} table, "
            f"not {table}; drop --table or use a mapping with `table: {table}`"
        )
    return result
