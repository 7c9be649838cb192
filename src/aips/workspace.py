"""The workspace: a store bound to a model; the Python API's front door.

>>> import aips
>>> ws = aips.open(":memory:")
>>> ws.model.timezone, ws.store.kind
('Asia/Shanghai', 'duckdb')
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import ibis

from aips.config.model import Model, default_model, load_model
from aips.store.connect import Store, connect

DEFAULT_MODEL_FILE = "aips.yaml"


def resolve_model(config: Any = None) -> Model:
    """A :class:`Model` from a Model, a YAML path, or ``None`` (``./aips.yaml`` if present, else defaults)."""
    if isinstance(config, Model):
        return config
    if config is None:
        local = Path(DEFAULT_MODEL_FILE)
        return load_model(local) if local.is_file() else default_model()
    return load_model(config)


class Workspace:
    """A store and the model that interprets it.

    Build one with :func:`aips.open`. Analytic methods return unexecuted Ibis tables;
    call ``.to_pyarrow()``, ``.to_pandas()`` or ``.execute()`` to get results.
    """

    def __init__(self, store: Store, model: Model):
        self.store = store
        self.model = model

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

    def close(self) -> None:
        """Release the store (its file lock)."""
        self.store.close()

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_workspace(store: Any = None, config: Any = None) -> Workspace:
    """Open a workspace: ``aips.open(store=None, config=None)``.

    Args:
        store: see :func:`aips.store.connect` (default ``$AIPS_STORE`` or ``./aips.duckdb``).
        config: a YAML path or a :class:`Model` (default ``./aips.yaml`` or the shipped model).
    """
    return Workspace(connect(store), resolve_model(config))
