"""The crowd language: which (user, brand) pairs a crowd holds, as data.

An :class:`AudienceSpec` says which (user, brand) pairs an audience, a portrait or a
content analysis is about; it is saved to YAML/JSON and re-run on later dates. Its filters
are combined with AND:

* ``brands`` / ``category`` / ``competitors_of``: whose crowd (a brand, several, every brand of
  a category, or the other brands of a brand's category: a competitor's crowd);
* ``stages``: the exclusive level on ``at`` (one or several; ``I+TI`` is the seeded crowd);
* ``flow``: a flow cell between two dates (``TI`` at t0 and not ``P`` at t1), optionally
  of some movements (``up``, ``new``, ...);
* ``reached``: pairs at a stage or above on at least one day of a range;
* ``funnel``: a funnel step's converters or drop-offs;
* ``attrs``: string attributes of the ``users`` table (``gender: F``);
* ``where``: a rule over counters and numeric user attributes, in the rule language
  (``read >= 3 and purchase == 0``).

With no ``stages``, ``flow`` or ``funnel``, the base is the crowd asset on ``at`` (pairs at
any stage). Set operations nest specs: ``op`` (``union``, ``intersect``, ``minus``) over
``operands``.

The insight crowd dicts (``{"brand": B, "at": D, "stage": "TI"}``, flow cells with
``from``/``to``, ``{"brand": B, "reached": "TI", "start": D0, "end": D1}``) are the same
language in a short form: :func:`from_crowd_dict` turns one into a spec.

**Re-running on a later date.** Every date of a spec is kept relative to its ``at``: re-run
with a new ``at`` and the flow dates and funnel range move by the same number of days.

>>> spec = AudienceSpec(brands=["Lumiere"], at="2025-12-01", stages=["TI"],
...                     flow=FlowCell.parse("TI:!P", "2025-11-01", "2025-12-01"))
>>> spec.shifted("2025-12-31").flow.t0
datetime.date(2025, 12, 1)
>>> AudienceSpec.from_text(spec.to_yaml()) == spec
True
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from aips.config.labels import group, t, word
from aips.config.model import STAGES
from aips.dates import as_date
from aips.engine.flows import MOVEMENTS
from aips.exceptions import ConfigError, describe_validation_error

NONE = "none"
"""A pair without a level, in flow cells."""

SPEC_FORMAT = "aips.audience/1"

_EVERY = ["A", "I", "TI", "P", "S", NONE]
"""Every value of a flow cell's side, in order."""


def as_list(value: str | Sequence[str] | None) -> list[str] | None:
    """A list from a comma-separated text or a sequence (None stays None).

    >>> as_list("TI, P"), as_list(["a"]), as_list(None)
    (['TI', 'P'], ['a'], None)
    """
    if value is None:
        return None
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    return list(value)


def parse_attrs(value: Any) -> dict[str, list[str]] | None:
    """String attribute filters from ``{"gender": "F"}``, ``["gender=F", "age_band=18-24,25-34"]``
    or ``"gender=F"``.

    >>> parse_attrs(["gender=F", "age_band=18-24,25-34"])
    {'gender': ['F'], 'age_band': ['18-24', '25-34']}
    """
    if value is None:
        return None
    if isinstance(value, dict):
        return {k: (v if isinstance(v, (list, tuple)) else [v]) for k, v in value.items()}
    items = [value] if isinstance(value, str) else list(value)
    out: dict[str, list[str]] = {}
    for item in items:
        if "=" not in item:
            raise ConfigError(f"bad attribute filter {item!r}: NAME=VALUE[,VALUE...] (e.g. gender=F)")
        name, values = item.split("=", 1)
        out.setdefault(name.strip(), []).extend(v.strip() for v in values.split(",") if v.strip())
    return out


def parse_stages(text: str | list[str] | tuple[str, ...] | None) -> list[str]:
    """Stage names from ``"TI"``, ``"I,TI"``, ``"I+TI"`` or a list (validated, ordered A..S).

    >>> parse_stages("I+TI"), parse_stages(["P", "A"])
    (['I', 'TI'], ['A', 'P'])
    """
    if text is None:
        return []
    items = [text] if isinstance(text, str) else list(text)
    out: set[str] = set()
    for item in items:
        for part in str(item).replace("+", ",").split(","):
            name = part.strip().upper()
            if not name:
                continue
            if name not in STAGES:
                raise ConfigError(f"unknown stage {part.strip()!r} (one of A, I, TI, P, S, or I+TI)")
            out.add(name)
    return [s for s in ("A", "I", "TI", "P", "S") if s in out]


