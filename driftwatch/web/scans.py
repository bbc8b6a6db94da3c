"""Scans: the list and one scan with every scope error."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, render_template, request

from driftwatch.store import read
from driftwatch.users import VIEWER
from driftwatch.web.auth import requires
from driftwatch.web.params import limit
from driftwatch.web.state import store

bp = Blueprint("scans", __name__, url_prefix="/scans")
_FIELDS = (
    "id",
    "status",
    "started_at",
    "finished_at",
    "commit_sha",
    "duration_s",
    "api_calls",
    "declared",
    "in_sync",
    "modified",
    "missing",
    "unmanaged",
    "not_checked",
    "open_drifts",
    "acknowledged_drifts",
    "error",
)


def scan_doc(row: dict[str, Any], errors: list[dict[str, Any]] | None) -> dict[str, Any]:
    doc = {k: row.get(k) for k in _FIELDS}
    doc["commit"] = doc.pop("commit_sha")
    if errors is not None:
        doc["errors"] = [{**e, "internal": bool(e["internal"])} for e in errors]
    elif "errors" in row:
        doc["error_count"] = row["errors"]
    return doc


def load(scan_id: int) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    row = read.scan(store().conn, scan_id)
    if row is None:
        abort(404, f"No scan {scan_id}.")
    return row, read.scope_errors(store().conn, scan_id)


@bp.route("")
@requires(VIEWER)
def index() -> str:
    page = read.scan_page(store().conn, limit(request.args), request.args.get("cursor") or None)
    return render_template("scans.html", page=page)


@bp.route("/<int:scan_id>")
@requires(VIEWER)
def detail(scan_id: int) -> str:
    row, errors = load(scan_id)
    return render_template("scan.html", scan=row, errors=errors)
