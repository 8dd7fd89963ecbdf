"""`territoria user …`: create people, invite them, reset their password, set their roles, list them."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.table import Table
from sqlalchemy import select

from territoria.access.accounts import set_active, unlock
from territoria.access.user_models import User
from territoria.access.users import (
    create_user,
    get_user,
    issue_link,
    members,
    remove_membership,
    set_membership,
)
from territoria.catalog.service import get_organisation
from territoria.cli.common import cli_context, console, fail, out
from territoria.cli.lang import num, say
from territoria.errors import Conflict, DomainError

user_app = typer.Typer(help="People who log in to the web pages.", no_args_is_help=True)
ACTOR = "cli"


def _print_link(url: str, hours: int, purpose: str) -> None:
    """The link (an invitation or a password reset), alone on the last line of the standard output."""
    if purpose == "invite":
        console.print(say("cli.user.invite_link", hours=num(hours)))
    else:
        console.print(say("cli.user.reset_link", hours=num(hours)))
    print(url)


def _read_password() -> str:
    """One line of standard input, without its line ending."""
    password = sys.stdin.readline().rstrip("\r\n")
    if not password:
        raise fail(say("cli.user.no_password"))
    return password


@user_app.command("create")
def create(
    email: str,
    org: Annotated[str, typer.Option(help="organisation slug")],
    role: Annotated[str, typer.Option(help="admin, steward, producer, analyst or viewer")],
    name: Annotated[str, typer.Option(help="display name")] = "",
    platform_admin: Annotated[
        bool, typer.Option("--platform-admin", help="administers the platform (people, audit trail)")
    ] = False,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="read the password from standard input")
    ] = False,
) -> None:
    """Create a person with a role; without a password, prints an invitation link on the last line."""
    password = _read_password() if password_stdin else None
    ctx = cli_context()
    try:
        with ctx.session(write=True) as session:
            organisation = get_organisation(session, org)
            user = create_user(
                session, email, name=name, password=password, platform_admin=platform_admin, actor=ACTOR
            )
            set_membership(session, user, organisation, role, actor=ACTOR)
            issued = (
                None
                if password is not None
                else issue_link(session, user, "invite", hours=ctx.settings.invite_hours, actor=ACTOR)
            )
            address = user.email
    except DomainError as exc:
        raise fail(exc.message) from exc
    finally:
        ctx.engine.dispose()
    if platform_admin:
        console.print(say("cli.user.created_admin", email=address, role=role, org=org))
    else:
        console.print(say("cli.user.created", email=address, role=role, org=org))
    if issued is not None:
        _print_link(issued.url(ctx.settings.public_url), ctx.settings.invite_hours, "invite")


@user_app.command("invite")
def invite(email: str) -> None:
    """Print a new invitation link (earlier ones stop working)."""
    ctx = cli_context()
    try:
        with ctx.session(write=True) as session:
            user = get_user(session, email)
            if user.password_hash is not None:
                raise Conflict(say("cli.user.already_accepted", email=user.email))
            issued = issue_link(session, user, "invite", hours=ctx.settings.invite_hours, actor=ACTOR)
    except DomainError as exc:
        raise fail(exc.message) from exc
    finally:
        ctx.engine.dispose()
    _print_link(issued.url(ctx.settings.public_url), ctx.settings.invite_hours, "invite")


@user_app.command("reset-link")
def reset_link(email: str) -> None:
    """Print a password-reset link (earlier ones stop working)."""
    ctx = cli_context()
    try:
        with ctx.session(write=True) as session:
            user = get_user(session, email)
            issued = issue_link(session, user, "reset", hours=ctx.settings.reset_hours, actor=ACTOR)
    except DomainError as exc:
        raise fail(exc.message) from exc
    finally:
        ctx.engine.dispose()
    _print_link(issued.url(ctx.settings.public_url), ctx.settings.reset_hours, "reset")


@user_app.command("role")
def role_command(
    email: str,
    org: Annotated[str, typer.Option(help="organisation slug")],
    role: Annotated[str | None, typer.Option(help="admin, steward, producer, analyst or viewer")] = None,
    remove: Annotated[bool, typer.Option("--remove", help="take the person out of the organisation")] = False,
) -> None:
    """Give a person a role in an organisation, or take them out of it with --remove."""
    if remove == (role is not None):
        raise fail(say("cli.user.role_or_remove"))
    ctx = cli_context()
    try:
        with ctx.session(write=True) as session:
            user = get_user(session, email)
            organisation = get_organisation(session, org)
            if role is None:
                remove_membership(session, user, organisation, actor=ACTOR)
            else:
                set_membership(session, user, organisation, role, actor=ACTOR)
    except DomainError as exc:
        raise fail(exc.message) from exc
    finally:
        ctx.engine.dispose()
    if role is None:
        console.print(say("cli.user.removed", email=email, org=org))
    else:
        console.print(say("cli.user.role_set", email=email, role=role, org=org))


def _status(user: User, now: datetime) -> str:
    """One word for the state of an account."""
    if not user.active:
        return say("cli.user.status.disabled")
    if user.password_hash is None:
        return say("cli.user.status.invited")
    if user.locked_until is not None and user.locked_until > now:
        return say("cli.user.status.locked")
    return say("cli.user.status.active")


@user_app.command("list")
def list_command(
    org: Annotated[str | None, typer.Option(help="only the members of this organisation")] = None,
) -> None:
    """List people, their organisations and roles, and the state of their account."""
    ctx = cli_context()
    now = datetime.now(UTC)
    try:
        with ctx.session() as session:
            if org is not None:
                people = [m.user for m in members(session, get_organisation(session, org))]
            else:
                people = list(session.scalars(select(User).order_by(User.email)))
            rows = [
                (
                    user.email,
                    user.name,
                    ", ".join(f"{m.organisation.slug}:{m.role}" for m in user.memberships),
                    say("cli.yes") if user.platform_admin else "",
                    _status(user, now),
                    user.last_login_at.strftime("%Y-%m-%d %H:%M") if user.last_login_at else "",
                )
                for user in people
            ]
    except DomainError as exc:
        raise fail(exc.message) from exc
    finally:
        ctx.engine.dispose()
    count = num(len(rows))
    table = Table(
        title=say("cli.user.title_org", n=count, org=org) if org else say("cli.user.title", n=count)
    )
    for column in (
        say("cli.user.email"),
        say("cli.user.name"),
        say("cli.user.organisations"),
        say("cli.user.platform_admin"),
        say("cli.column.status"),
        say("cli.user.last_login"),
    ):
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(*row)
    out.print(table)


def _set_active(email: str, active: bool) -> None:
    """Enable or disable an account."""
    ctx = cli_context()
    try:
        with ctx.session(write=True) as session:
            set_active(session, get_user(session, email), active, actor=ACTOR)
    except DomainError as exc:
        raise fail(exc.message) from exc
    finally:
        ctx.engine.dispose()
    console.print(say("cli.user.enabled", email=email) if active else say("cli.user.disabled", email=email))


@user_app.command("disable")
def disable(email: str) -> None:
    """Disable an account: it can no longer log in and its sessions end at once."""
    _set_active(email, False)


@user_app.command("enable")
def enable(email: str) -> None:
    """Enable an account again (this also lifts a lockout)."""
    _set_active(email, True)


@user_app.command("unlock")
def unlock_command(email: str) -> None:
    """Lift the lockout of an account after repeated wrong passwords."""
    ctx = cli_context()
    try:
        with ctx.session(write=True) as session:
            was_locked = unlock(session, get_user(session, email), actor=ACTOR)
    except DomainError as exc:
        raise fail(exc.message) from exc
    finally:
        ctx.engine.dispose()
    console.print(
        say("cli.user.unlocked", email=email) if was_locked else say("cli.user.not_locked", email=email)
    )
