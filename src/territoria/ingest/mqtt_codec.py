"""MQTT 5.0 packets of the subscriber side, encoded and decoded (OASIS MQTT 5.0, section 3)."""

from __future__ import annotations

import struct
from collections.abc import Iterator

CONNECT, CONNACK, PUBLISH, PUBACK = 1, 2, 3, 4
SUBSCRIBE, SUBACK, UNSUBSCRIBE, UNSUBACK = 8, 9, 10, 11
PINGREQ, PINGRESP, DISCONNECT, AUTH = 12, 13, 14, 15

RETAIN_IF_NEW_SUBSCRIPTION = 1 << 4  # subscription option: retained messages only for a new subscription

_U16 = struct.Struct("!H")
_U32 = struct.Struct("!I")

# Property identifiers by wire type (section 2.2.2.2), enough to walk any property list.
_BYTE_PROPS = frozenset({0x01, 0x17, 0x19, 0x24, 0x25, 0x28, 0x29, 0x2A})
_U16_PROPS = frozenset({0x13, 0x21, 0x22, 0x23})
_U32_PROPS = frozenset({0x02, 0x11, 0x18, 0x27})
_STR_OR_BIN_PROPS = frozenset({0x03, 0x08, 0x09, 0x12, 0x15, 0x16, 0x1A, 0x1C, 0x1F})
SERVER_KEEP_ALIVE = 0x13

REASONS = {
    0x00: "success",
    0x04: "disconnect with will message",
    0x11: "no subscription existed",
    0x80: "unspecified error",
    0x81: "malformed packet",
    0x82: "protocol error",
    0x83: "implementation specific error",
    0x84: "unsupported protocol version (the broker must speak MQTT 5)",
    0x85: "client identifier not valid",
    0x86: "bad user name or password",
    0x87: "not authorized",
    0x88: "server unavailable",
    0x89: "server busy",
    0x8A: "banned",
    0x8B: "server shutting down",
    0x8D: "keep alive timeout",
    0x8E: "session taken over (another worker uses the same client id)",
    0x8F: "topic filter invalid",
    0x93: "receive maximum exceeded",
    0x95: "packet too large",
    0x97: "quota exceeded",
    0x9C: "use another server",
    0x9D: "server moved",
    0x9E: "shared subscriptions not supported",
    0x9F: "connection rate exceeded",
    0xA2: "wildcard subscriptions not supported",
}


class ProtocolError(ValueError):
    """The broker sent something that is not valid MQTT 5."""


def reason_text(code: int) -> str:
    """A reason code with its meaning."""
    return f"0x{code:02X} {REASONS.get(code, 'reason code')}"


def varint(n: int) -> bytes:
    """Variable byte integer (section 1.5.5)."""
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | 0x80 if n else byte)
        if not n:
            return bytes(out)