def _side(text: str) -> tuple[list[str], bool]:
    """One side of a flow cell: (stages incl. ``none``, negated)."""
    text = text.strip()
    negate = text.startswith("!")
    body = text[1:].strip() if negate else text
    if body in ("*", ""):
        if negate:
            raise ConfigError("'!*' selects nothing; write a stage list after '!'")
        return [*STAGES, NONE], False
    names: set[str] = set()
    for part in body.replace("+", ",").split(","):
        name = part.strip()
        if name.lower() == NONE:
            names.add(NONE)
        elif name:
            names.update(parse_stages(name))
    if not names:
        raise ConfigError(f"empty side in flow cell {text!r}")
    return [s for s in _EVERY if s in names], negate


def _cell_side(text: str) -> list[str]:
    """The stages one side of a flow cell selects (``!`` complemented)."""
    names, negate = _side(text)
    return [s for s in _EVERY if s not in names] if negate else names


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FlowCell(_Strict):
    """Pairs whose stage at ``t0`` is in ``from_stages`` and at ``t1`` in ``to_stages``.

    ``none`` stands for "no level"; build one from text with :meth:`parse`. ``movements``
    (``new``, ``up``, ``stay``, ``down``, ``churned``; default any) narrows the cell.
    """

    from_stages: list[str]
    to_stages: list[str]
    t0: dt.date
    t1: dt.date
    movements: list[str] | None = None

    @model_validator(mode="after")
    def _check(self) -> FlowCell:
        if self.t0 >= self.t1:
            raise ValueError(f"a flow runs forward in time: t0 {self.t0} must be before t1 {self.t1}")
        for s in (*self.from_stages, *self.to_stages):
            if s not in (*STAGES, NONE):
                raise ValueError(f"unknown stage {s!r} in a flow cell")
        for m in self.movements or []:
            if m not in MOVEMENTS:
                raise ValueError(f"unknown movement {m!r} ({', '.join(MOVEMENTS)})")
        return self

    @classmethod
    def parse(cls, text: str, t0: Any, t1: Any) -> FlowCell:
        """``FROM:TO``: comma lists of stages (``none`` = no level, ``*`` = any), a side
        prefixed with ``!`` meaning "not these".

        >>> FlowCell.parse("TI:!P", "2025-11-01", "2025-12-01").to_stages
        ['A', 'I', 'TI', 'S', 'none']
        """
        if text.count(":") != 1:
            raise ConfigError(f"bad flow cell {text!r}: FROM:TO, e.g. TI:!P or I:I or A,I:TI")
        sides = [_cell_side(side) for side in text.split(":")]
        try:
            return cls(from_stages=sides[0], to_stages=sides[1], t0=as_date(t0, "t0"), t1=as_date(t1, "t1"))
        except ValidationError as err:
            raise describe_validation_error(err, f"flow cell {text!r}") from None


class FunnelCell(_Strict):
    """The converters (reached ``step``) or drop-offs (reached ``step - 1``, not ``step``) of a
    funnel over event types, PostHog style (see :mod:`aips.engine.funnel`)."""

    steps: list[str] = Field(min_length=1)
    step: int = Field(ge=0)
    kind: Literal["converted", "dropped"] = "converted"
    window: str = "14d"
    order: Literal["ordered", "strict", "unordered"] = "ordered"
    start: dt.date | None = None
    end: dt.date | None = None

    @model_validator(mode="after")
    def _check(self) -> FunnelCell:
        if self.step >= len(self.steps):
            raise ValueError(f"step {self.step} is out of range 0..{len(self.steps) - 1}")
        if self.kind == "dropped" and self.step == 0:
            raise ValueError("nobody drops off before step 0; ask for step >= 1")
        return self


class ReachedCell(_Strict):
    """Pairs at ``stage`` or above on at least one day of ``start .. end`` (both optional:
    all data), e.g. everyone a brand ever seeded deeply."""

    stage: str
    start: dt.date | None = None
    end: dt.date | None = None

    @field_validator("stage")
    @classmethod
    def _stage(cls, v: str) -> str:
        if v not in STAGES:
            raise ValueError(f"unknown stage {v!r} in 'reached' (A, I, TI, P or S)")
        return v


