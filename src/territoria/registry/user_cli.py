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
from territoria.errors import Conflict, DomainError

user_app = typer.Typer(help="People who log in to the web pages.", no_args_is_help=True)
ACTOR = "cli"
NO_MAIL = "no mail server is configured, send this link to the person"


def _print_link(url: str, hours: int, what: str) -> None:
    """The link, alone on the last line of the standard output."""
    console.print(f"{what} valid {hours} hours ({NO_MAIL}):")
    print(url)


def _read_password() -> str:
    """One line of standard input, without its line ending."""
    password = sys.stdin.readline().rstrip("\r\n")
    if not password:
        raise fail('no password on standard input (one line, e.g. `echo "$PASSWORD" | territoria …`)')
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
    console.print(
        f"user {address} created, {role} of {org}" + (" (platform admin)" if platform_admin else "")
    )
    if issued is not None:
        _print_link(issued.url(ctx.settings.public_url), ctx.settings.invite_hours, "invitation link")


@user_app.command("invite")
def invite(email: str) -> None:
    """Print a new invitation link (earlier ones stop working)."""
    ctx = cli_context()
    try:
        with ctx.session(write=True) as session:
            user = get_user(session, email)
            if user.password_hash is not None:
                raise Conflict(
                    f"'{user.email}' already accepted an invitation: "
                    f"send a reset link instead (territoria user reset-link {user.email})"
                )
            issued = issue_link(session, user, "invite", hours=ctx.settings.invite_hours, actor=ACTOR)
    except DomainError as exc:
        raise fail(exc.message) from exc
    finally:
        ctx.engine.dispose()
    _print_link(issued.url(ctx.settings.public_url), ctx.settings.invite_hours, "invitation link")


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
    _print_link(issued.url(ctx.settings.public_url), ctx.settings.reset_hours, "password-reset link")


@user_app.command("role")
def role_command(
    email: str,
    org: Annotated[str, typer.Option(help="organisation slug")],
    role: Annotated[str | None, typer.Option(help="admin, steward, producer, analyst or viewer")] = None,
    remove: Annotated[bool, typer.Option("--remove", help="take the person out of the organisation")] = False,
) -> None:
    """Give a person a role in an organisation, or take them out of it with --remove."""
    if remove == (role is not None):
        raise fail("give either --role ROLE or --remove")
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
    console.print(f"{email} removed from {org}" if role is None else f"{email} is now {role} of {org}")


def _status(user: User, now: datetime) -> str:
    """One word for the state of an account."""
    if not user.active:
        return "disabled"
    if user.password_hash is None:
        return "invited"
    if user.locked_until is not None and user.locked_until > now:
        return "locked"
    return "active"


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
                    "yes" if user.platform_admin else "",
                    _status(user, now),
                    user.last_login_at.strftime("%Y-%m-%d %H:%M") if user.last_login_at else "",
                )
                for user in people
            ]
    except DomainError as exc:
        raise fail(exc.message) from exc
    finally:
        ctx.engine.dispose()
    table = Table(title=f"People ({len(rows)})" + (f" of {org}" if org else ""))
    for column in ("e-mail", "name", "organisations", "platform admin", "status", "last login (UTC)"):
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
    console.print(f"{email} {'enabled' if active else 'disabled (its sessions ended)'}")


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
    console.print(f"{email} unlocked" if was_locked else f"{email} was not locked (failure count reset)")
