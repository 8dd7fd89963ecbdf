"""One way to page every list: a keyset cursor, a `next` URL and a `Link: <...>; rel="next"` header.

A page is read with `limit + 1` rows (the extra one proves a next page exists, so the last page has
no dangling link); its cursor is the sort key of its last row, opaque to callers (base64url JSON), so
the next page is one index range scan however deep it is. List endpoints answering a JSON array give
the next page in the `Link` header only; those answering an object also give it as `next`.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Protocol, TypeVar
from urllib.parse import urlencode

from territoria.errors import Invalid

T = TypeVar("T")
MAX_CURSOR = 600  # characters: a cursor carries a sort key, and keys are at most a few hundred characters
BAD_CURSOR = (
    "'cursor' is not one this list gave: follow the 'next' link (or Link header) of the previous page / "
    "'cursor' ne vient pas de cette liste : suivez le lien 'next' (ou l'en-tête Link) de la page précédente"
)


class Headers(Protocol):
    """Response headers one can set (Starlette's MutableHeaders among them)."""

    def __setitem__(self, key: str, value: str, /) -> None: ...


def encode(*key: str | int) -> str:
    """A cursor holding a sort key (strings and integers)."""
    raw = json.dumps(list(key), separators=(",", ":"), ensure_ascii=False).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def decode(raw: str | None, *shape: type[str] | type[int]) -> tuple[Any, ...] | None:
    """The sort key a cursor holds (None without one); refused (Invalid) unless it has `shape`."""
    if not raw:
        return None
    if len(raw) > MAX_CURSOR:
        raise Invalid(BAD_CURSOR)
    try:
        values = json.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
    except (ValueError, binascii.Error) as exc:
        raise Invalid(BAD_CURSOR) from exc
    if not isinstance(values, list) or len(values) != len(shape):
        raise Invalid(BAD_CURSOR)
    # bool is an int to isinstance: a cursor never holds one.
    if any(type(v) is not kind for v, kind in zip(values, shape, strict=True)):
        raise Invalid(BAD_CURSOR)
    return tuple(values)


def split(rows: Sequence[T], limit: int) -> tuple[list[T], bool]:
    """The page from rows read with `limit + 1`, and whether another page follows."""
    return list(rows[:limit]), len(rows) > limit


def next_url(
    path: str,
    params: Iterable[tuple[str, str]],
    cursor: str,
    *,
    param: str = "cursor",
    drop: Iterable[str] = (),
) -> str:
    """The URL of the next page: the same query with the cursor replaced (and older paging parameters
    such as `offset` dropped, since the cursor alone places the page)."""
    gone = {param, *drop}
    kept = [(k, v) for k, v in params if k not in gone]
    return f"{path}?{urlencode([*kept, (param, cursor)])}"


def link_next(headers: Headers, url: str | None) -> str | None:
    """Announce the next page in the `Link` header (nothing on the last page); returns `url`."""
    if url is not None:
        headers["Link"] = f'<{url}>; rel="next"'
    return url


DEFAULT_LIMIT = 1000  # a register's page: its whole list today, a bounded answer tomorrow
MAX_LIMIT = 10_000


def page_in_memory(
    items: Sequence[T], key: Callable[[T], str | int], cursor: str | None, limit: int
) -> tuple[list[T], str | None]:
    """A page of a small register already read and filtered by the caller's rights, in its order, and
    the cursor of the next page (None on the last). The cursor holds the last row's key: the next page
    starts after that row, or, if it is gone, after the key (registers are ordered by their key)."""
    rest: Sequence[T] = items
    if cursor:
        kind = type(key(items[0])) if items else str
        (after,) = decode(cursor, kind) or (None,)
        found = next((i for i, item in enumerate(items) if key(item) == after), None)
        rest = items[found + 1 :] if found is not None else [i for i in items if key(i) > after]
    page, more = split(rest, limit)
    return page, encode(key(page[-1])) if more and page else None
