"""Columnar batches of points and PostgreSQL binary COPY encoding, vectorised with numpy.

A batch of 10,000 points costs milliseconds when handled as three arrays, against tens of
milliseconds as 10,000 Python tuples; the store, the rollups and COPY all work on these arrays.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]

PG_EPOCH_US = 946_684_800_000_000  # 2000-01-01T00:00:00Z, the origin of PostgreSQL timestamps
_COPY_HEADER = b"PGCOPY\n\xff\r\n\x00" + b"\x00\x00\x00\x00" + b"\x00\x00\x00\x00"
_COPY_TRAILER = b"\xff\xff"
_PG_TYPES = {
    "int2": (">i2", 2),
    "int4": (">i4", 4),
    "int8": (">i8", 8),
    "float8": (">f8", 8),
    "timestamptz": (">i8", 8),
}


@dataclass(frozen=True)
class Points:
    """Series ids, UTC epoch microseconds and values of a batch, as parallel arrays."""

    sid: I64
    us: I64
    value: F64

    @classmethod
    def of(cls, sid: Sequence[int], us: Sequence[int], value: Sequence[float]) -> Points:
        """Build from three sequences."""
        return cls(
            np.asarray(sid, dtype=np.int64),
            np.asarray(us, dtype=np.int64),
            np.asarray(value, dtype=np.float64),
        )

    @classmethod
    def from_tuples(cls, rows: Sequence[tuple[int, int, float]]) -> Points:
        """Build from (series id, microseconds, value) tuples."""
        if not rows:
            return cls.of([], [], [])
        sid, us, value = zip(*rows, strict=True)
        return cls.of(sid, us, value)

    def __len__(self) -> int:
        return int(self.sid.shape[0])

    def take(self, mask: npt.NDArray[np.bool_]) -> Points:
        """The points where mask is true."""
        return Points(self.sid[mask], self.us[mask], self.value[mask])

    def tuples(self) -> list[tuple[int, int, float]]:
        """(series id, microseconds, value) tuples for drivers that take rows."""
        return list(zip(self.sid.tolist(), self.us.tolist(), self.value.tolist(), strict=True))

    def pairs(self) -> list[tuple[int, int]]:
        """(series id, microseconds) of every point."""
        return list(zip(self.sid.tolist(), self.us.tolist(), strict=True))


def copy_binary(columns: Sequence[tuple[npt.NDArray[Any], str]]) -> bytes:
    """A whole PostgreSQL binary COPY stream for columns given as (array, type name)."""
    n = int(columns[0][0].shape[0]) if columns else 0
    fields: list[tuple[str, str]] = [("count", ">i2")]
    for i, (_array, kind) in enumerate(columns):
        fields += [(f"len{i}", ">i4"), (f"val{i}", _PG_TYPES[kind][0])]
    rows = np.empty(n, dtype=np.dtype(fields))
    rows["count"] = len(columns)
    for i, (array, kind) in enumerate(columns):
        rows[f"len{i}"] = _PG_TYPES[kind][1]
        rows[f"val{i}"] = array - PG_EPOCH_US if kind == "timestamptz" else array
    return _COPY_HEADER + rows.tobytes() + _COPY_TRAILER


@dataclass(frozen=True)
class Buckets:
    """Per (series, bucket) aggregates of a batch: n, sum, min, max, last value and its time."""

    sid: I64
    bucket: I64
    n: I64
    sum: F64
    min: F64
    max: F64
    last: F64
    last_us: I64

    def __len__(self) -> int:
        return int(self.sid.shape[0])

    def columns(self) -> list[npt.NDArray[Any]]:
        """Arrays in table column order (series_id, bucket, n, sum, min, max, last, last_ts)."""
        return [self.sid, self.bucket, self.n, self.sum, self.min, self.max, self.last, self.last_us]


def bucketise(points: Points, width_us: int) -> Buckets:
    """Aggregate points into fixed-width UTC buckets per series (sorted once, reduced in C)."""
    bucket = points.us - points.us % width_us
    order = np.lexsort((points.us, bucket, points.sid))
    sid, b, us, v = points.sid[order], bucket[order], points.us[order], points.value[order]
    count = sid.shape[0]
    change = np.ones(count, dtype=bool)
    change[1:] = (sid[1:] != sid[:-1]) | (b[1:] != b[:-1])
    starts = np.flatnonzero(change)
    ends = np.append(starts[1:], count) - 1
    return Buckets(
        sid=sid[starts],
        bucket=b[starts],
        n=(ends - starts + 1).astype(np.int64),
        sum=np.add.reduceat(v, starts),
        min=np.minimum.reduceat(v, starts),
        max=np.maximum.reduceat(v, starts),
        last=v[ends],
        last_us=us[ends],
    )
