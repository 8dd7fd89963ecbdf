"""Parsers, the batch service and the three ingestion paths (HTTP, MQTT, files)."""
