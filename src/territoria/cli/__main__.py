"""`python -m territoria.cli …`, the same as the `territoria` command."""

from territoria.cli.main import app

app()
