"""The overview: open drifts grouped, the last scan, staleness, open drifts over time."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Blueprint, render_template

from driftwatch.lifecycle import parse_time
from driftwatch.store import read, write_problem
from driftwatch.users import VIEWER
from driftwatch.web.auth import requires
from driftwatch.web.chart import open_drifts_chart
from driftwatch.web.scans import can_scan
from driftwatch.web.schedules import DEFAULT_STALE_AFTER, schedule_docs, stale_after
from driftwatch.web.state import state, store

bp = Blueprint("overview", __name__)
STALE_AFTER = DEFAULT_STALE_AFTER


def warnings(
    s: read.Summary,
    now: dt.datetime,
    stale: dt.timedelta = STALE_AFTER,
    storage: str | None = None,
) -> list[str]:
    """What a reader of the numbers must know first: a database that cannot be written
    (`storage`: scans fail until it is fixed), stale data (no successful scan for
    `stale`), a partial or failed scan."""
    out = [f"Scans cannot be stored: {storage}."] if storage else []
    good = s.last_good_scan
    if good is None:
        out.append("No successful scan yet: there is nothing to show. Run: driftwatch scan")
    elif now - parse_time(good["finished_at"]) > stale:
        out.append(
            f"Stale: the last successful scan finished {good['finished_at']}, more than "
            f"{_duration(stale)} ago."
        )
    last = s.last_scan
    if last and last["status"] == "partial":
        out.append(
            f"The last scan (#{last['id']}) was partial: {last['not_checked'] or 0} resource(s) "
            f"not checked, {len(s.last_scan_errors)} scope error(s). Their drift records "
            "are kept as they were."
        )
    elif last and last["status"] == "failed":
        out.append(f"The last scan (#{last['id']}) failed: {last['error'] or 'see the scan'}.")
    return out


def _duration(d: dt.timedelta) -> str:
    seconds = int(d.total_seconds())
    if seconds % 3600 == 0:
        return f"{seconds // 3600} h"
    if seconds % 60 == 0:
        return f"{seconds // 60} min"
    return f"{seconds} s"


def stale_limit(now: dt.datetime) -> dt.timedelta:
    """This deployment's staleness limit (web/schedules.py: 2× the shortest schedule)."""
    return stale_after(state().config.schedules, store().schedules(), now)


def summary_doc(s: read.Summary, now: dt.datetime) -> dict[str, Any]:
    """The overview's numbers as JSON (the API's /summary)."""
    return {
        "open": s.open,
        "acknowledged": s.acknowledged,
        "by_kind": s.by_kind,
        "by_severity": s.by_severity,
        "by_type": s.by_type,
        "by_account_region": s.by_place,
        "last_scan": _scan_doc(s.last_scan, s.last_scan_errors),
        "last_successful_scan": _scan_doc(s.last_good_scan, None),
        "warnings": warnings(s, now, stale_limit(now), write_problem(store().path)),
    }


def _scan_doc(row: dict[str, Any] | None, errors: list[dict[str, Any]] | None) -> Any:
    if row is None:
        return None
    from driftwatch.web.scans import scan_doc

    return scan_doc(row, errors)


@bp.route("/")
@requires(VIEWER)
def index() -> str:
    conn = store().conn
    s = read.summary(conn, state().drift_counts(conn))
    chart = open_drifts_chart(read.open_over_time(conn))
    now = dt.datetime.now(dt.UTC)
    recorded = store().schedules()
    stale = stale_after(state().config.schedules, recorded, now)
    return render_template(
        "overview.html",
        s=s,
        chart=chart,
        warnings=warnings(s, now, stale, write_problem(store().path)),
        can_scan=can_scan(),
        schedules=schedule_docs(state().config, recorded, now),
    )
