"""Small published releases written straight to disk and the release table, without the release builder."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from territoria.catalog.models import Dataset
from territoria.catalog.schemas import DatasetCreate, MetricCreate, OrganisationCreate
from territoria.catalog.service import create_dataset, ensure_organisation
from territoria.context import Context
from territoria.opendata.models import Release
from territoria.opendata.releases import latest_table
from territoria.opendata.tables import ReleaseColumn, ReleaseTable

NICE, ANTIBES, CANNES = "06088", "06004", "06029"
NAMES = {NICE: "Nice", ANTIBES: "Antibes", CANNES: "Cannes"}
MONTHS = [datetime(2024, m, 1, tzinfo=UTC) for m in (1, 2, 3, 4)]
SEGMENTS = ["residential", "tertiary"]

AREA_COLUMNS = [
    ReleaseColumn("area_code", "string", "dimension", texts={"en": "Commune code", "fr": "Code commune"}),
    ReleaseColumn("area_name", "string", "attribute", texts={"en": "Commune", "fr": "Commune"}),
    ReleaseColumn("period", "datetime", "dimension", texts={"en": "Month", "fr": "Mois"}),
    ReleaseColumn("segment", "string", "dimension", texts={"en": "Segment", "fr": "Segment"}),
    ReleaseColumn(
        "total", "string", "attribute", texts={"en": "Totalled dimensions", "fr": "Dimensions totalisées"}
    ),
    ReleaseColumn("contributors", "integer", "measure", texts={"en": "Contributors", "fr": "Contributeurs"}),
    ReleaseColumn("energy_kwh_sum", "number", "measure", unit="kWh", texts={"en": "Energy", "fr": "Énergie"}),
    ReleaseColumn(
        "energy_kwh_mean",
        "number",
        "measure",
        unit="kWh",
        texts={"en": "Mean energy", "fr": "Énergie moyenne"},
    ),
    ReleaseColumn("secret", "boolean", "flag", texts={"en": "Secret", "fr": "Secret"}),
]
POINT_COLUMNS = [
    ReleaseColumn("station", "string", "dimension", texts={"en": "Station", "fr": "Station"}),
    ReleaseColumn("period", "datetime", "dimension", texts={"en": "Day", "fr": "Jour"}),
    ReleaseColumn("sessions", "integer", "measure", texts={"en": "Sessions", "fr": "Sessions"}),
    ReleaseColumn("energy_kwh", "number", "measure", unit="kWh", texts={"en": "Energy", "fr": "Énergie"}),
    ReleaseColumn("lon", "number", "location", unit="°", texts={"en": "Longitude", "fr": "Longitude"}),
    ReleaseColumn("lat", "number", "location", unit="°", texts={"en": "Latitude", "fr": "Latitude"}),
]


def area_rows() -> list[dict[str, Any]]:
    """Detail cells (commune × month × segment), secret where fewer than 3 contributors, and totals."""
    rows: list[dict[str, Any]] = []
    for a, code in enumerate((NICE, ANTIBES, CANNES)):
        for m, month in enumerate(MONTHS):
            for s, segment in enumerate(SEGMENTS):
                k = 2 if (code, segment) == (ANTIBES, "tertiary") else 10 + a + m + s
                energy = 1000.0 * (a + 1) + 100.0 * m + 10.0 * s + 0.5
                secret = k < 3
                rows.append(
                    {
                        "area_code": code,
                        "area_name": NAMES[code],
                        "period": month,
                        "segment": segment,
                        "total": "",
                        "contributors": k,
                        "energy_kwh_sum": None if secret else energy,
                        "energy_kwh_mean": None if secret else energy / k,
                        "secret": secret,
                    }
                )
    for month in MONTHS:  # totals across areas: no area, hence no geometry
        rows.append(
            {
                "area_code": None,
                "area_name": None,
                "period": month,
                "segment": None,
                "total": "area_code,segment",
                "contributors": 99,
                "energy_kwh_sum": 12345.0,
                "energy_kwh_mean": 124.7,
                "secret": False,
            }
        )
    return rows


def point_rows() -> list[dict[str, Any]]:
    """Charging stations by day, plus a total row without a location."""
    stations = [("S1", 7.2620, 43.7030), ("S2", 7.0128, 43.5513), ("S3", 7.1190, 43.5800)]
    rows: list[dict[str, Any]] = []
    for i, (name, lon, lat) in enumerate(stations):
        for d in (1, 2):
            day = datetime(2024, 5, d, tzinfo=UTC)
            rows.append(
                {
                    "station": name,
                    "period": day,
                    "sessions": 3 * i + d,
                    "energy_kwh": 10.5 * (i + d),
                    "lon": lon,
                    "lat": lat,
                }
            )
    rows.append(
        {"station": None, "period": None, "sessions": 99, "energy_kwh": 999.0, "lon": None, "lat": None}
    )
    return rows


ARROW_TYPES = {
    "string": pa.string(),
    "integer": pa.int64(),
    "number": pa.float64(),
    "boolean": pa.bool_(),
    "datetime": pa.timestamp("us", tz="UTC"),
}


def write_file(path: Path, rows: list[dict[str, Any]], columns: list[ReleaseColumn]) -> None:
    """Write rows as a release Parquet file with the columns' Arrow types."""
    schema = pa.schema([pa.field(c.name, ARROW_TYPES[c.type]) for c in columns])
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(rows, schema=schema), path)


