"""Data work in the browser: upload a file to a dataset, create a dataset.

Both pages work without any script: the forms post here (the CSRF token rides in a hidden field, checked
by PrincipalDep) and the answer is a page. A small script (`/static/dashboard/upload.js`) sends the
upload form with XMLHttpRequest to show a progress bar, then shows the same answer. The policy decides
who sees them: `ingest` on the dataset to send data, `manage` in one's organisation to create datasets.
"""

from __future__ import annotations

import hashlib
import re
import tempfile
from collections import Counter
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from territoria import i18n
from territoria.access import policy
from territoria.access.audit import principal_actor, record
from territoria.access.principal import Principal
from territoria.access.roles import Capability
from territoria.catalog import service as catalog
from territoria.catalog.errors import SlugTaken
from territoria.catalog.models import Dataset
from territoria.catalog.schemas import PACKAGED_SCHEMAS, DatasetCreate
from territoria.context import Context
from territoria.errors import (
    DomainError,
    Forbidden,
    Invalid,
    NotFound,
    TooLarge,
    Unauthenticated,
    Unparseable,
)
from territoria.http.deps import ContextDep, PrincipalDep
from territoria.ingest import records
from territoria.ingest.batches import Origin
from territoria.ingest.files import ImportReport, import_file
from territoria.ingest.parsers import format_of, parse_body
from territoria.ingest.schemas import BatchResult
from territoria.ingest.service import MEASUREMENT_COLUMNS, ingest_measurements
from territoria.timeseries.store import ConcurrentWrite
from territoria.validation.model import error_message
from territoria.validation.tabular import open_csv
from territoria.web.render import page_lang, private_page, render, to_login

router = APIRouter(tags=["pages"], include_in_schema=False)
METRIC_ROWS = 5
SHOWN_CODES = 8


def _not_found(request: Request, ctx: Context, slug: str) -> HTMLResponse:
    """The page of a dataset that does not exist for this visitor."""
    return render(request, ctx, "not_found.html", {"slug": slug, "nav": ""}, status_code=404)


def _denied(request: Request, ctx: Context, what: str, who: str, back: str) -> HTMLResponse:
    """403: what is refused and who can grant it."""
    values = {"what": what, "who": who, "back": back, "nav": ""}
    return private_page(request, ctx, "denied.html", values, status_code=403)


# --- upload -----------------------------------------------------------------------------------------


def may_ingest(principal: Principal, ds: Dataset) -> bool:
    """Whether the upload page of this dataset leads somewhere for this visitor (nothing is noted)."""
    return policy.decide(principal, ds, Capability.INGEST).allowed


def _upload_target(
    request: Request, ctx: Context, session: Session, principal: Principal, slug: str
) -> Dataset | Response:
    """The dataset this visitor may send data to, or the page that says why not."""
    ds = session.scalar(select(Dataset).where(Dataset.slug == slug))
    if ds is None:
        return _not_found(request, ctx, slug)
    try:
        policy.require_ingest(principal, ds)
    except NotFound:
        return _not_found(request, ctx, slug)
    except Unauthenticated:
        return to_login(f"/datasets/{quote(slug)}/upload")
    except Forbidden:
        lang = page_lang(request)
        what = i18n.t("up.denied", lang, title=ds.title)
        who = i18n.t("denied.who_owner", lang, owner=ds.owner.name)
        return _denied(request, ctx, what, who, f"/datasets/{quote(slug)}")
    return ds


