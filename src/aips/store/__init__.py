"""The store: an Ibis backend holding the canonical tables."""

from aips.store.connect import Store, connect

__all__ = ["Store", "connect"]
