"""Rule-based models: first, last, last non-organic, linear, position-based, time decay.

Each is a credit rule over the touches of a path, applied to the path's conversions and
value alike. First, last and linear reproduce ChannelAttribution's ``heuristic_models``
exactly (linear is per touch: a channel seen twice in a path of n touches gets 2/n).

>>> import pandas as pd
>>> paths = pd.DataFrame({"path": ["a > b > a > c"], "conversions": [4], "value": [40.0]})
>>> Linear().fit(paths).credits_.set_index("channel")["conversions"].to_dict()
{'a': 2.0, 'b': 1.0, 'c': 1.0}
>>> PositionBased().fit(paths).credits_.set_index("channel")["conversions"].round(6).to_dict()
{'a': 2.0, 'c': 1.6, 'b': 0.4}
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from aips.analytics.attribution.base import (
    AttributionModel,
    Paths,
    check_channel_names,
    credits_frame,
)
from aips.config.model import ORGANIC_CHANNELS as ORGANIC
from aips.exceptions import ConfigError


def _touch_credit(paths: Paths, weight: np.ndarray) -> pd.DataFrame:
    """Credits from a per-touch weight (each path's weights sum to 1)."""
    n = len(paths.channels)
    conv = np.bincount(paths.codes, weights=weight * paths.per_touch(paths.conversions), minlength=n)
    val = np.bincount(paths.codes, weights=weight * paths.per_touch(paths.value), minlength=n)
    return credits_frame(paths.channels, conv, val)


def _pick_credit(paths: Paths, touch_index: np.ndarray) -> pd.DataFrame:
    """Credits giving each path's conversions to one touch of it."""
    n = len(paths.channels)
    codes = paths.codes[touch_index]
    conv = np.bincount(codes, weights=paths.conversions, minlength=n)
    val = np.bincount(codes, weights=paths.value, minlength=n)
    return credits_frame(paths.channels, conv, val)


class FirstTouch(AttributionModel):
    """All credit to the first touch."""

    name = "first"

    def _credit(self, paths: Paths) -> pd.DataFrame:
        return _pick_credit(paths, paths.first_index)


class LastTouch(AttributionModel):
    """All credit to the last touch."""

    name = "last"

    def _credit(self, paths: Paths) -> pd.DataFrame:
        return _pick_credit(paths, paths.last_index)


class LastNonOrganic(AttributionModel):
    """All credit to the last touch not in ``organic``; to the last touch if all are.

    Args:
        organic: channel names treated as organic (default ``("organic",)``).
    """

    name = "last_non_organic"

    def __init__(self, organic: tuple[str, ...] = ORGANIC):
        self.organic = organic

    def _credit(self, paths: Paths) -> pd.DataFrame:
        check_channel_names("organic", self.organic)
        is_org = np.isin(paths.codes, paths.code_of(self.organic))
        idx = np.where(is_org, -1, np.arange(len(paths.codes)))
        best = np.maximum.reduceat(idx, paths.first_index) if len(idx) else idx
        return _pick_credit(paths, np.where(best < 0, paths.last_index, best))


class Linear(AttributionModel):
    """Equal credit per touch: 1/n to each of a path's n touches."""

    name = "linear"

    def _credit(self, paths: Paths) -> pd.DataFrame:
        return _touch_credit(paths, 1.0 / paths.per_touch(paths.lengths))


class PositionBased(AttributionModel):
    """U-shaped: ``first`` to the first touch, ``last`` to the last, the rest shared.

    One touch gets everything; two touches split ``first : last`` (50/50 by default);
    with n >= 3 the n - 2 middle touches share ``1 - first - last`` equally.

    Args:
        first, last: weights of the first and last touch (default 0.4 each).
    """

    name = "position"

    def __init__(self, first: float = 0.4, last: float = 0.4):
        self.first = first
        self.last = last

    def _credit(self, paths: Paths) -> pd.DataFrame:
        f, l_ = float(self.first), float(self.last)
        if f < 0 or l_ < 0 or f + l_ > 1 or f + l_ == 0:
            raise ConfigError(f"position weights first={f}, last={l_}: need >= 0, 0 < sum <= 1")
        n = paths.per_touch(paths.lengths).astype(float)
        pos = paths.position
        middle = np.where(n > 2, (1 - f - l_) / np.maximum(n - 2, 1), 0.0)
        w = np.where(pos == 0, f, np.where(pos == n - 1, l_, middle))
        w = np.where(n == 1, 1.0, w)
        w = np.where(n == 2, np.where(pos == 0, f, l_) / (f + l_), w)
        return _touch_credit(paths, w)


class TimeDecay(AttributionModel):
    """Credit halves every ``half_life`` days before the conversion: ``w = 2 ** (-lag / h)``.

    A converting journey's touches get ``w_i / sum(w)`` of its conversion. Touch times are
    not in a bare path file, so the path table must carry them, either

    * ``decay`` and ``decay_value``: per touch position, the normalised weights already
      summed over the path's converting journeys (and weighted by their value). This is
      what :func:`aips.engine.paths.aggregate_paths` computes in the backend when given a
      half-life, so the table stays one row per path (the ``half_life`` here is then
      ignored: it was applied there); or
    * ``lags``: days from each touch to the conversion (one list per row, or a
      ``" > "``-separated string), applied with this model's ``half_life``.

    Args:
        half_life: days (default 7).
    """

    name = "time_decay"

    def __init__(self, half_life: float = 7.0):
        self.half_life = half_life

    def _credit(self, paths: Paths) -> pd.DataFrame:
        n = len(paths.channels)
        cols = paths.frame.columns
        if "decay" in cols:
            conv = np.bincount(paths.codes, weights=paths.column_per_touch("decay"), minlength=n)
            vcol = "decay_value" if "decay_value" in cols else None
            if vcol is None:
                share = paths.column_per_touch("decay") / paths.per_touch(
                    np.where(paths.conversions > 0, paths.conversions, 1.0))
                val = np.bincount(paths.codes, weights=share * paths.per_touch(paths.value), minlength=n)
            else:
                val = np.bincount(paths.codes, weights=paths.column_per_touch(vcol), minlength=n)
            return credits_frame(paths.channels, conv, val)
        if "lags" in cols:
            if not self.half_life or self.half_life <= 0:
                raise ConfigError(f"half_life must be > 0 days, got {self.half_life}")
            w = np.power(0.5, paths.column_per_touch("lags") / float(self.half_life))
            total = np.add.reduceat(w, paths.first_index) if len(w) else w
            return _touch_credit(paths, w / paths.per_touch(total))
        raise ConfigError(
            "time_decay needs touch times, which a path file does not have: build the paths "
            "from events (ws.attribute / aips attribute without --paths), or give a 'lags' "
            "column (days from each touch to the conversion, e.g. '9 > 2 > 0')"
        )
