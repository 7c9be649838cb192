"""The playbook: strategies, content types and metrics per AIPS stage, as editable data.

The shipped ``playbook.yaml`` (English and Chinese) is the default. A user's file (``aips
diagnose --playbook FILE``, ``$AIPS_PLAYBOOK``, or ``playbook=`` in Python) is merged over
it: each stage or transition it names replaces the shipped one key by key (``strategies``
given = the whole list replaced), and stages it leaves out keep the shipped text.

>>> pb = load_playbook()
>>> pb.text(pb.stages["I"]["name"], "zh"), len(pb.entry("I->TI", "en")[0]["strategies"])
('兴趣', 4)
>>> [s["stage"] for s in pb.entry("TI->P", "en")]
['TI', 'P']
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from aips.config.model import STAGE_ORDER
from aips.exceptions import ConfigError

PLAYBOOK_ENV = "AIPS_PLAYBOOK"
LANGS = ("en", "zh")
TRANSITIONS = ("A->I", "I->TI", "TI->P", "P->S")
_STAGES = STAGE_ORDER
_STAGE_KEYS = {"name", "goal", "strategies", "content", "metrics"}
_TRANSITION_KEYS = {"stages", "stuck", "attribution_target", "summary"}


@dataclass(frozen=True)
class Playbook:
    """Stages (``A`` .. ``S``: name, goal, strategies, content, metrics) and transitions
    (``A->I`` .. ``P->S``: stages to attach, the stuck stage, the attribution target, a
    summary). Texts are ``{"en": ..., "zh": ...}`` dicts; read them with :meth:`text`."""

    stages: dict[str, dict[str, Any]]
    transitions: dict[str, dict[str, Any]]
    source: str

    @staticmethod
    def text(value: Any, lang: str = "en") -> str:
        """A text in ``lang``, falling back to the other language (or the value itself)."""
        if isinstance(value, dict):
            for key in (lang, *LANGS):
                if value.get(key):
                    return str(value[key])
            return ""
        return "" if value is None else str(value)

    def stage(self, stage: str, lang: str = "en") -> dict[str, Any]:
        """One stage's entry in one language: ``stage, name, goal, strategies, content, metrics``."""
        raw = self.stages[stage]
        return {
            "stage": stage,
            "name": self.text(raw.get("name"), lang),
            "goal": self.text(raw.get("goal"), lang),
            "strategies": [self.text(s, lang) for s in raw.get("strategies", [])],
            "content": [self.text(s, lang) for s in raw.get("content", [])],
            "metrics": [self.text(s, lang) for s in raw.get("metrics", [])],
        }

    def entry(self, transition: str, lang: str = "en") -> list[dict[str, Any]]:
        """The stage entries a leaking ``transition`` attaches."""
        return [self.stage(s, lang) for s in self.transitions[transition]["stages"]]


def _read(path: Path) -> dict:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8-sig"))
    except OSError as err:
        raise ConfigError(f"cannot read playbook {path}: {err}") from None
    except yaml.YAMLError as err:
        raise ConfigError(f"{path}: not valid YAML: {err}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: a playbook is a mapping with 'stages' and 'transitions'")
    return data


def _shipped() -> dict:
    text = resources.files("aips.activation").joinpath("playbook.yaml").read_text(encoding="utf-8")
    return yaml.safe_load(text)


def _check(data: dict, source: str) -> None:
    unknown = set(data) - {"version", "stages", "transitions"}
    if unknown:
        raise ConfigError(f"{source}: unknown key(s) {', '.join(sorted(unknown))} (stages, transitions)")
    for stage, entry in (data.get("stages") or {}).items():
        if stage not in _STAGES:
            raise ConfigError(f"{source}: stages.{stage}: unknown stage (A, I, TI, P, S)")
        if not isinstance(entry, dict):
            raise ConfigError(f"{source}: stages.{stage}: expected a mapping")
        bad = set(entry) - _STAGE_KEYS
        if bad:
            raise ConfigError(f"{source}: stages.{stage}: unknown key(s) {', '.join(sorted(bad))} "
                              f"({', '.join(sorted(_STAGE_KEYS))})")
        for key in ("strategies", "content", "metrics"):
            if key in entry and not isinstance(entry[key], list):
                raise ConfigError(f"{source}: stages.{stage}.{key}: expected a list of texts")
    for name, entry in (data.get("transitions") or {}).items():
        if name not in TRANSITIONS:
            raise ConfigError(f"{source}: transitions.{name}: unknown transition ({', '.join(TRANSITIONS)})")
        if not isinstance(entry, dict) or set(entry) - _TRANSITION_KEYS:
            raise ConfigError(f"{source}: transitions.{name}: keys are {', '.join(sorted(_TRANSITION_KEYS))}")
        for s in entry.get("stages", []) or []:
            if s not in _STAGES:
                raise ConfigError(f"{source}: transitions.{name}.stages: unknown stage {s!r}")


def load_playbook(path: str | Path | Playbook | None = None) -> Playbook:
    """The shipped playbook, with ``path`` (or ``$AIPS_PLAYBOOK``) merged over it."""
    if isinstance(path, Playbook):
        return path
    base = _shipped()
    if path is None:
        path = os.environ.get(PLAYBOOK_ENV) or None
    source = "playbook.yaml (shipped)"
    if path is not None:
        path = Path(path)
        override = _read(path)
        _check(override, str(path))
        for section in ("stages", "transitions"):
            for key, entry in (override.get(section) or {}).items():
                base[section][key] = {**base[section].get(key, {}), **entry}
        source = f"{path} over the shipped playbook"
    _check(base, source)
    return Playbook(stages=base["stages"], transitions=base["transitions"], source=source)
