"""A persistent MQTT v5 session driven by the asyncio loop, with acknowledgements sent by the caller.

paho-mqtt speaks the protocol; this module drives its socket from the event loop (the pattern of
paho's own asyncio example) and switches off its automatic PUBACK, so that a message is acknowledged
only once what it carried is committed. aiomqtt 2.x has no public switch for that, hence paho here.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode
from paho.mqtt.subscribeoptions import SubscribeOptions

log = logging.getLogger(__name__)

RECEIVE_MAXIMUM_LIMIT = 65535  # the protocol's ceiling for unacknowledged QoS 1 messages in flight


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
        self._loop = asyncio.get_running_loop()
        self._loop_thread = threading.get_ident()
        self._inbox: collections.deque[Delivery] = collections.deque()
        self._arrived = asyncio.Event()
        self._lost = asyncio.Event()
        self._lost.set()
        self.lost_reason = "not connected"
        self._connack: asyncio.Future[bool] | None = None
        self._pending: dict[int, asyncio.Future[list[ReasonCode]]] = {}
        self._fd = -1
        self._misc: asyncio.Task[None] | None = None
        self._client = self._make_client()

    def _make_client(self) -> paho.Client:
        """A paho client in manual-ack mode whose socket this link drives."""
        client = paho.Client(
            CallbackAPIVersion.VERSION2,
            client_id=self.client_id,
            protocol=paho.MQTTv5,
            reconnect_on_failure=False,
            manual_ack=True,
        )
        if self.address.username is not None:
            client.username_pw_set(self.address.username, self.address.password)
        if self.address.tls:
            client.tls_set_context(ssl.create_default_context())
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_subscribe = self._on_suback
        client.on_unsubscribe = self._on_suback
        client.on_message = self._on_message
        client.on_socket_open = lambda _c, _u, sock: self._call(self._watch, sock.fileno())
        client.on_socket_close = lambda _c, _u, _s: self._call(self._unwatch)
        client.on_socket_register_write = lambda _c, _u, sock: self._call(self._want_write, sock.fileno())
        client.on_socket_unregister_write = lambda _c, _u, sock: self._call(self._no_write, sock.fileno())
        return client

    # -- public API ---------------------------------------------------------------------------

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
        props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        props.SessionExpiryInterval = self.session_expiry_s
        props.ReceiveMaximum = self.receive_maximum
        try:
            # connect() blocks on DNS and the TCP (and TLS) handshake: keep the loop free meanwhile.
            await asyncio.to_thread(
                self._client.connect,
                self.address.host,
                self.address.port,
                self.keepalive,
                clean_start=False,
                properties=props,
            )
            self.session_present = await asyncio.wait_for(self._connack, self.connect_timeout)
        except (OSError, ssl.SSLError, TimeoutError, LinkError) as exc:
            self._mark_lost(f"cannot connect to {self.address}: {exc or type(exc).__name__}")
            if self._connack.done() and not self._connack.cancelled():
                self._connack.exception()  # retrieved: the error is raised below instead
            await self._drop()
            raise LinkError(self.lost_reason) from exc
        return self.session_present

    async def subscribe(self, topic: str) -> None:
        """Subscribe with QoS 1; retained messages only when the subscription is new."""
        options = SubscribeOptions(qos=1, retainHandling=SubscribeOptions.RETAIN_SEND_IF_NEW_SUB)
        rc, mid = self._client.subscribe(topic, options=options)
        codes = await self._await_ack(rc, mid, f"subscribe to {topic}")
        if any(c.is_failure for c in codes):
            raise LinkError(f"the broker refused the subscription to {topic}: {codes[0]}")

    async def unsubscribe(self, topic: str) -> None:
        """Drop a subscription of the session (a missing one is not an error)."""
        rc, mid = self._client.unsubscribe(topic)
        await self._await_ack(rc, mid, f"unsubscribe from {topic}")

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

    def ack(self, delivery: Delivery) -> bool:
        """Send the PUBACK of a message; False if its connection is gone (the broker will resend it)."""
        if delivery.session != self.session or self._lost.is_set():
            return False
        if delivery.qos == 0:
            return True
        return self._client.ack(delivery.mid, delivery.qos) == MQTTErrorCode.MQTT_ERR_SUCCESS

    async def close(self, timeout: float = 5.0) -> None:
        """Disconnect cleanly (the session stays on the broker) and release the socket."""
        if not self._lost.is_set():
            self._client.disconnect()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._lost.wait(), timeout)
        await self._drop()

    # -- paho callbacks (all run on the loop thread once connected) ------------------------------

    def _on_connect(
        self, _c: paho.Client, _u: Any, flags: paho.ConnectFlags, rc: ReasonCode, _p: Properties | None
    ) -> None:
        """CONNACK: resolve connect()."""
        fut = self._connack
        if fut is None or fut.done():
            return
        if rc.is_failure:
            fut.set_exception(LinkError(f"the broker refused the connection: {rc}"))
        else:
            fut.set_result(bool(flags.session_present))

    def _on_disconnect(
        self, _c: paho.Client, _u: Any, _f: paho.DisconnectFlags, rc: ReasonCode, _p: Properties | None
    ) -> None:
        """Connection closed by either side."""
        self._call(self._mark_lost, f"disconnected from {self.address}: {rc}")

    def _on_suback(self, _c: paho.Client, _u: Any, mid: int, codes: list[ReasonCode], _p: Any) -> None:
        """SUBACK or UNSUBACK."""
        fut = self._pending.pop(mid, None)
        if fut is not None and not fut.done():
            fut.set_result(codes)

    def _on_message(self, _c: paho.Client, _u: Any, msg: paho.MQTTMessage) -> None:
        """Queue a PUBLISH; nothing is acknowledged here."""
        try:
            topic = msg.topic
        except UnicodeDecodeError:  # brokers refuse such topics; kept routable to nowhere, never lost
            topic = ""
        self._inbox.append(Delivery(topic, bytes(msg.payload), msg.mid, msg.qos, self.session))
        if not self._arrived.is_set():
            self._arrived.set()

    # -- plumbing -------------------------------------------------------------------------------

    def _call(self, fn: Callable[..., None], *args: Any) -> None:
        """Run on the loop thread (paho calls some callbacks from the connecting thread)."""
        if threading.get_ident() == self._loop_thread:
            fn(*args)
        else:
            self._loop.call_soon_threadsafe(fn, *args)

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

    async def _await_ack(self, rc: MQTTErrorCode, mid: int | None, what: str) -> list[ReasonCode]:
        """Wait for the broker's answer to a (un)subscribe."""
        if rc != MQTTErrorCode.MQTT_ERR_SUCCESS or mid is None:
            raise LinkError(f"cannot {what}: {paho.error_string(rc)}")
        fut: asyncio.Future[list[ReasonCode]] = self._loop.create_future()
        self._pending[mid] = fut
        try:
            return await asyncio.wait_for(fut, self.connect_timeout)
        except TimeoutError as exc:
            raise LinkError(f"no answer from the broker to {what}") from exc
        finally:
            self._pending.pop(mid, None)

    def _watch(self, fd: int) -> None:
        """Socket opened: read it from the loop and run paho's keepalive every second."""
        self._fd = fd
        self._loop.add_reader(fd, self._readable)
        self._misc = self._loop.create_task(self._misc_loop())

    def _unwatch(self) -> None:
        """Socket closed: stop watching it."""
        if self._fd >= 0:
            self._loop.remove_reader(self._fd)
            self._loop.remove_writer(self._fd)
            self._fd = -1
        if self._misc is not None:
            self._misc.cancel()
            self._misc = None

    def _want_write(self, fd: int) -> None:
        """paho has bytes to send."""
        if fd >= 0:
            self._loop.add_writer(fd, self._writable)

    def _no_write(self, fd: int) -> None:
        """paho's output buffer is empty."""
        if fd >= 0:
            self._loop.remove_writer(fd)

    def _readable(self) -> None:
        """Let paho read one packet."""
        try:
            self._client.loop_read()
        except Exception as exc:  # any failure here means the connection is unusable
            self._mark_lost(f"read error: {exc}")
            self._unwatch()

    def _writable(self) -> None:
        """Let paho write what it has queued."""
        try:
            self._client.loop_write()
        except Exception as exc:
            self._mark_lost(f"write error: {exc}")
            self._unwatch()

    async def _misc_loop(self) -> None:
        """Keepalive pings and the detection of a silent broker."""
        while self._client.loop_misc() == MQTTErrorCode.MQTT_ERR_SUCCESS:
            await asyncio.sleep(1)

    async def _drop(self) -> None:
        """Release the socket whatever the state."""
        await asyncio.sleep(0)  # let callbacks scheduled from the connecting thread run first
        sock = self._client.socket()
        if sock is not None:
            self._unwatch()
            with contextlib.suppress(OSError):
                sock.close()
            self._client = self._make_client()  # paho keeps half-open state around: start afresh
        self._unwatch()
