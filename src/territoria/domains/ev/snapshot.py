"""A stored snapshot of the consolidation, reused while the IRVE records it was built from are unchanged.

Consolidating 500,000 charge points means reading 500,000 JSON records; on SQLite that alone takes
seconds. The result only changes when the records (or the batches they came with) change, so it is
kept as Parquet files beside the SQLite database, under a name made of a fingerprint of everything it
depends on:

- the datasets consolidated (id, slug, schema version),
- per dataset, the number of records and the largest record id (from the `dataset_id` index, without
  touching the records themselves),
- every batch of those datasets with its reception time (an upsert always comes with a new batch, and
  a batch's time decides which source wins),
- the communes (count and bounding boxes), which the swapped-coordinates check looks points up in,
- the format version below.

Any change of these gives another name, so a snapshot is never stale: it is simply not found, and the
consolidation is computed again and stored. Only the embedded SQLite backend keeps snapshots (a file
beside the database is the natural place, and it is where reading JSON is slow); PostgreSQL extracts
the fields server-side and always computes. A snapshot that cannot be read is ignored.
"""

from __future__ import annotations

import gc
import hashlib
import os
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from territoria.catalog.models import Dataset
from territoria.db.base import from_us, to_us
from territoria.domains.ev.checks import Finding
from territoria.domains.ev.model import ChargePoint, Provenance
from territoria.ingest.models import Batch, Record
from territoria.territory.models import Area

if TYPE_CHECKING:
    from territoria.domains.ev.consolidation import Consolidation

FORMAT = 2  # bump whenever consolidation, checks or this layout change what a snapshot holds
FOLDER = "ev-snapshots"
PREFIX = "consolidation-"
COORDINATES = "coordonneesXY"

_POINTS = pa.schema(
    [
        ("id_pdc", pa.string()),
        ("id_station", pa.string()),
        ("station_name", pa.string()),
        ("operator", pa.string()),
        ("owner", pa.string()),
        ("owner_siren", pa.string()),
        ("lon", pa.float64()),
        ("lat", pa.float64()),
        ("insee_declared", pa.string()),
        ("area_code", pa.string()),
        ("power_kw", pa.float64()),
        ("implantation", pa.string()),
        ("access", pa.string()),
        ("connectors", pa.string()),  # joined with "," (names never hold one)
        ("nbre_pdc", pa.int64()),
        ("commissioned", pa.date32()),
    ]
)
_SOURCES = pa.schema(
    [
        ("point", pa.int64()),  # index of the point in the points table
        ("dataset", pa.string()),
        ("record_key", pa.string()),
        ("received_us", pa.int64()),
    ]
)
_FINDINGS = pa.schema(
    [
        ("code", pa.string()),
        ("severity", pa.string()),
        ("id_pdc", pa.string()),
        ("field", pa.string()),
        ("message_code", pa.string()),  # an EV catalog code: the texts are read in each reader's language
        ("message_params", pa.string()),  # JSON
        ("proposed_fix", pa.string()),  # JSON, or null
    ]
)

# Columns of (nearly) distinct values, converted directly
_UNIQUE = frozenset({"id_pdc", "id_station", "station_name", "message_params"})


