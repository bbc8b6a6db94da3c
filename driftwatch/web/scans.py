"""Scans: the list, one scan with every scope error, and scan-now requests."""

from __future__ import annotations

import time
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for

from driftwatch.store import read
from driftwatch.users import OPERATOR, VIEWER
from driftwatch.web.auth import caller, requires
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


def scan_doc(
    row: dict[str, Any],
    errors: list[dict[str, Any]] | None,
    states: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    doc = {k: row.get(k) for k in _FIELDS}
    doc["commit"] = doc.pop("commit_sha")
    if errors is not None:
        doc["errors"] = [{**e, "internal": bool(e["internal"])} for e in errors]
    elif "errors" in row:
        doc["error_count"] = row["errors"]
    if states is not None:
        doc["terraform_states"] = states
    return doc


def load(scan_id: int) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    row = read.scan(store().conn, scan_id)
    if row is None:
        abort(404, f"No scan {scan_id}.")
    return row, read.scope_errors(store().conn, scan_id)


def states(scan_id: int) -> list[dict[str, Any]]:
    """The Terraform states the scan read (serial, lineage, format version of each)."""
    return read.terraform_states(store().conn, scan_id)


# --- scan now ----------------------------------------------------------------------------

PENDING_REQUEST = ("queued", "running")
REQUEST_TRIGGER = "request"  # scans.trigger of a scan the leader ran for a request
_REQUEST_FIELDS = (
    "id",
    "status",
    "scopes_done",
    "scopes_total",
    "resources_read",
    "api_calls",
    "requested_at",
    "requested_by",
    "started_at",
    "finished_at",
    "scan_id",
    "error",
)


def request_scan() -> tuple[dict[str, Any], bool]:
    """Queue a scan for the scheduler's leader, or return the one queued or running
    (never a second); a new request is written to the audit log."""
    who = caller()
    assert who is not None  # requires() let it through
    row, created = store().request_scan(who.actor.name)
    if created:
        store().audit(who.actor, "scan request", f"request {row['id']}")
    return row, created


def load_request(request_id: int) -> dict[str, Any]:
    row = store().scan_request(request_id)
    if row is None:
        abort(404, f"No scan request {request_id}.")
    return row


def request_doc(row: dict[str, Any]) -> dict[str, Any]:
    """A scan request in the API's shape: its fields and, once it ran, its scan."""
    doc = {k: row.get(k) for k in _REQUEST_FIELDS}
    conn = store().conn
    scan = read.scan(conn, row["scan_id"]) if row.get("scan_id") else None
    if scan is None and row["status"] == "running" and row.get("started_at"):
        scan = read.running_scan(conn, REQUEST_TRIGGER, row["started_at"])
    doc["scan"] = scan_doc(scan, None) if scan else None
    return doc


def leader_alive() -> bool:
    """Whether a scheduler holds the lease now: without one a request waits."""
    lease = store().lease()
    return lease is not None and float(lease["expires_at"] or 0) > time.time()


def can_scan() -> bool:
    who = caller()
    return who is not None and who.user.can(OPERATOR)


@bp.route("")
@requires(VIEWER)
def index() -> str:
    page = read.scan_page(store().conn, limit(request.args), request.args.get("cursor") or None)
    return render_template("scans.html", page=page, can_scan=can_scan())


@bp.route("/requests", methods=["POST"])
@requires(OPERATOR)
def scan_now() -> Any:
    row, created = request_scan()
    if not created:
        flash(f"A scan is already {row['status']}: this is its request; no second scan.")
    return redirect(url_for("scans.request_detail", request_id=row["id"]))


@bp.route("/requests/<int:request_id>")
@requires(VIEWER)
def request_detail(request_id: int) -> str:
    doc = request_doc(load_request(request_id))
    pending = doc["status"] in PENDING_REQUEST
    return render_template(
        "scan_request.html",
        r=doc,
        pending=pending,
        leader=leader_alive() if pending else True,
    )


@bp.route("/<int:scan_id>")
@requires(VIEWER)
def detail(scan_id: int) -> str:
    row, errors = load(scan_id)
    return render_template("scan.html", scan=row, errors=errors, states=states(scan_id))
