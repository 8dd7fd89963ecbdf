"""MQTT messages to ingest batches: payload parsing, one batch per dataset, blocking DB work.

Everything here runs in a worker thread; nothing acknowledges anything (the caller acks a
message once the group holding it is committed).
"""

from __future__ import annotations

import hashlib
import itertools
import logging
import time
from dataclasses import dataclass, field, fields
from typing import Any, Literal

import orjson
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from territoria.catalog.errors import DatasetNotFound
from territoria.catalog.service import get_dataset
from territoria.context import Context
from territoria.ingest.batches import Origin, raw_text
from territoria.ingest.models import DeadLetter
from territoria.ingest.mqtt_link import Delivery
from territoria.ingest.parsers import BadRow, Row
from territoria.ingest.schemas import BatchResult
from territoria.ingest.service import ingest_measurements
from territoria.timeseries.store import ConcurrentWrite
from territoria.validation.limits import MAX_DEPTH, bytes_text, printable, row_problem, safe_text, strip_bom

log = logging.getLogger(__name__)

TOPIC_ROOT = "territoria"
MAX_PAYLOAD_BYTES = 50 * 1024 * 1024  # as the HTTP body limit: larger payloads are quarantined, cut
CONCURRENT_RETRIES = 3
EXAMPLE = '{"ts": "2026-01-01T00:00:00Z", "value": 1.5}'
# The row problems' messages, said with the topic the row came on.
ON_TOPIC = {
    "finding.ENCODING.nul": "finding.ENCODING.nul.topic",
    "finding.PARSE.deep": "finding.PARSE.deep.topic",
}


@dataclass(slots=True)
class Message:
    """A received message read into rows: asset and metric come from the topic."""

    delivery: Delivery
    dataset: str
    rows: list[dict[str, Any] | BadRow]
    seq: int = 0  # arrival order: acknowledgements go out in it


def read_message(delivery: Delivery, max_bytes: int = MAX_PAYLOAD_BYTES) -> Message:
    """Topic territoria/{dataset}/{asset}/{metric}, payload one JSON object or an array of them.

    Never raises: whatever the payload (too large, not JSON, nested too deep), it becomes rows or bad
    rows, so that a message can always be stored or quarantined and acknowledged.
    """
    levels = delivery.topic.split("/")
    if len(levels) != 4 or levels[0] != TOPIC_ROOT:
        return Message(delivery, "", [])
    _, dataset, asset, metric = levels
    payload = strip_bom(delivery.payload)
    if len(payload) > max_bytes:
        params: dict[str, Any] = {"size": len(payload), "topic": delivery.topic, "limit": max_bytes}
        bad = BadRow.coded(bytes_text(payload), "PARSE", "finding.MQTT.too_large", params)
        return Message(delivery, dataset, [bad])
    try:
        doc = orjson.loads(payload)
    except orjson.JSONDecodeError as exc:
        params = {"topic": delivery.topic, "reason": str(exc)}
        bad = BadRow.coded(bytes_text(payload), "PARSE", "finding.MQTT.not_json", params)
        return Message(delivery, dataset, [bad])
    # More opening brackets than levels allowed is the only way to nest too deep: walk only then.
    check = payload.count(b"{") + payload.count(b"[") > MAX_DEPTH or b"\\u0000" in payload
    rows: list[dict[str, Any] | BadRow] = []
    for item in doc if isinstance(doc, list) else (doc,):
        if not isinstance(item, dict):
            params = {"example": EXAMPLE, "topic": delivery.topic}
            rows.append(BadRow.coded(safe_text(item), "TYPE", "finding.MQTT.not_object", params))
        elif check and (problem := row_problem(item)) is not None:
            code, message, values = problem
            # The same reason, said with the topic it came on.
            params = values | {"topic": delivery.topic}
            rows.append(BadRow.coded(safe_text(item), code, ON_TOPIC[message], params))
        else:
            item["asset"] = asset  # the topic wins over the payload; the dict is ours (fresh from orjson)
            item["metric"] = metric
            rows.append(item)
    return Message(delivery, dataset, rows)


@dataclass
class Group:
    """The messages of one dataset in a micro-batch: one ingest batch, one transaction."""

    dataset: str
    messages: list[Message] = field(default_factory=list)
    attempts: int = 0
    error: str = ""  # the last non-transient failure
    due: float = 0.0  # monotonic time of the next attempt, when it failed

    def split(self) -> list[Group]:
        """One group per message, carrying the failure so far (isolates a failing message)."""
        return [Group(self.dataset, [m], self.attempts, self.error) for m in self.messages]

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


