"""Admin: the users, and API tokens (create: shown once; revoke)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for

from driftwatch.store import users as user_sql
from driftwatch.users import ADMIN, TOKEN_SCOPES, new_token, token_hash
from driftwatch.web.auth import caller, requires
from driftwatch.web.state import store

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.route("")
@requires(ADMIN)
def index() -> str:
    conn = store().conn
    return render_template(
        "admin.html",
        users=user_sql.list_users(conn),
        tokens=user_sql.list_tokens(conn),
        scopes=TOKEN_SCOPES,
        created=None,
    )


@bp.route("/tokens", methods=["POST"])
@requires(ADMIN)
def create_token() -> Any:
    conn = store().conn
    row = user_sql.user_by_name(conn, request.form.get("user", ""))
    scope = request.form.get("scope", "")
    name = (request.form.get("name") or "").strip()[:100] or "dashboard"
    if row is None or scope not in TOKEN_SCOPES:
        abort(400, "Choose an existing user and a scope (read or operate).")
    who = caller()
    assert who is not None
    token = new_token()
    store().add_token(row["id"], name, scope, token_hash(token), token[:10], who.actor)
    return render_template(
        "admin.html",
        users=user_sql.list_users(conn),
        tokens=user_sql.list_tokens(conn),
        scopes=TOKEN_SCOPES,
        created={"token": token, "user": row["name"], "scope": scope},
    )


@bp.route("/tokens/<int:token_id>/revoke", methods=["POST"])
@requires(ADMIN)
def revoke_token(token_id: int) -> Any:
    who = caller()
    assert who is not None
    if not store().revoke_token(token_id, who.actor):
        abort(404, f"No live token {token_id}.")
    flash(f"Token {token_id} revoked.")
    return redirect(url_for("admin.index"))
