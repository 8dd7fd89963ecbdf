"""Properties of the ingest bounds (issue 13): deep nesting, any bytes, any charset never break parsing
or the quarantine's text, and depth is measured right across any cut of the stream."""

from __future__ import annotations

import io
import json
from typing import Any

import orjson
from hypothesis import example, given, settings
from hypothesis import strategies as st

from territoria.ingest.batches import raw_text
from territoria.ingest.mqtt_batch import read_message
from territoria.ingest.mqtt_link import Delivery
from territoria.ingest.parsers import BadRow, iter_csv, iter_json_stream, iter_ndjson, parse_json_array
from territoria.validation.limits import (
    MAX_DEPTH,
    DepthGuard,
    DepthScanner,
    max_depth,
    printable,
    row_problem,
    safe_text,
)

TEXT = st.characters(
    blacklist_characters="\x00", blacklist_categories=("Cs",)
)  # NUL: see test_hostile_bodies
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(-(2**63) + 1, 2**63 - 1)  # JSON parsers here refuse wider integers (a clean 400)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(TEXT, max_size=20)
)
JSON = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(TEXT, max_size=5), inner, max_size=4),
)


def depth_of(value: Any) -> int:
    """Nesting depth of a parsed value, the slow and obvious way."""
    if isinstance(value, dict):
        return 1 + max((depth_of(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((depth_of(v) for v in value), default=0)
    return 0


@st.composite
def deep_values(draw: st.DrawFn) -> Any:
    """A JSON value wrapped in 0 to 400 random levels of lists and objects."""
    value = draw(JSON)
    for wrap_in_list in draw(st.lists(st.booleans(), max_size=400)):
        value = [value] if wrap_in_list else {draw(st.text(TEXT, max_size=3)): value}
    return value


def dumps(value: Any) -> bytes:
    """JSON text of any depth (orjson stops at 255 levels, Python's json at the recursion limit)."""
    return json.dumps(value).encode() if depth_of(value) < 200 else _deep_dumps(value)


def _deep_dumps(value: Any) -> bytes:
    """Iterative serialisation of the nested shapes `deep_values` makes."""
    head, tail = [], []
    while isinstance(value, list | dict) and value:
        if isinstance(value, list) and len(value) == 1:
            head.append(b"[")
            tail.append(b"]")
            value = value[0]
        elif isinstance(value, dict) and len(value) == 1:
            ((k, v),) = value.items()
            head.append(b"{" + json.dumps(k).encode() + b":")
            tail.append(b"}")
            value = v
        else:
            break
    return b"".join(head) + json.dumps(value).encode() + b"".join(reversed(tail))


@settings(max_examples=150, deadline=None)
@given(deep_values(), st.lists(st.integers(1, 64), min_size=1, max_size=8))
def test_depth_is_measured_right_across_any_cut(value: Any, cuts: list[int]) -> None:
    text = dumps(value)
    scanner, pos, deepest = DepthScanner(), 0, 0
    for size in cuts * (len(text) // max(1, sum(cuts)) + 1):
        deepest = scanner.feed(text[pos : pos + size])
        pos += size
        if pos >= len(text):
            break
    deepest = scanner.feed(text[pos:], final=True)
    assert deepest == depth_of(value) == max_depth(text)


def nested_lists(levels: int) -> Any:
    """0 inside `levels` lists."""
    value: Any = 0
    for _ in range(levels):
        value = [value]
    return value


@settings(max_examples=150, deadline=None)
@given(deep_values())
@example(nested_lists(MAX_DEPTH - 1))  # the deepest row allowed
@example(nested_lists(MAX_DEPTH))  # one level more: the streamed file path let it through
def test_a_deep_row_is_a_bad_row_everywhere_and_its_text_never_fails(value: Any) -> None:
    row = {"asset": "A1", "metric": "power", "ts": "2026-01-01T00:00:00Z", "value": value}
    text = b'{"asset": "A1", "metric": "power", "ts": "2026-01-01T00:00:00Z", "value": ' + dumps(value) + b"}"
    too_deep = depth_of(value) + 1 > MAX_DEPTH
    assert (row_problem(row) is not None) == too_deep
    parsed = [
        *(r for _, r in parse_json_array(b"[" + text + b"]")),
        *(r for _, r in iter_ndjson([text])),
        *(r for _, r in iter_json_stream(io.BytesIO(b"[" + text + b"]"))),
        *read_message(Delivery("territoria/ds/A1/power", text, 1, 1, 1)).rows,
    ]
    for r in parsed:
        assert isinstance(r, BadRow) == too_deep
        stored = raw_text(r)
        assert stored == printable(stored) and len(stored) <= 70_000
    assert safe_text(value) == printable(safe_text(value))


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300))
def test_any_bytes_become_rows_or_a_clear_error(payload: bytes) -> None:
    message = read_message(Delivery("territoria/ds/A1/power", payload, 1, 1, 1))
    for r in message.rows:
        raw_text(r).encode("utf-8")  # storable and encodable, whatever came in
    for r in iter_ndjson(payload.splitlines()):
        raw_text(r[1]).encode("utf-8")
    for _, r in iter_csv([b"asset,metric,ts,value\n", payload], ["asset"]):
        raw_text(r).encode("utf-8")


CHARSETS = [
    "utf-8",
    "utf-16",
    "utf-16-le",
    "utf-16-be",
    "utf-32",
    "cp1252",
    "iso-8859-15",
    "latin-1",
    "cp850",
]


@settings(max_examples=150, deadline=None)
@given(
    st.sampled_from(CHARSETS),
    st.lists(st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=12), min_size=4, max_size=4),
    st.integers(1, 7),
)
def test_csv_in_any_declared_charset_reads_back(charset: str, cells: list[str], piece: int) -> None:
    line = ",".join('"' + c.replace('"', '""') + '"' for c in cells)
    try:
        body = f"asset,metric,ts,value\n{line}\n".encode(charset)
    except UnicodeEncodeError:
        return  # not every text exists in every charset
    pieces = [body[i : i + piece] for i in range(0, len(body), piece)]  # newlines cut anywhere
    ((_, row),) = list(iter_csv(pieces, ["asset"], encoding=charset))
    assert row == dict(zip(["asset", "metric", "ts", "value"], cells, strict=True))


def test_the_guard_stops_an_abyss_in_constant_memory() -> None:
    guard = DepthGuard(io.BytesIO(b"[" * 1_000_000))
    try:
        while guard.read(65536):
            pass
    except Exception as exc:  # noqa: BLE001 - the type is checked below
        assert "deeper than" in str(exc)
    else:
        raise AssertionError("an abyss was read to the end")
    assert orjson.loads(b"[1]") == [1]
