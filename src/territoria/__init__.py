"""Territoria: public control of the data of a territory's networks."""

__version__ = "0.1.0"
