"""Insight: crowd portraits with TGI, the content that moves each stage, engagement depth.

* :mod:`~aips.insight.portrait`: who is in a crowd (:mod:`aips.crowd`) against a baseline
  (attributes of the ``users`` table, categories, search keywords and creators engaged
  with), TGI and z-tests: ``portrait(view, crowd, ...)``, ``portrait_compare(view, ...)``.
* :mod:`~aips.insight.content`: per note, format, creator and keyword, the users touched
  before advancing from a stage (one window per user) and how many advance
  (``content_insight(view, brand, ...)``); lifts with Wilson intervals and incremental
  effects with what else users saw held fixed (:mod:`~aips.insight.content_stats`); the
  content-strategy table per stage; search share of voice (``search_share(view, ...)``,
  :mod:`~aips.insight.search`).
* :mod:`~aips.insight.engagement`: dwell, deep reads and interactions per reader, per stage
  and period (``engagement(view, brand, start, end)``).

:class:`~aips.workspace.Workspace` calls these (``ws.portrait``, ``ws.content_insight``, ...).
"""

from aips.insight.content import ADVANCES, DIMENSIONS, advance_counts, parse_advance
from aips.insight.content_stats import incremental_effects, insight_frame, wilson
from aips.insight.engagement import INTERACTIONS, engagement_table
from aips.insight.portrait import INTERESTS, portrait_counts, tgi_frame, two_proportion_z
from aips.insight.search import search_share_table

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
    "search_share_table",
    "tgi_frame",
    "two_proportion_z",
    "wilson",
]
