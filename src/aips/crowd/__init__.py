"""The one crowd language: a set of (user, brand) pairs, named as data or given as a table.

Wherever aips expects a crowd (audiences, creators' targets, portraits and their baselines,
the report, the dashboard) it takes one of

* an :class:`~aips.crowd.spec.AudienceSpec` (brands, stages on a day, a flow cell, a funnel
  step, a reached stage, attributes, a ``where`` rule, set operations; saved as YAML/JSON);
* its short dict form: ``{"brand": B, "at": D, "stage": "TI"}`` (``stage``: one stage, a list,
  ``"I+TI"`` for the seeded crowd, or None / ``"all"`` for every AIPS level), a flow cell
  ``{"brand": B, "from": t0, "to": t1, "from_stage": "I", "to_stage": "TI", "movement": "up"}``
  (each of the last three optional; ``"none"`` for no level), or
  ``{"brand": B, "reached": "TI", "start": D0, "end": D1}``: users at that stage or above on
  at least one day of ``start .. end`` (both optional: all data);
* an Ibis table with ``user_id`` (and optionally ``brand``), an audience (an object with an
  Ibis ``table`` attribute or a ``to_ibis()`` method), or a pandas / pyarrow table.

:func:`crowd` turns any of them into an Ibis table. The modules: :mod:`aips.crowd.spec`
(the types and their parsing), :mod:`aips.crowd.select` (the pairs a spec selects, in the
backend), :mod:`aips.crowd.features` (the counters and attributes ``where`` rules read).
"""

from __future__ import annotations

from typing import Any

import ibis

from aips.crowd.select import KEYS, build_table, combine, select_pairs
from aips.crowd.spec import (
    NONE,
    SPEC_FORMAT,
    AudienceSpec,
    FlowCell,
    FunnelCell,
    ReachedCell,
    as_list,
    crowd_stages,
    from_crowd_dict,
    parse_attrs,
    parse_stages,
    validated,
)
from aips.exceptions import ConfigError

__all__ = [
    "KEYS",
    "NONE",
    "SPEC_FORMAT",
    "AudienceSpec",
    "FlowCell",
    "FunnelCell",
    "ReachedCell",
    "as_list",
    "build_table",
    "combine",
    "crowd",
    "crowd_stages",
    "from_crowd_dict",
    "parse_attrs",
    "parse_stages",
    "select_pairs",
    "unwrap",
    "validated",
]


def crowd(view, spec: Any) -> ibis.Table:
    """The Ibis table of a crowd (see the module docstring).

    A spec or its dict gives ``user_id``, ``brand``, ``stage``; a table-like crowd is returned
    as an Ibis table unchanged.

    Args:
        view: a :class:`~aips.view.View`.
        spec: an :class:`AudienceSpec`, a crowd dict, or a table-like crowd.
    """
    if isinstance(spec, dict):
        spec = from_crowd_dict(spec)
    if isinstance(spec, AudienceSpec):
        return select_pairs(view, spec)
    return unwrap(spec)


def unwrap(crowd: Any) -> ibis.Table:
    """An Ibis table from a table-like crowd (Ibis table, audience, pandas, pyarrow)."""
    import pandas as pd

    if isinstance(crowd, ibis.Table):
        return crowd
    for attr in ("table", "expr", "users"):
        inner = getattr(crowd, attr, None)
        if isinstance(inner, ibis.Table):
            return inner
    if hasattr(crowd, "to_ibis"):
        return crowd.to_ibis()
    if isinstance(crowd, pd.DataFrame) or hasattr(crowd, "schema") and hasattr(crowd, "num_rows"):
        return ibis.memtable(crowd)
    raise ConfigError(
        f"not a crowd: {type(crowd).__name__} (pass an Ibis table with user_id, an audience, or a "
        "spec such as {'brand': B, 'at': D, 'stage': 'TI'})"
    )
