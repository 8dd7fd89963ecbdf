"""The worker's MQTT v5 session on paho-mqtt, driven by the asyncio loop, acknowledged by the caller.

paho-mqtt does the protocol (CONNECT with a persistent session and a Receive Maximum, SUBSCRIBE,
PUBLISH, keepalive, DISCONNECT) with `manual_ack=True`, so a message is acknowledged only when the
worker says so. Its network loop is run from asyncio, as paho documents for external event loops
(`on_socket_open` / `on_socket_register_write` with `loop_read`, `loop_write` and `loop_misc`): no
network thread, no hand-over between threads, and the messages land straight in the inbox the
worker reads.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import itertools
import logging
import socket
import ssl
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, cast
from urllib.parse import unquote, urlsplit

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode
from paho.mqtt.subscribeoptions import SubscribeOptions

log = logging.getLogger(__name__)

RECEIVE_MAXIMUM_LIMIT = 65535  # the protocol's ceiling for unacknowledged QoS 1 messages in flight
READ_BURST = 1000  # packets read per readiness event: one wake-up serves a burst, others still get a turn
_SESSIONS = itertools.count(1)


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


class MqttLink:
    """One connection of a client id's persistent session: connect, subscribe, receive, ack, disconnect."""

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
        self.session = next(_SESSIONS)
        self.session_present = False
        self.granted_qos = 1
        self.lost_reason = "not connected"
        self._loop = asyncio.get_running_loop()
        self._loop_thread = threading.get_ident()
        self._inbox: collections.deque[Delivery] = collections.deque()
        self._received = 0
        self._arrived = asyncio.Event()
        self._lost = asyncio.Event()
        self._lost.set()
        self._connack: asyncio.Future[bool] | None = None
        self._pending: dict[int, asyncio.Future[list[ReasonCode]]] = {}
        self._sock: Any = None  # paho's socket while the loop watches it, and its descriptor number
        self._fd = -1
        self._housekeeper: asyncio.Task[None] | None = None
        self._client = self._make_client()

    def _make_client(self) -> paho.Client:
        """A paho client for MQTT 5 with late acknowledgements, wired to this link and the asyncio loop."""
        client = paho.Client(
            CallbackAPIVersion.VERSION2,
            client_id=self.client_id,
            protocol=paho.MQTTv5,
            manual_ack=True,
            reconnect_on_failure=False,  # the worker reconnects, with its own backoff
        )
        client.connect_timeout = self.connect_timeout
        client.enable_logger(log)
        if self.address.username is not None:
            client.username_pw_set(self.address.username, self.address.password)
        if self.address.tls:
            client.tls_set_context(ssl.create_default_context())
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_subscribe = self._on_suback
        client.on_unsubscribe = self._on_suback
        client.on_message = self._on_message
        client.on_socket_open = self._on_socket_open
        client.on_socket_close = self._on_socket_close
        client.on_socket_register_write = self._on_register_write
        client.on_socket_unregister_write = self._on_unregister_write
        return client

    @property
    def alive(self) -> bool:
        """True while the current connection is up."""
        return not self._lost.is_set()

    def __len__(self) -> int:
        return len(self._inbox)

    async def connect(self) -> bool:
        """Open the connection and resume (or create) the session; True if the broker kept it."""
        self._lost.clear()
        self.lost_reason = ""
        self._connack = self._loop.create_future()
        props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        props.SessionExpiryInterval = self.session_expiry_s
        props.ReceiveMaximum = self.receive_maximum
        try:
            # paho opens the socket with a blocking call (bounded by connect_timeout): keep it off the loop.
            await asyncio.to_thread(
                self._client.connect,
                self.address.host,
                self.address.port,
                self.keepalive,
                clean_start=False,
                properties=props,
            )
            self.session_present = await asyncio.wait_for(self._connack, self.connect_timeout)
        except (OSError, TimeoutError, LinkError) as exc:
            reason = f"cannot connect to {self.address}: {exc or type(exc).__name__}"
            self._mark_lost(reason)
            self.lost_reason = reason  # rather than the disconnect that follows a refusal
            await self._drop()
            if self._connack.done() and not self._connack.cancelled():
                self._connack.exception()  # retrieved: raised below instead
            raise LinkError(self.lost_reason) from exc
        self._housekeeper = self._loop.create_task(self._housekeeping())
        return self.session_present

    async def subscribe(self, topic: str) -> None:
        """Subscribe with QoS 1; retained messages only when the subscription is new."""
        options = SubscribeOptions(qos=1, retainHandling=SubscribeOptions.RETAIN_SEND_IF_NEW_SUB)
        codes = await self._request(
            lambda: self._client.subscribe(topic, options=options), f"subscribe to {topic}"
        )
        if not codes or codes[0].is_failure:
            why = str(codes[0]) if codes else "no reason code"
            raise LinkError(f"the broker refused the subscription to {topic}: {why}")
        self.granted_qos = codes[0].value
        if self.granted_qos == 0:
            log.warning(
                "mqtt: the broker grants QoS 0 only on %s: messages lost in transit are not resent", topic
            )

    async def unsubscribe(self, topic: str) -> None:
        """Drop a subscription of the session (a missing one is not an error)."""
        await self._request(lambda: self._client.unsubscribe(topic), f"unsubscribe from {topic}")

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
        """PUBACK these messages, in order; returns how many could be (others are resent by the broker)."""
        if self._lost.is_set():
            return 0
        client = self._client
        done = 0
        for d in deliveries:
            if d.session != self.session:
                continue
            if d.qos:
                client.ack(d.mid, d.qos)  # queued; written by loop_write when the socket is writable
            done += 1
        return done

    async def close(self, timeout: float = 5.0) -> None:
        """Disconnect cleanly after the queued acknowledgements (the session stays on the broker)."""
        if self._housekeeper is not None:
            self._housekeeper.cancel()
            self._housekeeper = None
        if self._sock is not None and not self._lost.is_set():
            self._client.disconnect()  # queued behind the PUBACKs; paho closes the socket once it is sent
            self._client.loop_write()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._lost.wait(), timeout)
        await self._drop()
        self._mark_lost("closed")

    # -- inside --------------------------------------------------------------------------------

    async def _request(
        self, send: Callable[[], tuple[MQTTErrorCode, int | None]], what: str
    ) -> list[ReasonCode]:
        """Send a (UN)SUBSCRIBE and wait for its reason codes."""
        if self._lost.is_set():
            raise LinkError(f"cannot {what}: not connected")
        rc, mid = send()
        if rc != MQTTErrorCode.MQTT_ERR_SUCCESS or mid is None:
            raise LinkError(f"cannot {what}: {paho.error_string(rc)}")
        fut: asyncio.Future[list[ReasonCode]] = self._loop.create_future()
        self._pending[mid] = fut  # the answer is read on this loop, after this returns: no race
        try:
            return await asyncio.wait_for(fut, self.connect_timeout)
        except TimeoutError as exc:
            raise LinkError(f"no answer from the broker to {what}") from exc
        finally:
            self._pending.pop(mid, None)

    async def _drop(self) -> None:
        """Make sure the socket is closed: a half-closed one makes paho read EOF and clean up itself."""
        await asyncio.sleep(0)  # let a connect() thread's scheduled socket registration run first
        sock = self._sock
        if sock is None:
            return
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
        self._client.loop_read()
        if self._sock is not None:  # paho did not notice: release the descriptor ourselves
            self._forget_socket(self._sock)
            with contextlib.suppress(OSError):
                sock.close()

    async def _housekeeping(self) -> None:
        """paho's timers: PINGREQ when idle, and a broker silent past the keepalive means a lost link."""
        period = min(1.0, max(self.keepalive / 4, 0.05)) if self.keepalive else 1.0
        client = self._client
        while not self._lost.is_set():
            await asyncio.sleep(period)
            client.loop_misc()

    def _on_readable(self) -> None:
        """Read what the socket holds, up to a burst of packets, then wake the worker once."""
        client = self._client
        for _ in range(READ_BURST):
            before = self._received
            # loop_read reads one packet per call (and nothing when the socket is drained).
            if client.loop_read() != MQTTErrorCode.MQTT_ERR_SUCCESS or self._received == before:
                break
        sock = self._sock
        if sock is not None and isinstance(sock, ssl.SSLSocket) and sock.pending():
            self._loop.call_soon(self._on_readable)  # decrypted bytes the selector cannot see
        if self._inbox and not self._arrived.is_set():
            self._arrived.set()

    def _on_writable(self) -> None:
        self._client.loop_write()

    # paho callbacks (on the loop's thread, except the socket ones during connect()) ----------

    def _call_in_loop(self, fn: Callable[..., object], *args: Any) -> None:
        if threading.get_ident() == self._loop_thread:
            fn(*args)
        else:
            self._loop.call_soon_threadsafe(fn, *args)

    def _on_socket_open(self, client: paho.Client, userdata: Any, sock: Any) -> None:
        self._call_in_loop(self._watch_socket, sock, sock.fileno())

    def _watch_socket(self, sock: Any, fd: int) -> None:
        if sock.fileno() != fd:  # closed meanwhile
            return
        self._sock, self._fd = sock, fd
        self._loop.add_reader(fd, self._on_readable)

    def _on_socket_close(self, client: paho.Client, userdata: Any, sock: Any) -> None:
        self._call_in_loop(self._forget_socket, sock)
        # Deferred: paho calls on_disconnect right after closing, with the better reason.
        self._loop.call_soon_threadsafe(self._mark_lost, f"connection to {self.address} closed")

    def _forget_socket(self, sock: Any) -> None:
        if sock is not self._sock:
            return
        # By the descriptor number noted at open: the socket itself may be closed by now.
        self._loop.remove_reader(self._fd)
        self._loop.remove_writer(self._fd)
        self._sock, self._fd = None, -1

    def _on_register_write(self, client: paho.Client, userdata: Any, sock: Any) -> None:
        self._call_in_loop(self._watch_write, sock)

    def _watch_write(self, sock: Any) -> None:
        if sock is self._sock:
            self._loop.add_writer(self._fd, self._on_writable)

    def _on_unregister_write(self, client: paho.Client, userdata: Any, sock: Any) -> None:
        self._call_in_loop(self._unwatch_write, sock)

    def _unwatch_write(self, sock: Any) -> None:
        if sock is self._sock:
            self._loop.remove_writer(self._fd)

    def _on_connect(
        self,
        client: paho.Client,
        userdata: Any,
        flags: paho.ConnectFlags,
        reason: ReasonCode,
        properties: Properties | None,
    ) -> None:
        fut = self._connack
        if fut is None or fut.done():
            return
        if reason.is_failure:
            fut.set_exception(LinkError(f"the broker refused the connection: {reason}"))
        else:
            fut.set_result(flags.session_present)

    def _on_disconnect(
        self,
        client: paho.Client,
        userdata: Any,
        flags: paho.DisconnectFlags,
        reason: ReasonCode,
        properties: Properties | None,
    ) -> None:
        if flags.is_disconnect_packet_from_server:
            self._call_in_loop(self._mark_lost, f"the broker closed the connection: {reason}")
        else:
            self._call_in_loop(self._mark_lost, f"connection to {self.address} lost: {reason}")

    def _on_suback(
        self,
        client: paho.Client,
        userdata: Any,
        mid: int,
        codes: list[ReasonCode],
        properties: Properties | None,
    ) -> None:
        fut = self._pending.get(mid)
        if fut is not None and not fut.done():
            fut.set_result(codes)

    def _on_message(self, client: paho.Client, userdata: Any, message: paho.MQTTMessage) -> None:
        try:
            topic = message.topic
        except UnicodeDecodeError:
            topic = ""  # outside the contract: acknowledged as unroutable, never stored
        # Typed bytes | bytearray by paho, always bytes on receipt (struct.unpack): no copy needed.
        payload = cast(bytes, message.payload)
        self._inbox.append(Delivery(topic, payload, message.mid, message.qos, self.session))
        self._received += 1

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
