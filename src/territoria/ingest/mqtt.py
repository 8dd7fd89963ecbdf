"""The `territoria mqtt` worker: QoS 1 subscription, micro-batches, acknowledgement after commit.

Topic `territoria/{dataset}/{asset}/{metric}`, payload `{"ts": "...", "value": 1.5}` or a JSON array of
such objects. Messages are grouped into micro-batches (`mqtt_batch_size` rows or `mqtt_batch_wait_ms`),
each dataset of a micro-batch is one ingest batch (source "mqtt") in one transaction, and a message is
acknowledged only once its batch is committed: a crash, a lost connection or a failed commit leaves it
with the broker, which delivers it again to the same persistent session (duplicates are recognised by
the batch service and never stored twice).

A group that fails waits for its next attempt (with backoff) while the other datasets go on being
received and stored; a multi-message group failing for a non-transient reason is split at once into
single messages, so that only the failing one waits. After QUARANTINE_AFTER such failures its rows go
to the quarantine, and if even that fails the messages go as received to `ingest_dead_letter`; either
way they are then acknowledged, so that no message is delivered again forever.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import random
import signal
import socket
import time
from collections.abc import Callable

from territoria.context import Context
from territoria.ingest.mqtt_batch import (
    Group,
    Message,
    Outcome,
    WorkerStats,
    commit_groups,
    group_by_dataset,
    read_message,
    status_line,
)
from territoria.ingest.mqtt_link import (
    RECEIVE_MAXIMUM_LIMIT,
    LinkError,
    MqttLink,
    parse_broker_url,
)
from territoria.ingest.schemas import BatchResult
from territoria.process import tune_gc

log = logging.getLogger("territoria.mqtt")

TOPIC_FILTER = "territoria/+/+/+"
SHARE_GROUP = "territoria"
SESSION_EXPIRY_S = 7 * 24 * 3600  # how long the broker keeps queuing for a stopped worker
QUARANTINE_AFTER = 3  # attempts before a group failing for a non-transient reason goes to quarantine
# (then one attempt at the quarantine, then the dead-letter table: bounded, and then acknowledged)
RETRY_BASE_S = 0.5  # first wait before a failed group is tried again, doubled each time …
RETRY_MAX_S = 30.0  # … up to this
POLL_S = (
    0.005  # while a micro-batch is open and nothing is queued: cheap polling beats one wake-up per message
)
UNROUTABLE_WARN_EVERY_S = 60.0

OnBatch = Callable[[BatchResult], object]


def topic_filter(shared: bool, group: str = SHARE_GROUP) -> str:
    """The subscription: plain, or shared by every worker of the group (`$share/…`) to scale out."""
    return f"$share/{group}/{TOPIC_FILTER}" if shared else TOPIC_FILTER


class MqttWorker:
    """Subscribes, batches, commits and acknowledges until stopped; reconnects with backoff."""

    def __init__(
        self,
        ctx: Context,
        url: str | None = None,
        *,
        shared: bool = False,
        share_group: str = SHARE_GROUP,
        client_id: str | None = None,
        stop: asyncio.Event | None = None,
        on_batch: OnBatch | None = None,
        session_expiry_s: int = SESSION_EXPIRY_S,
        status_every_s: float = 5.0,
        keepalive: int = 30,
    ) -> None:
        settings = ctx.settings
        self.ctx = ctx
        self.address = parse_broker_url(url or settings.mqtt_url)
        self.topic = topic_filter(shared, share_group)
        self.other_topic = topic_filter(not shared, share_group)
        default_id = settings.mqtt_client_id
        if shared and client_id is None:
            # Every member of a share group needs its own persistent session, stable across restarts.
            default_id = f"{default_id}-{socket.gethostname()}"
        self.client_id = client_id or default_id
        self.stop = stop or asyncio.Event()
        self.on_batch = on_batch
        self.session_expiry_s = session_expiry_s
        self.status_every_s = status_every_s
        self.keepalive = keepalive
        self.max_rows = max(1, settings.mqtt_batch_size)
        self.wait_s = max(0.0, settings.mqtt_batch_wait_ms / 1000)
        # Room for the micro-batch being committed plus the next ones arriving meanwhile.
        self.receive_maximum = min(RECEIVE_MAXIMUM_LIMIT, max(1000, 4 * self.max_rows))
        self.stats = WorkerStats()
        self.ready = asyncio.Event()  # set once subscribed (tests and demos publish after it)
        self._unroutable_seen: dict[str, tuple[float, int]] = {}
        self._retries: list[Group] = []  # failed groups waiting for their next attempt
        self._seq = itertools.count()
        self.max_payload = settings.max_body_bytes
        self._link: MqttLink | None = None

    async def run(self) -> WorkerStats:
        """Work until `stop` is set; returns the final counters."""
        reporter = asyncio.create_task(self._report())
        waker = asyncio.create_task(self._wake_on_stop())
        backoff = 0.5
        log.info("mqtt: worker %s subscribing to %s on %s", self.client_id, self.topic, self.address)
        try:
            while not self.stop.is_set():
                link = MqttLink(
                    self.address,
                    self.client_id,
                    receive_maximum=self.receive_maximum,
                    session_expiry_s=self.session_expiry_s,
                    keepalive=self.keepalive,
                )
                self._link = link
                try:
                    await self._connect(link)
                    backoff = 0.5
                    await self._consume(link)
                except LinkError as exc:
                    delay = backoff * (0.8 + 0.4 * random.random())  # noqa: S311 - jitter, not crypto
                    log.warning("mqtt: %s; retrying in %.1f s", exc, delay)
                    backoff = min(backoff * 2, 30.0)
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self.stop.wait(), delay)
                finally:
                    self.stats.unacked += len(link)  # received after the last micro-batch
                    await link.close()
        finally:
            reporter.cancel()
            waker.cancel()
            self._log_status(final=True)
        return self.stats

    async def _connect(self, link: MqttLink) -> None:
        """Connect, resume the session, and make sure the subscription is the one asked for."""
        present = await link.connect()
        self.stats.connects += 1
        if present:
            # Switching between plain and shared keeps a persistent session: drop the other filter.
            await link.unsubscribe(self.other_topic)
        await link.subscribe(self.topic)
        self.ready.set()
        log.info(
            "mqtt: connected to %s as %s (%s session)",
            self.address,
            self.client_id,
            "resumed" if present else "new",
        )

    async def _consume(self, link: MqttLink) -> None:
        """Micro-batch after micro-batch until stopped; raises LinkError when the connection drops."""
        try:
            while True:
                messages = await self._collect(link)
                retries = self._due_retries()
                if messages or retries:
                    await self._commit(link, messages, retries)
                if self.stop.is_set():
                    return
                if not link.alive:
                    raise LinkError(link.lost_reason or "connection lost")
        finally:
            # Not acknowledged: the broker delivers these again to this session.
            waiting = sum(len(g.messages) for g in self._retries)
            if waiting:
                self.stats.unacked += waiting
                log.warning("mqtt: %d message(s) not committed, left to the broker for redelivery", waiting)
            self._retries = []

    def _due_retries(self) -> list[Group]:
        """The failed groups whose next attempt is due (taken out of the waiting list)."""
        now = time.monotonic()
        due = [g for g in self._retries if g.due <= now]
        self._retries = [g for g in self._retries if g.due > now]
        return due

    def _idle_wait(self) -> float:
        """How long to wait for a message when nothing is pending: until the next retry is due."""
        if not self._retries:
            return 1.0
        return max(0.0, min(1.0, min(g.due for g in self._retries) - time.monotonic()))

    async def _collect(self, link: MqttLink) -> list[Message]:
        """Messages until the batch is full, the wait is over, the broker's window is used, or stop."""
        loop = asyncio.get_running_loop()
        messages: list[Message] = []
        rows = 0
        deadline: float | None = None
        window = max(1, self.receive_maximum - sum(len(g.messages) for g in self._retries))
        while True:
            while rows < self.max_rows and len(messages) < window:
                delivery = link.pop()
                if delivery is None:
                    break
                message = read_message(delivery, self.max_payload)
                message.seq = next(self._seq)
                messages.append(message)
                rows += len(message.rows)
                if deadline is None:
                    deadline = loop.time() + self.wait_s
            if rows >= self.max_rows or len(messages) >= window:
                return messages  # full, or the broker sends nothing more until we acknowledge
            if self.stop.is_set() or not link.alive:
                return messages
            if deadline is None:
                idle = self._idle_wait()
                if idle <= 0:
                    return messages  # a failed group is due for another attempt
                await link.wait(idle)
                continue
            left = deadline - loop.time()
            if left <= 0:
                return messages
            await asyncio.sleep(min(left, POLL_S))

    async def _commit(self, link: MqttLink, messages: list[Message], retries: list[Group]) -> None:
        """Commit each dataset's group and acknowledge it; a failed group waits for its next attempt
        without holding back the other datasets, which go on being received and stored."""
        self.stats.messages += len(messages)
        groups = group_by_dataset(messages) + retries
        outcomes = await asyncio.to_thread(commit_groups, self.ctx, groups, quarantine_after=QUARANTINE_AFTER)
        self._settle(link, [o for o in outcomes if o.status != "failed"])
        failed = [o for o in outcomes if o.status == "failed"]
        if not failed:
            return
        now = time.monotonic()
        for outcome in failed:
            group = outcome.group
            self.stats.failures += 1
            if not outcome.transient and len(group.messages) > 1:
                # Find the failing message(s): each message alone, at once; the others get stored.
                self._retries.extend(group.split())
                continue
            delay = min(RETRY_BASE_S * 2 ** max(0, group.attempts - 1), RETRY_MAX_S)
            group.due = now + delay * (0.8 + 0.4 * random.random())  # noqa: S311 - jitter, not crypto
            self._retries.append(group)
        waiting = sum(len(o.group.messages) for o in failed)
        reasons = "; ".join(sorted({o.reason.splitlines()[0][:200] for o in failed}))
        log.warning("mqtt: commit failed for %d message(s) (%s); tried again later", waiting, reasons)

    def _settle(self, link: MqttLink, outcomes: list[Outcome]) -> None:
        """Acknowledge committed, unroutable and dead-lettered groups and account for them."""
        if not outcomes:
            return
        done = sorted((m for o in outcomes for m in o.group.messages), key=lambda m: m.seq)
        acked = link.ack(m.delivery for m in done)
        self.stats.acked += acked
        self.stats.unacked += len(done) - acked
        for outcome in outcomes:
            if outcome.status == "unroutable":
                self._unroutable(outcome.group, outcome.reason)
                continue
            if outcome.status == "dead":
                self.stats.dead_letters += len(outcome.group.messages)
                continue
            result = outcome.result
            assert result is not None
            self.stats.rows += result.received
            self.stats.batches += 1
            self.stats.accepted += result.accepted
            self.stats.duplicates += result.duplicates
            self.stats.rejected += result.rejected
            if self.on_batch is not None:
                try:
                    self.on_batch(result)
                except Exception:
                    log.exception("mqtt: on_batch callback failed")

    def _unroutable(self, group: Group, reason: str) -> None:
        """Count messages with nowhere to go and warn, at most once a minute per dataset."""
        count = len(group.messages)
        self.stats.unroutable += count
        now = time.monotonic()
        last, pending = self._unroutable_seen.get(group.dataset, (0.0, 0))
        pending += count
        if now - last >= UNROUTABLE_WARN_EVERY_S:
            topic = group.messages[0].delivery.topic
            log.warning(
                "mqtt: %d message(s) acknowledged without storing: %s (e.g. topic '%s'); "
                "create the dataset or fix the publisher's topic territoria/{dataset}/{asset}/{metric}",
                pending,
                reason,
                topic,
            )
            self._unroutable_seen[group.dataset] = (now, 0)
        else:
            self._unroutable_seen[group.dataset] = (last, pending)

    async def _wake_on_stop(self) -> None:
        """Interrupt an idle wait as soon as stop is set."""
        await self.stop.wait()
        if self._link is not None:
            self._link.wake()

    async def _report(self) -> None:
        """A status line every few seconds."""
        last = self.stats.snapshot()
        while True:
            await asyncio.sleep(self.status_every_s)
            now = self.stats.snapshot()
            self._log_status(previous=last, current=now)
            last = now

    def _log_status(
        self,
        *,
        previous: dict[str, float] | None = None,
        current: dict[str, float] | None = None,
        final: bool = False,
    ) -> None:
        """Rates since the previous line and totals."""
        s = current or self.stats.snapshot()
        if final:
            span = max(time.monotonic() - self.stats.started, 1e-9)
            prev = dict.fromkeys(s, 0.0)
        else:
            prev = previous or s
            span = self.status_every_s
        log.info("mqtt%s: %s", " (stopped)" if final else "", status_line(s, prev, span))