@contextmanager
def paused_gc() -> Iterator[None]:
    """Pause the cycle collector while hundreds of thousands of acyclic objects are built.

    Each collection walks every object alive; with half a million points it ran again and again
    during the build and took most of its time. Nothing built here holds a cycle.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def folder_for(session: Session) -> Path | None:
    """Where snapshots go: beside a file-backed SQLite database; None for PostgreSQL or in-memory."""
    url = session.get_bind().engine.url
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    return Path(url.database).resolve().parent / FOLDER


def fingerprint(session: Session, datasets: Sequence[Dataset]) -> str:
    """A digest of everything the consolidation of these datasets depends on (see the module doc)."""
    ids = [d.id for d in datasets]
    counts = session.execute(
        select(Record.dataset_id, func.count(), func.max(Record.id))
        .where(Record.dataset_id.in_(ids))
        .group_by(Record.dataset_id)
        .order_by(Record.dataset_id)
    ).all()
    batches = session.execute(
        select(Batch.id, Batch.created_at).where(Batch.dataset_id.in_(ids)).order_by(Batch.id)
    ).all()
    areas = session.execute(
        select(
            func.count(),
            func.sum(Area.min_lon),
            func.sum(Area.min_lat),
            func.sum(Area.max_lon),
            func.sum(Area.max_lat),
        ).where(Area.level == "commune")
    ).one()
    parts: list[Any] = [
        FORMAT,
        [(d.id, d.slug, d.schema_version) for d in datasets],
        [tuple(r) for r in counts],
        [(b, to_us(t) if t else None) for b, t in batches],
        [None if v is None else round(float(v), 9) for v in areas],
    ]
    return hashlib.sha256(orjson.dumps(parts)).hexdigest()


def _name(datasets: Sequence[Dataset], key: str) -> tuple[str, str]:
    """(prefix shared by every snapshot of this selection of datasets, full folder name)."""
    selection = hashlib.sha256(orjson.dumps(sorted(d.id for d in datasets))).hexdigest()[:12]
    return f"{PREFIX}{selection}-", f"{PREFIX}{selection}-{key[:32]}"


def _us(value: datetime | None) -> int | None:
    return None if value is None else to_us(value)


def _conflicts_json(out: Consolidation) -> bytes:
    """Conflicts as JSON: [id_pdc, field, [[dataset, key, received_us, value], …], chosen]."""
    return orjson.dumps(
        [
            [
                c.id_pdc,
                c.field,
                [
                    [v.source.dataset, v.source.record_key, _us(v.source.received_at), v.value]
                    for v in c.values
                ],
                c.chosen,
            ]
            for c in out.conflicts
        ]
    )


def _write(folder: Path, out: Consolidation) -> None:
    """The three tables and the conflicts of a consolidation, in `folder`."""
    p = out.points
    columns: dict[str, list[Any]] = {
        "id_pdc": [x.id_pdc for x in p],
        "id_station": [x.id_station for x in p],
        "station_name": [x.station_name for x in p],
        "operator": [x.operator for x in p],
        "owner": [x.owner for x in p],
        "owner_siren": [x.owner_siren for x in p],
        "lon": [x.lon for x in p],
        "lat": [x.lat for x in p],
        "insee_declared": [x.insee_declared for x in p],
        "area_code": [x.area_code for x in p],
        "power_kw": [x.power_kw for x in p],
        "implantation": [x.implantation for x in p],
        "access": [x.access for x in p],
        "connectors": [",".join(x.connectors) for x in p],
        "nbre_pdc": [x.nbre_pdc for x in p],
        "commissioned": [x.commissioned for x in p],
    }
    pq.write_table(pa.table(columns, schema=_POINTS), folder / "points.parquet")
    sources = [(i, s) for i, x in enumerate(p) for s in x.sources]
    pq.write_table(
        pa.table(
            {
                "point": [i for i, _ in sources],
                "dataset": [s.dataset for _, s in sources],
                # the key is nearly always the point's id: stored once, as a null here
                "record_key": [None if s.record_key == p[i].id_pdc else s.record_key for i, s in sources],
                "received_us": [_us(s.received_at) for _, s in sources],
            },
            schema=_SOURCES,
        ),
        folder / "sources.parquet",
    )
    f = out.findings
    fixes = [None if x.proposed_fix is None else orjson.dumps(x.proposed_fix).decode() for x in f]
    pq.write_table(
        pa.table(
            {
                "code": [x.code for x in f],
                "severity": [x.severity for x in f],
                "id_pdc": [x.id_pdc for x in f],
                "field": [x.field for x in f],
                "message_code": [x.message_code for x in f],
                "message_params": [orjson.dumps(x.params).decode() for x in f],
                "proposed_fix": fixes,
            },
            schema=_FINDINGS,
        ),
        folder / "findings.parquet",
    )
    (folder / "conflicts.json").write_bytes(_conflicts_json(out))


def save(session: Session, datasets: Sequence[Dataset], key: str, out: Consolidation) -> Path | None:
    """Store a consolidation under its fingerprint (atomically), drop older ones; None if not stored."""
    root = folder_for(session)
    if root is None:
        return None
    prefix, name = _name(datasets, key)
    try:
        root.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix=".tmp-", dir=root))
        work.chmod(0o755)  # readable like the database beside it (mkdtemp makes it private)
        try:
            _write(work, out)
            os.rename(work, root / name)  # readers see a whole snapshot or none
        except Exception:
            shutil.rmtree(work, ignore_errors=True)
            if not (root / name).is_dir():  # else another process stored the same one first: keep it
                raise
        for old in root.glob(f"{prefix}*"):
            if old.name != name:
                shutil.rmtree(old, ignore_errors=True)
    except (OSError, pa.ArrowException, TypeError, ValueError, OverflowError, orjson.JSONEncodeError):
        # Unusual values (e.g. a non-text SIREN) or an unwritable folder: no snapshot, nothing wrong.
        return None
    return root / name


def _received(us: int | None) -> datetime | None:
    return None if us is None else from_us(us)


def _times(values: list[int | None]) -> list[datetime | None]:
    """Reception times from microseconds (a few batches stand behind many records: converted once)."""
    known = {us: _received(us) for us in set(values)}
    return [known[us] for us in values]


def _pylist(column: pa.ChunkedArray, *, repetitive: bool = True) -> list[Any]:
    """A column as Python values, like `to_pylist` but faster on repetitive columns.

    Repetitive columns (operators, communes, dates…) are dictionary-encoded so that each distinct value
    is converted once and shared, which also saves memory; floats go through numpy.
    """
    arr = column.combine_chunks()
    values: list[Any]
    if pa.types.is_floating(arr.type):
        values = arr.fill_null(0.0).to_numpy(zero_copy_only=False).tolist()
    elif not repetitive or len(arr) < 64:
        return list(arr.to_pylist())
    else:
        encoded = arr.dictionary_encode()
        distinct = encoded.dictionary.to_pylist()
        codes = encoded.indices.fill_null(0).to_numpy(zero_copy_only=False).tolist()
        values = list(map(distinct.__getitem__, codes))
    if arr.null_count:
        for i in np.flatnonzero(arr.is_null().to_numpy(zero_copy_only=False)).tolist():
            values[i] = None
    return values


def _sources(folder: Path, ids: list[str]) -> list[list[Provenance]]:
    """The provenance lists of the points (`ids`, in point order)."""
    table = pq.read_table(folder / "sources.parquet")
    point = table.column("point").to_numpy().tolist()
    keys = _pylist(table.column("record_key"), repetitive=False)
    same = len(point) == len(ids) and point == list(range(len(ids)))  # one source per point
    # A null key is the point's own id (the usual primary key of IRVE records): stored once.
    keys = [ids[i] if k is None else k for i, k in zip(point, keys, strict=True)]
    provs = list(
        map(
            Provenance,
            _pylist(table.column("dataset")),
            keys,
            _times(_pylist(table.column("received_us"))),
        )
    )
    if same:
        return [[s] for s in provs]
    out: list[list[Provenance]] = [[] for _ in ids]
    for i, s in zip(point, provs, strict=True):
        out[i].append(s)
    return out


def _points(folder: Path) -> list[ChargePoint]:
    """The charge points, with their sources."""
    table = pq.read_table(folder / "points.parquet")
    cols = {name: _pylist(table.column(name), repetitive=name not in _UNIQUE) for name in table.column_names}
    connectors = {text: tuple(text.split(",")) if text else () for text in set(cols["connectors"])}
    cols["connectors"] = [connectors[t] for t in cols["connectors"]]
    sources = _sources(folder, cols["id_pdc"])
    return list(map(ChargePoint, *(cols[f.name] for f in _POINTS), sources))


def _fix(text: str | None) -> dict[str, Any] | None:
    return None if text is None else dict(orjson.loads(text))


def _findings(table: pa.Table) -> list[Finding]:
    """The findings, in their order."""
    cols = [_pylist(table.column(f.name), repetitive=f.name not in _UNIQUE) for f in _FINDINGS]
    cols[-1] = list(map(_fix, cols[-1]))  # each finding its own dict, as computed
    cols[-2] = [dict(orjson.loads(text)) for text in cols[-2]]
    return list(map(Finding, *cols))


def _conflicts(folder: Path) -> list[Any]:
    """The conflicts; coordinates come back as the (lon, lat) tuples they were."""
    from territoria.domains.ev.consolidation import Conflict, SourceValue  # noqa: PLC0415 (cycle)

    def value(name: str, v: Any) -> Any:
        return tuple(v) if name == COORDINATES and isinstance(v, list) else v

    return [
        Conflict(
            id_pdc,
            name,
            [SourceValue(Provenance(d, k, _received(us)), value(name, v)) for d, k, us, v in said],
            value(name, chosen),
        )
        for id_pdc, name, said, chosen in orjson.loads((folder / "conflicts.json").read_bytes())
    ]


def load(session: Session, datasets: Sequence[Dataset], key: str) -> Consolidation | None:
    """The stored consolidation with this fingerprint, or None (absent or unreadable)."""
    from territoria.domains.ev.consolidation import Consolidation, station_members  # noqa: PLC0415 (cycle)

    root = folder_for(session)
    if root is None:
        return None
    folder = root / _name(datasets, key)[1]
    if not folder.is_dir():
        return None
    try:
        points = _points(folder)
        findings = pq.read_table(folder / "findings.parquet")  # read now, made into objects on demand
        conflicts = _conflicts(folder)
    except (OSError, pa.ArrowException, ValueError, KeyError, TypeError):
        return None  # removed by a newer snapshot while being read, or damaged: compute instead

    def made() -> list[Finding]:
        with paused_gc():
            return _findings(findings)

    return Consolidation(points, conflicts, made, station_members(points))
