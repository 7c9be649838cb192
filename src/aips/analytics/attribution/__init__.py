"""Attribution of conversions (purchases or stage advances) to channels, campaigns, creators.

All models take **aggregated paths** (``path, conversions, value, nulls``; see
:mod:`~aips.analytics.attribution.base`) and conserve totals: the credits sum to the
conversions and to the value. The incremental model takes exposure cells instead (or
degrades to paths).

=================== =================================================== ============
name                rule                                                 credits
=================== =================================================== ============
``first``           the first touch                                      reach
``last``            the last touch                                       reach
``last_non_organic`` the last touch that is not organic                  reach
``linear``          1/n per touch                                        reach
``position``        40/20/40 (first, middle, last)                       reach
``time_decay``      halves every ``half_life`` days before conversion    reach
``markov``          removal effect, order-k absorbing chain, closed form reach
``shapley``         exact Shapley on the conversion-rate game            reach
``incremental``     Shapley over a fitted P(convert | exposures)         **cause**
=================== =================================================== ============

>>> import pandas as pd
>>> paths = pd.DataFrame({"path": ["google", "mailing", "google > mailing", "google"],
...                       "conversions": [2, 1, 1, 0], "nulls": [0, 0, 0, 1]})
>>> attribute_paths(paths, model="markov")[["channel", "conversions"]].round(6).to_dict("list")
{'channel': ['google', 'mailing'], 'conversions': [2.4, 1.6]}
>>> compare_models(paths, ["first", "last", "markov"]).round(3).to_dict("list")["last"]
[2.0, 2.0]
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from aips.analytics.attribution.base import (
    NO_TOUCH,
    PATH_SEP,
    AttributionModel,
    ConservationError,
    Paths,
    as_paths,
    parse_paths,
)
from aips.analytics.attribution.heuristic import (
    FirstTouch,
    LastNonOrganic,
    LastTouch,
    Linear,
    PositionBased,
    TimeDecay,
)
from aips.analytics.attribution.incremental import BASELINE, ChainData, Incremental, as_chain
from aips.analytics.attribution.markov import Markov
from aips.analytics.attribution.paths_io import read_paths, write_paths
from aips.analytics.attribution.shapley import Shapley
from aips.exceptions import AipsError, ConfigError

MODELS: dict[str, type[AttributionModel]] = {
    "first": FirstTouch,
    "last": LastTouch,
    "last_non_organic": LastNonOrganic,
    "linear": Linear,
    "position": PositionBased,
    "time_decay": TimeDecay,
    "markov": Markov,
    "shapley": Shapley,
    "incremental": Incremental,
}
"""Model names (as used by the CLI's ``--model``) and their classes."""

PATH_MODELS = tuple(m for m in MODELS if m != "incremental")


def make_model(name: str, **params: Any) -> AttributionModel:
    """A model by name; parameters its constructor does not take are ignored.

    >>> make_model("markov", order=2, half_life=3)
    Markov(order=2)
    """
    try:
        cls = MODELS[name]
    except KeyError:
        raise ConfigError(f"unknown attribution model {name!r} (one of {', '.join(MODELS)})") from None
    accepted = inspect.signature(cls.__init__).parameters
    kwargs = {k: v for k, v in params.items() if k in accepted and v is not None}
    return cls(**kwargs)


def _load(paths: Any) -> Any:
    if isinstance(paths, (str, Path)):
        return read_paths(paths)
    return paths


def attribute_paths(paths: Any, model: str = "markov", **params: Any) -> pd.DataFrame:
    """Credits of one model on aggregated paths (a table, or a ChannelAttribution file).

    Returns the model's ``credits_``: ``channel, conversions, value, incremental, share,
    value_share`` (+ interval columns for ``incremental``).
    """
    m = make_model(model, **params).fit(_load(paths))
    out = m.credits_.copy()
    out.attrs.update(model=model, incremental=m.incremental)
    return out


def compare_models(paths: Any, models: Sequence[str] | None = None, **params: Any) -> pd.DataFrame:
    """Several models side by side: ``channel``, then each model's credited conversions
    (column named after the model) and its share (``<model>_share``).

    Models that cannot run on this input (time decay without touch times, Shapley with
    too many channels per journey) are left out; ``attrs["skipped"]`` says why.
    """
    raw = _load(paths)
    parsed = raw if isinstance(raw, Paths) else parse_paths(as_paths(raw))  # parse once
    models = list(models or PATH_MODELS)
    frames, skipped = [], {}
    for name in models:
        try:
            c = attribute_paths(raw if name == "incremental" else parsed, name, **params)
        except (ConfigError, ConservationError) as err:
            skipped[name] = str(err)
            continue
        frames.append(c.set_index("channel")[["conversions", "share"]].rename(
            columns={"conversions": name, "share": f"{name}_share"}))
    if not frames:
        raise AipsError("no model could run: " + "; ".join(f"{k}: {v}" for k, v in skipped.items()))
    wide = pd.concat(frames, axis=1).fillna(0.0)
    conv_cols = [c for c in wide.columns if not c.endswith("_share")]
    wide = wide[conv_cols + [f"{c}_share" for c in conv_cols]]
    wide = wide.sort_values(conv_cols[0], ascending=False, kind="stable").reset_index()
    wide = wide.rename(columns={"index": "channel"})
    wide.attrs["skipped"] = skipped
    return wide


# The view-level verbs, last: their module imports the names defined above.
from aips.analytics.attribution.api import (  # noqa: E402
    attribute,
    attribution_chain,
    attribution_paths,
)

__all__ = [
    "BASELINE",
    "MODELS",
    "NO_TOUCH",
    "PATH_MODELS",
    "PATH_SEP",
    "AttributionModel",
    "ChainData",
    "ConservationError",
    "FirstTouch",
    "Incremental",
    "LastNonOrganic",
    "LastTouch",
    "Linear",
    "Markov",
    "Paths",
    "PositionBased",
    "Shapley",
    "TimeDecay",
    "as_chain",
    "as_paths",
    "attribute",
    "attribute_paths",
    "attribution_chain",
    "attribution_paths",
    "compare_models",
    "make_model",
    "parse_paths",
    "read_paths",
    "write_paths",
]
