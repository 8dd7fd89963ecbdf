"""HTML routes of the data-sharing agreements page and the audit trail page.

Forms post here without any script (the CSRF token rides in a hidden field, checked by PrincipalDep) and
come back to the page with a message (post/redirect/get); a refused creation shows the form again.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Annotated, Any
from urllib.parse import urlencode

import orjson
from fastapi import APIRouter, Form, Path, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from territoria import i18n
from territoria.access import agreements, policy
from territoria.access.audit import audit_table_row, list_events, verify
from territoria.access.audit_models import AuditEvent
from territoria.access.members import list_organisations
from territoria.access.principal import Principal
from territoria.access.roles import Capability
from territoria.access.schemas import agreement_public
from territoria.catalog.models import Dataset
from territoria.catalog.service import list_datasets
from territoria.context import Context
from territoria.dates import check_day
from territoria.errors import Forbidden, Invalid, NotFound, Unauthenticated
from territoria.http.deps import ContextDep, PrincipalDep, SessionDep
from territoria.registry.people_pages import router as people_router
from territoria.web.render import page_lang, private_page, to_login

router = APIRouter(tags=["pages"], include_in_schema=False)
# The people, invitations and tokens pages are served with these (no other router to wire in the app).
router.include_router(people_router)
PAGE_SIZE = 50
Key = Annotated[str | None, Query(max_length=32, pattern=r"^[a-z_]+$")]
DONE = frozenset({"created", "revoked"})
ERRORS = frozenset({"forbidden", "not_found", "invalid"})
FilterText = Annotated[str, Query(max_length=300)]


def _here(request: Request) -> str:
    """This page's path and query, as the login form's `next`."""
    return request.url.path + (f"?{request.url.query}" if request.url.query else "")


# --- agreements -------------------------------------------------------------------------------------


def _agreements_values(session: Session, principal: Principal, dataset: str = "") -> dict[str, Any]:
    """What the agreements page shows to this principal: both sides' agreements and the form's choices."""
    scope = None if principal.platform_admin else principal.organisation_id
    rows = []
    for agreement in agreements.list_agreements(session, scope):
        public = agreement_public(agreement, principal.organisation_id)
        live = public.status in ("active", "upcoming")
        can_revoke = live and policy.decide(principal, agreement.dataset, Capability.SHARE).allowed
        rows.append({"a": public, "can_revoke": can_revoke})
    # The form offers the datasets this principal may share: the policy decides, nothing is noted.
    shareable = [
        ds for ds in list_datasets(session) if policy.decide(principal, ds, Capability.SHARE).allowed
    ]
    recipients = [o for o in list_organisations(session) if o.id != principal.organisation_id]
    chosen = next((ds for ds in shareable if ds.slug == dataset), None)
    if chosen is None and len(shareable) == 1:
        chosen = shareable[0]
    return {
        "rows": rows,
        "datasets": shareable,
        "chosen": chosen,
        "field_choices": _field_choices(chosen) if chosen is not None else [],
        "recipients": recipients,
        "nav": "agreements",
    }


def _field_choices(ds: Dataset) -> list[dict[str, str]]:
    """The fields an agreement may list, with what the form says of each (title, unit, description)."""
    names = agreements.shareable_fields(ds)
    if ds.kind == "records":
        described = {
            str(f.get("name")): f for f in (ds.table_schema or {}).get("fields") or [] if isinstance(f, dict)
        }
        return [
            {
                "name": n,
                "title": str(described.get(n, {}).get("title") or ""),
                "detail": str(described.get(n, {}).get("description") or ""),
            }
            for n in names
        ]
    metrics = {m.name: m for m in ds.metrics}
    return [
        {
            "name": n,
            "title": f"({metrics[n].unit})" if n in metrics and metrics[n].unit else "",
            "detail": metrics[n].description if n in metrics else "",
        }
        for n in names
    ]


def _error_messages(request: Request, errors: list[dict[str, Any]]) -> list[str]:
    """Validation errors in the page's language (by code: the service's English text is for the API)."""
    lang = page_lang(request)
    messages = []
    for error in errors:
        key = f"ag.error.{error.get('code')}"
        if not i18n.has(key, lang):
            key = "ag.error.invalid"
        messages.append(i18n.t(key, lang, **{k: str(v) for k, v in error.items()}))
    return messages


@router.get("/agreements", response_model=None)
def agreements_page(
    request: Request,
    ctx: ContextDep,
    session: SessionDep,
    principal: PrincipalDep,
    done: Key = None,
    error: Key = None,
    dataset: Annotated[str, Query(max_length=64)] = "",
) -> Response:
    """Agreements given and received by the visitor's organisation, the creation form and revoke buttons.

    The form picks the dataset first (a plain GET form), then offers that dataset's own fields to tick.
    """
    if principal.anonymous:
        return to_login(_here(request))
    what = "see data-sharing agreements"
    try:
        policy.require_org_capability(
            principal, principal.organisation_id, Capability.READ, what, target="agreements"
        )
    except Forbidden:
        values = {"denied": 403, "nav": "agreements"}
        return private_page(request, ctx, "agreements.html", values, status_code=403)
    values = _agreements_values(session, principal, dataset)
    values["done"] = done if done in DONE else None
    values["errors"] = _error_messages(request, [{"code": error}]) if error in ERRORS else []
    values["form"] = {"share": "all", "fields": []}
    values["field_errors"] = {}
    values["csrf_token"] = principal.csrf_token
    return private_page(request, ctx, "agreements.html", values)


def _chosen_fields(form: dict[str, Any]) -> list[str] | None:
    """The fields ticked (None: every field, when "all" is chosen or nothing is ticked without a choice)."""
    names: list[str] = form["fields"]
    if form["share"] == "all" or (form["share"] != "some" and not names):
        return None
    return names


def _create(ctx: Context, principal: Principal, form: dict[str, Any]) -> list[dict[str, Any]]:
    """Create the agreement of the form; the errors to show, none when it was created."""
    try:
        day = check_day(date.fromisoformat(form["expires"].strip()), "expires")
    except (ValueError, Invalid):  # malformed, or at the limits of the type (end_of_day overflows)
        return [{"code": "BAD_DATE", "field": "expires"}]
    terms = agreements.Terms(
        dataset=form["dataset"],
        recipient=form["organisation"],
        purpose=form["purpose"],
        expires_at=agreements.end_of_day(day),
        fields=_chosen_fields(form),
    )
    try:
        with ctx.session(write=True) as session:
            agreements.create_agreement(session, terms, principal)
    except Invalid as exc:
        return exc.errors or [{"code": "invalid"}]
    except Forbidden:
        return [{"code": "forbidden"}]
    except NotFound:
        return [{"code": "not_found"}]
    return []


@router.post("/agreements", response_model=None)
def create_agreement_form(
    request: Request,
    ctx: ContextDep,
    principal: PrincipalDep,
    dataset: Annotated[str, Form(max_length=64)],
    organisation: Annotated[str, Form(max_length=64)],
    expires: Annotated[str, Form(max_length=32)],
    # Longer than the service accepts, so that a long purpose gets a message rather than a 422 document.
    purpose: Annotated[str, Form(max_length=4000)] = "",
    fields: Annotated[list[str] | None, Form(max_length=1000)] = None,
    share: Annotated[str, Form(max_length=8)] = "",
) -> Response:
    """Create an agreement, then back to the page; on refusal the form is shown again with the reasons."""
    if principal.anonymous:
        return to_login("/agreements")
    form: dict[str, Any] = {
        "dataset": dataset,
        "organisation": organisation,
        "expires": expires,
        "purpose": purpose,
        "fields": [n.strip() for value in fields or [] for n in value[:10_000].split(",") if n.strip()],
        "share": share,
    }
    errors = _create(ctx, principal, form)
    if not errors:
        return RedirectResponse("/agreements?done=created", status_code=303)
    if form["share"] not in ("all", "some"):
        form["share"] = "some" if form["fields"] else "all"
    with ctx.session() as session:
        values = _agreements_values(session, principal, dataset)
    messages = _error_messages(request, errors)
    by_field = {str(e.get("field")): m for e, m in zip(errors, messages, strict=True) if e.get("field")}
    values |= {
        "form": form,
        "field_errors": by_field,
        "errors": messages,
        "error_title": True,
        "done": None,
        "csrf_token": principal.csrf_token,
    }
    status = 403 if errors[0].get("code") == "forbidden" else 422
    return private_page(request, ctx, "agreements.html", values, status_code=status)


@router.post("/agreements/{agreement_id}/revoke", response_model=None)
def revoke_agreement_form(
    agreement_id: Annotated[int, Path(ge=1, le=2**31 - 1)], ctx: ContextDep, principal: PrincipalDep
) -> Response:
    """Revoke an agreement, then back to the page with a message."""
    if principal.anonymous:
        return to_login("/agreements")
    try:
        with ctx.session(write=True) as session:
            agreements.revoke_agreement(session, agreement_id, principal)
    except NotFound:
        return RedirectResponse("/agreements?error=not_found", status_code=303)
    except (Forbidden, Unauthenticated):
        return RedirectResponse("/agreements?error=forbidden", status_code=303)
    return RedirectResponse("/agreements?done=revoked", status_code=303)


# --- audit trail ------------------------------------------------------------------------------------


def _day(value: str, notes: set[str]) -> date | None:
    """A filter date from a date input ('' when empty); a bad one is ignored with a note."""
    if not value.strip():
        return None
    try:
        return check_day(date.fromisoformat(value.strip()), "date")
    except (ValueError, Invalid):  # malformed, or at the limits of the type (adding a day overflows)
        notes.add("au.error.bad_date")
        return None


def _audit_row(event: AuditEvent, slugs: dict[int, str], lang: str) -> dict[str, Any]:
    """An event for the page: its text cells, its time in the reader's language, its details folded."""
    details = event.details or {}
    keys = sorted(details)
    summary = ", ".join(keys[:3]) + (f" (+{len(keys) - 3})" if len(keys) > 3 else "")
    return {
        "cells": audit_table_row(event),
        "org": slugs.get(event.organisation_id or 0, ""),
        "when": i18n.date_time(event.at.astimezone(UTC), lang),
        "summary": summary,
        "pretty": orjson.dumps(details, option=orjson.OPT_SORT_KEYS | orjson.OPT_INDENT_2).decode()
        if details
        else "",
    }


