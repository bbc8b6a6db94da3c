"""Remediation pages: plan from a drift's page, review the plan, approve, confirm and run.

Every step goes through `driftwatch.remediation.Remediation`, the same door as the CLI
and the API: config gates, roles, the confirmation, stale-plan refusal and audit.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for

from driftwatch.registry import remediators
from driftwatch.remediation import DELETE, Remediation, RemediationError, Request
from driftwatch.users import ADMIN, OPERATOR, VIEWER
from driftwatch.web.auth import Caller, caller, requires
from driftwatch.web.state import state, store

bp = Blueprint("remediations", __name__)


def service() -> Remediation:
    """This request's door to remediation (AWS clients are shared by the process)."""
    return Remediation(state().config, store(), state().aws_sessions())


def offer(drift: dict[str, Any], who: Caller | None) -> dict[str, Any] | None:
    """What the drift page offers this caller: modes, options, pipelines; None for nothing."""
    rem = state().config.remediation
    if (
        not rem.enabled
        or who is None
        or not who.user.can(OPERATOR)
        or drift["status"] == "resolved"
        or not rem.allows_type(drift["type"])
    ):
        return None
    options: list[tuple[str, str]] = []
    if drift["type"] in remediators and drift["kind"] == "modified":
        options = [(o.name, o.help) for o in remediators.get(drift["type"]).options]
    can_delete = drift["kind"] == "unmanaged" and rem.delete_unmanaged and who.user.can(ADMIN)
    if can_delete:
        options.append((DELETE, "Delete this unmanaged resource (admins only; cannot be undone)"))
    # Offer only what can work here: revert never re-creates a missing resource and
    # reverts an unmanaged one only by deleting it; a pipeline needs one configured.
    # The first mode is the form's default: deleting is never the default.
    usable = {
        "revert": drift["kind"] == "modified" or can_delete,
        "accept": True,
        "pipeline": bool(rem.pipelines),
    }
    order = ("accept", "pipeline", "revert") if can_delete else ("revert", "accept", "pipeline")
    modes = [m for m in order if m in rem.allow_modes and usable[m]]
    return {
        "modes": modes,
        "options": options,
        "pipelines": [p.name for p in rem.pipelines],
        "approval": rem.require_approval,
        "history": store().remediations_of(drift["fingerprint"]),
    }


def _who() -> Caller:
    who = caller()
    assert who is not None  # requires() let it through
    return who


@bp.route("/drifts/<fp>/remediations", methods=["POST"])
@requires(OPERATOR)
def plan(fp: str) -> Any:
    who = _who()
    req = Request(
        fp,
        request.form.get("mode", ""),
        frozenset(request.form.getlist("option")),
        request.form.get("pipeline") or None,
    )
    try:
        rid = service().plan(req, who.actor, who.user.role)
    except RemediationError as exc:
        flash(f"No plan: {exc}", "error")
        return redirect(url_for("drifts.detail", fp=fp))
    return redirect(url_for("remediations.detail", rid=rid))


@bp.route("/remediations/<int:rid>")
@requires(VIEWER)
def detail(rid: int) -> str:
    row = store().remediation(rid)
    if row is None:
        abort(404, f"No remediation #{rid}.")
    who = _who()
    cfg = state().config.remediation
    pending = row["status"] in ("planned", "approved")
    can_run = (
        cfg.enabled
        and pending
        and who.user.can(ADMIN if DELETE in (row["options"] or []) else OPERATOR)
        and (row["status"] == "approved" or not cfg.require_approval)
    )
    can_approve = (
        cfg.enabled
        and cfg.require_approval
        and row["status"] == "planned"
        and who.user.can(OPERATOR)
        and who.actor.name != row["requested_by"]
    )
    return render_template(
        "remediation.html", r=row, can_run=can_run, can_approve=can_approve, cfg=cfg
    )


@bp.route("/remediations/<int:rid>/approve", methods=["POST"])
@requires(OPERATOR)
def approve(rid: int) -> Any:
    who = _who()
    try:
        service().approve(rid, who.actor, who.user.role)
        flash(f"Remediation #{rid} approved.")
    except RemediationError as exc:
        flash(f"Not approved: {exc}", "error")
    return redirect(url_for("remediations.detail", rid=rid))


@bp.route("/remediations/<int:rid>/execute", methods=["POST"])
@requires(OPERATOR)
def execute(rid: int) -> Any:
    who = _who()
    if request.form.get("confirm") != "yes":
        flash("Tick “I have reviewed this plan” to run it.", "error")
        return redirect(url_for("remediations.detail", rid=rid))
    try:
        row = service().execute(rid, who.actor, who.user.role)
        flash(f"Remediation #{rid}: {row['status']}.")
    except RemediationError as exc:
        flash(f"Not run: {exc}", "error")
    return redirect(url_for("remediations.detail", rid=rid))