async def run_worker(
    ctx: Context,
    url: str | None = None,
    *,
    shared: bool = False,
    stop: asyncio.Event | None = None,
    on_batch: OnBatch | None = None,
    client_id: str | None = None,
    share_group: str = SHARE_GROUP,
    session_expiry_s: int = SESSION_EXPIRY_S,
    status_every_s: float = 5.0,
) -> WorkerStats:
    """Run the MQTT ingest worker until `stop` is set (or SIGINT/SIGTERM when no event is given)."""
    own_signals = stop is None
    worker = MqttWorker(
        ctx,
        url,
        shared=shared,
        share_group=share_group,
        client_id=client_id,
        stop=stop,
        on_batch=on_batch,
        session_expiry_s=session_expiry_s,
        status_every_s=status_every_s,
    )
    loop = asyncio.get_running_loop()
    if own_signals:
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.add_signal_handler(sig, worker.stop.set)
    try:
        return await worker.run()
    finally:
        if own_signals:
            for sig in (signal.SIGINT, signal.SIGTERM):
                with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                    loop.remove_signal_handler(sig)


def serve(
    ctx: Context, url: str | None = None, *, shared: bool = False, client_id: str | None = None
) -> WorkerStats:
    """Blocking entry point of `territoria mqtt`: status lines on stderr, Ctrl-C or SIGTERM stops cleanly."""
    from rich.console import Console
    from rich.logging import RichHandler

    parse_broker_url(url or ctx.settings.mqtt_url)  # a bad URL fails here with its explanation
    if not logging.getLogger().handlers:
        handler = RichHandler(console=Console(stderr=True), show_path=False)
        logging.basicConfig(level=ctx.settings.log_level.upper(), format="%(message)s", handlers=[handler])
    tune_gc()
    return asyncio.run(run_worker(ctx, url, shared=shared, client_id=client_id))
