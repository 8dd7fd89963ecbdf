"""Row and asset rules, one module each: pure functions over values, run at ingest."""
