"""Publishing: build a versioned, immutable release under the dataset's privacy policy."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from territoria.access import policy as access_policy
from territoria.access.audit import record
from territoria.access.audit_models import AuditEvent
from territoria.access.principal import Principal
from territoria.access.roles import Capability
from territoria.catalog.models import Dataset
from territoria.errors import Invalid
from territoria.opendata import sources
from territoria.opendata.changelog import diff
from territoria.opendata.disclosure_history import Previous, contributions_path, load, store
from territoria.opendata.models import Release
from territoria.opendata.policies import CONSOLE_ACTOR, check, require_policy
from territoria.opendata.policy import Period, PolicyBody
from territoria.opendata.record_shaping import records_table
from territoria.opendata.releases import latest_release
from territoria.opendata.shaping import Shaped, _microdata_report, aggregated, locate, per_asset
from territoria.opendata.tables import ReleaseColumn
from territoria.settings import Settings
from territoria.territory.models import Area
from territoria.territory.service import build_locator


@dataclass(frozen=True)
class Outcome:
    """A release and whether it was published (False: the disclosure report failed, nothing served)."""

    release: Release
    published: bool


def _period(ds: Dataset, body: PolicyBody) -> Period | None:
    """The time step of the release: the policy's, else a day for time series and none for records."""
    if body.time is not None:
        return body.time.to
    return "day" if ds.kind == "timeseries" else None


def _previous_releases(session: Session, settings: Settings, ds: Dataset) -> list[Previous]:
    """Every published release of the dataset whose file is still there, with its kept contributions."""
    found: list[Previous] = []
    stmt = select(Release).where(Release.dataset_id == ds.id, Release.status == "published")
    for release in session.scalars(stmt.order_by(Release.version)):
        path = settings.releases_root() / release.path
        if release.path and path.exists():
            found.append(Previous(release.version, pq.read_table(path), load(contributions_path(path))))
    return found


def _shape(
    session: Session, settings: Settings, ds: Dataset, body: PolicyBody, now: datetime
) -> tuple[Shaped, sources.Window | None]:
    """The public table of the dataset under the policy, and the time window it covers."""
    if body.source is not None:
        return _from_source(session, ds, body, body.source, now)
    period = _period(ds, body)
    if ds.kind == "timeseries":
        assert period is not None
        first = sources.first_timeseries_instant(session, ds)
        window = sources.window_for(first, body, period, now)
        if window is None:
            raise Invalid(
                f"nothing to publish in '{ds.slug}' yet: no complete {period} of data older than the "
                f"publication delay ({body.delay_days} days)"
            )
        extract = sources.timeseries_extract(session, ds, body, period, window)
        names = sorted(
            {
                *(body.aggregate.categories if body.aggregate else []),
                *body.keep,
                *(r.field for r in body.rules),
            }
        )
        sources.attach_assets(session, ds, extract, names)
        if body.aggregate is not None:
            _to_iris(session, extract, body)
            locate(extract, body)
            history = _previous_releases(session, settings, ds)
            return aggregated(extract, body, window, period, history), window
        _to_iris(session, extract, body)
        return per_asset(extract, body, ds, period), window
    if body.aggregate is not None:
        extract = sources.records_extract(session, ds, body, period)
        _to_iris(session, extract, body)
        locate(extract, body)
        return aggregated(extract, body, None, period, _previous_releases(session, settings, ds)), None
    return records_table(session, ds, body), None


def _from_source(
    session: Session, ds: Dataset, body: PolicyBody, name: str, now: datetime
) -> tuple[Shaped, sources.Window | None]:
    """A domain source's table, dropped columns removed, with the row-level checks and the source's own."""
    found = sources.domain_sources().get(name)
    if found is None:
        raise Invalid(f"no domain source '{name}': the policy of '{ds.slug}' names an unknown source")
    built = found.build(session, ds, body, now)
    # The dimensions key the change log: they are never dropped (the source's check refuses it too).
    columns = [c for c in built.columns if c.role == "dimension" or c.name not in body.drop]
    table = built.table.select([c.name for c in columns])
    names = [c.name for c in columns]
    report = _microdata_report(ds, body, names, table.num_rows)
    report["checks"] = [*report["checks"], *built.checks]
    report["passed"] = all(c["passed"] for c in report["checks"])
    report["secret"] = built.secret
    # A dropped location leaves the rows without geometry rather than with a broken one.
    located = {"lon", "lat"} <= set(names) or any(c.role == "location" for c in columns)
    geometry = built.geometry if (located or built.geometry != "point") else ""
    if geometry == "area" and "area_code" not in names:
        geometry = ""
    return Shaped(table, columns, geometry, report), built.window


def _to_iris(session: Session, extract: sources.Extract, body: PolicyBody) -> None:
    """Replace the commune of each row by the IRIS holding its point (none when it has no point)."""
    if body.location is None or body.location.to != "iris":
        return
    locator = build_locator(session, "iris")
    points = [
        (float(lon), float(lat)) if lon is not None and lat is not None else (float("nan"), float("nan"))
        for lon, lat in zip(extract.attributes["lon"], extract.attributes["lat"], strict=True)
    ]
    found = locator.locate_many(points)
    extract.attributes["area_code"] = np.array(found, dtype=object)


