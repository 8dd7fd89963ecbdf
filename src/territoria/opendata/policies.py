"""Privacy policies: validation against the dataset, versioning, audit."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from territoria.access import policy as access_policy
from territoria.access.audit import record
from territoria.access.principal import Principal
from territoria.access.roles import Capability
from territoria.catalog.models import Asset, Dataset
from territoria.errors import Invalid, NotFound
from territoria.ingest.models import Record
from territoria.opendata.models import PrivacyPolicy
from territoria.opendata.policy import PolicyBody
from territoria.opendata.presets import expand
from territoria.opendata.sources import domain_sources
from territoria.territory.models import Area

CONSOLE_ACTOR = "console"
TIMESERIES_COLUMNS = ("asset", "name", "kind", "lon", "lat", "area_code", "area_name")


def _problem(field: str, code: str, message: str) -> dict[str, Any]:
    """One reason a policy is refused."""
    return {"field": field, "code": code, "message": message}


def parse_body(ds: Dataset, raw: dict[str, Any]) -> PolicyBody:
    """The policy body (preset expanded), or Invalid listing every shape error."""
    try:
        return PolicyBody.model_validate(expand(ds, raw))
    except ValidationError as exc:
        errors = [
            _problem(
                ".".join(str(p) for p in e["loc"]) or "policy",
                str(e["type"]).upper(),
                e["msg"].removeprefix("Value error, "),
            )
            for e in exc.errors()
        ]
        raise Invalid(
            "the privacy policy is not valid: " + "; ".join(e["message"] for e in errors), errors=errors
        ) from None


def _property_keys(session: Session, ds: Dataset) -> dict[str, dict[str, int]]:
    """Asset property names with the count of assets per value (for category checks)."""
    values: dict[str, dict[str, int]] = {}
    for props, kind in session.execute(select(Asset.properties, Asset.kind).where(Asset.dataset_id == ds.id)):
        for key, value in {**(props or {}), "kind": kind}.items():
            if isinstance(value, str | int | bool):
                counts = values.setdefault(key, {})
                counts[str(value)] = counts.get(str(value), 0) + 1
    return values


def _record_fields(ds: Dataset) -> list[str]:
    """Field names of a records dataset's Table Schema."""
    return [f["name"] for f in (ds.table_schema or {}).get("fields", [])]


def _contributors(session: Session, ds: Dataset) -> int:
    """How many contributors the dataset has at most (assets, or records)."""
    table = Asset if ds.kind == "timeseries" else Record
    return int(session.scalar(select(func.count()).select_from(table).where(table.dataset_id == ds.id)) or 0)


def _check_source(session: Session, ds: Dataset, body: PolicyBody, name: str) -> list[dict[str, Any]]:
    """A policy naming a domain source: the source must exist, and its own checks decide."""
    found = domain_sources().get(name)
    if found is None:
        known = ", ".join(sorted(domain_sources())) or "none"
        return [_problem("source", "UNKNOWN_SOURCE", f"no domain source '{name}' (known: {known})")]
    return found.check(session, ds, body)


def check(session: Session, ds: Dataset, body: PolicyBody) -> list[dict[str, Any]]:
    """Why this policy cannot hold on this dataset (empty when it can)."""
    if body.source is not None:
        return _check_source(session, ds, body, body.source)
    problems: list[dict[str, Any]] = []
    metrics = {m.name for m in ds.metrics}
    if ds.kind == "timeseries":
        categories = _property_keys(session, ds)
        fields = set(categories)
        droppable = set(TIMESERIES_COLUMNS)
        for measure in body.measures:
            if measure.source not in metrics:
                problems.append(
                    _problem(
                        f"measures.{measure.name}.source",
                        "UNKNOWN_FIELD",
                        f"'{measure.source}' is not a metric of '{ds.slug}' ({', '.join(sorted(metrics))})",
                    )
                )
        if not body.measures:
            problems.append(
                _problem("measures", "REQUIRED", "a time-series release needs at least one measure")
            )
    else:
        fields = set(_record_fields(ds))
        droppable = fields
        categories = {}
        numeric = {
            f["name"]
            for f in (ds.table_schema or {}).get("fields", [])
            if f.get("type") in ("integer", "number")
        }
        for measure in body.measures:
            if measure.source not in numeric:
                problems.append(
                    _problem(
                        f"measures.{measure.name}.source",
                        "UNKNOWN_FIELD",
                        f"'{measure.source}' is not a numeric field of '{ds.slug}'",
                    )
                )
        if body.time is not None and body.time.field not in fields:
            problems.append(
                _problem("time.field", "UNKNOWN_FIELD", "name the date field to generalise (time.field)")
            )
        personal = set(ds.personal_fields or [])
        kept = personal - set(body.drop)
        if kept and body.aggregate is None:
            problems.append(
                _problem(
                    "drop",
                    "PERSONAL_FIELD_KEPT",
                    f"{', '.join(sorted(kept))} hold personal data: drop them or aggregate",
                )
            )
    for name in body.drop:
        if name not in droppable:
            problems.append(_problem("drop", "UNKNOWN_FIELD", f"cannot drop '{name}': no such field"))
    used = (
        list(body.keep)
        + (body.aggregate.categories if body.aggregate else [])
        + [r.field for r in body.rules]
    )
    for name in used:
        if name not in fields:
            problems.append(
                _problem(
                    "categories",
                    "UNKNOWN_FIELD",
                    f"'{name}' is not a field of '{ds.slug}' ({', '.join(sorted(fields)) or 'none'})",
                )
            )
    if body.aggregate and body.aggregate.contributor and body.aggregate.contributor not in fields:
        problems.append(
            _problem("aggregate.contributor", "UNKNOWN_FIELD", f"no field '{body.aggregate.contributor}'")
        )
    if body.location is not None and body.location.to == "iris":
        iris = session.scalar(select(func.count()).select_from(Area).where(Area.level == "iris"))
        if not iris:
            problems.append(
                _problem(
                    "location.to",
                    "NO_IRIS",
                    "no IRIS areas are loaded: load them (territoria territory load FILE --level iris) "
                    "or use commune",
                )
            )
    problems += _feasibility(session, ds, body, categories)
    return problems


