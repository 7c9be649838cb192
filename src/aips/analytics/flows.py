"""Flows over a view (TEMPORARY shim until the front task lands).

The front task writes the real functions here; these delegate to the Workspace methods.
"""

from __future__ import annotations

from typing import Any


def _ws(view):
    # TEMPORARY shim until the front task lands
    from aips.workspace import Workspace

    return Workspace(view.store, view.model)


def flows(view, *args: Any, **kwargs: Any):
    """Each (user, entity) with a level at t0 or t1 (see ``Workspace.flows``)."""
    # TEMPORARY shim until the front task lands
    return _ws(view).flows(*args, **kwargs)


def flow_matrix(view, *args: Any, **kwargs: Any):
    """The Sankey (see ``Workspace.flow_matrix``)."""
    # TEMPORARY shim until the front task lands
    return _ws(view).flow_matrix(*args, **kwargs)


def flow_rates(view, *args: Any, **kwargs: Any):
    """Flow rates per stage (see ``Workspace.flow_rates``)."""
    # TEMPORARY shim until the front task lands
    return _ws(view).flow_rates(*args, **kwargs)