class AudienceSpec(_Strict):
    """A saved audience definition (see the module docstring)."""

    name: str | None = None
    at: dt.date | None = None
    brands: list[str] | None = None
    category: str | None = None
    competitors_of: str | None = None
    stages: list[str] | None = None
    flow: FlowCell | None = None
    funnel: FunnelCell | None = None
    reached: ReachedCell | None = None
    attrs: dict[str, list[str]] | None = None
    where: str | None = None
    op: Literal["union", "intersect", "minus"] | None = None
    on: Literal["pair", "user"] = "pair"
    operands: list[AudienceSpec] | None = None

    @field_validator("stages", mode="before")
    @classmethod
    def _stages(cls, v: Any) -> Any:
        return None if v is None else crowd_stages(v)  # "all": any stage

    @field_validator("attrs", mode="before")
    @classmethod
    def _attrs(cls, v: Any) -> Any:
        if v is None:
            return None
        return {str(k): ([str(x) for x in val] if isinstance(val, (list, tuple)) else [str(val)])
                for k, val in dict(v).items()}

    @model_validator(mode="after")
    def _check(self) -> AudienceSpec:
        if self.op is not None:
            if not self.operands or len(self.operands) < 2:
                raise ValueError(f"'{self.op}' needs at least two operands")
            return self
        if self.operands:
            raise ValueError("operands need an op (union, intersect or minus)")
        if self.competitors_of and (self.brands or self.category):
            raise ValueError("competitors_of picks the brands itself; drop brands/category")
        if self.funnel is not None and not (self.brands and len(self.brands) == 1):
            raise ValueError("a funnel audience needs exactly one brand")
        if self.where is not None:
            from aips.config.rules import parse_rule

            parse_rule(self.where)  # syntax now; names are checked against the store
        return self

    # --- dates ------------------------------------------------------------------------------

    def as_of(self) -> dt.date | None:
        """The as-of date: ``at``, else the flow's t1, else the reached range's end, else the
        first operand's."""
        if self.at is not None:
            return self.at
        if self.flow is not None:
            return self.flow.t1
        if self.reached is not None and self.reached.end is not None:
            return self.reached.end
        for operand in self.operands or []:
            day = operand.as_of()
            if day is not None:
                return day
        return None

    def shifted(self, at: Any) -> AudienceSpec:
        """The same definition on another as-of date: every date moves by ``at - as_of()``."""
        new = as_date(at, "at")
        old = self.as_of()
        if old is None:
            return self.model_copy(update={"at": new})
        return self._shift(new - old)

    def _shift(self, delta: dt.timedelta) -> AudienceSpec:
        update: dict[str, Any] = {}
        if self.at is not None:
            update["at"] = self.at + delta
        if self.flow is not None:
            update["flow"] = self.flow.model_copy(update={"t0": self.flow.t0 + delta, "t1": self.flow.t1 + delta})
        if self.funnel is not None:
            f = self.funnel
            update["funnel"] = f.model_copy(update={
                "start": f.start + delta if f.start else None, "end": f.end + delta if f.end else None})
        if self.reached is not None:
            r = self.reached
            update["reached"] = r.model_copy(update={
                "start": r.start + delta if r.start else None, "end": r.end + delta if r.end else None})
        if self.operands:
            update["operands"] = [o._shift(delta) for o in self.operands]
        return self.model_copy(update=update)

    # --- text -------------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """Plain data (dates as ISO text), without unset keys."""
        return json.loads(self.model_dump_json(exclude_none=True, exclude_defaults=True))

    def to_yaml(self) -> str:
        return yaml.safe_dump({"format": SPEC_FORMAT, **self.to_dict()}, sort_keys=False, allow_unicode=True)

    def to_json(self) -> str:
        return json.dumps({"format": SPEC_FORMAT, **self.to_dict()}, ensure_ascii=False, indent=1)

    @classmethod
    def from_data(cls, data: Any, source: str = "audience spec") -> AudienceSpec:
        """Validate a mapping (values may already be :class:`FlowCell`/:class:`FunnelCell`)."""
        if not isinstance(data, dict):
            raise ConfigError(f"{source}: expected a mapping, got {type(data).__name__}")
        data = {k: v for k, v in data.items() if k != "format"}
        return validated(cls, data, source)

    @classmethod
    def from_text(cls, text: str, source: str = "audience spec") -> AudienceSpec:
        """Parse YAML (or JSON, which is YAML)."""
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as err:
            raise ConfigError(f"{source}: not valid YAML/JSON: {err}") from None
        return cls.from_data(data, source)

    @classmethod
    def load(cls, path: str | Path) -> AudienceSpec:
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8-sig")
        except OSError as err:
            raise ConfigError(f"cannot read audience spec {path}: {err}") from None
        return cls.from_text(text, str(path))

    def save(self, path: str | Path) -> None:
        """Write the spec atomically (JSON for ``.json``, else YAML)."""
        from aips.io import atomic_write_text

        path = Path(path)
        atomic_write_text(path, self.to_json() if path.suffix.lower() == ".json" else self.to_yaml())

    def describe(self, lang: str = "en") -> str:
        """A one-line human description in ``lang`` (the catalogue's ``crowd.*`` words)."""
        w = group("crowd", lang)
        if self.op:
            op = f" {word('crowd.op', self.op, lang)} "
            inner = op.join(f"({o.describe(lang)})" for o in self.operands or [])
            return inner + (w["by_user"] if self.on == "user" else "")
        parts = []
        if self.competitors_of:
            parts.append(w["competitors_of"].format(brand=self.competitors_of))
        elif self.brands:
            parts.append(",".join(self.brands))
        elif self.category:
            parts.append(w["category"].format(category=self.category))
        else:
            parts.append(w["all_brands"])
        if self.brands and self.category:
            parts.append(w["category"].format(category=self.category))
        if self.stages:
            stages = "/".join(self.stages)
            parts.append(w["stage_on"].format(stages=stages, at=self.at) if self.at
                         else w["stage"].format(stages=stages))
        if self.flow:
            f = self.flow
            parts.append(w["flow"].format(from_stages="/".join(f.from_stages), t0=f.t0,
                                          to_stages="/".join(f.to_stages), t1=f.t1))
        if self.funnel:
            fn = self.funnel
            parts.append(w["funnel"].format(steps=" > ".join(fn.steps), step=fn.step,
                                            kind=word("crowd.kind", fn.kind, lang)))
        if self.reached:
            r = self.reached
            parts.append(w["reached"].format(stage=r.stage, start=r.start or w["the_start"],
                                             end=r.end or w["the_end"]))
        if self.attrs:
            parts.append(" ".join(f"{k}={'|'.join(v)}" for k, v in self.attrs.items()))
        if self.where:
            parts.append(w["where"].format(where=self.where))
        if not (self.stages or self.flow or self.funnel or self.reached):
            parts.append(w["any_stage_on"].format(at=self.at) if self.at else w["any_stage"])
        return t("crowd.separator", lang).join(parts)