def _feasibility(
    session: Session, ds: Dataset, body: PolicyBody, categories: dict[str, dict[str, int]]
) -> list[dict[str, Any]]:
    """A k that no cell could ever reach makes a release of secrets only: refuse it now."""
    total = _contributors(session, ds)
    problems = []
    if total and body.k > total:
        problems.append(
            _problem(
                "k",
                "K_UNREACHABLE",
                f"k = {body.k} but '{ds.slug}' has {total} contributors in all: "
                "no cell could ever be published",
            )
        )
    spans = [rule.k for rule in body.k_by_span]
    if total and spans and min(spans) > total:
        problems.append(
            _problem(
                "k_by_span",
                "K_UNREACHABLE",
                f"the smallest span rule needs k = {min(spans)} but '{ds.slug}' has "
                f"{total} contributors in all",
            )
        )
    for rule in body.rules:
        count = categories.get(rule.field, {}).get(rule.value)
        if rule.k is not None and count is not None and rule.k > count:
            problems.append(
                _problem(
                    "rules",
                    "K_UNREACHABLE",
                    f"k = {rule.k} for {rule.field} = {rule.value}, "
                    f"but only {count} contributors have that value",
                )
            )
    return problems


def current_policy(session: Session, ds: Dataset) -> PrivacyPolicy | None:
    """The latest version of the dataset's privacy policy, or None."""
    return session.scalars(
        select(PrivacyPolicy)
        .where(PrivacyPolicy.dataset_id == ds.id)
        .order_by(PrivacyPolicy.version.desc())
        .limit(1)
    ).first()


def require_policy(session: Session, ds: Dataset) -> PrivacyPolicy:
    """The current policy, or NotFound saying how to set one."""
    found = current_policy(session, ds)
    if found is None:
        raise NotFound(
            f"dataset '{ds.slug}' has no privacy policy yet: set one (territoria policy set {ds.slug} FILE, "
            f"or PUT /api/v1/datasets/{ds.slug}/privacy-policy), "
            "e.g. with a preset such as fr-energy-by-commune"
        )
    return found


def set_policy(
    session: Session, ds: Dataset, raw: dict[str, Any], principal: Principal | None, comment: str = ""
) -> PrivacyPolicy:
    """Validate and store a new version of the dataset's policy (the owner's `publish` capability)."""
    if principal is not None:
        access_policy.require(principal, ds, Capability.PUBLISH)
    body = parse_body(ds, raw)
    problems = check(session, ds, body)
    if problems:
        raise Invalid(
            "the privacy policy cannot hold on this dataset: " + "; ".join(p["message"] for p in problems),
            errors=problems,
        )
    previous = current_policy(session, ds)
    stored = body.model_dump(mode="json")
    if previous is not None and previous.body == stored:
        return previous
    version = (previous.version if previous else 0) + 1
    actor = principal.actor if principal is not None else CONSOLE_ACTOR
    row = PrivacyPolicy(dataset_id=ds.id, version=version, body=stored, comment=comment, created_by=actor)
    session.add(row)
    session.flush()
    record(
        session,
        actor=actor,
        action="privacy_policy.set",
        target=f"dataset:{ds.slug}",
        organisation_id=ds.owner_id,
        details={"version": version, "preset": body.preset, "k": body.k, "comment": comment},
    )
    return row
