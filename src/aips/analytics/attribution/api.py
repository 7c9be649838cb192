"""Attribution over a view (TEMPORARY shim until the front task lands).

The front task writes the real ``attribute``, ``attribution_paths`` and
``attribution_chain`` here; these delegate to the Workspace methods meanwhile.
"""

from __future__ import annotations

from typing import Any


def _ws(view):
    # TEMPORARY shim until the front task lands
    from aips.workspace import Workspace

    return Workspace(view.store, view.model)


def attribute(view, *args: Any, **kwargs: Any):
    """Credit conversions to touchpoints (see ``Workspace.attribute``)."""
    # TEMPORARY shim until the front task lands
    return _ws(view).attribute(*args, **kwargs)


def attribution_paths(view, *args: Any, **kwargs: Any):
    """The users' touch paths (see ``Workspace.attribution_paths``)."""
    # TEMPORARY shim until the front task lands
    return _ws(view).attribution_paths(*args, **kwargs)


def attribution_chain(view, *args: Any, **kwargs: Any):
    """Attribution along the stage chain (see ``Workspace.attribution_chain``)."""
    # TEMPORARY shim until the front task lands
    return _ws(view).attribution_chain(*args, **kwargs)
