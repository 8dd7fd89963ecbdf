"""Tokens, scopes and the read/ingest policy (extended by the trust framework)."""
