"""/healthz (no login) and /metrics (Prometheus text, built from the database)."""

from __future__ import annotations

import datetime as dt
import sqlite3
from typing import Any

from flask import Blueprint, Response, jsonify
from flask.typing import ResponseReturnValue
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from driftwatch.errors import DriftwatchError
from driftwatch.lifecycle import parse_time
from driftwatch.store import read
from driftwatch.users import VIEWER
from driftwatch.web.auth import public, requires
from driftwatch.web.state import state, store

bp = Blueprint("ops", __name__)
SCAN_STATUSES = ("ok", "partial", "failed")


@bp.route("/healthz")
@public
def healthz() -> ResponseReturnValue:
    try:
        last = read.last_good_scan_at(store().conn)
    except (sqlite3.Error, DriftwatchError) as exc:
        return jsonify({"status": "error", "database": f"cannot be read: {exc}"}), 503
    age = None
    if last is not None:
        age = int((dt.datetime.now(dt.UTC) - parse_time(last)).total_seconds())
    return jsonify({"status": "ok", "database": "ok", "last_successful_scan": last, "age_s": age})


class _FromDatabase:
    """A prometheus-client collector that reads the numbers at scrape time."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def collect(self) -> Any:
        s = read.summary(self.conn, state().drift_counts(self.conn))
        opened = GaugeMetricFamily(
            "driftwatch_open_drifts",
            "Open drift records (acknowledged ones are not counted).",
            labels=["kind", "type", "account", "region", "severity"],
        )
        for kind, rtype, account, region, severity, n in s.groups:
            opened.add_metric([kind, rtype, account, region, severity], n)
        yield opened
        acked = GaugeMetricFamily(
            "driftwatch_acknowledged_drifts", "Drift records acknowledged by someone."
        )
        acked.add_metric([], s.acknowledged)
        yield acked
        last = s.last_scan
        if last is None:
            return
        yield _gauge(
            "driftwatch_last_scan_timestamp_seconds",
            "When the last finished scan ended (Unix time).",
            parse_time(last["finished_at"] or last["started_at"]).timestamp(),
        )
        yield _gauge(
            "driftwatch_last_scan_duration_seconds",
            "How long the last finished scan took.",
            float(last["duration_s"] or 0),
        )
        status = GaugeMetricFamily(
            "driftwatch_last_scan_status",
            "1 for the last finished scan's status (ok, partial, failed).",
            labels=["status"],
        )
        for name in SCAN_STATUSES:
            status.add_metric([name], 1.0 if last["status"] == name else 0.0)
        yield status
        yield _gauge(
            "driftwatch_last_scan_scope_errors",
            "Scope errors in the last finished scan.",
            len(s.last_scan_errors),
        )
        good = s.last_good_scan
        if good is not None:
            yield _gauge(
                "driftwatch_last_successful_scan_timestamp_seconds",
                "When the last ok or partial scan ended (Unix time).",
                parse_time(good["finished_at"]).timestamp(),
            )


def _gauge(name: str, doc: str, value: float) -> GaugeMetricFamily:
    g = GaugeMetricFamily(name, doc)
    g.add_metric([], value)
    return g


@bp.route("/metrics")
@requires(VIEWER)
def metrics() -> ResponseReturnValue:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_FromDatabase(store().conn))
    return Response(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)
