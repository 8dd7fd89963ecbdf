"""The `territoria mqtt` worker: QoS 1 subscription, micro-batches, acknowledgement after commit.

Topic `territoria/{dataset}/{asset}/{metric}`, payload `{"ts": "...", "value": 1.5}` or a JSON array of
such objects. Messages are grouped into micro-batches (`mqtt_batch_size` rows or `mqtt_batch_wait_ms`),
each dataset of a micro-batch is one ingest batch (source "mqtt") in one transaction, and a message is
acknowledged only once its batch is committed: a crash, a lost connection or a failed commit leaves it
with the broker, which delivers it again to the same persistent session (duplicates are recognised by
the batch service and never stored twice).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import signal
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field, fields

from territoria.context import Context
from territoria.ingest.mqtt_batch import (
    Group,
    Message,
    Outcome,
    commit_groups,
    group_by_dataset,
    read_message,
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
POLL_S = (
    0.005  # while a micro-batch is open and nothing is queued: cheap polling beats one wake-up per message
)
UNROUTABLE_WARN_EVERY_S = 60.0

OnBatch = Callable[[BatchResult], object]


def topic_filter(shared: bool, group: str = SHARE_GROUP) -> str:
    """The subscription: plain, or shared by every worker of the group (`$share/…`) to scale out."""
    return f"$share/{group}/{TOPIC_FILTER}" if shared else TOPIC_FILTER


@dataclass
class WorkerStats:
    """Counters since the worker started."""

    messages: int = 0  # messages received and handled (acked or left for redelivery)
    rows: int = 0  # rows handed to the batch service
    batches: int = 0  # ingest batches committed
    accepted: int = 0  # rows stored or recognised as already stored
    duplicates: int = 0  # of which already stored (redeliveries, repeats)
    rejected: int = 0  # rows quarantined
    unroutable: int = 0  # messages for no known timeseries dataset: warned, acked, nothing stored
    acked: int = 0
    unacked: int = 0  # messages left to the broker (failed commit at shutdown, lost connection)
    failures: int = 0  # failed commit attempts
    connects: int = 0
    started: float = field(default_factory=time.monotonic)

    def snapshot(self) -> dict[str, float]:
        """The counters as a dict."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


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
        while True:
            messages = await self._collect(link)
            if messages:
                await self._commit(link, messages)
            if self.stop.is_set():
                return
            if not link.alive:
                raise LinkError(link.lost_reason or "connection lost")

    async def _collect(self, link: MqttLink) -> list[Message]:
        """Messages until the batch is full, the wait is over, the broker's window is used, or stop."""
        loop = asyncio.get_running_loop()
        messages: list[Message] = []
        rows = 0
        deadline: float | None = None
        while True:
            while rows < self.max_rows and len(messages) < self.receive_maximum:
                delivery = link.pop()
                if delivery is None:
                    break
                message = read_message(delivery)
                messages.append(message)
                rows += len(message.rows)
                if deadline is None:
                    deadline = loop.time() + self.wait_s
            if rows >= self.max_rows or len(messages) >= self.receive_maximum:
                return messages  # full, or the broker sends nothing more until we acknowledge
            if self.stop.is_set() or not link.alive:
                return messages
            if deadline is None:
                await link.wait(1.0)
                continue
            left = deadline - loop.time()
            if left <= 0:
                return messages
            await asyncio.sleep(min(left, POLL_S))

    async def _commit(self, link: MqttLink, messages: list[Message]) -> None:
        """Commit each dataset's group, acknowledge what is committed, retry the rest with backoff."""
        self.stats.messages += len(messages)
        pending = group_by_dataset(messages)
        backoff = 0.5
        while pending:
            outcomes = await asyncio.to_thread(
                commit_groups, self.ctx, pending, quarantine_after=QUARANTINE_AFTER
            )
            failed = [o for o in outcomes if o.status == "failed"]
            self._settle(link, messages, [o for o in outcomes if o.status != "failed"])
            pending = [o.group for o in failed]
            if not pending:
                return
            self.stats.failures += len(pending)
            waiting = sum(len(g.messages) for g in pending)
            if self.stop.is_set() or not link.alive:
                # Not acknowledged: the broker delivers these again to this session.
                self.stats.unacked += waiting
                log.warning("mqtt: %d message(s) not committed, left to the broker for redelivery", waiting)
                return
            reasons = "; ".join(sorted({o.reason.splitlines()[0][:200] for o in failed}))
            log.warning(
                "mqtt: commit failed for %d message(s) (%s); retrying in %.1f s", waiting, reasons, backoff
            )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stop.wait(), backoff)
            backoff = min(backoff * 2, 30.0)
            if not link.alive:
                self.stats.unacked += waiting
                return

    def _settle(self, link: MqttLink, messages: list[Message], outcomes: list[Outcome]) -> None:
        """Acknowledge committed and unroutable groups (in arrival order) and account for them."""
        if not outcomes:
            return
        done = {id(m) for o in outcomes for m in o.group.messages}
        acked = link.ack(m.delivery for m in messages if id(m) in done)
        self.stats.acked += acked
        self.stats.unacked += len(done) - acked
        for outcome in outcomes:
            if outcome.status == "unroutable":
                self._unroutable(outcome.group, outcome.reason)
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
        log.info(
            "mqtt%s: %.0f msg/s, %.0f rows/s | batches %d, accepted %d (%d already stored), "
            "rejected %d, unroutable %d, unacked %d, failed commits %d, connects %d",
            " (stopped)" if final else "",
            (s["messages"] - prev["messages"]) / span,
            (s["rows"] - prev["rows"]) / span,
            s["batches"],
            s["accepted"],
            s["duplicates"],
            s["rejected"],
            s["unroutable"],
            s["unacked"],
            s["failures"],
            s["connects"],
        )


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