def file_release(
    path: Path, *, geometry: str = "area", rows: list[dict[str, Any]] | None = None, slug: str = "energy-open"
) -> MadeRelease:
    """A release table on a file only (no database): enough for the explore and export engines."""
    columns = POINT_COLUMNS if geometry == "point" else AREA_COLUMNS
    if geometry == "":
        columns = [c for c in AREA_COLUMNS if c.name not in ("area_code", "area_name")]
    if rows is None:
        rows = point_rows() if geometry == "point" else area_rows()
        if geometry == "":
            rows = [{k: v for k, v in r.items() if k not in ("area_code", "area_name")} for r in rows]
    write_file(path, rows, columns)
    table = ReleaseTable(slug, 1, path, tuple(columns), geometry, len(rows))  # type: ignore[arg-type]
    return MadeRelease(table, rows, columns)


@dataclass
class MadeRelease:
    """What a test needs: the table as the API sees it and the rows written."""

    table: ReleaseTable
    rows: list[dict[str, Any]]
    columns: list[ReleaseColumn]


def make_release(
    ctx: Context,
    *,
    slug: str = "energy-open",
    geometry: str = "area",
    version: int = 1,
    rows: list[dict[str, Any]] | None = None,
    columns: list[ReleaseColumn] | None = None,
    status: str = "published",
) -> MadeRelease:
    """Write a release's Parquet file under the release directory and its `release` row (dataset created if needed)."""
    if columns is None:
        columns = POINT_COLUMNS if geometry == "point" else AREA_COLUMNS
    if rows is None:
        rows = point_rows() if geometry == "point" else area_rows()
    relative = f"{slug}/v{version}.parquet"
    path = ctx.settings.releases_root() / relative
    write_file(path, rows, columns)
    periods = [r["period"] for r in rows if r.get("period") is not None]
    with ctx.session(write=True) as s:
        ds = s.query(Dataset).filter_by(slug=slug).one_or_none()
        if ds is None:
            owner = ensure_organisation(s, OrganisationCreate(slug="city", name="City", kind="authority"))
            body = DatasetCreate(
                slug=slug,
                title=f"Open {slug}",
                description="A test release",
                domain="electricity",
                kind="timeseries",
                access="open",
                metrics=[MetricCreate(name="energy", unit="kWh")],
                keywords=["energy"],
            )
            ds = create_dataset(s, body, owner)
        s.add(
            Release(
                dataset_id=ds.id,
                version=version,
                policy_version=1,
                status=status,
                path=relative if status == "published" else "",
                sha256=hashlib.sha256(path.read_bytes()).hexdigest(),
                rows=len(rows),
                columns=[c.as_json() for c in columns],
                geometry=geometry,
                report={"k": 3, "suppressed": sum(1 for r in rows if r.get("secret"))},
                changelog={"added": len(rows), "removed": 0},
                coverage_start=min(periods) if periods else None,
                coverage_end=max(periods) if periods else None,
                licence="etalab-2.0",
            )
        )
    table = ReleaseTable(slug, version, path, tuple(columns), geometry, len(rows))  # type: ignore[arg-type]
    if status == "published":
        with ctx.session() as s:
            table = latest_table(s, ctx.settings, slug)
    return MadeRelease(table, rows, columns)
