"""The MQTT v5 subscriber side that the worker needs, on asyncio, with acknowledgements sent by the caller.

Only what an ingest worker uses: CONNECT with a persistent session and a Receive Maximum, SUBSCRIBE
and UNSUBSCRIBE, inbound PUBLISH at QoS 0/1, PUBACK when the caller says so, keepalive, DISCONNECT.
A general client (paho-mqtt, through aiomqtt) spends most of a worker's CPU decoding each PUBLISH
(one socket read per header byte, a properties object per message) and has no public switch for
late acknowledgements; this parses whole socket reads at once and writes a batch's PUBACKs in one go.
Packet layouts follow the OASIS MQTT 5.0 standard, section 3.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import ssl
import struct
import time
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from territoria.ingest.mqtt_codec import (
    CONNACK,
    DISCONNECT,
    PINGREQ,
    PINGRESP,
    PUBLISH,
    SUBACK,
    UNSUBACK,
    ProtocolError,
    connect_packet,
    packet,
    read_connack,
    read_publish,
    read_suback,
    reason_text,
    split_packets,
    subscribe_packet,
    unsubscribe_packet,
)

log = logging.getLogger(__name__)

RECEIVE_MAXIMUM_LIMIT = 65535  # the protocol's ceiling for unacknowledged QoS 1 messages in flight
_PUBACK = struct.Struct("!BBH")


class LinkError(ConnectionError):
    """The broker cannot be reached, refused us, or the connection was lost."""


@dataclass(frozen=True, slots=True)
class BrokerAddress:
    """Where the broker is and how to log in."""

    host: str
    port: int
    tls: bool = False
    username: str | None = None
    password: str | None = None

    def __str__(self) -> str:
        return f"{'mqtts' if self.tls else 'mqtt'}://{self.host}:{self.port}"


def parse_broker_url(url: str) -> BrokerAddress:
    """Read mqtt://[user[:password]@]host[:port] or mqtts://… (TLS, port 8883 by default)."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    if scheme not in ("mqtt", "mqtts", "tcp", "ssl") or not parts.hostname:
        raise ValueError(f"broker URL '{url}' is not of the form mqtt://host:1883 or mqtts://host:8883")
    tls = scheme in ("mqtts", "ssl")
    try:
        port = parts.port or (8883 if tls else 1883)
    except ValueError as exc:
        raise ValueError(f"broker URL '{url}' has an invalid port") from exc
    user = unquote(parts.username) if parts.username is not None else None
    password = unquote(parts.password) if parts.password is not None else None
    return BrokerAddress(parts.hostname, port, tls, user, password)


@dataclass(slots=True)
class Delivery:
    """One received PUBLISH, to be acknowledged later through the link that delivered it."""

    topic: str
    payload: bytes
    mid: int
    qos: int
    session: int  # connection number: a packet id means nothing on another connection


class _Protocol(asyncio.Protocol):
    """Bytes in and out for one connection; packets go to the link."""

    def __init__(self, link: MqttLink) -> None:
        self.link = link
        self.buffer = bytearray()

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        try:
            consumed = self.link._on_packets(self.buffer)
        except ProtocolError as exc:
            self.link._fail(f"protocol error from the broker: {exc}")
            return
        del self.buffer[:consumed]

    def connection_lost(self, exc: Exception | None) -> None:
        self.link._mark_lost(f"connection to {self.link.address} closed" + (f": {exc}" if exc else ""))


