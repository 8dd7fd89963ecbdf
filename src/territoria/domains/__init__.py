"""Domain modules built on the spine (ingest, quality, access, analytics, open data)."""
