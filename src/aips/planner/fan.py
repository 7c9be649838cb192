r"""The forecast's fan: the TI crowd per day of the horizon, its point and interval band.

:func:`aips.planner.forecast.interval` gives the interval of the last day only; the fan
chart (the report's Plan section, the dashboard's planner page) needs one per day. Day d's
band is built the same way, from the same pieces (:func:`aips.planner.forecast.band`): the
spread of the forecast with each of the curves' bootstrap refits (``curves.draws_``) about
their median, the Poisson noise of a d-day projection :math:`z\sqrt{TI_d (1 + d / 28)}`
and the baseline's drift (``fc.drift_``, grown linearly to its horizon value), their widths
added in quadrature. On the last day the band is the interval
:func:`~aips.planner.forecast.interval` gives.

>>> from aips.planner.forecast import Forecast
>>> class Curves:                    # two bootstrap refits: half and twice the effect
...     draws_ = [0.5, 2.0]
...     def advances(self, x, draw=None):
...         k = 1.0 if draw is None else self.draws_[draw]
...         return np.array([0.0, 4.0 * k, 0.0]) * (x["feed_ad"] > 0)
>>> fc = Forecast(ti0=0.0, base=[0.0, 0.0, 0.0], retention=1.0)
>>> band = fan(Curves(), fc, {"feed_ad": 1.0}, horizon=2, alpha=0.5)
>>> band["TI"]                     # refits: 2, 8 on day 1 (about their median: -3, +3)
[4.0, 8.0]
>>> # day 1: 4 -/+ sqrt(1.5^2 + (0.674 sqrt(4 (1 + 1/28)))^2) = 4 -/+ 2.03
>>> [round(v, 2) for v in band["TI_low"] + band["TI_high"]]
[1.97, 4.41, 6.03, 11.59]
"""

from __future__ import annotations

import numpy as np

from aips.planner.forecast import RAMP_DAYS, band


def fan(curves, fc, daily: dict, horizon: int, alpha: float = 0.1) -> dict[str, list[float]]:
    """TI per day of the horizon under ``daily`` spend per channel: ``TI`` (point),
    ``TI_low`` and ``TI_high`` (the ``1 - alpha`` band), one value per day (module doc).

    Args:
        curves: fitted :class:`~aips.planner.curves.ResponseCurves` (``advances``, ``draws_``).
        fc: the brand's :class:`~aips.planner.forecast.Forecast`.
        daily: spend a day per channel.
        horizon: days.
        alpha: 0.1 for a 90 % band.
    """
    point = np.asarray(fc.run(curves.advances, daily, horizon)["ti_series"], float)
    runs = [fc.run(lambda x, i=i: curves.advances(x, draw=i), daily, horizon)["ti_series"]
            for i in range(len(curves.draws_))]
    draws = np.asarray(runs, float) if runs else point[None, :]
    days = np.arange(1, horizon + 1)
    # day d: the Poisson inflation of a d-day projection, the baseline's drift grown linearly
    # to its horizon value (the interval's on the last day)
    sd = float(getattr(fc, "drift_", {}).get("TI", 0.0)) * days / horizon
    low, high = band(point, draws, alpha, 1.0 + days / RAMP_DAYS, sd)
    return {"TI": point.tolist(), "TI_low": low.tolist(), "TI_high": high.tolist()}
