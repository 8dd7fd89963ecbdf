"""`territoria agreement …`: create, list and revoke data-sharing agreements from the console.

The console is the installation's operator (actor "cli"): no policy check, every change audited.
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from territoria.access import agreements
from territoria.catalog.service import get_organisation
from territoria.cli.common import cli_context, console, day_option, fail, out
from territoria.cli.lang import say
from territoria.errors import DomainError

agreement_app = typer.Typer(help="Data-sharing agreements between organisations.", no_args_is_help=True)


@agreement_app.command("create")
def create_command(
    dataset: Annotated[str, typer.Option(help="slug of the shared dataset")],
    org: Annotated[str, typer.Option(help="slug of the recipient organisation")],
    purpose: Annotated[str, typer.Option(help="what the data will be used for")],
    expires: Annotated[str, typer.Option(help="last day of the agreement, YYYY-MM-DD (at most 5 years)")],
    field: Annotated[
        list[str] | None, typer.Option(help="a shared metric or field; repeat; none: every field")
    ] = None,
) -> None:
    """Share a dataset with another organisation until the end of the expiry day (UTC)."""
    terms = agreements.Terms(
        dataset=dataset,
        recipient=org,
        purpose=purpose,
        expires_at=agreements.end_of_day(day_option(expires, "--expires")),
        fields=field or None,
    )
    ctx = cli_context()
    try:
        with ctx.session(write=True) as session:
            agreement = agreements.create_agreement(session, terms, None)
            ident, fields, until = agreement.id, agreement.fields, agreement.expires_at
    except DomainError as exc:
        raise fail(exc) from exc
    finally:
        ctx.engine.dispose()
    shared = ", ".join(fields) if fields else say("cli.agreement.every_field")
    console.print(
        say(
            "cli.agreement.created",
            id=ident,
            dataset=dataset,
            org=org,
            fields=shared,
            until=until.isoformat(),
        )
    )
    print(ident)


@agreement_app.command("list")
def list_command(
    org: Annotated[
        str | None, typer.Option(help="only agreements this organisation gave or received")
    ] = None,
    status: Annotated[str | None, typer.Option(help="active, upcoming, expired or revoked")] = None,
) -> None:
    """Show agreements, newest first."""
    if status is not None and status not in agreements.STATUSES:
        choices = ", ".join(agreements.STATUSES)
        raise typer.BadParameter(say("cli.choose_among", choices=choices), param_hint="--status")
    wanted = next((s for s in agreements.STATUSES if s == status), None)
    ctx = cli_context()
    table = Table(title=say("cli.agreement.title"))
    for name in (
        say("cli.column.id"),
        say("cli.column.dataset"),
        say("cli.agreement.owner"),
        say("cli.agreement.recipient"),
        say("cli.agreement.purpose"),
        say("cli.agreement.fields"),
        say("cli.agreement.starts"),
        say("cli.agreement.expires"),
        say("cli.column.status"),
    ):
        table.add_column(name, overflow="fold")
    try:
        with ctx.session() as session:
            scope = get_organisation(session, org).id if org else None
            for a in agreements.list_agreements(session, scope, status=wanted):
                table.add_row(
                    str(a.id),
                    a.dataset.slug,
                    a.dataset.owner.slug,
                    a.organisation.slug,
                    a.purpose,
                    ", ".join(a.fields) if a.fields else say("cli.agreement.all_fields"),
                    a.starts_at.strftime("%Y-%m-%d %H:%M"),
                    a.expires_at.strftime("%Y-%m-%d %H:%M"),
                    agreements.status_of(a),
                )
    except DomainError as exc:
        raise fail(exc) from exc
    finally:
        ctx.engine.dispose()
    out.print(table)


@agreement_app.command("revoke")
def revoke_command(agreement_id: Annotated[int, typer.Argument(help="the agreement's number")]) -> None:
    """End an agreement now (revoking twice changes nothing)."""
    ctx = cli_context()
    try:
        with ctx.session(write=True) as session:
            agreement = agreements.revoke_agreement(session, agreement_id, None)
            when = agreement.revoked_at
    except DomainError as exc:
        raise fail(exc) from exc
    finally:
        ctx.engine.dispose()
    if when is None:
        console.print(say("cli.agreement.revoked", id=agreement_id))
    else:
        console.print(say("cli.agreement.revoked_at", id=agreement_id, when=when.isoformat()))
