"""Bounds on what a received row may be, and text of any row that can always be stored and shown.

A row nested deeper than MAX_DEPTH is refused at parsing: deeper values break serialisers (orjson
stops at 255 levels, Python's json at the recursion limit) and no dataset needs them. Whatever a
sender managed to send, `safe_text` turns it into bounded, valid UTF-8 text with no NUL, so that
writing it to the quarantine (TEXT on SQLite, TEXT/JSONB on PostgreSQL) or into a JSON answer
cannot fail.
"""

from __future__ import annotations

import re
import reprlib
from typing import Any

import numpy as np
import orjson

from territoria.errors import Unparseable

MAX_DEPTH = 32  # nesting levels of one row (the row object itself is level 1)
MAX_DOCUMENT_DEPTH = 1024  # a streamed document deeper than this cannot be parsed at all
MAX_RAW_CHARS = 64 * 1024  # quarantined raw text is cut here
TRUNCATED = "…[truncated]"
BOM = b"\xef\xbb\xbf"


# Lone surrogates (undecodable bytes kept by the decoders) and NUL (refused by PostgreSQL).
UNSAFE_TEXT = re.compile("[\x00\ud800-\udfff]")
_REPR = reprlib.Repr()
_REPR.maxlevel = 8
_REPR.maxstring = 2000
_REPR.maxother = 2000