def _with_area_names(session: Session, shaped: Shaped, body: PolicyBody) -> Shaped:
    """Add the area's name (commune, or IRIS) beside its code."""
    if "area_code" not in shaped.table.column_names:
        return shaped
    level = "iris" if body.location is not None and body.location.to == "iris" else "commune"
    names = dict(session.execute(select(Area.code, Area.name).where(Area.level == level)).all())
    codes = shaped.table.column("area_code").to_pylist()
    column = pa.array([names.get(c) if c else None for c in codes], pa.string())
    at = shaped.table.column_names.index("area_code") + 1
    shaped.table = shaped.table.add_column(at, "area_name", column)
    idx = next(i for i, c in enumerate(shaped.columns) if c.name == "area_code") + 1
    shaped.columns.insert(idx, ReleaseColumn("area_name", "string", "attribute", "od.column.area_name"))
    return shaped


def _write(root: Path, slug: str, version: int, table: pa.Table) -> tuple[str, str]:
    """Write the Parquet file atomically (temporary name, fsync, rename); returns relative path and sha256."""
    folder = root / slug
    folder.mkdir(parents=True, exist_ok=True)
    temporary = folder / f".v{version}.parquet.tmp"
    pq.write_table(table, temporary, compression="zstd", row_group_size=128_000)
    digest = hashlib.sha256()
    with temporary.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
        os.fsync(handle.fileno())
    sha = digest.hexdigest()
    final = folder / f"v{version}-{sha[:12]}.parquet"
    temporary.replace(final)
    return str(final.relative_to(root)), sha


def _coverage(shaped: Shaped, window: sources.Window | None) -> tuple[datetime | None, datetime | None]:
    """The time covered: the release window, or the range of the period column."""
    if window is not None:
        return window.start, window.end
    if "period" in shaped.table.column_names and shaped.table.num_rows:
        low, high = pc.min_max(shaped.table.column("period")).values()
        return low.as_py(), high.as_py()
    return None, None


def _previous_table(settings: Settings, previous: Release | None) -> pa.Table | None:
    """The public table of the previous release, when its file is still there."""
    if previous is None:
        return None
    path = settings.releases_root() / previous.path
    return pq.read_table(path) if path.exists() else None


def publish(
    session: Session,
    settings: Settings,
    ds: Dataset,
    principal: Principal | None,
    *,
    now: datetime | None = None,
) -> Outcome:
    """Build the next release of a dataset: checked, written, recorded; a failed check publishes nothing."""
    if principal is not None:
        access_policy.require(principal, ds, Capability.PUBLISH)
    now = now or datetime.now(UTC)
    policy_row = require_policy(session, ds)
    body = PolicyBody.model_validate(policy_row.body)
    problems = check(session, ds, body)
    if problems:
        raise Invalid(
            "the privacy policy no longer holds on this dataset: "
            + "; ".join(p["message"] for p in problems),
            errors=problems,
        )
    shaped, window = _shape(session, settings, ds, body, now)
    shaped = _with_area_names(session, shaped, body)
    report: dict[str, Any] = {
        **shaped.report,
        "policy_version": policy_row.version,
        "window": {"start": window.start.isoformat(), "end": window.end.isoformat(), "days": window.days}
        if window
        else None,
        "delay_days": body.delay_days,
    }
    version = (
        int(session.scalar(select(func.max(Release.version)).where(Release.dataset_id == ds.id)) or 0) + 1
    )
    actor = principal.actor if principal is not None else CONSOLE_ACTOR
    start, end = _coverage(shaped, window)
    release = Release(
        dataset_id=ds.id,
        version=version,
        policy_version=policy_row.version,
        status="published" if report.get("passed") else "failed",
        rows=shaped.table.num_rows,
        columns=[c.as_json() for c in shaped.columns],
        geometry=shaped.geometry,
        report=report,
        coverage_start=start,
        coverage_end=end,
        licence=body.licence,
        created_by=actor,
        created_at=now,
    )
    if release.status == "published":
        previous = latest_release(session, ds.id)
        keys = [c.name for c in shaped.columns if c.role == "dimension"] + (
            ["total"] if "total" in shaped.table.column_names else []
        )
        meta = {
            "policy_version": policy_row.version,
            "previous_version": previous.version if previous else None,
            "previous_policy_version": previous.policy_version if previous else None,
            "audit_head": audit_head(session),
        }
        release.changelog = diff(_previous_table(settings, previous), shaped.table, keys, meta)
        release.path, release.sha256 = _write(settings.releases_root(), ds.slug, version, shaped.table)
        if shaped.contributions is not None:
            store(contributions_path(settings.releases_root() / release.path), shaped.contributions)
    session.add(release)
    session.flush()
    record(
        session,
        actor=actor,
        action="release.publish" if release.status == "published" else "release.fail",
        target=f"dataset:{ds.slug}",
        organisation_id=ds.owner_id,
        details={
            "version": version,
            "policy_version": policy_row.version,
            "rows": release.rows,
            "secret": report.get("secret", 0),
            "sha256": release.sha256,
        },
    )
    return Outcome(release, release.status == "published")


def audit_head(session: Session) -> dict[str, Any] | None:
    """The last audit event (number and keyed hash) before this release, published in its change log.

    Anyone holding a release can later ask the authority to show that event unchanged in its trail:
    a trail cut or rewritten after the release cannot match the head published with it.
    """
    row = session.execute(
        select(AuditEvent.id, AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1)
    ).first()
    return {"seq": row.id, "hash": row.hash} if row is not None else None


def releases_of(session: Session, ds: Dataset) -> list[Release]:
    """Every release of the dataset, newest first (failed ones included)."""
    return list(
        session.scalars(select(Release).where(Release.dataset_id == ds.id).order_by(Release.version.desc()))
    )
