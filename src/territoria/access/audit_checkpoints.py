"""Signed checkpoints of the audit chain's head, kept outside the database.

A checkpoint says "on this database, at this time, the chain held `count` events and event `seq`
had hash `head`", signed with an HMAC under a key the database does not hold. Deleting the last
events, or all of them, leaves the table shorter than a checkpoint says; rewriting the chain
changes the hash a checkpoint recorded. One JSON object a line, appended (never rewritten): keep
the file where the database's writers cannot reach it, or ship it to a log server.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Engine, select
from sqlalchemy.engine import Connection

from territoria.access.audit_chain import checkpoint_key, iso, same_hash
from territoria.access.audit_models import AuditEvent
from territoria.settings import Settings

log = logging.getLogger(__name__)
FORMAT = 1


@dataclass(frozen=True)
class Checkpoint:
    """One signed statement of the chain's head."""

    database: str
    seq: int
    count: int
    head: str
    at: str
    reason: str
    line: int = 0  # where it was read (1-based), for messages


def database_id(bind: Engine | Connection) -> str:
    """Which database a checkpoint is about: a hash of its address, whoever connects and with which driver.

    The application's role and an auditor's role (TERRITORIA_DATABASE_URL with other credentials) see
    the same checkpoints; the query (e.g. a PostgreSQL search_path) tells schemas apart.
    """
    url = bind.engine.url
    query = "&".join(f"{k}={v}" for k, v in sorted(url.query.items()))
    where = f"{url.get_backend_name()}://{url.host or ''}:{url.port or ''}/{url.database or ''}?{query}"
    return hashlib.sha256(where.encode("utf-8")).hexdigest()[:16]


def _body(database: str, seq: int, count: int, head: str, at: str, reason: str) -> dict[str, Any]:
    """The signed fields."""
    return {
        "format": FORMAT,
        "database": database,
        "seq": seq,
        "count": count,
        "head": head,
        "at": at,
        "reason": reason,
    }


def _mac(settings: Settings, body: dict[str, Any]) -> str:
    """HMAC-SHA256 of the canonical body."""
    data = orjson.dumps(body, option=orjson.OPT_SORT_KEYS)
    return hmac.new(checkpoint_key(settings), data, hashlib.sha256).hexdigest()


def write_checkpoint(settings: Settings, bind: Engine | Connection, seq: int, head: str, reason: str) -> None:
    """Append one signed checkpoint (one write of one line, so concurrent writers do not interleave)."""
    body = _body(database_id(bind), seq, seq, head, iso(datetime.now(UTC)), reason)
    line = orjson.dumps({**body, "mac": _mac(settings, body)}, option=orjson.OPT_SORT_KEYS) + b"\n"
    path = settings.audit_checkpoints_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
    try:
        os.write(fd, line)
    finally:
        os.close(fd)


@dataclass(frozen=True)
class CheckpointFile:
    """The checkpoints of one database read from the file, and the lines that do not hold."""

    checkpoints: list[Checkpoint]
    bad_lines: list[int]

    @property
    def last(self) -> Checkpoint | None:
        """The checkpoint with the most events."""
        return max(self.checkpoints, key=lambda c: c.count, default=None)


def _parse(settings: Settings, raw: bytes, number: int) -> Checkpoint | None:
    """A line's checkpoint, or None when it is not one signed with our key."""
    try:
        data = orjson.loads(raw)
        body = _body(
            str(data["database"]),
            int(data["seq"]),
            int(data["count"]),
            str(data["head"]),
            str(data["at"]),
            str(data["reason"]),
        )
        if data.get("format") != FORMAT or not same_hash(_mac(settings, body), str(data["mac"])):
            return None
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
        return None
    return Checkpoint(
        body["database"], body["seq"], body["count"], body["head"], body["at"], body["reason"], number
    )


def read_checkpoints(settings: Settings, bind: Engine | Connection) -> CheckpointFile:
    """Every checkpoint of this database; a line that is not validly signed is a bad line."""
    path: Path = settings.audit_checkpoints_path()
    if not path.exists():
        return CheckpointFile([], [])
    wanted = database_id(bind)
    found: list[Checkpoint] = []
    bad: list[int] = []
    with path.open("rb") as lines:
        for number, raw in enumerate(lines, start=1):
            if not raw.strip():
                continue
            checkpoint = _parse(settings, raw, number)
            if checkpoint is None:
                bad.append(number)
            elif checkpoint.database == wanted:
                found.append(checkpoint)
    return CheckpointFile(found, bad)


def committed_hash(engine: Engine, seq: int) -> str | None:
    """The hash of event `seq` as committed now, read on a connection of its own."""
    with engine.connect() as conn:
        value = conn.execute(select(AuditEvent.hash).where(AuditEvent.id == seq)).scalar()
    return value if isinstance(value, str) else None


def checkpoint_committed(settings: Settings, engine: Engine, seq: int, head: str, reason: str) -> None:
    """After a commit: checkpoint event `seq` if it is really stored with that hash (never fails)."""
    try:
        if committed_hash(engine, seq) == head:
            write_checkpoint(settings, engine, seq, head, reason)
    except Exception:  # a checkpoint must not fail what was committed; verify says what is missing
        log.exception("could not write the audit checkpoint of event %d", seq)
