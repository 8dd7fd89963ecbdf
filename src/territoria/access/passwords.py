"""Password hashing (argon2id) and the minimum strength a password must have."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from territoria.errors import Invalid

MIN_LENGTH = 12
MAX_LENGTH = 1024  # argon2 takes any length, but a megabyte "password" is a denial of service
_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters
# Verified when the e-mail is unknown, so that a wrong address takes as long as a wrong password.
_DUMMY_HASH = _hasher.hash("territoria-no-such-user")


def check_strength(password: str, email: str = "") -> None:
    """Refuse passwords that are too short, too long or that contain the e-mail's local part."""
    if len(password) < MIN_LENGTH:
        raise Invalid(f"the password must have at least {MIN_LENGTH} characters")
    if len(password) > MAX_LENGTH:
        raise Invalid(f"the password must have at most {MAX_LENGTH} characters")
    local = email.split("@", 1)[0].lower()
    if len(local) >= 4 and local in password.lower():
        raise Invalid("the password must not contain your e-mail address")


def hash_password(password: str) -> str:
    """An argon2id hash of the password."""
    return _hasher.hash(password)


def verify_password(stored: str | None, password: str) -> bool:
    """True when the password matches the stored hash (constant work when there is no hash)."""
    if len(password) > MAX_LENGTH:
        return False
    try:
        return _hasher.verify(stored or _DUMMY_HASH, password) and stored is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored: str) -> bool:
    """True when the hash was made with weaker parameters than today's."""
    return _hasher.check_needs_rehash(stored)
