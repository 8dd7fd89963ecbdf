"""FastAPI application factory, error mapping and router assembly."""
