"""Server-rendered HTML pages (Jinja2 templates, vendored static files, French and English)."""
