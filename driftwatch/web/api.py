"""The JSON API under /api/v1 (docs/api.md): the same reads as the pages, and actions."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Blueprint, abort, jsonify, request, url_for
from flask.typing import ResponseReturnValue

from driftwatch.store import ActionError, read
from driftwatch.users import OPERATOR, VIEWER
from driftwatch.web import drifts as drift_pages
from driftwatch.web import scans as scan_pages
from driftwatch.web.auth import caller, requires
from driftwatch.web.overview import stale_limit, summary_doc
from driftwatch.web.params import ack_fields, drift_query, limit, resource_query
from driftwatch.web.resources import resource_doc
from driftwatch.web.schedules import schedule_docs
from driftwatch.web.state import state, store

bp = Blueprint("api", __name__, url_prefix="/api/v1")


@bp.before_request
def _csrf_for_sessions() -> None:
    """A POST made with the browser's session (not a token) needs the CSRF header: any
    Authorization header but a bearer token leaves the caller its session cookie."""
    bearer = request.headers.get("Authorization", "").startswith("Bearer ")
    if request.method == "POST" and not bearer:
        from driftwatch.web import csrf

        csrf.protect()


@bp.route("/summary")
@requires(VIEWER)
def summary() -> ResponseReturnValue:
    conn = store().conn
    s = read.summary(conn, state().drift_counts(conn))
    return jsonify(summary_doc(s, dt.datetime.now(dt.UTC)))


@bp.route("/drifts")
@requires(VIEWER)
def drifts() -> ResponseReturnValue:
    page = read.drift_page(store().conn, drift_query(request.args, default_limit=100))
    return jsonify({"drifts": [drift_pages.drift_doc(r) for r in page.rows], "next": page.next})


@bp.route("/drifts/<fp>")
@requires(VIEWER)
def drift(fp: str) -> ResponseReturnValue:
    row = drift_pages.load(fp)
    doc = drift_pages.drift_doc(row)
    doc["events"] = [drift_pages.event_doc(e) for e in read.drift_events(store().conn, fp)]
    doc["opened_commit"], doc["last_commit"] = row["opened_commit"], row["last_commit"]
    return jsonify(doc)


def _body() -> dict[str, Any]:
    if not request.data:
        return {}
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        abort(400, "The body must be a JSON object.")
    return body


@bp.route("/drifts/<fp>/acknowledge", methods=["POST"])
@requires(OPERATOR)
def acknowledge(fp: str) -> ResponseReturnValue:
    drift_pages.load(fp)
    body = _body()
    reason, until = ack_fields(
        _str(body, "reason"), _str(body, "until"), dt.datetime.now(dt.UTC).date()
    )
    return _act(fp, lambda who: store().acknowledge(fp, who, reason, until))


@bp.route("/drifts/<fp>/unacknowledge", methods=["POST"])
@requires(OPERATOR)
def unacknowledge(fp: str) -> ResponseReturnValue:
    drift_pages.load(fp)
    return _act(fp, lambda who: store().unacknowledge(fp, who))


def _str(body: dict[str, Any], key: str) -> str | None:
    value = body.get(key)
    if value is not None and not isinstance(value, str):
        abort(400, f"{key} must be a string.")
    return value


def _act(fp: str, action: Any) -> ResponseReturnValue:
    who = caller()
    assert who is not None
    try:
        action(who.actor)
    except ActionError as exc:
        abort(exc.status, str(exc))
    return drift(fp)


@bp.route("/drifts/<fp>/remediations", methods=["POST"])
@requires(OPERATOR)
def plan_remediation(fp: str) -> ResponseReturnValue:
    """Plan a remediation (nothing changes): body {mode, options?, pipeline?}."""
    from driftwatch.remediation import Request
    from driftwatch.web.remediations import service

    drift_pages.load(fp)
    body = _body()
    options = body.get("options") or []
    if not isinstance(options, list) or not all(isinstance(o, str) for o in options):
        abort(400, "options must be a list of strings.")
    req = Request(fp, _str(body, "mode") or "", frozenset(options), _str(body, "pipeline"))
    who = caller()
    assert who is not None
    rid = _remedy(lambda: service().plan(req, who.actor, who.user.role))
    return remediation(rid)[0], 201


@bp.route("/drifts/<fp>/remediations")
@requires(VIEWER)
def drift_remediations(fp: str) -> ResponseReturnValue:
    drift_pages.load(fp)
    return jsonify({"remediations": store().remediations_of(fp)})


@bp.route("/remediations/<int:rid>")
@requires(VIEWER)
def remediation(rid: int) -> tuple[Any, int]:
    row = store().remediation(rid)
    if row is None:
        abort(404, f"No remediation #{rid}.")
    return jsonify(row), 200


@bp.route("/remediations/<int:rid>/approve", methods=["POST"])
@requires(OPERATOR)
def approve_remediation(rid: int) -> ResponseReturnValue:
    from driftwatch.web.remediations import service

    who = caller()
    assert who is not None
    _remedy(lambda: service().approve(rid, who.actor, who.user.role))
    return remediation(rid)


@bp.route("/remediations/<int:rid>/execute", methods=["POST"])
@requires(OPERATOR)
def execute_remediation(rid: int) -> ResponseReturnValue:
    """Run a plan (approved first, if required); answers with the verified outcome."""
    from driftwatch.web.remediations import service

    who = caller()
    assert who is not None
    _remedy(lambda: service().execute(rid, who.actor, who.user.role))
    return remediation(rid)


def _remedy(action: Any) -> Any:
    from driftwatch.remediation import RemediationError

    try:
        return action()
    except RemediationError as exc:
        abort(exc.status, str(exc))


@bp.route("/resources")
@requires(VIEWER)
def resources() -> ResponseReturnValue:
    page = read.resource_page(store().conn, resource_query(request.args, default_limit=100))
    return jsonify({"resources": [resource_doc(r) for r in page.rows], "next": page.next})


@bp.route("/scans")
@requires(VIEWER)
def scans() -> ResponseReturnValue:
    page = read.scan_page(store().conn, limit(request.args, 50), request.args.get("cursor") or None)
    return jsonify({"scans": [scan_pages.scan_doc(r, None) for r in page.rows], "next": page.next})


@bp.route("/scans/<int:scan_id>")
@requires(VIEWER)
def scan(scan_id: int) -> ResponseReturnValue:
    row, errors = scan_pages.load(scan_id)
    return jsonify(scan_pages.scan_doc(row, errors, scan_pages.states(scan_id)))


@bp.route("/scans", methods=["POST"])
@requires(OPERATOR)
def scan_now() -> ResponseReturnValue:
    """202 and a new request, or 200 and the request already queued or running."""
    row, created = scan_pages.request_scan()
    doc = {**scan_pages.request_doc(row), "created": created}
    resp = jsonify(doc)
    resp.status_code = 202 if created else 200
    resp.headers["Location"] = url_for("api.scan_request", request_id=row["id"])
    return resp


@bp.route("/scans/requests/<int:request_id>")
@requires(VIEWER)
def scan_request(request_id: int) -> ResponseReturnValue:
    return jsonify(scan_pages.request_doc(scan_pages.load_request(request_id)))


@bp.route("/schedules")
@requires(VIEWER)
def schedules() -> ResponseReturnValue:
    now = dt.datetime.now(dt.UTC)
    docs = schedule_docs(state().config, store().schedules(), now)
    return jsonify({"schedules": docs, "stale_after_s": int(stale_limit(now).total_seconds())})


@bp.route("/<path:_rest>", methods=["GET", "POST"])
@requires(VIEWER)
def unknown(_rest: str) -> ResponseReturnValue:
    abort(404, "No such API endpoint; see docs/api.md.")
