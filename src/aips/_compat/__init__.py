"""Adapters for optional dependencies: each is imported in exactly one place, with an install hint."""
