"""MQTT messages to ingest batches: payload parsing, one batch per dataset, blocking DB work.

Everything here runs in a worker thread; nothing acknowledges anything (the caller acks a
message once the group holding it is committed).
"""

from __future__ import annotations

import hashlib
import itertools
import logging
from dataclasses import dataclass, field
from typing import Any, Literal

import orjson
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from territoria.catalog.errors import DatasetNotFound
from territoria.catalog.service import get_dataset
from territoria.context import Context
from territoria.ingest.batches import Origin
from territoria.ingest.mqtt_link import Delivery
from territoria.ingest.parsers import BadRow, Row
from territoria.ingest.schemas import BatchResult
from territoria.ingest.service import ingest_measurements
from territoria.timeseries.store import ConcurrentWrite

log = logging.getLogger(__name__)

TOPIC_ROOT = "territoria"
MAX_RAW_CHARS = 64 * 1024  # quarantined payloads are cut here: a broken 10 MB payload is still kept readable
CONCURRENT_RETRIES = 3
EXAMPLE = '{"ts": "2026-01-01T00:00:00Z", "value": 1.5}'


@dataclass(slots=True)
class Message:
    """A received message read into rows: asset and metric come from the topic."""

    delivery: Delivery
    dataset: str
    rows: list[dict[str, Any] | BadRow]


def _raw(payload: bytes) -> str:
    """A payload as text for the quarantine, cut to a readable size."""
    text = payload[:MAX_RAW_CHARS].decode("utf-8", "backslashreplace")
    return text + ("…[truncated]" if len(payload) > MAX_RAW_CHARS else "")


def read_message(delivery: Delivery) -> Message:
    """Topic territoria/{dataset}/{asset}/{metric}, payload one JSON object or an array of them."""
    levels = delivery.topic.split("/")
    if len(levels) != 4 or levels[0] != TOPIC_ROOT:
        return Message(delivery, "", [])
    _, dataset, asset, metric = levels
    try:
        doc = orjson.loads(delivery.payload)
    except orjson.JSONDecodeError as exc:
        bad = BadRow(_raw(delivery.payload), "PARSE", f"payload on {delivery.topic} is not JSON: {exc}")
        return Message(delivery, dataset, [bad])
    rows: list[dict[str, Any] | BadRow] = []
    for item in doc if isinstance(doc, list) else (doc,):
        if isinstance(item, dict):
            item["asset"] = asset  # the topic wins over the payload; the dict is ours (fresh from orjson)
            item["metric"] = metric
            rows.append(item)
        else:
            raw = _raw(orjson.dumps(item))
            rows.append(BadRow(raw, "TYPE", f"expected an object such as {EXAMPLE} on {delivery.topic}"))
    return Message(delivery, dataset, rows)


@dataclass
class Group:
    """The messages of one dataset in a micro-batch: one ingest batch, one transaction."""

    dataset: str
    messages: list[Message] = field(default_factory=list)
    attempts: int = 0
    error: str = ""

    def rows(self) -> list[Row]:
        """Rows numbered from 1 across the group's messages, in arrival order."""
        return list(enumerate(itertools.chain.from_iterable(m.rows for m in self.messages), start=1))

    def checksum(self) -> str:
        """SHA-256 of the payloads, in order."""
        digest = hashlib.sha256()
        for message in self.messages:
            digest.update(message.delivery.payload)
        return digest.hexdigest()


def group_by_dataset(messages: list[Message]) -> list[Group]:
    """One group per dataset, in order of first appearance."""
    groups: dict[str, Group] = {}
    for message in messages:
        group = groups.get(message.dataset)
        if group is None:
            group = groups[message.dataset] = Group(message.dataset)
        group.messages.append(message)
    return list(groups.values())


Status = Literal["stored", "unroutable", "failed"]


@dataclass
class Outcome:
    """What became of one group: stored (or quarantined), unroutable (acked), or failed (not acked)."""

    group: Group
    status: Status
    result: BatchResult | None = None
    reason: str = ""
    transient: bool = False


def is_transient(exc: BaseException) -> bool:
    """Errors worth retrying as they are: database down or busy, lost connection, racing writer."""
    if isinstance(exc, ConcurrentWrite | OperationalError | InterfaceError | TimeoutError | ConnectionError):
        return True
    return isinstance(exc, DBAPIError) and bool(exc.connection_invalidated)


def _ingest(ctx: Context, group: Group, rows: list[Row]) -> Outcome:
    """One transaction for one group (retried when a concurrent writer raced on the same points)."""
    for attempt in range(CONCURRENT_RETRIES):
        try:
            with ctx.session(write=True) as session:
                ds = get_dataset(session, group.dataset)
                if ds.kind != "timeseries":
                    reason = f"dataset '{group.dataset}' holds records; MQTT carries measurements only"
                    return Outcome(group, "unroutable", reason=reason)
                origin = Origin(source="mqtt", organisation_id=ds.owner_id, content_type="application/json")
                result = ingest_measurements(
                    session,
                    ds,
                    rows,
                    origin,
                    checksum=group.checksum(),
                    future_tolerance_s=ctx.settings.future_tolerance_s,
                )
            return Outcome(group, "stored", result)
        except DatasetNotFound:
            reason = (
                f"dataset '{group.dataset}' does not exist" if group.dataset else "topic outside the contract"
            )
            return Outcome(group, "unroutable", reason=reason)
        except ConcurrentWrite:
            if attempt == CONCURRENT_RETRIES - 1:
                raise
    raise AssertionError("unreachable")


def _as_bad_rows(group: Group, why: str) -> list[Row]:
    """Every row of a group turned into a quarantined row carrying the failure."""
    out: list[Row] = []
    for n, row in group.rows():
        raw = row.raw if isinstance(row, BadRow) else orjson.dumps(row, default=str).decode()
        out.append((n, BadRow(raw, "INGEST_FAILED", why)))
    return out


def commit_group(ctx: Context, group: Group, *, quarantine_after: int) -> Outcome:
    """Store one group; after `quarantine_after` non-transient failures, quarantine its rows instead."""
    group.attempts += 1
    try:
        if group.attempts > quarantine_after and group.error:
            # A group that fails for a reason other than the database being unavailable would block
            # the subscription forever: its rows go to the quarantine with the reason, to be replayed.
            why = f"could not be stored after {quarantine_after} attempts: {group.error}"[:500]
            return _ingest(ctx, group, _as_bad_rows(group, why))
        return _ingest(ctx, group, group.rows())
    except Exception as exc:
        transient = is_transient(exc)
        if not transient:
            group.error = f"{type(exc).__name__}: {exc}".splitlines()[0][:300]
            log.exception("mqtt: batch for dataset '%s' failed (attempt %d)", group.dataset, group.attempts)
            # A failed transaction may leave per-connection state behind (cached temporary tables
            # that its rollback removed): the retry starts on fresh connections.
            ctx.engine.dispose()
        return Outcome(group, "failed", reason=f"{type(exc).__name__}: {exc}", transient=transient)


def commit_groups(ctx: Context, groups: list[Group], *, quarantine_after: int) -> list[Outcome]:
    """Store each group in its own transaction; one failing dataset does not hold back the others."""
    return [commit_group(ctx, g, quarantine_after=quarantine_after) for g in groups]