def too_deep(value: Any, limit: int = MAX_DEPTH) -> bool:
    """True when containers nest deeper than `limit` levels (iterative: no recursion on any input)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list | tuple):
            children = item
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list | tuple))
    return False


def _escape(match: re.Match[str]) -> str:
    """A visible stand-in for one unsafe character."""
    code = ord(match.group())
    if code == 0:
        return "\\x00"
    # Bytes kept as surrogates by the decoders (U+DC80..U+DCFF for 0x80..0xFF, U+DC00.. for others).
    return f"\\x{code - 0xDC00:02x}" if 0xDC00 <= code <= 0xDCFF else f"\\u{code:04x}"


def printable(text: str, limit: int = MAX_RAW_CHARS) -> str:
    """Text safe for any column and any JSON answer: no lone surrogate, no NUL, at most `limit` chars."""
    cut = len(text) > limit
    text = UNSAFE_TEXT.sub(_escape, text[:limit] if cut else text)
    return text + TRUNCATED if cut else text


def bytes_text(payload: bytes, limit: int = MAX_RAW_CHARS) -> str:
    """Received bytes as readable text (undecodable bytes as \\xNN), cut to a bounded size."""
    text = payload[:limit].decode("utf-8", "backslashreplace")
    return printable(text, limit) + (TRUNCATED if len(payload) > limit else "")


def safe_text(value: Any, limit: int = MAX_RAW_CHARS) -> str:
    """JSON text of a received value when it can be written, else a bounded repr; never raises."""
    if isinstance(value, str):
        return printable(value, limit)
    if isinstance(value, bytes):
        return bytes_text(value, limit)
    try:
        if not too_deep(value):
            return printable(orjson.dumps(value, default=str).decode(), limit)
    except Exception:  # noqa: BLE001, S110 - anything a sender can build: fall back to the repr below
        pass
    try:
        return printable(_REPR.repr(value), limit)
    except Exception:  # noqa: BLE001 - the quarantine must not fail on any input
        return f"<unprintable {type(value).__name__}>"


def safe_strings(value: Any, limit: int = 4096) -> Any:
    """A JSON-like value (error lists) with every string made printable; depth-bounded, never raises."""
    if isinstance(value, str):
        return printable(value, limit)
    if isinstance(value, dict):
        return {printable(str(k), 200): safe_strings(v, limit) for k, v in list(value.items())[:200]}
    if isinstance(value, list | tuple):
        return [safe_strings(v, limit) for v in list(value)[:1000]]
    if value is None or isinstance(value, bool | int | float):
        return value
    return printable(str(value), limit)


def strip_bom(body: bytes) -> bytes:
    """The body without a leading UTF-8 byte order mark (some editors and Windows tools add one)."""
    return body[3:] if body.startswith(BOM) else body


_PIECE = 1 << 20  # bytes scanned at once: bounded memory whatever the size fed


class DepthScanner:
    """Nesting depth of JSON text fed in pieces, at numpy speed in constant memory.

    A bracket counts only outside strings: a quote opens or closes a string unless an odd run of
    backslashes precedes it; the parity of the quotes before a bracket says whether it is inside one.
    """

    def __init__(self) -> None:
        self.depth = 0
        self.deepest = 0
        self.in_string = False
        self.backslashes = 0  # length of the run of backslashes ending the previous piece

    def feed(self, chunk: bytes, *, final: bool = False) -> int:
        """Account for one more piece; returns the deepest level seen so far."""
        for start in range(0, len(chunk), _PIECE):
            self._feed(
                np.frombuffer(chunk, dtype=np.uint8, count=min(_PIECE, len(chunk) - start), offset=start)
            )
        return self.deepest

    def _quotes(self, arr: Any) -> Any:
        """Where the string delimiters of a piece are (quotes not escaped by a backslash)."""
        slashes = arr == 92
        if not slashes.any():
            quotes = arr == 34
            if self.backslashes % 2 and arr[0] == 34:
                quotes[0] = False
            self.backslashes = 0
            return quotes
        pos = np.arange(arr.size, dtype=np.int64)
        last_other = np.maximum.accumulate(np.where(slashes, -1, pos))  # last non-backslash at or before i
        before = np.empty(arr.size, dtype=np.int64)
        before[0], before[1:] = -1, last_other[:-1]
        run = pos - 1 - before  # backslashes just before i
        run[before == -1] += self.backslashes
        tail = int(arr.size - 1 - last_other[-1])
        self.backslashes = tail + (self.backslashes if last_other[-1] == -1 else 0)
        return (arr == 34) & ((run & 1) == 0)

    def _feed(self, arr: Any) -> None:
        """One piece of at most _PIECE bytes (work on the quotes and brackets only: few of the bytes)."""
        if not arr.size:
            return
        quotes = self._quotes(arr)
        brackets = (arr == 91) | (arr == 93) | (arr == 123) | (arr == 125)
        if not brackets.any():
            self.in_string ^= bool(np.count_nonzero(quotes) & 1)
            return
        marks = arr[np.flatnonzero(quotes | brackets)]
        is_quote = marks == 34  # escaped quotes are not among the marks
        parity = np.cumsum(is_quote, dtype=np.int32) + int(self.in_string)
        steps = ((marks == 91) | (marks == 123)).astype(np.int32) - ((marks == 93) | (marks == 125))
        running = np.cumsum(steps * ((parity & 1) == 0), dtype=np.int32) + self.depth
        self.deepest = max(self.deepest, int(running.max()))
        self.depth = int(running[-1])
        self.in_string = bool(parity[-1] & 1)


def max_depth(text: bytes) -> int:
    """Deepest nesting of a JSON text (0 for a scalar)."""
    return DepthScanner().feed(text, final=True)


class DepthGuard:
    """A binary reader that refuses a JSON document nesting deeper than `limit` as the bytes go by.

    Streaming parsers build whatever nesting they are given (ijson's C backend is killed past about
    100,000 levels): this stops the read first. `deep` tells whether any row may exceed MAX_DEPTH,
    so that rows are walked only then.
    """

    def __init__(self, raw: Any, limit: int = MAX_DOCUMENT_DEPTH) -> None:
        self.raw = raw
        self.limit = limit
        self.scanner = DepthScanner()
        self.read_bytes = 0

    @property
    def deep(self) -> bool:
        """Whether anything read so far nests deeper than a row may: then rows are walked one by one.

        A row sits at least one level down (a top-level array), so a document no deeper than a row may
        be cannot hold a row that is too deep; nothing finer is assumed (a Feature has no extra level).
        """
        return self.scanner.deepest > MAX_DEPTH

    def read(self, size: int = -1) -> bytes:
        """Read like the wrapped file, checking the nesting of what was read."""
        chunk = bytes(self.raw.read(size))
        self.read_bytes += len(chunk)
        if self.scanner.feed(chunk, final=not chunk and size != 0) > self.limit:
            raise Unparseable(f"JSON nested deeper than {self.limit} levels (before byte {self.read_bytes})")
        return chunk


def row_problem(row: Any) -> tuple[str, str, dict[str, Any]] | None:
    """(code, message code, parameters) when a parsed row nests too deep or holds a NUL or a lone
    surrogate."""
    stack: list[tuple[Any, int]] = [(row, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            if UNSAFE_TEXT.search(item):
                return ("ENCODING", "finding.ENCODING.nul", {})
            continue
        if isinstance(item, dict):
            children: list[Any] = [*item.keys(), *item.values()]
        elif isinstance(item, list | tuple):
            children = list(item)
        else:
            continue
        if depth > MAX_DEPTH:
            return ("PARSE", "finding.PARSE.deep", {"levels": MAX_DEPTH})
        stack.extend((child, depth + 1) for child in children)
    return None
