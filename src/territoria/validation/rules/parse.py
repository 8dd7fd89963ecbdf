"""PARSE: a row that cannot be read at all (bad JSON line, wrong number of CSV fields)."""

from __future__ import annotations

from territoria.validation.model import Rule

RULE = Rule("PARSE", "error", "row")