Status = Literal["stored", "unroutable", "dead", "failed"]


@dataclass
class Outcome:
    """What became of one group: stored (or quarantined), unroutable or dead-lettered (acked), or
    failed (not acked, tried again later)."""

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
    """Every row of a group turned into a quarantined row carrying the failure (raw text never fails)."""
    fr = f"n'a pas pu être enregistré : {why}"
    return [(n, BadRow(raw_text(row), "INGEST_FAILED", why, fr)) for n, row in group.rows()]


def _dead_letter(ctx: Context, group: Group) -> Outcome:
    """Keep the group's messages as received in ingest_dead_letter: the last resort, then acked."""
    with ctx.session(write=True) as session:
        session.add_all(
            DeadLetter(
                source="mqtt",
                topic=printable(m.delivery.topic, 1000),
                dataset=printable(group.dataset, 200),
                payload=bytes(m.delivery.payload),
                error=printable(group.error or "unknown error", 2000),
                attempts=group.attempts,
            )
            for m in group.messages
        )
    log.error(
        "mqtt: %d message(s) of dataset '%s' dead-lettered after %d attempts: %s",
        len(group.messages),
        group.dataset,
        group.attempts,
        group.error,
    )
    return Outcome(group, "dead", reason=group.error)


def commit_group(ctx: Context, group: Group, *, quarantine_after: int) -> Outcome:
    """Store one group; after `quarantine_after` non-transient failures quarantine its rows instead,
    and when even that fails keep its messages in the dead-letter table."""
    group.attempts += 1
    try:
        if group.attempts > quarantine_after + 1 and group.error:
            return _dead_letter(ctx, group)
        if group.attempts > quarantine_after and group.error:
            # A group that fails for a reason other than the database being unavailable would block
            # the subscription forever: its rows go to the quarantine with the reason, to be replayed.
            why = f"could not be stored after {quarantine_after} attempts: {group.error}"[:500]
            return _ingest(ctx, group, _as_bad_rows(group, why))
        return _ingest(ctx, group, group.rows())
    except Exception as exc:
        transient = is_transient(exc)
        if not transient:
            group.error = printable(f"{type(exc).__name__}: {exc}".splitlines()[0], 300)
            log.exception("mqtt: batch for dataset '%s' failed (attempt %d)", group.dataset, group.attempts)
            # A failed transaction may leave per-connection state behind (cached temporary tables
            # that its rollback removed): the retry starts on fresh connections.
            ctx.engine.dispose()
        return Outcome(group, "failed", reason=f"{type(exc).__name__}: {exc}", transient=transient)


def commit_groups(ctx: Context, groups: list[Group], *, quarantine_after: int) -> list[Outcome]:
    """Store each group in its own transaction; one failing dataset does not hold back the others."""
    return [commit_group(ctx, g, quarantine_after=quarantine_after) for g in groups]


@dataclass
class WorkerStats:
    """Counters since the worker started."""

    messages: int = 0  # messages received and handled (acked or left for redelivery)
    rows: int = 0  # rows handed to the batch service
    batches: int = 0  # ingest batches committed
    accepted: int = 0  # rows stored or recognised as already stored
    duplicates: int = 0  # of which already stored (redeliveries, repeats)
    rejected: int = 0  # rows quarantined
    dead_letters: int = 0  # messages neither stored nor quarantined, kept in ingest_dead_letter and acked
    unroutable: int = 0  # messages for no known timeseries dataset: warned, acked, nothing stored
    acked: int = 0
    unacked: int = 0  # messages left to the broker (failed commit at shutdown, lost connection)
    failures: int = 0  # failed commit attempts
    connects: int = 0
    started: float = field(default_factory=time.monotonic)

    def snapshot(self) -> dict[str, float]:
        """The counters as a dict."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


def status_line(s: dict[str, float], prev: dict[str, float], span: float) -> str:
    """The worker's status: rates since `prev` over `span` seconds, then totals."""
    messages, rows = (s["messages"] - prev["messages"]) / span, (s["rows"] - prev["rows"]) / span
    rate = f"{messages:.0f} msg/s, {rows:.0f} rows/s"
    totals = ", ".join(
        f"{label} {s[name]:.0f}"
        for label, name in (
            ("batches", "batches"),
            ("accepted", "accepted"),
            ("already stored", "duplicates"),
            ("rejected", "rejected"),
            ("unroutable", "unroutable"),
            ("dead letters", "dead_letters"),
            ("unacked", "unacked"),
            ("failed commits", "failures"),
            ("connects", "connects"),
        )
    )
    return f"{rate} | {totals}"
