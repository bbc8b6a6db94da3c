"""The audit log: every state-changing action, read-only here (append-only in SQL)."""

from __future__ import annotations

from flask import Blueprint, render_template, request

from driftwatch.store import read
from driftwatch.users import ADMIN
from driftwatch.web.auth import requires
from driftwatch.web.params import limit
from driftwatch.web.state import store

bp = Blueprint("audit", __name__, url_prefix="/audit")


@bp.route("")
@requires(ADMIN)
def index() -> str:
    page = read.audit_page(
        store().conn, limit(request.args, 100), request.args.get("cursor") or None
    )
    return render_template("audit.html", page=page)
