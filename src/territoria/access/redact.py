"""Keep secrets out of the logs: one-time links and tokens in request lines are masked."""

from __future__ import annotations

import logging
import re

# Paths whose last segment is a secret, and query parameters that may carry one.
SECRET_PATH = re.compile(r"(/(?:invitation|password-reset)/)[^/?\s\"]+")
SECRET_QUERY = re.compile(r"((?:token|secret|password|key)=)[^&\s\"]+", re.IGNORECASE)
BEARER = re.compile(r"\b(trt_)[A-Za-z0-9_-]{8,}")


def redact(text: str) -> str:
    """The text with link secrets, secret query values and API tokens replaced by '…'."""
    text = SECRET_PATH.sub(r"\1…", text)
    text = SECRET_QUERY.sub(r"\1…", text)
    return BEARER.sub(r"\1…", text)


class RedactSecrets(logging.Filter):
    """A filter that masks secrets in a record's message and arguments (uvicorn's access lines)."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite the record in place; never drops it."""
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
        return True


def install() -> None:
    """Attach the filter to the loggers that print request lines and errors (idempotent)."""
    for name in ("uvicorn.access", "uvicorn.error", "territoria"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactSecrets) for f in logger.filters):
            logger.addFilter(RedactSecrets())
