"""Notifications: the alerts outbox (status, attempts, last error) and test messages."""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for

from driftwatch.alerts import Digest, test_digest
from driftwatch.store import read
from driftwatch.store.outbox import FAILED, PENDING, SENT
from driftwatch.store.read import QueryError
from driftwatch.users import ADMIN, VIEWER
from driftwatch.web.auth import caller, requires
from driftwatch.web.params import limit, word
from driftwatch.web.state import state, store

bp = Blueprint("notifications", __name__, url_prefix="/notifications")
MESSAGE_STATUSES = (PENDING, SENT, FAILED)


def message_filters(args: Any) -> tuple[str | None, str | None, int]:
    """`status`, `channel` and `limit` (default 100) of the notifications list."""
    status = word(args, "status")
    if status is not None and status not in MESSAGE_STATUSES:
        raise QueryError(f"unknown status {status!r}; one of: {', '.join(MESSAGE_STATUSES)}")
    n = limit(args, 100)
    if not 1 <= n <= read.MAX_LIMIT:
        raise QueryError(f"limit must be from 1 to {read.MAX_LIMIT}, got {n}")
    return status, word(args, "channel"), n


def message_doc(row: dict[str, Any]) -> dict[str, Any]:
    """An outbox row for people: its title from the payload, never the payload itself."""
    return {
        "id": row["id"],
        "delivery_id": row["delivery_id"],
        "channel": row["channel"],
        "kind": row["kind"],
        "scan_id": row["scan_id"],
        "title": Digest.from_dict(json.loads(row["payload"])).title,
        "status": row["status"],
        "attempts": row["attempts"],
        "last_error": row["last_error"],
        "created_at": row["created_at"],
        "sent_at": row["sent_at"],
        "next_attempt_at": row["next_attempt_at"] if row["status"] == PENDING else None,
    }


@bp.route("")
@requires(VIEWER)
def index() -> str:
    status, channel, n = message_filters(request.args)
    rows = store().messages(status, channel, limit=n)
    who = caller()
    return render_template(
        "notifications.html",
        messages=[message_doc(r) for r in rows],
        channels=state().config.alerts.channels,
        counts=read.outbox_counts(store().conn),
        statuses=MESSAGE_STATUSES,
        status=status,
        channel=channel,
        can_test=who is not None and who.user.can(ADMIN),
    )


@bp.route("/test/<name>", methods=["POST"])
@requires(ADMIN)
def send_test(name: str) -> Any:
    """Queue a test message for a configured channel; the scheduler's leader sends it."""
    cfg = state().config
    if cfg.alerts.channel(name) is None:
        abort(404, f"No alert channel {name[:80]!r} in the config.")
    who = caller()
    assert who is not None
    (message_id,) = store().enqueue([test_digest(name, cfg.dashboard.base_url)])
    store().audit(who.actor, "alert test", name, f"message {message_id}")
    flash(
        f"Test message #{message_id} queued for {name}: the scheduler's leader sends it "
        "within a few seconds."
    )
    return redirect(url_for("notifications.index", channel=name))
