"""Password hashing (argon2id) and the strength a password must have (ANSSI, NIST SP 800-63B).

The rules follow NIST SP 800-63B § 3.1.1.2 and ANSSI's guidance: a minimum length, no composition rules,
but a refusal of passwords that are common, repetitive or sequential, or made of the words of the service
or of the person's address. Common passwords and guessability come from zxcvbn's packaged lists and
estimator (no network: everything is in the package).
"""

from __future__ import annotations

import re

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from zxcvbn import zxcvbn

from territoria.errors import Invalid

MIN_LENGTH = 12
MAX_LENGTH = 1024  # argon2 takes any length, but a megabyte "password" is a denial of service
# zxcvbn's estimate is quadratic in the length: its first characters are enough to judge a password,
# and past them the length alone makes it strong.
_ESTIMATED = 64
# zxcvbn score 3: at least 10^8 guesses, "safely unguessable" for an online attack with a rate limit and
# moderate protection offline against a slow hash such as argon2id.
MIN_SCORE = 3
# Words of the service itself: the first thing a guesser tries against it.
PLATFORM_WORDS = ("territoria",)
_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters
# Verified when the e-mail is unknown, so that a wrong address takes as long as a wrong password.
_DUMMY_HASH = _hasher.hash("territoria-no-such-user")

# Codes of the reasons a password is refused (pages translate them; the API returns them in `errors`).
SHORT, LONG, PERSONAL, PATTERN, COMMON = (
    "PASSWORD_TOO_SHORT",
    "PASSWORD_TOO_LONG",
    "PASSWORD_PERSONAL",
    "PASSWORD_PATTERN",
    "PASSWORD_COMMON",
)
_MESSAGES = {
    SHORT: f"the password must have at least {MIN_LENGTH} characters: a few unrelated words make a "
    "long password that is easy to remember",
    LONG: f"the password must have at most {MAX_LENGTH} characters",
    PERSONAL: "the password must not contain your e-mail address or the name of the platform: "
    "choose words that have nothing to do with you or with Territoria",
    PATTERN: "the password is a repetition or a sequence (like 'aaaa' or '1234'): choose a few "
    "unrelated words instead",
    COMMON: "the password is too common or too easy to guess: choose a longer one, for example a few "
    "unrelated words",
}


def _refuse(code: str) -> Invalid:
    """The error of a refused password, with its reason's code."""
    message = _MESSAGES[code]
    return Invalid(message, errors=[{"field": "password", "code": code, "message": message}])


def _personal_words(email: str) -> list[str]:
    """Words of the person and the platform that a password must not contain (4 characters or more)."""
    local, _, domain = email.lower().partition("@")
    words = [local, *re.split(r"[._+\-]", local), *domain.split(".")[:-1], *PLATFORM_WORDS]
    return sorted({w for w in words if len(w) >= 4}, key=len, reverse=True)


def _is_pattern(password: str) -> bool:
    """True for a repetition or a sequence: few distinct characters, a repeated unit, or a constant step."""
    if len(set(password)) <= 3:
        return True
    n = len(password)
    if any(n % size == 0 and password == password[:size] * (n // size) for size in range(1, n // 2 + 1)):
        return True
    steps = {ord(b) - ord(a) for a, b in zip(password, password[1:], strict=False)}
    # '123456789012' wraps from 9 to 0: a keyboard or digit run is still a sequence.
    return steps <= {1, -9} or steps <= {-1, 9} or len(steps) == 1


def check_strength(password: str, email: str = "") -> None:
    """Refuse a password that is too short or too long, personal, a pattern, or common/guessable."""
    if len(password) < MIN_LENGTH:
        raise _refuse(SHORT)
    if len(password) > MAX_LENGTH:
        raise _refuse(LONG)
    lowered = password.lower()
    words = _personal_words(email)
    if any(word in lowered for word in words):
        raise _refuse(PERSONAL)
    if _is_pattern(password):
        raise _refuse(PATTERN)
    if zxcvbn(password[:_ESTIMATED], user_inputs=words)["score"] < MIN_SCORE:
        raise _refuse(COMMON)


def refusal_code(error: Invalid) -> str:
    """The reason code of a refused password ('' when the error is not about a password)."""
    for item in error.errors or []:
        if item.get("field") == "password":
            return str(item.get("code", ""))
    return ""


def hash_password(password: str) -> str:
    """An argon2id hash of the password."""
    return _hasher.hash(password)


def verify_password(stored: str | None, password: str) -> bool:
    """True when the password matches the stored hash (the same work when there is no hash)."""
    if len(password) > MAX_LENGTH:
        return False
    try:
        return _hasher.verify(stored or _DUMMY_HASH, password) and stored is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored: str) -> bool:
    """True when the hash was made with weaker parameters than today's."""
    return _hasher.check_needs_rehash(stored)
