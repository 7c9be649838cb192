"""The interactive dashboard (``aips serve``): the report's charts with pickers and drill-down.

Brand, period and level (brand or SPU) pickers drive the same sections and charts as the
HTML report (:mod:`aips.reporting.sections`, :mod:`aips.reporting.charts`). The headline
cards, stages, trend and flows come first; the slower sections (decision cycles, ROI,
attribution, creators, diagnosis, portrait, content) load after them, each behind a
spinner. Clicking a stage bar or a Sankey link shows that audience below the charts (its
size and the first ids, SHA-256 hashed) with a button that downloads it as CSV.

The page is built in :mod:`aips.dashboard.layout`, its callbacks in
:mod:`aips.dashboard.callbacks`. Dash is imported only through :mod:`aips._compat.dash`.
"""

from __future__ import annotations

from typing import Any

from aips.dashboard.callbacks import parse_selection, register_all
from aips.dashboard.layout import CSS, INDEX, PANELS, build_layout

__all__ = ["CSS", "INDEX", "PANELS", "create_app", "parse_selection"]


def create_app(store: Any = None, config: Any = None, *, password: str | None = None, token: str | None = None,
               lang: str = "en", brand: str | None = None, service=None, spark: Any = None):
    """The Dash app over a store (see the module docstring).

    Args:
        store, config: what :func:`aips.open` takes.
        password, token: required on every request when given (see :mod:`aips.dashboard.security`).
        lang: the starting language (``en`` or ``zh``).
        brand: the starting brand (default: the brand with the most events).
        service: a :class:`~aips.dashboard.service.DataService` to share (tests, notebooks).
        spark: a Spark store's warehouse, database and settings
            (:class:`aips.store.spark.SparkOptions`: ``aips serve --warehouse/--database/--conf``).
    """
    from aips._compat.dash import load_dash
    from aips.dashboard.security import install_auth
    from aips.dashboard.service import DataService

    d = load_dash()
    svc = service or DataService(store, config, spark=spark)
    brand_list = svc.brands()
    if not brand_list:
        from aips.exceptions import AipsError

        raise AipsError(f"the store {svc.ws.store.location} has no events yet (load data first: aips ingest FILE)")
    if brand is not None and brand not in brand_list:
        from aips.exceptions import ConfigError

        raise ConfigError(f"no events of brand {brand!r} in the store (brands: {', '.join(brand_list[:20])})")
    first, last = svc.data_range()
    app = d.dash.Dash(__name__, title="aips dashboard", update_title=None, serve_locally=True,
                      suppress_callback_exceptions=True)
    app.index_string = INDEX
    app.aips_password, app.aips_token, app.aips_service = password, token, svc
    install_auth(app.server, password, token)
    app.layout = build_layout(d, brand_list, brand, first, last, svc.period(), lang)
    register_all(app, d, svc)
    return app
