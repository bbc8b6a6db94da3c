"""Login, logout, sessions (Flask-Login), bearer tokens, and role checks.

Every route declares the role it needs with `@requires(ROLE)`; tests walk the URL map
and fail on a route without one. A bearer token acts as its user, capped by its scope:
a `read` token may only GET.

A session is a row on the server (store `sessions`) named by a random secret in the
signed cookie: a login makes a new one and starts a fresh cookie (no session fixation),
a logout deletes it (a copied cookie is refused afterwards), a new password ends them.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import secrets
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar, cast
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Flask,
    Response,
    abort,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import LoginManager, UserMixin, current_user, login_user, logout_user
from werkzeug.exceptions import HTTPException

from driftwatch.errors import StoreError
from driftwatch.store import Actor, host_problem
from driftwatch.store import users as user_sql
from driftwatch.users import (
    OPERATE,
    READ,
    VIEWER,
    login_key,
    password_ok,
    role_at_least,
    spend_password_check,
    token_hash,
)
from driftwatch.web.errors import error_response
from driftwatch.web.state import store

bp = Blueprint("auth", __name__)
log = logging.getLogger(__name__)
login_manager = LoginManager()
MAX_FAILURES, WINDOW = 5, dt.timedelta(minutes=1)
SESSION_MAX_AGE = dt.timedelta(days=30)  # a session row older than this is refused
PUBLIC = "public"  # the marker of routes anyone may call (login, /healthz, static)

F = TypeVar("F", bound=Callable[..., Any])


@dataclass
class User(UserMixin):
    id: int
    name: str
    role: str
    session_tag: str  # changes with the password: a new password ends old sessions
    session_secret: str = ""  # names this login's row in the sessions table

    def get_id(self) -> str:
        return f"{self.id}:{self.session_tag}:{self.session_secret}"

    def can(self, role: str) -> bool:
        return role_at_least(self.role, role)


def _user(row: dict[str, Any], secret: str = "") -> User:
    return User(int(row["id"]), row["name"], row["role"], row["password_hash"][-12:], secret)


@login_manager.user_loader
def _load_user(session_id: str) -> User | None:
    """The user of a live session row whose password has not changed since the login."""
    user_id, tag, secret = [*session_id.split(":", 2), "", ""][:3]
    if not user_id.isdigit() or not secret:
        return None
    since = _iso(dt.datetime.now(dt.UTC) - SESSION_MAX_AGE)
    row = user_sql.session_user(store().conn, token_hash(secret), since)
    if row is None or row["id"] != int(user_id) or row["password_hash"][-12:] != tag:
        return None
    return _user(row, secret)


# --- who is asking -----------------------------------------------------------------------


@dataclass(frozen=True)
class Caller:
    user: User
    token_scope: str | None = None  # None: a browser session

    @property
    def actor(self) -> Actor:
        name = self.user.name if self.token_scope is None else f"{self.user.name} (token)"
        return Actor(name, request.remote_addr)


def caller() -> Caller | None:
    """The authenticated caller: a bearer token if one is sent, else the session."""
    if "caller" in g:
        return cast(Caller | None, g.caller)
    found: Caller | None = None
    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer "):
        found = _token_caller(header[len("Bearer ") :].strip())
        if found is None:
            abort(401, "The bearer token is unknown or revoked.")
    elif current_user.is_authenticated:
        found = Caller(cast(User, current_user._get_current_object()))
    g.caller = found
    return found


def _token_caller(token: str) -> Caller | None:
    row = user_sql.token_by_hash(store().conn, token_hash(token))
    if row is None:
        return None
    now = _now()
    last = row["last_used_at"]
    if last is None or last[:16] != now[:16]:  # at most one write a minute per token
        with bookkeeping("token last-used time"), store().db.atomic():
            user_sql.touch_token(store().conn, row["id"], now)
    user = User(row["user_id"], row["user_name"], row["role"], "")
    return Caller(user, row["scope"])


@contextmanager
def bookkeeping(what: str) -> Iterator[None]:
    """A write that must not lock people out of reading when the file system refuses it
    (read-only file, full disk): logged, and the request goes on. The overview says why."""
    try:
        yield
    except (StoreError, sqlite3.OperationalError) as exc:
        if isinstance(exc, sqlite3.OperationalError) and not host_problem(exc):
            raise
        if store().conn.in_transaction:
            store().conn.rollback()
        log.warning("could not write the %s: %s", what, exc)


def requires(role: str) -> Callable[[F], F]:
    """The role a route needs (viewer < operator < admin); POSTs also need an
    `operate` token when called with a token."""

    def wrap(view: F) -> F:
        @functools.wraps(view)
        def inner(*args: Any, **kwargs: Any) -> Any:
            who = caller()
            if who is None:
                if _is_api():
                    abort(401, "Log in, or send Authorization: Bearer <token>.")
                return login_manager.unauthorized()
            if who.token_scope == READ and request.method not in ("GET", "HEAD"):
                abort(403, "This token has the read scope; an operate token is needed.")
            if who.token_scope not in (None, READ, OPERATE):
                abort(403)
            if not who.user.can(role):
                abort(403, f"This needs the {role} role; you are {who.user.role}.")
            return view(*args, **kwargs)

        inner.required_role = role  # type: ignore[attr-defined]
        return cast(F, inner)

    return wrap


def public(view: F) -> F:
    view.required_role = PUBLIC  # type: ignore[attr-defined]
    return view


def _is_api() -> bool:
    return request.path.startswith("/api/") or request.path == "/metrics"


# --- login and logout --------------------------------------------------------------------


@bp.route("/login", methods=["GET", "POST"])
@public
def login() -> Any:
    target = safe_next(request.values.get("next"))
    if request.method == "GET":
        return render_template("login.html", next=target, error=None)
    name = request.form.get("username", "").strip()[:64]
    password = request.form.get("password", "")
    ip = request.remote_addr or "?"
    since = _iso(dt.datetime.now(dt.UTC) - WINDOW)
    # Counted before the (slow) password check: parallel guesses cannot all pass the
    # throttle before the first failure is written.
    attempt = store().reserve_login_attempt(login_key(name), ip, since, MAX_FAILURES)
    if attempt is None:
        return _throttled()
    row = user_sql.user_by_name(store().conn, name) if name else None
    if row is None:
        spend_password_check(password)
    if row is None or not password_ok(row["password_hash"], password):
        store().settle_login_failure(attempt)
        return render_template("login.html", next=target, error="Wrong user name or password."), 401
    _start_session(row, attempt, ip)
    with bookkeeping("login audit row"):
        store().audit(Actor(row["name"], ip), "login", row["name"])
    return redirect(target or url_for("overview.index"))


def _throttled() -> Response:
    resp, status = error_response(
        429, "Too Many Requests", "Too many failed logins; wait a minute and retry."
    )
    out = Response(resp, status) if isinstance(resp, str) else resp
    out.status_code = 429
    out.headers["Retry-After"] = str(int(WINDOW.total_seconds()))
    return out


def _start_session(row: dict[str, Any], attempt: int, ip: str) -> None:
    """A new server-side session and a fresh cookie: nothing from before the login (its
    CSRF token included) carries over."""
    secret = secrets.token_urlsafe(32)
    expired = _iso(dt.datetime.now(dt.UTC) - SESSION_MAX_AGE)
    store().start_session(attempt, int(row["id"]), token_hash(secret), ip, expired)
    session.clear()
    login_user(_user(row, secret))


@bp.route("/logout", methods=["POST"])
@requires(VIEWER)
def logout() -> Any:
    who = caller()
    if who is not None:
        if who.user.session_secret:
            # Cannot be written on a read-only database: the cookie is still cleared.
            with bookkeeping("end of the session"):
                store().end_session(token_hash(who.user.session_secret))
        with bookkeeping("logout audit row"):
            store().audit(who.actor, "logout", who.user.name)
    logout_user()
    session.clear()
    return redirect(url_for("auth.login"))


def safe_next(target: str | None) -> str | None:
    """Only a path on this site: "/drifts?x=1", never "//evil", "https://…" or "/\\evil"."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or any(c in target for c in "\r\n\t\\"):
        return None
    return target


def _now() -> str:
    return _iso(dt.datetime.now(dt.UTC))


def _iso(at: dt.datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%SZ")


def _unauthorized() -> Any:
    return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))


def init_app(app: Flask) -> None:
    login_manager.init_app(app)
    login_manager.unauthorized_handler(_unauthorized)
    login_manager.session_protection = "basic"
    app.register_blueprint(bp)
    app.context_processor(lambda: {"who": _who_for_templates()})


def _who_for_templates() -> Caller | None:
    """The caller for the page header; an unknown token renders as nobody (the route
    itself has already refused it, or is public)."""
    try:
        return caller()
    except HTTPException:
        return None
