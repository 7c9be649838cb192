"""The only place Dash is imported: the dashboard's optional dependency.

>>> callable(load_dash)
True
"""

from __future__ import annotations

from types import SimpleNamespace

from aips.exceptions import MissingDependencyError

INSTALL_HINT = ("the dashboard needs Dash: pip install 'aips[app]' "
                "(in a clone of the repository: pip install -e '.[app]', or make demo)")


def load_dash() -> SimpleNamespace:
    """``dash`` and its component modules: ``dash, dcc, html, Input, Output, State, ctx,
    no_update, dash_table``; a :class:`~aips.exceptions.MissingDependencyError` with the
    install hint when Dash is missing."""
    try:
        import dash
        from dash import ALL, Input, Output, State, ctx, dash_table, dcc, html, no_update
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise MissingDependencyError(INSTALL_HINT) from err
    return SimpleNamespace(dash=dash, dcc=dcc, html=html, Input=Input, Output=Output, State=State,
                           ctx=ctx, no_update=no_update, dash_table=dash_table, ALL=ALL)