@router.get("/admin/audit", response_model=None)
def audit_page(
    request: Request,
    ctx: ContextDep,
    session: SessionDep,
    principal: PrincipalDep,
    action: FilterText = "",
    actor: FilterText = "",
    target: FilterText = "",
    organisation: FilterText = "",
    since: FilterText = "",
    until: FilterText = "",
    before_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
) -> Response:
    """The audit trail with filters, keyset paging, export links and the chain's state (platform admins)."""
    if principal.anonymous:
        return to_login(_here(request))
    try:
        policy.require_platform_admin(principal, "read the audit trail", target="audit")
    except Forbidden:
        return private_page(request, ctx, "audit.html", {"denied": 403, "nav": "audit"}, status_code=403)
    notes: set[str] = set()
    first, last = _day(since, notes), _day(until, notes)
    orgs = list_organisations(session)
    org = next((o for o in orgs if o.slug == organisation), None)
    if organisation and org is None:
        notes.add("au.error.unknown_org")
    start = datetime.combine(first, time(), tzinfo=UTC) if first else None
    end = agreements.end_of_day(last) if last else None
    events = list_events(
        session,
        action=action.strip() or None,
        actor=actor.strip() or None,
        target=target.strip() or None,
        organisation_id=org.id if org else None,
        since=start,
        until=end,
        limit=PAGE_SIZE,
        before_id=before_id,
    )
    filters = {"action": action, "actor": actor, "target": target, "organisation": organisation}
    filters |= {"since": first.isoformat() if first else "", "until": last.isoformat() if last else ""}
    kept = {k: v for k, v in filters.items() if v}
    api = {k: v for k, v in kept.items() if k not in ("since", "until")}
    api |= {"since": start.isoformat()} if start else {}
    api |= {"until": end.isoformat()} if end else {}
    slugs = {o.id: o.slug for o in orgs}
    values = {
        "report": verify(session),
        "filters": filters,
        "organisations": orgs,
        "rows": [_audit_row(e, slugs, page_lang(request)) for e in events],
        "older": urlencode({**kept, "before_id": events[-1].id}) if len(events) == PAGE_SIZE else None,
        "newest": urlencode(kept) if before_id else None,
        "csv_url": "/api/v1/audit/export?" + urlencode({"format": "csv", "bom": "true", **api}),
        "ndjson_url": "/api/v1/audit/export?" + urlencode({"format": "ndjson", **api}),
        "notes": sorted(notes),
        "nav": "audit",
    }
    return private_page(request, ctx, "audit.html", values)
