"""Measurement store, rollups and queries."""
