r"""The forecast's fan: the TI crowd per day of the horizon, its point and interval band.

:func:`aips.planner.forecast.interval` gives the interval of the last day only; the fan
chart (the report's Plan section, the dashboard's planner page) needs one per day. Day d's
band is built the same way, from the same pieces:

.. math:: \text{low}_d = \max\big(0,\; q_{\alpha/2}(TI^{(b)}_d) - z\sqrt{TI_d}\big), \qquad
          \text{high}_d = q_{1-\alpha/2}(TI^{(b)}_d) + z\sqrt{TI_d}

where :math:`TI^{(b)}_d` is the forecast (``Forecast.run(...)["ti_series"]``) with the
curves' bootstrap refit b (``curves.draws_``), :math:`TI_d` the point forecast and
:math:`z\sqrt{TI_d}` the Poisson noise of a count. On the last day the band is the
interval :func:`~aips.planner.forecast.interval` gives.

>>> from aips.planner.forecast import Forecast
>>> class Curves:                    # two bootstrap refits: half and twice the effect
...     draws_ = [0.5, 2.0]
...     def advances(self, x, draw=None):
...         k = 1.0 if draw is None else self.draws_[draw]
...         return np.array([0.0, 4.0 * k, 0.0]) * (x["feed_ad"] > 0)
>>> fc = Forecast(ti0=0.0, base=[0.0, 0.0, 0.0], retention=1.0)
>>> band = fan(Curves(), fc, {"feed_ad": 1.0}, horizon=2, alpha=0.5)
>>> band["TI"]                     # draws: 2, 4 and 8, 16; quartiles 3.5, 7 and 6.5, 13
[4.0, 8.0]
>>> [round(v, 2) for v in band["TI_low"] + band["TI_high"]]    # -/+ z sqrt(TI), z = 0.674
[2.15, 5.09, 7.85, 14.91]
"""

from __future__ import annotations

import numpy as np
from scipy.stats import norm


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
    z = float(norm.ppf(1 - alpha / 2))
    noise = z * np.sqrt(np.maximum(point, 0.0))
    low = np.maximum(0.0, np.quantile(draws, alpha / 2, axis=0) - noise)
    high = np.quantile(draws, 1 - alpha / 2, axis=0) + noise
    return {"TI": point.tolist(), "TI_low": low.tolist(), "TI_high": high.tolist()}
