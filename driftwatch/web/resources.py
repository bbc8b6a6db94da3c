"""The inventory (every declared and unmanaged resource) and a resource's page."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, render_template, request

from driftwatch.store import read
from driftwatch.users import VIEWER
from driftwatch.web.auth import requires
from driftwatch.web.params import filter_values, resource_query
from driftwatch.web.state import state, store

bp = Blueprint("resources", __name__, url_prefix="/resources")
FILTERS = ("state", "type", "account", "region", "q", "limit")


def resource_doc(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "key": row["key"],
        "type": row["type"],
        "resource_id": row["resource_id"],
        "account": row["account"],
        "region": row["region"],
        "state": row["kind"],
        "live_id": row["live_id"],
        "source": row["source"],
        "reason": row["reason"],
        "first_seen": row["first_seen"],
        "last_seen": row["last_seen"],
    }


@bp.route("")
@requires(VIEWER)
def index() -> str:
    q = resource_query(request.args)
    page = read.resource_page(store().conn, q)
    args = {k: v for k, v in request.args.items() if k in FILTERS and v}
    return render_template(
        "resources.html",
        q=q,
        page=page,
        args=args,
        values=filter_values(state().config),
        states=read.RESOURCE_KINDS,
    )


@bp.route("/<path:key>")
@requires(VIEWER)
def detail(key: str) -> str:
    conn = store().conn
    row = read.resource(conn, key)
    if row is None:
        abort(404, "No such resource on record.")
    history = read.snapshot_history(conn, key)
    latest = next((h for h in history if h["snapshot"] is not None), None)
    return render_template(
        "resource.html",
        r=row,
        history=history,
        latest=latest,
        drifts=read.resource_drifts(conn, row),
    )
