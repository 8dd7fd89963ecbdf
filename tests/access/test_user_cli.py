"""`territoria user …` as an operator uses it: create, invite, reset, roles, list, disable and enable."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

from territoria.access.audit_models import AuditEvent
from territoria.app import create_app
from territoria.cli.main import app
from territoria.context import Context
from territoria.settings import Settings

PUBLIC = "https://data.example.org"
PASSWORD = "correct horse battery staple"


@pytest.fixture
def db_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite:///{tmp_path}/users.db"
    monkeypatch.setenv("TERRITORIA_DATABASE_URL", url)
    monkeypatch.setenv("TERRITORIA_PUBLIC_URL", PUBLIC)
    monkeypatch.setenv("COLUMNS", "200")  # rich tables keep whole e-mails on one line
    runner_ok(("org", "create", "lightco", "--name", "LightCo", "--kind", "operator"))
    runner_ok(("org", "create", "city", "--name", "City", "--kind", "authority"))
    return url


def run(*args: str, stdin: str | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args), input=stdin)
    return result.exit_code, result.stdout, result.stderr


def runner_ok(args: tuple[str, ...], stdin: str | None = None) -> str:
    code, out, err = run(*args, stdin=stdin)
    assert code == 0, err
    return out


def web(db_url: str) -> TestClient:
    return TestClient(create_app(Settings(database_url=db_url, demo=True)))


def path_of(link: str) -> str:
    assert link.startswith(PUBLIC + "/")
    return link[len(PUBLIC) :]


def login(client: TestClient, email: str, password: str) -> int:
    data = {"email": email, "password": password}
    return client.post("/login", data=data, follow_redirects=False).status_code


def test_create_prints_an_invitation_link_that_works(db_url: str) -> None:
    code, out, err = run(
        "user", "create", "Ana@LightCo.example", "--org", "lightco", "--role", "producer", "--name", "Ana"
    )
    assert code == 0 and "no mail server is configured, send this link to the person" in err
    link = out.strip().splitlines()[-1]
    assert link.startswith(f"{PUBLIC}/invitation/")
    client = web(db_url)
    assert client.get(path_of(link)).status_code == 200
    # A new invitation replaces the first one.
    newer = runner_ok(("user", "invite", "ana@lightco.example")).strip().splitlines()[-1]
    assert newer != link and client.get(path_of(link)).status_code == 404
    fields = {"name": "Ana", "password": PASSWORD, "confirm_password": PASSWORD}
    assert client.post(path_of(newer), data=fields, follow_redirects=False).status_code == 303
    assert client.get("/api/v1/me").json()["user"]["email"] == "ana@lightco.example"
    code, _out, err = run("user", "invite", "ana@lightco.example")
    assert code == 1 and "reset-link" in err


def test_create_with_password_and_errors(db_url: str) -> None:
    args = ("user", "create", "bob@city.example", "--org", "city", "--role", "admin", "--platform-admin")
    out = runner_ok((*args, "--password-stdin"), stdin=PASSWORD + "\n")
    assert "invitation" not in out and out.strip() == ""
    assert login(web(db_url), "bob@city.example", PASSWORD) == 303
    code, _out, err = run(*args, "--password-stdin", stdin=PASSWORD + "\n")
    assert code == 1 and "already exists" in err
    code, _out, err = run("user", "create", "c@city.example", "--org", "city", "--role", "king")
    assert code == 1 and "role must be one of" in err
    code, _out, err = run("user", "create", "c@city.example", "--org", "nowhere", "--role", "viewer")
    assert code == 1 and "nowhere" in err
    code, _out, err = run(
        "user",
        "create",
        "c@city.example",
        "--org",
        "city",
        "--role",
        "viewer",
        "--password-stdin",
        stdin="short\n",
    )
    assert code == 1 and "at least 12" in err
    code, _out, err = run("user", "create", "not-an-address", "--org", "city", "--role", "viewer")
    assert code == 1 and "e-mail" in err
    # Nothing of the refused commands was kept.
    assert "c@city.example" not in runner_ok(("user", "list"))


def test_reset_link_role_list_disable_enable(db_url: str) -> None:
    runner_ok(("user", "create", "ana@lightco.example", "--org", "lightco", "--role", "producer"))
    runner_ok(
        (
            "user",
            "create",
            "bob@city.example",
            "--org",
            "city",
            "--role",
            "admin",
            "--platform-admin",
            "--password-stdin",
        ),
        stdin=PASSWORD + "\n",
    )
    code, out, err = run("user", "reset-link", "bob@city.example")
    assert code == 0 and "no mail server is configured, send this link to the person" in err
    link = out.strip().splitlines()[-1]
    assert link.startswith(f"{PUBLIC}/password-reset/")
    assert web(db_url).get(path_of(link)).status_code == 200
    code, _out, err = run("user", "reset-link", "nobody@city.example")
    assert code == 1 and "no user" in err

    runner_ok(("user", "role", "ana@lightco.example", "--org", "city", "--role", "viewer"))
    listing = runner_ok(("user", "list"))
    assert "lightco:producer, city:viewer" in listing and "invited" in listing and "active" in listing
    only = runner_ok(("user", "list", "--org", "lightco"))
    assert "ana@lightco.example" in only and "bob@city.example" not in only
    runner_ok(("user", "role", "ana@lightco.example", "--org", "city", "--remove"))
    assert "city:viewer" not in runner_ok(("user", "list"))
    code, _out, err = run("user", "role", "ana@lightco.example", "--org", "city", "--remove")
    assert code == 1 and "not a member" in err
    code, _out, err = run("user", "role", "ana@lightco.example", "--org", "city")
    assert code == 1 and "either" in err

    code, _out, err = run("user", "disable", "bob@city.example")
    assert code == 1 and "last platform administrator" in err
    runner_ok(("user", "create", "eve@city.example", "--org", "city", "--role", "admin", "--platform-admin"))
    runner_ok(("user", "disable", "bob@city.example"))
    assert "disabled" in runner_ok(("user", "list"))
    client = web(db_url)
    assert login(client, "bob@city.example", PASSWORD) == 401
    runner_ok(("user", "enable", "bob@city.example"))
    assert login(client, "bob@city.example", PASSWORD) == 303

    ctx = Context(Settings(database_url=db_url))
    try:
        with ctx.session() as s:
            actions = set(s.scalars(select(AuditEvent.action)))
    finally:
        ctx.engine.dispose()
    expected = {"user.create", "membership.set", "membership.remove", "user.invite_link", "user.reset_link"}
    assert expected | {"user.disable", "user.enable"} <= actions


def _lock(client: TestClient, email: str) -> None:
    """Lock the account by wrong passwords."""
    for _ in range(5):
        assert login(client, email, "guess guess guess") == 401


def test_enable_and_unlock_lift_a_lockout(db_url: str) -> None:
    for email in ("bob@city.example", "eve@city.example"):
        runner_ok(
            ("user", "create", email, "--org", "city", "--role", "viewer", "--password-stdin"),
            stdin=PASSWORD + "\n",
        )
    client = web(db_url)
    _lock(client, "bob@city.example")
    assert "locked" in runner_ok(("user", "list"))
    assert login(client, "bob@city.example", PASSWORD) == 401
    # The account was never disabled: `enable` lifts the lockout all the same.
    runner_ok(("user", "enable", "bob@city.example"))
    assert login(client, "bob@city.example", PASSWORD) == 303
    _lock(client, "eve@city.example")
    code, _out, err = run("user", "unlock", "eve@city.example")
    assert code == 0 and "eve@city.example unlocked" in err
    assert login(client, "eve@city.example", PASSWORD) == 303
    code, _out, err = run("user", "unlock", "nobody@city.example")
    assert code == 1 and "no user" in err
    ctx = Context(Settings(database_url=db_url))
    try:
        with ctx.session() as s:
            assert len(list(s.scalars(select(AuditEvent).where(AuditEvent.action == "user.unlock")))) == 2
    finally:
        ctx.engine.dispose()


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("aaaaaaaaaaaa", "repetition or a sequence"),
        ("123456789012", "repetition or a sequence"),
        ("passwordpassword", "repetition or a sequence"),
        ("territoria-demo", "name of the platform"),
        ("sam.example-2026", "e-mail address"),
        ("qwertyuiopasdf", "too common"),
    ],
)
def test_weak_passwords_are_refused_with_what_to_do(db_url: str, password: str, reason: str) -> None:
    code, _out, err = run(
        "user",
        "create",
        "sam.example@city.example",
        "--org",
        "city",
        "--role",
        "viewer",
        "--password-stdin",
        stdin=password + "\n",
    )
    assert code == 1 and reason in " ".join(err.split()), err
    assert "sam.example@city.example" not in runner_ok(("user", "list"))
