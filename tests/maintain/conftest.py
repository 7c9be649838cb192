"""Fixtures of the upkeep tests."""

from __future__ import annotations
