r"""What spend buys: the delivery curve of a channel (issue 17's saturating reach).

A channel with ``saturation`` S (CNY per 1,000 users per day; ``S' = S * users / 1000`` in the
world) delivers on a day with spend x

.. math:: M(x) = \frac{1000\,S'}{\mathrm{cpm}} \left(1 - e^{-x / S'}\right)

impressions: the first yuan buys at the list CPM, later ones dearer, and no spend buys more
than ``1000 S' / cpm`` impressions a day. S = 0 is a flat CPM: ``M(x) = 1000 x / cpm``.
Impressions then turn into reach with diminishing returns again, because they fall on the
same users (a user with Poisson(λ) exposures is reached with probability ``1 - exp(-λ)``).

>>> impressions(1000.0, cpm=500.0, scale=0.0)       # flat CPM: 2 impressions a yuan
2000.0
>>> round(impressions(1000.0, cpm=500.0, scale=1000.0), 1)  # 2000 * (1 - e^-1)
1264.2
>>> round(cost(1264.241, cpm=500.0, scale=1000.0), 1)       # the inverse
1000.0
"""

from __future__ import annotations

import numpy as np

_MAX_SHARE = 0.98
"""Delivery recorded above this share of the ceiling is priced as at it (a finite price)."""


def impressions(spend, cpm: float, scale: float):
    """Impressions a day's ``spend`` buys at list ``cpm`` with saturation ``scale`` (S', CNY)."""
    spend = np.asarray(spend, dtype=float)
    if scale <= 0:
        out = 1000.0 * spend / cpm
    else:
        out = 1000.0 * scale / cpm * -np.expm1(-spend / scale)
    return float(out) if out.ndim == 0 else out


def cost(delivered, cpm: float, scale: float):
    """What ``delivered`` impressions in one day cost (the inverse of :func:`impressions`)."""
    delivered = np.asarray(delivered, dtype=float)
    linear = delivered * cpm / 1000.0
    if scale <= 0:
        out = linear
    else:
        out = -scale * np.log1p(-np.minimum(linear / scale, _MAX_SHARE))
    return float(out) if out.ndim == 0 else out


def campaign_spend(world, delivered: np.ndarray) -> np.ndarray:
    """Each campaign's spend for its ``delivered`` impressions: spread over its flight days
    as planned (push channels by the day's activity, search ads evenly), priced day by day
    on the channel's delivery curve. Without saturation: delivered x CPM / 1000, as always.
    """
    from aips.simulate.parts import CHANNELS

    p = world.params
    flat = np.round(delivered * world.camp_cpm / 1000, 2)
    if all(ch.saturation <= 0 for ch in p.channels.values()):
        return flat
    out = flat.copy()
    search = CHANNELS.index("search_ad")
    for k in range(len(world.camp_ids)):
        ch = p.channels[CHANNELS[world.camp_channel[k]]]
        if ch.saturation <= 0:
            continue
        days = world.day_factor[world.camp_start[k]: world.camp_end[k] + 1]
        share = np.ones_like(days) if world.camp_channel[k] == search else days
        daily = delivered[k] * share / share.sum()
        out[k] = round(float(cost(daily, world.camp_cpm[k], ch.saturation * p.users / 1000).sum()), 2)
    return out
