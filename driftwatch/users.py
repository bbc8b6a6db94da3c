"""Dashboard users and API tokens: roles, password hashes, token secrets (no SQL here)."""

from __future__ import annotations

import functools
import hashlib
import re
import secrets

from werkzeug.security import check_password_hash, generate_password_hash

from driftwatch.errors import DriftwatchError

VIEWER, OPERATOR, ADMIN = "viewer", "operator", "admin"
ROLES = (VIEWER, OPERATOR, ADMIN)  # each role may do everything the ones before it may
READ, OPERATE = "read", "operate"
TOKEN_SCOPES = (READ, OPERATE)
TOKEN_PREFIX = "dwt_"
MIN_PASSWORD = 10
_NAME = re.compile(r"^[A-Za-z0-9_.@-]{1,64}$")


class UserError(DriftwatchError):
    """A user name, role, password or token that cannot be accepted."""


def role_at_least(role: str, needed: str) -> bool:
    return role in ROLES and ROLES.index(role) >= ROLES.index(needed)


def check_name(name: str) -> str:
    if not _NAME.match(name):
        raise UserError(f"user name {name!r} must be 1–64 letters, digits, or . _ @ - (no spaces)")
    return name


def check_role(role: str) -> str:
    if role not in ROLES:
        raise UserError(f"unknown role {role!r}; known: {', '.join(ROLES)}")
    return role


def hash_password(password: str) -> str:
    """A salted hash (werkzeug's default scrypt); refuses passwords too short to keep."""
    if len(password) < MIN_PASSWORD:
        raise UserError(f"the password must have at least {MIN_PASSWORD} characters")
    return generate_password_hash(password)


def password_ok(stored_hash: str, password: str) -> bool:
    return check_password_hash(stored_hash, password)


@functools.cache
def _dummy_hash() -> str:
    return generate_password_hash("driftwatch-no-such-user")


def spend_password_check(password: str) -> None:
    """Check against a real hash when the user does not exist: the answer takes as long
    as for a wrong password, so timing does not tell which names exist."""
    check_password_hash(_dummy_hash(), password)


def login_key(name: str) -> str:
    """What the login throttle stores for a typed user name: its SHA-256, since people
    type passwords into the name field too, and a failure row lives for an hour."""
    return hashlib.sha256(name.encode()).hexdigest()


def new_token() -> str:
    """A bearer token: shown once, never stored (only its hash is)."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    """SHA-256 is enough for 256-bit random secrets (no salt or slow hash needed)."""
    return hashlib.sha256(token.encode()).hexdigest()
