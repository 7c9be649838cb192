"""Insight: crowd portraits with TGI, the content that moves each stage, engagement depth.

* :mod:`~aips.insight.portrait`: who is in a crowd against a baseline (attributes of the
  ``users`` table, categories, search keywords and creators engaged with), TGI and z-tests.
* :mod:`~aips.insight.content`: per note, format, creator and keyword, the users touched
  before advancing from a stage (one window per user) and how many advance; lifts with
  Wilson intervals, and incremental effects with what else users saw held fixed; the
  content-strategy table per stage; search share of voice.
* :mod:`~aips.insight.engagement`: dwell, deep reads and interactions per reader, per stage
  and period.

The Workspace methods (``ws.portrait``, ``ws.content_insight``, ``ws.engagement``, ...)
live in :mod:`aips.insight_api`.
"""

from aips.insight.content import (
    ADVANCES,
    DIMENSIONS,
    advance_counts,
    incremental_effects,
    insight_frame,
    parse_advance,
    search_share,
    wilson,
)
from aips.insight.engagement import INTERACTIONS, engagement_table
from aips.insight.portrait import INTERESTS, portrait_counts, tgi_frame, two_proportion_z

__all__ = [
    "ADVANCES",
    "DIMENSIONS",
    "INTERACTIONS",
    "INTERESTS",
    "advance_counts",
    "engagement_table",
    "incremental_effects",
    "insight_frame",
    "parse_advance",
    "portrait_counts",
    "search_share",
    "tgi_frame",
    "two_proportion_z",
    "wilson",
]