class MqttLink:
    """One client id's persistent session: connect, subscribe, receive, acknowledge, disconnect."""

    def __init__(
        self,
        address: BrokerAddress,
        client_id: str,
        *,
        receive_maximum: int,
        session_expiry_s: int,
        keepalive: int = 30,
        connect_timeout: float = 10.0,
    ) -> None:
        self.address = address
        self.client_id = client_id
        self.receive_maximum = max(1, min(receive_maximum, RECEIVE_MAXIMUM_LIMIT))
        self.session_expiry_s = session_expiry_s
        self.keepalive = keepalive
        self.connect_timeout = connect_timeout
        self.session = 0
        self.session_present = False
        self.granted_qos = 1
        self.lost_reason = "not connected"
        self._loop = asyncio.get_running_loop()
        self._inbox: collections.deque[Delivery] = collections.deque()
        self._arrived = asyncio.Event()
        self._lost = asyncio.Event()
        self._lost.set()
        self._transport: asyncio.Transport | None = None
        self._connack: asyncio.Future[bool] | None = None
        self._pending: dict[int, asyncio.Future[list[int]]] = {}
        self._next_id = 0
        self._last_in = 0.0
        self._pinger: asyncio.Task[None] | None = None

    @property
    def alive(self) -> bool:
        """True while the current connection is up."""
        return not self._lost.is_set()

    def __len__(self) -> int:
        return len(self._inbox)

    async def connect(self) -> bool:
        """Open the connection and resume (or create) the session; True if the broker kept it."""
        self.session += 1
        self._inbox.clear()
        self._lost.clear()
        self.lost_reason = ""
        self._connack = self._loop.create_future()
        tls = ssl.create_default_context() if self.address.tls else None
        try:
            transport, _ = await asyncio.wait_for(
                self._loop.create_connection(
                    lambda: _Protocol(self), self.address.host, self.address.port, ssl=tls
                ),
                self.connect_timeout,
            )
            self._transport = transport
            self._send(
                connect_packet(
                    self.client_id,
                    keepalive=self.keepalive,
                    session_expiry_s=self.session_expiry_s,
                    receive_maximum=self.receive_maximum,
                    username=self.address.username,
                    password=self.address.password,
                )
            )
            self._last_in = time.monotonic()
            self.session_present = await asyncio.wait_for(self._connack, self.connect_timeout)
        except (OSError, TimeoutError, LinkError) as exc:
            self._fail(f"cannot connect to {self.address}: {exc or type(exc).__name__}")
            if self._connack.done() and not self._connack.cancelled():
                self._connack.exception()  # retrieved: raised below instead
            raise LinkError(self.lost_reason) from exc
        self._pinger = self._loop.create_task(self._keepalive())
        return self.session_present

    async def subscribe(self, topic: str) -> None:
        """Subscribe with QoS 1; retained messages only when the subscription is new."""
        codes = await self._request(lambda pid: subscribe_packet(pid, topic, qos=1), f"subscribe to {topic}")
        if not codes or codes[0] >= 0x80:
            why = reason_text(codes[0]) if codes else "no reason code"
            raise LinkError(f"the broker refused the subscription to {topic}: {why}")
        self.granted_qos = codes[0]
        if self.granted_qos == 0:
            log.warning(
                "mqtt: the broker grants QoS 0 only on %s: messages lost in transit are not resent", topic
            )

    async def unsubscribe(self, topic: str) -> None:
        """Drop a subscription of the session (a missing one is not an error)."""
        await self._request(lambda pid: unsubscribe_packet(pid, topic), f"unsubscribe from {topic}")

    def pop(self) -> Delivery | None:
        """The oldest received message, or None."""
        return self._inbox.popleft() if self._inbox else None

    async def wait(self, timeout: float) -> None:
        """Return when a message is waiting, the connection is lost, wake() is called, or on timeout."""
        if self._inbox or self._lost.is_set():
            return
        self._arrived.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._arrived.wait(), timeout)

    def wake(self) -> None:
        """Interrupt wait() (used on shutdown)."""
        self._arrived.set()

    def ack(self, deliveries: Iterable[Delivery]) -> int:
        """PUBACK these messages in one write; returns how many could be (others are resent by the broker)."""
        if self._lost.is_set() or self._transport is None:
            return 0
        out = bytearray()
        done = 0
        for d in deliveries:
            if d.session != self.session:
                continue
            if d.qos:
                out += _PUBACK.pack(0x40, 2, d.mid)
            done += 1
        if out:
            self._send(bytes(out))
        return done

    async def close(self, timeout: float = 5.0) -> None:
        """Disconnect cleanly (the session stays on the broker) and release the socket."""
        if self._pinger is not None:
            self._pinger.cancel()
            self._pinger = None
        transport = self._transport
        if transport is not None and not self._lost.is_set():
            self._send(packet(DISCONNECT, b""))
            transport.close()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._lost.wait(), timeout)
        if transport is not None:
            transport.abort()
        self._transport = None
        self._mark_lost("closed")

    # -- inside --------------------------------------------------------------------------------

    def _send(self, data: bytes) -> None:
        """Queue bytes on the transport."""
        if self._transport is not None and not self._transport.is_closing():
            self._transport.write(data)

    async def _request(self, build: object, what: str) -> list[int]:
        """Send a (UN)SUBSCRIBE with a fresh packet id and wait for its reason codes."""
        if self._lost.is_set():
            raise LinkError(f"cannot {what}: not connected")
        self._next_id = self._next_id % 65535 + 1
        pid = self._next_id
        fut: asyncio.Future[list[int]] = self._loop.create_future()
        self._pending[pid] = fut
        self._send(build(pid))  # type: ignore[operator]
        try:
            return await asyncio.wait_for(fut, self.connect_timeout)
        except TimeoutError as exc:
            raise LinkError(f"no answer from the broker to {what}") from exc
        finally:
            self._pending.pop(pid, None)

    def _on_packets(self, buffer: bytearray) -> int:
        """Handle every complete packet in the buffer; returns the bytes consumed."""
        self._last_in = time.monotonic()
        consumed = 0
        session = self.session
        inbox = self._inbox
        for kind, flags, body, end in split_packets(buffer):
            consumed = end
            if kind == PUBLISH:
                topic, mid, payload = read_publish(flags, body)
                inbox.append(Delivery(topic, payload, mid, (flags >> 1) & 3, session))
            elif kind == CONNACK:
                present, code, server_keepalive = read_connack(body)
                if server_keepalive is not None:
                    self.keepalive = server_keepalive
                self._resolve_connack(present, code)
            elif kind in (SUBACK, UNSUBACK):
                pid, codes = read_suback(body)
                fut = self._pending.get(pid)
                if fut is not None and not fut.done():
                    fut.set_result(codes)
            elif kind == DISCONNECT:
                code = body[0] if body else 0
                self._fail(f"the broker closed the connection: {reason_text(code)}")
                return consumed
            elif kind != PINGRESP:
                log.debug("mqtt: ignoring packet type %d", kind)
        if inbox and not self._arrived.is_set():
            self._arrived.set()
        return consumed

    def _resolve_connack(self, present: bool, code: int) -> None:
        """CONNACK: resolve connect()."""
        fut = self._connack
        if fut is None or fut.done():
            return
        if code >= 0x80:
            fut.set_exception(LinkError(f"the broker refused the connection: {reason_text(code)}"))
        else:
            fut.set_result(present)

    async def _keepalive(self) -> None:
        """PINGREQ at half the keepalive; a broker silent for 1.5 keepalives is gone."""
        period = max(self.keepalive / 2, 0.5) if self.keepalive else 15.0
        while not self._lost.is_set():
            await asyncio.sleep(period)
            if self.keepalive and time.monotonic() - self._last_in > 1.5 * self.keepalive:
                self._fail(f"no answer from {self.address} for {1.5 * self.keepalive:.0f} s")
                return
            self._send(packet(PINGREQ, b""))

    def _fail(self, reason: str) -> None:
        """Record a loss and drop the connection."""
        self._mark_lost(reason)
        if self._transport is not None:
            self._transport.abort()

    def _mark_lost(self, reason: str) -> None:
        """Record the loss once, wake waiters, fail pending requests."""
        if not self._lost.is_set():
            self._lost.set()
            self.lost_reason = reason
        self._arrived.set()
        if self._connack is not None and not self._connack.done():
            self._connack.set_exception(LinkError(reason))
        for fut in self._pending.values():
            if not fut.done():
                fut.set_exception(LinkError(reason))
        self._pending.clear()
