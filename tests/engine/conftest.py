"""Engine tests run on every backend of the ``store`` fixture (tests/conftest.py)."""

from __future__ import annotations
