"""Property-based requests over the whole OpenAPI, with and without a token: never a 5xx."""

from __future__ import annotations

import atexit
import shutil
import tempfile
from pathlib import Path
from typing import Any

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from tests.conftest import build_world, sqlite_context

# Built at import: schemathesis parametrizes tests from the schema when the module is collected.
_TMP = Path(tempfile.mkdtemp(prefix="territoria-fuzz-"))
atexit.register(shutil.rmtree, _TMP, ignore_errors=True)
WORLD = build_world(sqlite_context(_TMP), assets=5)
schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", WORLD.client.app)


@schema.parametrize()
@settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_server_error(case: Any) -> None:
    """With the operator's token, anonymously and with a forged token."""
    for headers in (WORLD.operator, {}, {"Authorization": "Bearer trt_forged"}):
        case.call_and_validate(headers=headers, checks=[not_a_server_error])
