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


def _forbidden_case(case: Any) -> bool:
    """Point the case at the operator's private dataset; False when the path names no dataset."""
    params = case.path_parameters or {}
    if "slug" not in params:
        return False
    params["slug"] = "lights"
    return True


@schema.parametrize()
@settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck))
def test_never_a_success_on_a_forbidden_dataset(case: Any) -> None:
    """Whatever the query, body or method: another operator and anonymous callers never get a 2xx."""
    if not _forbidden_case(case):
        return
    for headers in (WORLD.other, {}, {"Authorization": "Bearer trt_forged"}):
        response = case.call(headers=headers)
        assert response.status_code < 500, response.text
        assert not 200 <= response.status_code < 300, (case.method, case.formatted_path, response.text[:200])
