"""The demo's page: what the local alert receivers got, and a button that makes drift.

Registered only when the config says `[demo] enabled = true` (`driftwatch demo`); the
drift is made on the demo's own moto server, found through its state file.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, url_for

from driftwatch.demo import INBOX_FILE, require_loopback
from driftwatch.demo.inbox import read_inbox
from driftwatch.errors import DemoError
from driftwatch.users import OPERATOR, VIEWER
from driftwatch.web.auth import caller, requires
from driftwatch.web.state import state, store

bp = Blueprint("demo", __name__, url_prefix="/demo")


@bp.route("")
@requires(VIEWER)
def index() -> str:
    cfg = state().config
    inbox = read_inbox(cfg.storage.data_dir / INBOX_FILE)
    return render_template("demo.html", inbox=inbox, endpoint=cfg.aws.endpoint_url)


@bp.route("/drift", methods=["POST"])
@requires(OPERATOR)
def drift() -> Any:
    """Make one random drift on the demo's moto server, and say what it was."""
    from driftwatch.demo.drifts import drift_now

    cfg = state().config
    try:
        require_loopback(cfg.aws.endpoint_url or "")  # never AWS, whatever the state file says
        made = drift_now(cfg.storage.data_dir)
    except DemoError as exc:
        flash(f"No drift made: {exc}")
        return redirect(url_for("demo.index"))
    who = caller()
    assert who is not None  # requires() let it through
    store().audit(who.actor, "demo drift", f"{made.type} {made.id}", made.what)
    flash(f"Made a drift: {made.line()}. Press Scan now, or wait for the next scheduled scan.")
    return redirect(url_for("demo.index"))