def validated(cls: type[BaseModel], data: dict, source: str) -> Any:
    """``cls.model_validate(data)`` with pydantic's errors turned into a ConfigError."""
    try:
        return cls.model_validate(data)
    except ValidationError as err:
        raise describe_validation_error(err, source) from None


# --- the short form: insight crowd dicts -------------------------------------------------------

CROWD_KEYS = frozenset({"brand", "at", "stage", "from", "to", "from_stage", "to_stage", "movement",
                        "reached", "start", "end"})


def crowd_stages(stage: Any) -> list[str] | None:
    """The stages of a crowd dict's ``stage``: one, a list, ``I+TI``; None or ``all``: any.

    >>> crowd_stages("I+TI"), crowd_stages("all")
    (['I', 'TI'], None)
    """
    if stage is None or stage == "all":
        return None
    names = as_list(stage) or []
    if "all" in names:
        return None
    return parse_stages(names)


def from_crowd_dict(data: dict[str, Any]) -> AudienceSpec:
    """The spec of a crowd dict (see the module docstring).

    >>> from_crowd_dict({"brand": "B", "at": "2025-12-01", "stage": "TI"}).describe()
    'B; stage TI on 2025-12-01'
    """
    unknown = set(data) - CROWD_KEYS
    if unknown:
        raise ConfigError(f"unknown crowd spec key(s) {', '.join(sorted(unknown))}")
    if "brand" not in data:
        raise ConfigError("a crowd spec needs a brand")
    spec: dict[str, Any] = {"brands": [data["brand"]]}
    if "reached" in data:
        spec["reached"] = validated(ReachedCell, {
            "stage": data["reached"], "start": _opt_date(data.get("start"), "start"),
            "end": _opt_date(data.get("end"), "end")}, "crowd")
    elif "from" in data or "to" in data:
        sides = {k: _EVERY if data.get(k) is None else _cell_side(",".join(as_list(data[k])))
                 for k in ("from_stage", "to_stage")}
        spec["flow"] = validated(FlowCell, {
            "from_stages": sides["from_stage"], "to_stages": sides["to_stage"],
            "t0": as_date(data.get("from"), "from"), "t1": as_date(data.get("to"), "to"),
            "movements": as_list(data.get("movement"))}, "crowd")
    elif "at" not in data:
        raise ConfigError("a crowd spec needs 'at' (a date), or 'from' and 'to' for a flow cell")
    else:
        spec["at"] = as_date(data["at"], "at")
        spec["stages"] = crowd_stages(data.get("stage"))
    return AudienceSpec.from_data(spec, "crowd")


def _opt_date(value: Any, name: str) -> dt.date | None:
    return None if value is None else as_date(value, name)
