"""Organisations, datasets, metric definitions, assets and series."""