def read_varint(buf: bytes | bytearray, pos: int) -> tuple[int, int]:
    """Value and next position of a variable byte integer."""
    value = shift = 0
    while True:
        if pos >= len(buf) or shift > 21:
            raise ProtocolError("malformed variable byte integer")
        byte = buf[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, pos
        shift += 7


def utf8(text: str) -> bytes:
    """UTF-8 string with its two-byte length."""
    data = text.encode("utf-8")
    if len(data) > 0xFFFF:
        raise ValueError("string longer than 65535 bytes")
    return _U16.pack(len(data)) + data


def packet(kind: int, body: bytes, flags: int = 0) -> bytes:
    """Fixed header plus body."""
    return bytes([kind << 4 | flags]) + varint(len(body)) + body


def connect_packet(
    client_id: str,
    *,
    keepalive: int,
    session_expiry_s: int,
    receive_maximum: int,
    username: str | None = None,
    password: str | None = None,
) -> bytes:
    """CONNECT without clean start: the broker resumes the session and keeps it after we go."""
    flags = (0x80 if username is not None else 0) | (0x40 if password is not None else 0)
    props = b"\x11" + _U32.pack(session_expiry_s) + b"\x21" + _U16.pack(receive_maximum)
    header = utf8("MQTT") + bytes([5, flags]) + _U16.pack(keepalive) + varint(len(props)) + props
    payload = utf8(client_id)
    if username is not None:
        payload += utf8(username)
    if password is not None:
        data = password.encode("utf-8")
        payload += _U16.pack(len(data)) + data
    return packet(CONNECT, header + payload)


def subscribe_packet(packet_id: int, topic: str, qos: int) -> bytes:
    """SUBSCRIBE to one filter."""
    body = _U16.pack(packet_id) + b"\x00" + utf8(topic) + bytes([qos | RETAIN_IF_NEW_SUBSCRIPTION])
    return packet(SUBSCRIBE, body, 0x02)


def unsubscribe_packet(packet_id: int, topic: str) -> bytes:
    """UNSUBSCRIBE from one filter."""
    return packet(UNSUBSCRIBE, _U16.pack(packet_id) + b"\x00" + utf8(topic), 0x02)


def split_packets(buf: bytearray) -> Iterator[tuple[int, int, bytearray, int]]:
    """(type, flags, body, end offset) of each complete packet at the start of the buffer."""
    n = len(buf)
    pos = 0
    while pos + 2 <= n:
        first = buf[pos]
        length = shift = 0
        i = pos + 1
        while True:
            if i >= n:
                return
            byte = buf[i]
            i += 1
            length |= (byte & 0x7F) << shift
            if not byte & 0x80:
                break
            shift += 7
            if shift > 21:
                raise ProtocolError("malformed remaining length")
        end = i + length
        if end > n:
            return
        yield first >> 4, first & 0x0F, buf[i:end], end
        pos = end


def read_publish(flags: int, body: bytearray) -> tuple[str, int, bytes]:
    """Topic, packet id (0 at QoS 0) and payload of a PUBLISH."""
    qos = (flags >> 1) & 3
    if qos > 1:
        raise ProtocolError("QoS 2 PUBLISH on a QoS 1 subscription")
    end = 2 + ((body[0] << 8) | body[1])
    # Invalid UTF-8 is refused by brokers; if one slipped through, the topic routes nowhere.
    topic = body[2:end].decode("utf-8", "replace")
    mid = 0
    if qos:
        mid = (body[end] << 8) | body[end + 1]
        end += 2
    props, end = read_varint(body, end)
    return topic, mid, bytes(body[end + props :])


def read_properties(buf: bytes | bytearray, pos: int) -> tuple[dict[int, int], int]:
    """Numeric properties of a property list (strings and pairs are skipped), and the next position."""
    length, pos = read_varint(buf, pos)
    end = pos + length
    out: dict[int, int] = {}
    while pos < end:
        prop = buf[pos]
        pos += 1
        if prop in _BYTE_PROPS:
            out[prop], pos = buf[pos], pos + 1
        elif prop in _U16_PROPS:
            out[prop], pos = _U16.unpack_from(buf, pos)[0], pos + 2
        elif prop in _U32_PROPS:
            out[prop], pos = _U32.unpack_from(buf, pos)[0], pos + 4
        elif prop == 0x0B:
            out[prop], pos = read_varint(buf, pos)
        elif prop in _STR_OR_BIN_PROPS:
            pos += 2 + _U16.unpack_from(buf, pos)[0]
        elif prop == 0x26:  # user property: two strings
            pos += 2 + _U16.unpack_from(buf, pos)[0]
            pos += 2 + _U16.unpack_from(buf, pos)[0]
        else:
            raise ProtocolError(f"unknown property 0x{prop:02X}")
    return out, end


def read_connack(body: bytearray) -> tuple[bool, int, int | None]:
    """Session present, reason code, and the server's keepalive if it imposes one."""
    if len(body) < 2:
        raise ProtocolError("short CONNACK")
    props, _ = read_properties(body, 2) if len(body) > 2 else ({}, 2)
    return bool(body[0] & 1), body[1], props.get(SERVER_KEEP_ALIVE)


def read_suback(body: bytearray) -> tuple[int, list[int]]:
    """Packet id and reason codes of a SUBACK or UNSUBACK."""
    packet_id = (body[0] << 8) | body[1]
    length, pos = read_varint(body, 2)
    return packet_id, list(body[pos + length :])
