"""Rows of a tabular file in columnar chunks: readable rows as Arrow text columns, the others as BadRows."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa

from territoria import i18n
from territoria.validation.model import TEXT_CODE, RowError, row_error, text_params


@dataclass(frozen=True, slots=True)
class BadRow:
    """A row that could not even be read (bad JSON line, wrong encoding, wrong column count)."""

    raw: str
    code: str
    message: str
    message_fr: str = ""
    # The reasons as catalog codes, (field, rule code, message code, parameters); without them the
    # reason is the sentences above, stored as the generic text message.
    reasons: tuple[tuple[str | None, str, str, dict[str, Any]], ...] = ()

    @classmethod
    def coded(cls, raw: str, code: str, message_code: str, params: dict[str, Any]) -> BadRow:
        """A row rejected for one reason given as a catalog code (its English and French texts kept
        for the callers that print them)."""
        en, fr = i18n.message(message_code, params, "en"), i18n.message(message_code, params, "fr")
        return cls(raw, code, en, fr, ((None, code, message_code, params),))

    def errors(self, row: int) -> list[RowError]:
        """The entries of a batch's `errors` list for this row."""
        if self.reasons:
            return [row_error(row, f, code, message, params) for f, code, message, params in self.reasons]
        return [row_error(row, None, self.code, TEXT_CODE, text_params(self.message, self.message_fr))]


Row = tuple[int, "dict[str, Any] | BadRow"]


@dataclass
class Chunk:
    """Consecutive rows of a CSV file: readable rows by column, unreadable ones with their reason.

    Iterating gives the rows in file order as (number, dict of text cells | BadRow), for the consumers
    that go row by row; the records path reads `columns` directly (no dict per row).
    """

    header: list[str]  # stripped names, as in the file (a repeated name: the last cell wins)
    delimiter: str
    encoding: str
    numbers: np.ndarray  # int64 row numbers (from 1) of the readable rows, ascending
    columns: list[pa.Array]  # one string array per header position, readable rows only
    bad: list[tuple[int, BadRow]] = field(default_factory=list)

    @classmethod
    def empty(cls, tab: Any) -> Chunk:
        """No row, with the header of an open file."""
        cols = [pa.array([], pa.string()) for _ in tab.header]
        return cls(list(tab.header), tab.delimiter, tab.encoding, np.zeros(0, np.int64), cols)

    def __len__(self) -> int:
        return len(self.numbers) + len(self.bad)

    @property
    def first(self) -> int:
        """The number of the first row."""
        firsts = [int(self.numbers[0])] if len(self.numbers) else []
        return min(firsts + [n for n, _ in self.bad[:1]])

    def names(self) -> list[str]:
        """Distinct column names in header order."""
        return list(dict.fromkeys(self.header))

    def by_name(self) -> dict[str, pa.Array]:
        """Column of each name (the last one for a name repeated in the header)."""
        return dict(zip(self.header, self.columns, strict=True))

    def dicts(self) -> list[dict[str, Any]]:
        """The readable rows as dicts of text cells (built only for the row-by-row consumers)."""
        if not self.header:
            return [{} for _ in range(len(self.numbers))]
        cols = [c.to_pylist() for c in self.columns]
        header = self.header
        return [dict(zip(header, cells, strict=True)) for cells in zip(*cols, strict=True)]

    def rows_at(self, positions: list[int]) -> list[dict[str, Any]]:
        """Readable rows at these positions as dicts of text cells (rejected rows' raw values)."""
        if not positions:
            return []
        picked = pa.array(positions, pa.int64())
        cols = [c.take(picked).to_pylist() for c in self.columns]
        return [dict(zip(self.header, cells, strict=True)) for cells in zip(*cols, strict=True)]

    def __iter__(self) -> Iterator[Row]:
        good = zip(self.numbers.tolist(), self.dicts(), strict=True)
        if not self.bad:
            yield from good
            return
        merged: list[Row] = [*good, *self.bad]
        merged.sort(key=lambda r: r[0])
        yield from merged

    def split(self, k: int) -> tuple[Chunk, Chunk]:
        """The first `k` rows, and the rest."""
        limit = self.first + k
        cut = int(np.searchsorted(self.numbers, limit))
        head = Chunk(
            self.header,
            self.delimiter,
            self.encoding,
            self.numbers[:cut],
            [c.slice(0, cut) for c in self.columns],
            [b for b in self.bad if b[0] < limit],
        )
        tail = Chunk(
            self.header,
            self.delimiter,
            self.encoding,
            self.numbers[cut:],
            [c.slice(cut) for c in self.columns],
            [b for b in self.bad if b[0] >= limit],
        )
        return head, tail


def concat(chunks: list[Chunk]) -> Chunk:
    """Consecutive chunks of one file as one."""
    if len(chunks) == 1:
        return chunks[0]
    first = chunks[0]
    width = len(first.header)
    return Chunk(
        first.header,
        first.delimiter,
        first.encoding,
        np.concatenate([c.numbers for c in chunks]),
        [pa.concat_arrays([c.columns[i] for c in chunks]) for i in range(width)],
        [b for c in chunks for b in c.bad],
    )


def rechunk(chunks: Iterable[Chunk], size: int) -> Iterator[Chunk]:
    """Chunks of exactly `size` rows (the last may be shorter), whatever the blocks read."""
    pending: list[Chunk] = []
    count = 0
    for chunk in chunks:
        rest = chunk
        while len(rest):
            room = size - count
            if len(rest) < room:
                pending.append(rest)
                count += len(rest)
                break
            head, rest = rest.split(room)
            yield concat([*pending, head])
            pending, count = [], 0
    if pending:
        yield concat(pending)
