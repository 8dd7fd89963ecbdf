"""Password strength: length, no common, repetitive, sequential or personal passwords, everywhere one is set."""

from __future__ import annotations

import pytest
from tests.access.browsers import PASSWORD, add_person, browser, csrf_token, login
from tests.conftest import World

from territoria.access.passwords import (
    COMMON,
    LONG,
    MAX_LENGTH,
    PATTERN,
    PERSONAL,
    SHORT,
    check_strength,
    refusal_code,
)
from territoria.access.users import issue_link
from territoria.errors import Invalid


@pytest.mark.parametrize(
    ("password", "email", "code"),
    [
        ("short", "", SHORT),
        ("x" * (MAX_LENGTH + 1), "", LONG),
        ("aaaaaaaaaaaa", "", PATTERN),
        ("123456789012", "", PATTERN),
        ("abcdefghijklmnop", "", PATTERN),
        ("abcabcabcabc", "", PATTERN),
        ("passwordpassword", "", PATTERN),
        ("territoria-demo", "", PERSONAL),
        ("Territoria2026!x", "", PERSONAL),
        ("jean.dupont-1999", "jean.dupont@ville.fr", PERSONAL),
        ("mydupont-1999x!", "jean.dupont@ville.fr", PERSONAL),
        ("qwertyuiopasdf", "", COMMON),
        ("motdepasse123", "", COMMON),
        ("iloveyou12345", "", COMMON),
    ],
)
def test_weak_passwords_are_refused_with_a_reason(password: str, email: str, code: str) -> None:
    with pytest.raises(Invalid) as refused:
        check_strength(password, email)
    assert refusal_code(refused.value) == code
    assert refused.value.errors and refused.value.errors[0]["field"] == "password"


@pytest.mark.parametrize(
    "password",
    [
        PASSWORD,
        "Soleil-de-Nice-2026",
        "ma fille adore le chocolat",
        "x7#Kq9!mZ2@pW",
        "é" * 3 + "Zq8!tr0p-L0ng",
    ],
)
def test_strong_passwords_are_accepted(password: str) -> None:
    check_strength(password, "ana@lightco.example")


def test_a_long_password_is_judged_quickly() -> None:
    # The estimator sees a bounded prefix: a password of the maximal length takes no longer than a short one.
    check_strength(
        "".join(chr(0x4E00 + (i * 7919) % 20000) for i in range(MAX_LENGTH)), "ana@lightco.example"
    )


def test_the_demo_password_is_refused_on_the_account_page_and_links(world: World) -> None:
    add_person(world)
    b = browser(world)
    login(b)
    form = {
        "current_password": PASSWORD,
        "new_password": "territoria-demo",
        "confirm_password": "territoria-demo",
    }
    refused = b.post("/account/password", data={**form, "csrf_token": csrf_token(b)})
    assert refused.status_code == 422 and "nom de la plateforme" in refused.text
    weak = {"current_password": PASSWORD, "new_password": "123456789012", "confirm_password": "123456789012"}
    english = b.post("/account/password?lang=en", data={**weak, "csrf_token": csrf_token(b)})
    assert english.status_code == 422
    add_person(world, "new@lightco.example", password=None)
    from territoria.access.users import find_user

    with world.ctx.session(write=True) as s:
        user = find_user(s, "new@lightco.example")
        assert user is not None
        invite = issue_link(s, user, "invite", hours=1, actor="test").secret
        reset = issue_link(s, user, "reset", hours=1, actor="test").secret
    data = {"password": "passwordpassword", "confirm_password": "passwordpassword"}
    r = browser(world).post(f"/invitation/{invite}", data=data, follow_redirects=False)
    assert r.status_code == 422 and "répétition ou une suite" in r.text
    r = browser(world).post(
        f"/password-reset/{reset}",
        data=data | {"password": "aaaaaaaaaaaa", "confirm_password": "aaaaaaaaaaaa"},
        follow_redirects=False,
    )
    assert r.status_code == 422 and "répétition ou une suite" in r.text
    ok = browser(world).post(
        f"/invitation/{invite}",
        data={"password": PASSWORD, "confirm_password": PASSWORD},
        follow_redirects=False,
    )
    assert ok.status_code == 303
