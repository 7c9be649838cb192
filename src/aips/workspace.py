"""The workspace: a store bound to a model; the Python API's front door.

>>> import aips
>>> ws = aips.open(":memory:")
>>> ws.model.timezone, ws.store.kind
('Asia/Shanghai', 'duckdb')
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import ibis

from aips.activation_api import ActivationMixin
from aips.attribution_api import AttributionMixin
from aips.config.model import Model, default_model, load_model
from aips.flows_api import FlowsMixin
from aips.insight_api import InsightMixin
from aips.outcomes_api import OutcomesMixin
from aips.store.connect import Store, connect
from aips.view import View

DEFAULT_MODEL_FILE = "aips.yaml"


def resolve_model(config: Any = None) -> Model:
    """A :class:`Model` from a Model, a YAML path, or ``None`` (``./aips.yaml`` if present, else defaults)."""
    if isinstance(config, Model):
        return config
    if config is None:
        local = Path(DEFAULT_MODEL_FILE)
        return load_model(local) if local.is_file() else default_model()
    return load_model(config)


class Workspace(FlowsMixin, OutcomesMixin, AttributionMixin, ActivationMixin, InsightMixin):
    """A store and the model that interprets it.

    Build one with :func:`aips.open`. Analytic methods return unexecuted Ibis tables;
    call ``.to_pyarrow()``, ``.to_pandas()`` or ``.execute()`` to get results.
    """

    def __init__(self, store: Store, model: Model):
        self.store = store
        self.model = model
        self.view = View(store, model)

    def __repr__(self) -> str:
        return f"Workspace({self.store!r}, level={self.model.level!r}, tz={self.model.timezone!r})"

    @property
    def events(self) -> ibis.Table:
        """The canonical ``events`` table."""
        return self.store.table("events")

    def ingest(self, *paths: str | Path, table: str = "events", **options: Any):
        """Load files into the store; see :func:`aips.ingest.load.ingest_files`.

        Returns an :class:`~aips.ingest.report.IngestReport`.
        """
        from aips.ingest.load import ingest_files

        return ingest_files(self.store, self.model, [Path(p) for p in paths], table=table, **options)

    # --- stage engine (issue 4): each returns an unexecuted Ibis table ---------------------

    def _engine_source(self) -> tuple[ibis.Table, ibis.Table | None]:
        """The stored rollup when it is current (faster), else ``events``; and categories."""
        return self.view.engine_source(), self.view.categories

    def snapshot(self, at: Any, level: str | None = None) -> ibis.Table:
        """Each (user, entity) with its exclusive level on local date ``at``.

        Columns ``user_id``, ``brand`` (at SPU level ``spu``, ``brand``), ``stage``.
        """
        return self.view.snapshot(at, level=level)

    def assets(
        self, at: Any, by: str = "brand", cumulative: bool = False, level: str | None = None
    ) -> ibis.Table:
        """Users per entity and stage on ``at``: ``brand`` (or ``spu``, ``brand``), ``stage``, ``users``.

        ``by`` (or ``level``, which wins) is ``brand`` or ``spu``; ``cumulative`` counts
        users at or above each stage.
        """
        from aips.engine.snapshot import assets

        level = level or by
        return assets(self.snapshot(at, level=level), level, cumulative=cumulative)

    def seeded_crowd(self, at: Any, level: str | None = None) -> ibis.Table:
        """The seeded crowd (exclusive I plus TI) per entity: ``stage`` is ``I+TI``."""
        from aips.engine.stages import entity_keys, resolve_level, seeded_assets

        level = resolve_level(self.model, level)
        return seeded_assets(self.assets(at, level=level), entity_keys(level))

    def timelines(self, level: str | None = None) -> ibis.Table:
        """Per (user, entity) the maximal intervals of constant level.

        Columns ``user_id``, entity keys, ``start_date``, ``end_date`` (inclusive), ``stage``.
        """
        return self.view.timelines(level=level)

    def asset_series(
        self, start: Any, end: Any, freq: str = "day", level: str | None = None
    ) -> ibis.Table:
        """Users per entity x stage for each day (``week``: each ISO week's last day) of a range.

        Read from ``asset_history`` when it covers the range and is current, else computed
        from timelines. Columns ``date``, entity keys, ``stage``, ``users`` (zeros included).
        """
        from aips.engine.series import asset_series
        from aips.maintain.history import history_is_current, read_history

        start, end = _as_date(start), _as_date(end)
        if history_is_current(self.store, self.model, level):
            stored = read_history(self.store, self.model, start, end, freq, level=level)
            if stored is not None:
                return stored
        source, cats = self._engine_source()
        return asset_series(source, self.model, start, end, freq, level=level, categories=cats)

    def update_series(self, level: str | None = None):
        """Extend the stored ``asset_history`` to the last day with events (idempotent)."""
        from aips.maintain.history import update_history

        return update_history(self.store, self.model, level=level)

    def backfill_series(self, start: Any, end: Any, level: str | None = None):
        """Recompute the stored ``asset_history`` for a range (one sweep)."""
        from aips.maintain.history import backfill_history

        return backfill_history(self.store, self.model, _as_date(start), _as_date(end), level=level)

    def refresh_counters(self, dates: Any = None):
        """Build or incrementally refresh the stored ``counters_daily`` rollup."""
        from aips.maintain.rollup import refresh_counters

        days = None if dates is None else [_as_date(d) for d in dates]
        return refresh_counters(self.store, self.model, days)

    def close(self) -> None:
        """Release the store (its file lock)."""
        self.store.close()

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _as_date(value: Any) -> dt.date:
    """A local date from a ``date`` or an ISO string (``2024-03-01``)."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        from aips.exceptions import ConfigError

        raise ConfigError(f"not a date: {value!r} (expected YYYY-MM-DD)") from None


def open_workspace(store: Any = None, config: Any = None) -> Workspace:
    """Open a workspace: ``aips.open(store=None, config=None)``.

    Args:
        store: see :func:`aips.store.connect` (default ``$AIPS_STORE`` or ``./aips.duckdb``).
        config: a YAML path or a :class:`Model` (default ``./aips.yaml`` or the shipped model).
    """
    return Workspace(connect(store), resolve_model(config))
