"""The YAML model (taxonomy, counters, stages, windows, categories, time zone) and the rule language."""

from aips.config.model import STAGES, Counter, Model, Stage, default_model, load_model
from aips.config.rules import Rule, compile_rule, evaluate, parse_rule

__all__ = [
    "STAGES",
    "Counter",
    "Model",
    "Rule",
    "Stage",
    "compile_rule",
    "default_model",
    "evaluate",
    "load_model",
    "parse_rule",
]
