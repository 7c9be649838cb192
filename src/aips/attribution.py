"""Public attribution API: ``aips.attribution.attribute_paths(paths, model=...)``.

A thin facade over :mod:`aips.analytics.attribution`; see there for the models, the
aggregated-path layout and the conservation contract. On a workspace, use
``ws.attribute(...)``, which builds the paths from events in the backend.

>>> import aips.attribution
>>> paths = aips.attribution.read_paths  # ChannelAttribution-layout files
>>> sorted(aips.attribution.MODELS)[:3]
['first', 'incremental', 'last']
"""

from aips.analytics.attribution import (  # noqa: F401 - re-exported
    BASELINE,
    MODELS,
    NO_TOUCH,
    PATH_MODELS,
    AttributionModel,
    ConservationError,
    FirstTouch,
    Incremental,
    LastNonOrganic,
    LastTouch,
    Linear,
    Markov,
    PositionBased,
    Shapley,
    TimeDecay,
    __all__,
    as_paths,
    attribute_paths,
    compare_models,
    make_model,
    read_paths,
    write_paths,
)
