"""Database engine, metadata and dialect helpers shared by every package."""
