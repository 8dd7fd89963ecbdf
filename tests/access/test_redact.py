"""Secrets never reach the logs: links, query secrets and API tokens are masked in request lines."""

from __future__ import annotations

import logging

import pytest

from territoria.access import redact


@pytest.mark.parametrize(
    ("line", "secret"),
    [
        ('"GET /invitation/AbCdEf0123456789xyz HTTP/1.1" 200', "AbCdEf0123456789xyz"),
        ('"POST /password-reset/s3cr3t-v4lue_ok?lang=fr HTTP/1.1" 303', "s3cr3t-v4lue_ok"),
        ('"GET /api/v1/x?token=trt_abcdefgh1234&lang=en HTTP/1.1"', "trt_abcdefgh1234"),
        ("Authorization: Bearer trt_0123456789abcdefXYZ", "0123456789abcdefXYZ"),
    ],
)
def test_redact_masks_secrets(line: str, secret: str) -> None:
    assert secret not in redact.redact(line)
    assert "…" in redact.redact(line)


def test_uvicorn_access_lines_are_redacted(caplog: pytest.LogCaptureFixture) -> None:
    redact.install()
    redact.install()  # idempotent
    logger = logging.getLogger("uvicorn.access")
    assert sum(isinstance(f, redact.RedactSecrets) for f in logger.filters) == 1
    with caplog.at_level(logging.INFO, logger="uvicorn.access"):
        logger.info('%s - "%s %s HTTP/%s" %d', "127.0.0.1", "GET", "/invitation/TOPSECRET123", "1.1", 200)
    assert "TOPSECRET123" not in caplog.text and "/invitation/…" in caplog.text
