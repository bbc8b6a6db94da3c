"""The drift list (filters in the URL, keyset pages), a drift's page, and its actions."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for

from driftwatch.config import SEVERITIES
from driftwatch.store import ActionError, read
from driftwatch.users import OPERATOR, VIEWER
from driftwatch.web.auth import caller, requires
from driftwatch.web.params import ack_fields, drift_id, drift_query, filter_values
from driftwatch.web.state import state, store

bp = Blueprint("drifts", __name__, url_prefix="/drifts")

FILTERS = (
    "status",
    "kind",
    "type",
    "account",
    "region",
    "q",
    "severity",
    "scan",
    "sort",
    "order",
    "limit",
)


def drift_doc(row: dict[str, Any]) -> dict[str, Any]:
    """A drift record in the API's shape (docs/api.md)."""
    return {
        "id": row["fingerprint"],
        "kind": row["kind"],
        "type": row["type"],
        "resource_id": row["resource_id"],
        "account": row["account"],
        "region": row["region"],
        "status": row["status"],
        "severity": row["severity"],
        "source": row["source"],
        "first_seen": row["first_seen"],
        "last_seen": row["last_seen"],
        "resolved_at": row["resolved_at"],
        "resolved_reason": row["resolved_reason"],
        "acknowledged": (
            {
                "by": row["ack_by"],
                "at": row["ack_at"],
                "reason": row["ack_reason"],
                "until": row["ack_until"],
            }
            if row["status"] == "acknowledged"
            else None
        ),
        "changes": row.get("changes") or [],
    }


def event_doc(e: dict[str, Any]) -> dict[str, Any]:
    return {
        "at": e["at"],
        "event": e["event"],
        "by": e["actor"] or "driftwatch scan",
        "scan_id": e["scan_id"],
        "commit": e["commit_sha"],
        "reason": e["reason"],
        "changes": e.get("changes"),
    }


@bp.route("")
@requires(VIEWER)
def index() -> str:
    q = drift_query(request.args)
    page = read.drift_page(store().conn, q)
    for row in page.rows:
        paths = ", ".join(c["path"] for c in row["changes"] or [])
        row["paths"] = paths if len(paths) <= 120 else paths[:117] + "..."
    args = {k: v for k, v in request.args.items() if k in FILTERS and v}
    return render_template(
        "drifts.html",
        q=q,
        page=page,
        args=args,
        values=filter_values(state().config),
        kinds=read.DRIFT_KINDS,
        severities=SEVERITIES[::-1],
        statuses=read.DRIFT_STATUSES,
        sorts=tuple(read.DRIFT_SORTS),
    )


def load(fp: str) -> dict[str, Any]:
    row = read.drift(store().conn, drift_id(fp))
    if row is None:
        abort(404, f"No drift with id {fp}.")
    return row


@bp.route("/<fp>")
@requires(VIEWER)
def detail(fp: str) -> str:
    row = load(fp)
    events = read.drift_events(store().conn, fp)
    who = caller()
    can_act = who is not None and who.user.can(OPERATOR)
    today = dt.datetime.now(dt.UTC).date().isoformat()
    from driftwatch.web.remediations import offer

    return render_template(
        "drift.html",
        d=row,
        events=events,
        can_act=can_act,
        today=today,
        remedy=offer(row, who),
    )


@bp.route("/<fp>/acknowledge", methods=["POST"])
@requires(OPERATOR)
def acknowledge(fp: str) -> Any:
    load(fp)
    reason, until = ack_fields(
        request.form.get("reason"), request.form.get("until"), dt.datetime.now(dt.UTC).date()
    )
    who = caller()
    assert who is not None  # requires() let it through
    try:
        store().acknowledge(fp, who.actor, reason, until)
    except ActionError as exc:
        abort(exc.status, str(exc))
    flash("Acknowledged: it no longer counts as open" + (f" until {until}." if until else "."))
    return redirect(url_for("drifts.detail", fp=fp))


@bp.route("/<fp>/unacknowledge", methods=["POST"])
@requires(OPERATOR)
def unacknowledge(fp: str) -> Any:
    load(fp)
    who = caller()
    assert who is not None
    try:
        store().unacknowledge(fp, who.actor)
    except ActionError as exc:
        abort(exc.status, str(exc))
    flash("Un-acknowledged: the drift is open again.")
    return redirect(url_for("drifts.detail", fp=fp))