def _upload_values(ds: Dataset, principal: Principal, limit: int) -> dict[str, Any]:
    """What the upload page shows beside the form."""
    columns = list(MEASUREMENT_COLUMNS) if ds.kind == "timeseries" else records.required_columns(ds)
    return {
        "ds": ds,
        "columns": columns,
        "limit_mb": max(1, limit // (1024 * 1024)),
        "limit_bytes": limit,
        "formats": "CSV, JSON, NDJSON, GeoJSON",
        "csrf_token": principal.csrf_token,
        "can_quarantine": policy.may_handle_quarantine(principal, ds),
        "nav": "",
    }


@router.get("/datasets/{slug}/upload", response_model=None)
def upload_page(slug: str, request: Request, ctx: ContextDep, principal: PrincipalDep) -> Response:
    """The form to send a CSV, JSON or GeoJSON file to a dataset."""
    with ctx.session() as session:
        ds = _upload_target(request, ctx, session, principal, slug)
        if isinstance(ds, Response):
            return ds
        values = _upload_values(ds, principal, ctx.settings.max_body_bytes)
        return private_page(request, ctx, "upload.html", values)


class Refused(Exception):
    """A file the page refuses as a whole: a message key and its parameters."""

    def __init__(self, key: str, status: int, **params: Any) -> None:
        super().__init__(key)
        self.key, self.status, self.params = key, status, params


def _read_upload(upload: UploadFile | None, limit: int) -> tuple[str, bytes]:
    """The chosen file's name and bytes, refused when missing, empty or over the limit."""
    if upload is None or not upload.filename:
        raise Refused("up.error.no_file", 400)
    data = upload.file.read(limit + 1)
    if len(data) > limit:
        raise Refused("up.error.too_large", 413, limit=max(1, limit // (1024 * 1024)))
    if not data.strip():
        raise Refused("up.error.empty", 400)
    return upload.filename, data


def _rows(ds: Dataset, name: str, data: bytes) -> tuple[str, Any]:
    """The file's format and its rows, read like the API reads a body (a CSV's encoding is found)."""
    try:
        fmt = format_of(None, name)
    except Invalid:
        raise Refused("up.error.format", 415) from None
    required = list(MEASUREMENT_COLUMNS) if ds.kind == "timeseries" else records.required_columns(ds)
    if fmt == "csv":
        table = open_csv(data)  # a file's encoding is nobody's declaration: found, as for imports
        missing = [c for c in required if c not in table.header]
        if missing:
            found = ", ".join(table.header) or "—"
            raise Refused("up.error.columns", 422, missing=", ".join(missing), found=found)
        return fmt, table.all()
    content_type = {"json": "application/json", "ndjson": "application/x-ndjson"}
    return fmt, parse_body(data, content_type.get(fmt, "application/geo+json"), required)


def _ingest(ctx: Context, principal: Principal, slug: str, name: str, data: bytes) -> BatchResult:
    """One batch through the same ingest service as the API (retried when a concurrent writer raced)."""
    checksum = hashlib.sha256(data).hexdigest()
    for attempt in range(3):
        try:
            with ctx.session(write=True) as session:
                ds = catalog.get_dataset(session, slug)
                policy.require_ingest(principal, ds)
                fmt, rows = _rows(ds, name, data)
                origin = Origin(
                    source="http",
                    organisation_id=principal.organisation_id,
                    token_id=principal.token_id,
                    content_type=fmt,
                    idempotency_key=None,
                    from_text=fmt == "csv",
                )
                if ds.kind == "timeseries":
                    return ingest_measurements(
                        session,
                        ds,
                        rows,
                        origin,
                        checksum=checksum,
                        future_tolerance_s=ctx.settings.future_tolerance_s,
                    )
                return records.ingest_records(
                    session, ds, rows, origin, checksum=checksum, locator=ctx.locator()
                )
        except ConcurrentWrite:
            if attempt == 2:
                raise Refused("up.error.busy", 409) from None
    raise AssertionError("unreachable")


def _import_assets(ctx: Context, principal: Principal, slug: str, data: bytes) -> ImportReport:
    """A GeoJSON file for a time-series dataset registers its assets, as `territoria import` does."""
    with ctx.session() as session:
        policy.require_ingest(principal, catalog.get_dataset(session, slug))
    with tempfile.TemporaryDirectory(prefix="territoria-upload-") as folder:
        path = Path(folder) / "assets.geojson"
        path.write_bytes(data)
        return import_file(ctx, path, slug, organisation_id=principal.organisation_id)


def _is_geojson(name: str) -> bool:
    """Whether a file name says GeoJSON."""
    try:
        return format_of(None, name) == "geojson"
    except Invalid:
        return False


def findings_summary(errors: list[dict[str, Any]], lang: str) -> list[dict[str, Any]]:
    """The rejected rows' reasons grouped by rule: its title, how many, one example in `lang`."""
    counts: Counter[str] = Counter()
    example: dict[str, dict[str, Any]] = {}
    for error in errors:
        code = str(error.get("code") or "INVALID")
        counts[code] += 1
        example.setdefault(code, error)
    out = []
    for code, n in counts.most_common(SHOWN_CODES):
        key = f"rule.{code}" if i18n.has(f"rule.{code}", lang) else "up.result.other"
        title = i18n.t(key, lang)
        first = example[code]
        out.append({"title": title, "n": n, "row": first.get("row"), "example": error_message(first, lang)})
    return out


@router.post("/datasets/{slug}/upload", response_model=None)
def upload_file(
    slug: str,
    request: Request,
    ctx: ContextDep,
    principal: PrincipalDep,
    file: Annotated[UploadFile | None, File()] = None,
) -> Response:
    """Send the chosen file as one batch; the page shows what became of its rows, or why it was refused."""
    with ctx.session() as session:
        ds = _upload_target(request, ctx, session, principal, slug)
        if isinstance(ds, Response):
            return ds
        values = _upload_values(ds, principal, ctx.settings.max_body_bytes)
    lang = page_lang(request)
    try:
        name, data = _read_upload(file, ctx.settings.max_body_bytes)
        values["filename"] = name
        if values["ds"].kind == "timeseries" and _is_geojson(name):
            report = _import_assets(ctx, principal, slug, data)
            values["assets"] = report
            values["findings"] = findings_summary(report.sample_errors, lang)
            return private_page(request, ctx, "upload.html", values)
        result = _ingest(ctx, principal, slug, name, data)
    except Refused as exc:
        values["error"] = i18n.t(exc.key, lang, **exc.params)
        return private_page(request, ctx, "upload.html", values, status_code=exc.status)
    except (Unparseable, Invalid, TooLarge) as exc:
        key = "up.error.too_large" if isinstance(exc, TooLarge) else "up.error.unreadable"
        values["error"] = i18n.t(key, lang, limit=values["limit_mb"])
        values["detail"] = exc.message
        return private_page(request, ctx, "upload.html", values, status_code=422)
    except (Forbidden, NotFound, Unauthenticated):  # rights or dataset changed since the form was shown
        values["error"] = i18n.t("up.denied", lang, title=values["ds"].title)
        return private_page(request, ctx, "upload.html", values, status_code=403)
    except DomainError as exc:
        values["error"] = i18n.t("up.error.unreadable", lang)
        values["detail"] = exc.message
        return private_page(request, ctx, "upload.html", values, status_code=422)
    values["result"] = result
    values["findings"] = findings_summary(result.errors, lang)
    values["quarantine_href"] = f"/datasets/{quote(slug)}/quarantine?" + urlencode({"batch": result.batch_id})
    values["report_href"] = f"/batches/{quote(result.batch_id)}/report"
    return private_page(request, ctx, "upload.html", values)


# --- dataset creation -------------------------------------------------------------------------------

TIMESERIES = "timeseries"
SLUG_TEXT = re.compile(r"[a-z0-9][a-z0-9_-]{0,62}")
KINDS = ("timeseries", "records")
ACCESSES = ("private", "shared", "open")
PRESET_MISMATCH = {"timeseries": "dn.error.preset_timeseries", "records": "dn.error.preset_records"}


def schema_presets() -> list[dict[str, str]]:
    """The Table Schemas a new dataset may start from: the plain time series, then every packaged schema
    the installed domains registered (their own title when the descriptor gives one)."""
    presets = [{"name": TIMESERIES, "kind": "timeseries", "title": ""}]
    for name in sorted(PACKAGED_SCHEMAS):
        try:
            descriptor = PACKAGED_SCHEMAS[name]()
        except (OSError, ValueError):  # a broken package: not offered rather than a failed page
            continue
        title = descriptor.get("title") if isinstance(descriptor, dict) else None
        presets.append({"name": name, "kind": "records", "title": str(title or "")})
    return presets


def may_create_dataset(principal: Principal) -> bool:
    """Whether the link to the creation form leads somewhere for this visitor (as `require_manage`)."""
    if principal.anonymous or principal.organisation_id is None:
        return False
    return principal.can(Capability.MANAGE)


def _create_guard(request: Request, ctx: Context, principal: Principal) -> Response | None:
    """The page that says why this visitor may not create datasets, if so."""
    if principal.anonymous:
        return to_login("/datasets/new")
    try:
        policy.require_manage(principal)
    except (Forbidden, Unauthenticated):
        lang = page_lang(request)
        what = i18n.t("dn.denied", lang)
        who = i18n.t("dn.denied_who", lang)
        return _denied(request, ctx, what, who, "/")
    return None


def _create_values(session: Session, principal: Principal, form: dict[str, Any]) -> dict[str, Any]:
    """The creation form's choices and what was typed."""
    domains = sorted({d for d in session.scalars(select(Dataset.domain).distinct()) if d})
    metrics = list(form.get("metrics") or [])
    metrics += [{"name": "", "unit": ""}] * max(0, METRIC_ROWS - len(metrics))
    return {
        "form": {**form, "metrics": metrics[:METRIC_ROWS]},
        "presets": schema_presets(),
        "kinds": KINDS,
        "accesses": ACCESSES,
        "domains": domains,
        "csrf_token": principal.csrf_token,
        "errors": {},
        "nav": "",
    }


DEFAULT_FORM: dict[str, Any] = {
    "slug": "",
    "title": "",
    "description": "",
    "domain": "",
    "kind": "timeseries",
    "access": "private",
    "licence": "etalab-2.0",
    "preset": TIMESERIES,
    "metrics": [],
}


@router.get("/datasets/new", response_model=None)
def new_dataset_page(request: Request, ctx: ContextDep, principal: PrincipalDep) -> Response:
    """The form to create a dataset owned by the visitor's organisation."""
    refused = _create_guard(request, ctx, principal)
    if refused is not None:
        return refused
    with ctx.session() as session:
        values = _create_values(session, principal, dict(DEFAULT_FORM))
    return private_page(request, ctx, "dataset_new.html", values)


def _field_errors(form: dict[str, Any], lang: str) -> tuple[dict[str, str], dict[str, Any]]:
    """Errors the page checks itself (in `lang`, next to their field) and the API body when none."""
    errors: dict[str, str] = {}
    presets = {p["name"]: p for p in schema_presets()}
    preset = presets.get(form["preset"])
    if preset is None:
        errors["preset"] = i18n.t("dn.error.preset", lang)
    kind = form["kind"]
    if kind not in KINDS:
        errors["kind"] = i18n.t("dn.error.choice", lang)
    elif preset is not None and preset["kind"] != kind:
        errors["preset"] = i18n.t(PRESET_MISMATCH[kind], lang)
    if form["access"] not in ACCESSES:
        errors["access"] = i18n.t("dn.error.choice", lang)
    for name in ("slug", "title", "domain", "licence"):
        if not form[name]:
            errors[name] = i18n.t("dn.error.required", lang)
    for name in ("slug", "domain"):
        if form[name] and not SLUG_TEXT.fullmatch(form[name]):
            errors[name] = i18n.t("dn.error.slug", lang)
    metrics = [m for m in form["metrics"] if m["name"] or m["unit"]]
    if kind == "timeseries":
        if not metrics:
            errors["metrics"] = i18n.t("dn.error.no_metric", lang)
        elif any(not m["name"] or not m["unit"] for m in metrics):
            errors["metrics"] = i18n.t("dn.error.metric_incomplete", lang)
        elif any(not SLUG_TEXT.fullmatch(m["name"]) for m in metrics):
            errors["metrics"] = i18n.t("dn.error.metric_name", lang)
        elif len({m["name"] for m in metrics}) != len(metrics):
            errors["metrics"] = i18n.t("dn.error.metric_twice", lang)
    body: dict[str, Any] = {
        k: form[k] for k in ("slug", "title", "description", "domain", "kind", "access", "licence")
    }
    if kind == "timeseries":
        body["metrics"] = metrics
    elif preset is not None and preset["kind"] == "records":
        body["schema"] = form["preset"]
    return errors, body


PYDANTIC_FIELDS = {"slug", "title", "description", "domain", "kind", "access", "licence", "metrics", "schema"}


def _pydantic_errors(exc: ValidationError, lang: str) -> dict[str, str]:
    """The model's refusals next to their field (a message in `lang`, the detail when unforeseen)."""
    errors: dict[str, str] = {}
    for error in exc.errors():
        loc = [str(p) for p in error.get("loc", ())]
        field = loc[0] if loc and loc[0] in PYDANTIC_FIELDS else "form"
        field = "preset" if field == "schema" else field
        key = {"string_too_long": "dn.error.too_long", "string_too_short": "dn.error.required"}.get(
            str(error.get("type")), "dn.error.invalid"
        )
        errors.setdefault(field, i18n.t(key, lang, detail=str(error.get("msg", ""))))
    return errors


@router.post("/datasets/new", response_model=None)
def create_dataset_form(
    request: Request,
    ctx: ContextDep,
    principal: PrincipalDep,
    slug: Annotated[str, Form(max_length=200)] = "",
    title: Annotated[str, Form(max_length=1000)] = "",
    description: Annotated[str, Form(max_length=20_000)] = "",
    domain: Annotated[str, Form(max_length=200)] = "",
    kind: Annotated[str, Form(max_length=32)] = "timeseries",
    access: Annotated[str, Form(max_length=32)] = "private",
    licence: Annotated[str, Form(max_length=200)] = "",
    preset: Annotated[str, Form(max_length=200)] = TIMESERIES,
    metric_name: Annotated[list[str] | None, Form(max_length=200)] = None,
    metric_unit: Annotated[list[str] | None, Form(max_length=64)] = None,
) -> Response:
    """Create the dataset, then go to its page; the form again with the reasons next to the fields."""
    refused = _create_guard(request, ctx, principal)
    if refused is not None:
        return refused
    lang = page_lang(request)
    names, units = (metric_name or [])[:METRIC_ROWS], (metric_unit or [])[:METRIC_ROWS]
    units += [""] * (len(names) - len(units))
    form: dict[str, Any] = {
        "slug": slug.strip(),
        "title": title.strip(),
        "description": description.strip(),
        "domain": domain.strip(),
        "kind": kind,
        "access": access,
        "licence": licence.strip(),
        "preset": preset,
        "metrics": [{"name": n.strip(), "unit": u.strip()} for n, u in zip(names, units, strict=False)],
    }
    errors, body = _field_errors(form, lang)
    if not errors:
        errors = _create(ctx, principal, body, lang)
    if not errors:
        return RedirectResponse(f"/datasets/{quote(form['slug'])}?created=1", status_code=303)
    with ctx.session() as session:
        values = _create_values(session, principal, form)
    values["errors"] = errors
    return private_page(request, ctx, "dataset_new.html", values, status_code=422)


def _create(ctx: Context, principal: Principal, body: dict[str, Any], lang: str) -> dict[str, str]:
    """Create the dataset as the API does (same model, same service, same audit event); field errors."""
    try:
        checked = DatasetCreate.model_validate(body)
    except ValidationError as exc:
        return _pydantic_errors(exc, lang)
    assert principal.organisation_slug is not None
    try:
        with ctx.session(write=True) as session:
            owner = catalog.get_organisation(session, principal.organisation_slug)
            ds = catalog.create_dataset(session, checked, owner)
            record(
                session,
                actor=principal_actor(principal),
                action="dataset.create",
                target=f"dataset:{ds.slug}",
                organisation_id=owner.id,
                details={"access": ds.access, "kind": ds.kind},
            )
    except SlugTaken:
        return {"slug": i18n.t("dn.error.slug_taken", lang, slug=body["slug"])}
    except DomainError as exc:
        return {"form": i18n.t("dn.error.invalid", lang, detail=exc.message)}
    return {}
