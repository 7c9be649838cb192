"""Public attribution API: ``aips.attribution.attribute_paths(paths, model=...)``.

A thin facade over :mod:`aips.analytics.attribution` (every name of its ``__all__``); see
there for the models, the aggregated-path layout and the conservation contract. On a
workspace, ``ws.attribute(...)`` builds the paths from events in the backend.

>>> import aips.attribution
>>> paths = {"path": ["google", "google > mailing"], "conversions": [1, 1], "nulls": [1, 0]}
>>> aips.attribution.attribute_paths(paths, model="first")["conversions"].tolist()
[2.0, 0.0]
"""

from aips.analytics.attribution import *  # noqa: F403 - the facade re-exports everything
from aips.analytics.attribution import __all__  # noqa: F401
