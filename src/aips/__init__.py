"""aips: crowd-asset analytics (Xiaohongshu's AIPS model) on a brand's own data.

>>> import aips
>>> ws = aips.open(":memory:")
>>> sorted(ws.model.stages)
['A', 'I', 'P', 'S', 'TI']
"""

from aips.config.model import Model, default_model, load_model
from aips.exceptions import AipsError, ConfigError, IngestError, RuleError, StoreError
from aips.simulate import simulate  # ``aips.simulate(...)``: the function, not the package
from aips.workspace import Workspace
from aips.workspace import open_workspace as open  # noqa: A001 - the documented name

__version__ = "0.1.0"

__all__ = [
    "AipsError",
    "ConfigError",
    "IngestError",
    "Model",
    "RuleError",
    "StoreError",
    "Workspace",
    "default_model",
    "load_model",
    "open",
    "simulate",
]

