"""Issue 9 in the dashboard: severity, scan now, schedules, notifications (test client)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from support.web import (
    SG,
    add_user,
    bearer,
    csrf_token,
    logged_in,
    make_token,
    modified,
    now_iso,
    persist,
    text,
    web_config,
)

from driftwatch.config import Config
from driftwatch.models import Finding
from driftwatch.store import Store


@pytest.fixture(autouse=True)
def _quick_hashes(monkeypatch: pytest.MonkeyPatch) -> None:
    """Cheap password hashes in these tests (the product uses werkzeug's default scrypt)."""
    import functools

    from werkzeug.security import generate_password_hash

    import driftwatch.users

    quick = functools.partial(generate_password_hash, method="pbkdf2:sha256:1000")
    monkeypatch.setattr(driftwatch.users, "generate_password_hash", quick)


def rated(f: Finding, severity: str) -> Finding:
    return dataclasses.replace(f, severity=severity)


# (resource id, severity): two of each so that pages split inside a severity.
RATED = [
    ("crit-a", "critical"),
    ("crit-b", "critical"),
    ("high-a", "high"),
    ("med-a", "medium"),
    ("med-b", "medium"),
    ("low-a", "low"),
    ("low-b", "low"),
]


@pytest.fixture
def cfg(tmp_path: Path) -> Config:
    return web_config(tmp_path)


@pytest.fixture
def seeded(cfg: Config) -> dict[str, Any]:
    store = Store(cfg.storage.path)
    findings = [rated(modified(rid), sev) for rid, sev in RATED]
    findings.append(rated(modified("sg-open", rtype=SG), "critical"))
    scan_id = persist(store, findings, now_iso(-dt.timedelta(minutes=5)))
    store.close()
    for name, role in (("vic", "viewer"), ("olga", "operator"), ("ada", "admin")):
        add_user(cfg, name, role)
    return {"scan_id": scan_id, "fp": {f.id: f.fingerprint for f in findings}}


@pytest.fixture
def app(cfg: Config, seeded: dict[str, Any]) -> Flask:
    return create_app_for(cfg)


def create_app_for(cfg: Config) -> Flask:
    from driftwatch.web import create_app

    return create_app(cfg, testing=True)


@pytest.fixture
def viewer(app: Flask) -> FlaskClient:
    return logged_in(app, "vic")


@pytest.fixture
def operator(app: Flask) -> FlaskClient:
    return logged_in(app, "olga")


@pytest.fixture
def admin(app: Flask) -> FlaskClient:
    return logged_in(app, "ada")




def rids(html: str) -> list[str]:
    return re.findall(r'class="rid">([^<]+)<', html)


# --- severity ----------------------------------------------------------------------------


def test_the_drift_list_shows_severity_as_a_word(viewer: FlaskClient) -> None:
    html = text(viewer.get("/drifts"))
    badges = re.findall(r'data-severity="(\w+)"><span aria-hidden="true">[^<]+</span> (\w+)<', html)
    assert badges and all(attr == word for attr, word in badges)
    assert {w for _, w in badges} == {"critical", "high", "medium", "low"}


@pytest.mark.parametrize(
    ("severity", "expected"),
    [
        ("critical", {"crit-a", "crit-b", "sg-open"}),
        ("high", {"high-a"}),
        ("medium", {"med-a", "med-b"}),
        ("low", {"low-a", "low-b"}),
    ],
)
def test_drifts_filter_by_severity(viewer: FlaskClient, severity: str, expected: set[str]) -> None:
    assert set(rids(text(viewer.get(f"/drifts?severity={severity}")))) == expected
    api = viewer.get(f"/api/v1/drifts?severity={severity}").json
    assert {d["resource_id"] for d in api["drifts"]} == expected
    assert {d["severity"] for d in api["drifts"]} == {severity}


RANK = {"critical": 3, "high": 2, "medium": 1, "low": 0}


@pytest.mark.parametrize("order", ["desc", "asc"])
@pytest.mark.parametrize("limit", [1, 2, 3, 100])
def test_severity_sort_pages_by_cursor_without_gaps_or_repeats(
    viewer: FlaskClient, order: str, limit: int
) -> None:
    seen: list[dict[str, Any]] = []
    url = f"/api/v1/drifts?sort=severity&order={order}&limit={limit}"
    while url:
        page = viewer.get(url).json
        seen += page["drifts"]
        url = f"/api/v1/drifts?sort=severity&order={order}&limit={limit}&cursor={page['next']}"
        url = url if page["next"] else ""
    assert len(seen) == len({d["id"] for d in seen}) == len(RATED) + 1
    keys = [(RANK[d["severity"]], d["first_seen"], d["id"]) for d in seen]
    assert keys == sorted(keys, reverse=order == "desc")


def test_severity_sort_in_the_page_follows_next_links(viewer: FlaskClient) -> None:
    seen: list[str] = []
    url = "/drifts?sort=severity&order=desc&limit=3&severity="
    while url:
        html = text(viewer.get(url))
        seen += re.findall(r'data-severity="(\w+)"', html)
        nxt = re.search(r'rel="next" href="([^"]+)"', html)
        url = nxt.group(1).replace("&amp;", "&") if nxt else ""
    assert seen == ["critical"] * 3 + ["high"] + ["medium"] * 2 + ["low"] * 2


def test_overview_and_summary_count_open_drifts_by_severity(viewer: FlaskClient) -> None:
    html = text(viewer.get("/"))
    counts = dict(re.findall(r'data-severity-count="(\w+)">(\d+)<', html))
    assert counts == {"critical": "3", "high": "1", "medium": "2", "low": "2"}
    summary = viewer.get("/api/v1/summary").json
    assert summary["by_severity"] == {"critical": 3, "high": 1, "medium": 2, "low": 2}
    assert list(summary["by_severity"]) == ["critical", "high", "medium", "low"]


def test_metrics_label_open_drifts_by_severity(viewer: FlaskClient) -> None:
    body = text(viewer.get("/metrics"))
    assert (
        'driftwatch_open_drifts{account="default",kind="modified",region="us-east-1",'
        'severity="critical",type="aws_s3_bucket"} 2.0' in body
    )
    assert 'severity="critical",type="aws_security_group"} 1.0' in body
    assert 'severity="low",type="aws_s3_bucket"} 2.0' in body


def test_a_drift_page_and_api_show_its_severity(
    viewer: FlaskClient, seeded: dict[str, Any]
) -> None:
    fp = seeded["fp"]["sg-open"]
    assert 'data-severity="critical"' in text(viewer.get(f"/drifts/{fp}"))
    assert viewer.get(f"/api/v1/drifts/{fp}").json["severity"] == "critical"


def test_a_record_stored_before_severity_existed_counts_as_high(
    cfg: Config, seeded: dict[str, Any], viewer: FlaskClient
) -> None:
    store = Store(cfg.storage.path)
    store.db.execute("UPDATE drifts SET severity = NULL WHERE resource_id = 'low-a'")
    store.db.conn.commit()
    store.close()
    got = viewer.get("/api/v1/drifts?severity=high").json["drifts"]
    assert {d["resource_id"] for d in got} == {"high-a", "low-a"}
    by = viewer.get("/api/v1/summary").json["by_severity"]
    assert by == {"critical": 3, "high": 2, "medium": 2, "low": 1}
    assert 'severity="high",type="aws_s3_bucket"} 2.0' in text(viewer.get("/metrics"))


@pytest.mark.parametrize(
    "query", ["severity=urgent", "severity=%3Cb%3E", "sort=danger", "scan=abc", "scan=-1"]
)
def test_bad_severity_sort_or_scan_is_400(viewer: FlaskClient, query: str) -> None:
    for path in ("/drifts", "/api/v1/drifts"):
        assert viewer.get(f"{path}?{query}").status_code == 400, (path, query)
    assert viewer.get(f"/api/v1/drifts?{query}").json["error"]["message"]


def test_drifts_of_a_scan_include_those_it_resolved(
    cfg: Config, seeded: dict[str, Any], viewer: FlaskClient
) -> None:
    store = Store(cfg.storage.path)
    again = [rated(modified(rid), sev) for rid, sev in RATED if rid != "low-b"]
    again.append(rated(modified("sg-open", rtype=SG), "critical"))
    second = persist(store, again, now_iso())
    store.close()
    first = seeded["scan_id"]
    assert len(rids(text(viewer.get(f"/drifts?scan={first}")))) == len(RATED) + 1
    html = text(viewer.get(f"/drifts?scan={second}"))
    assert rids(html) == ["low-b"] and "resolved" in html  # seen again is not news
    assert f'href="/scans/{second}"' in html
    api = viewer.get(f"/api/v1/drifts?scan={second}&status=open").json
    assert api["drifts"] == []


# --- scan now ----------------------------------------------------------------------------


def test_only_operators_see_and_use_the_scan_now_button(
    viewer: FlaskClient, operator: FlaskClient
) -> None:
    for page in ("/", "/scans"):
        assert "Scan now" not in text(viewer.get(page))
        assert "Scan now" in text(operator.get(page))
    token = csrf_token(viewer, "/")
    assert viewer.post("/scans/requests", data={"csrf_token": token}).status_code == 403


def test_scan_now_needs_the_csrf_token(operator: FlaskClient) -> None:
    resp = operator.post("/scans/requests")
    assert resp.status_code == 400 and "CSRF" in text(resp)


def test_scan_now_queued_running_finished(
    cfg: Config, seeded: dict[str, Any], operator: FlaskClient, admin: FlaskClient
) -> None:
    token = csrf_token(operator, "/")
    resp = operator.post("/scans/requests", data={"csrf_token": token})
    assert resp.status_code == 302
    url = resp.location
    assert re.fullmatch(r"/scans/requests/\d+", url)
    html = text(operator.get(url))
    assert 'data-request-status="queued"' in html
    assert '<meta http-equiv="refresh" content="3">' in html
    assert "no scheduler holds the lease" in html
    again = operator.post("/scans/requests", data={"csrf_token": token})
    assert again.location == url  # the same request, not a second scan
    assert "already queued" in text(operator.get(url))

    store = Store(cfg.storage.path)  # what the scheduler's leader does
    rid = store.claim_scan_request(None)
    assert rid is not None and url.endswith(f"/{rid}")
    html = text(operator.get(url))
    assert 'data-request-status="running"' in html and 'http-equiv="refresh"' in html
    assert 'id="scan-link"' not in html  # claimed; its scan has not started yet
    store.scan_request_progress(rid, 3, 8, 41, 17)
    html = text(operator.get(url))
    assert 'data-done="3" data-total="8"' in html
    assert "3 of 8 scopes read, 41 resources, 17 API calls" in html
    running = store.start_scan(now_iso(), None, "request")
    html = text(operator.get(url))
    assert f'id="scan-link">#{running}<' in html and 'data-request-status="running"' in html
    assert operator.post("/scans/requests", data={"csrf_token": token}).location == url
    scan_id = persist(store, [rated(modified("crit-a"), "critical")], now_iso())
    store.finish_scan_request(rid, scan_id)
    store.close()
    html = text(operator.get(url))
    assert 'data-request-status="done"' in html and 'http-equiv="refresh"' not in html
    assert f'id="scan-link">#{scan_id}<' in html
    assert f'href="/drifts?scan={scan_id}"' in html
    audit = text(admin.get("/audit"))
    assert audit.count("scan request") == 1  # the duplicate wrote nothing

    nxt = operator.post("/scans/requests", data={"csrf_token": token})
    assert nxt.location != url  # after it finished, a new request


def test_api_scan_now_returns_the_existing_request(
    app: Flask, cfg: Config, seeded: dict[str, Any]
) -> None:
    client = app.test_client()
    operate = bearer(make_token(cfg, "olga", "operate"))
    first = client.post("/api/v1/scans", headers=operate)
    assert first.status_code == 202 and first.json["created"] is True
    assert first.json["status"] == "queued" and first.json["requested_by"] == "olga (token)"
    assert first.headers["Location"] == f"/api/v1/scans/requests/{first.json['id']}"
    second = client.post("/api/v1/scans", headers=operate)
    assert second.status_code == 200 and second.json["created"] is False
    assert second.json["id"] == first.json["id"]
    got = client.get(first.headers["Location"], headers=operate).json
    assert got["status"] == "queued" and got["scan"] is None
    store = Store(cfg.storage.path)
    rid = store.claim_scan_request(None)
    store.finish_scan_request(rid or 0, seeded["scan_id"])
    store.close()
    got = client.get(first.headers["Location"], headers=operate).json
    assert got["status"] == "done" and got["scan"]["id"] == seeded["scan_id"]
    assert client.get("/api/v1/scans/requests/999", headers=operate).status_code == 404


def test_api_scan_now_refuses_read_tokens_viewers_and_sessions_without_csrf(
    app: Flask, cfg: Config, operator: FlaskClient
) -> None:
    client = app.test_client()
    read = client.post("/api/v1/scans", headers=bearer(make_token(cfg, "ada", "read")))
    assert read.status_code == 403 and "read scope" in read.json["error"]["message"]
    viewer_op = client.post("/api/v1/scans", headers=bearer(make_token(cfg, "vic", "operate")))
    assert viewer_op.status_code == 403
    assert client.post("/api/v1/scans").status_code in (400, 401)
    assert operator.post("/api/v1/scans").status_code == 400  # session without X-CSRFToken
    token = csrf_token(operator, "/")
    ok = operator.post("/api/v1/scans", headers={"X-CSRFToken": token})
    assert ok.status_code == 202 and ok.json["requested_by"] == "olga"
    store = Store(cfg.storage.path)
    assert len(list(store.db.table("scan_requests").rows)) == 1
    store.close()


# --- schedules ---------------------------------------------------------------------------


def scheduled_config(tmp_path: Path) -> Config:
    from driftwatch.config import parse_config

    return parse_config(
        {
            "git": {"url": str(tmp_path / "infra")},
            "aws": {"regions": ["us-east-1"]},
            "storage": {"path": str(tmp_path / "state" / "driftwatch.db")},
            "schedules": [
                {"name": "fast", "interval": "10m"},
                {"name": "nightly", "cron": "0 3 * * *", "types": ["aws_s3_bucket"]},
            ],
        },
        tmp_path / "driftwatch.toml",
    )


def test_schedules_come_from_the_config_before_any_leader_ran(
    viewer: FlaskClient, cfg: Config
) -> None:
    got = viewer.get("/api/v1/schedules").json
    (default,) = got["schedules"]
    assert default["name"] == "default" and default["recorded"] is False
    assert default["last_run_at"] is None and default["next_run_at"] > now_iso()
    assert got["stale_after_s"] == 24 * 3600  # no scheduler on this database: cron/CI scans
    html = text(viewer.get("/"))
    assert 'data-schedule="default"' in html and "no scheduler has run yet" in html


def test_schedules_show_what_the_leader_recorded(tmp_path: Path) -> None:
    cfg = scheduled_config(tmp_path)
    store = Store(cfg.storage.path)
    scan_id = persist(store, [rated(modified("a"), "low")], now_iso(-dt.timedelta(minutes=5)))
    store.record_schedule(
        "fast",
        every="every 0:10:00",
        next_run_at="2030-01-01T00:10:00Z",
        last_run_at="2030-01-01T00:00:00Z",
        last_scan_id=scan_id,
        last_status="ok",
    )
    store.close()
    add_user(cfg, "vic", "viewer")
    client = logged_in(create_app_for(cfg), "vic")
    got = {s["name"]: s for s in client.get("/api/v1/schedules").json["schedules"]}
    assert got["fast"]["next_run_at"] == "2030-01-01T00:10:00Z"
    assert got["fast"]["last_scan_id"] == scan_id and got["fast"]["recorded"] is True
    assert got["nightly"]["recorded"] is False
    assert got["nightly"]["next_run_at"].endswith("T03:00:00Z")
    assert got["nightly"]["scope"]["types"] == ["aws_s3_bucket"]
    html = text(client.get("/"))
    assert 'data-schedule="fast"' in html and f'href="/scans/{scan_id}"' in html
    assert "Stale" not in html  # 5 minutes old; stale after 20


def test_stale_after_twice_the_shortest_schedule_once_a_scheduler_runs(tmp_path: Path) -> None:
    cfg = scheduled_config(tmp_path)
    store = Store(cfg.storage.path)
    persist(store, [rated(modified("a"), "low")], now_iso(-dt.timedelta(minutes=25)))
    store.close()
    add_user(cfg, "vic", "viewer")
    client = logged_in(create_app_for(cfg), "vic")
    assert "Stale" not in text(client.get("/"))  # no scheduler recorded: 24 h
    store = Store(cfg.storage.path)
    store.record_schedule("fast", every="every 0:10:00", next_run_at=now_iso())
    store.close()
    assert "more than 20 min ago" in text(client.get("/"))
    summary = client.get("/api/v1/summary").json
    assert any(w.startswith("Stale:") for w in summary["warnings"])
    assert client.get("/api/v1/schedules").json["stale_after_s"] == 1200


def test_a_cron_schedule_interval_is_the_gap_between_runs() -> None:
    from driftwatch.config import Schedule
    from driftwatch.web.schedules import interval_of, stale_after

    now = dt.datetime(2026, 11, 27, 12, 0, tzinfo=dt.UTC)
    hourly = Schedule("h", cron="0 * * * *")
    assert interval_of(hourly, now) == dt.timedelta(hours=1)
    daily = Schedule("d", cron="30 3 * * *")
    assert interval_of(daily, now) == dt.timedelta(days=1)
    assert stale_after([hourly, daily], [{"name": "h"}], now) == dt.timedelta(hours=2)
    assert stale_after([hourly], [], now) == dt.timedelta(hours=24)


# --- notifications -----------------------------------------------------------------------

XSS = "<script>alert(1)</script>"


@pytest.fixture
def alerting(tmp_path: Path) -> Config:
    """A config with two channels and a base URL, a scan, and the three roles."""
    from driftwatch.config import parse_config

    cfg = parse_config(
        {
            "git": {"url": str(tmp_path / "infra")},
            "aws": {"regions": ["us-east-1"]},
            "storage": {"path": str(tmp_path / "state" / "driftwatch.db")},
            "dashboard": {"base_url": "https://dash.example.com"},
            "alerts": {
                "channels": [
                    {"name": "pager", "type": "webhook", "url": "https://hooks.example.com/a"},
                    {
                        "name": "audit-hook",
                        "type": "webhook",
                        "url": "https://hooks.example.com/b",
                        "min_severity": "critical",
                    },
                ]
            },
        },
        tmp_path / "driftwatch.toml",
    )
    store = Store(cfg.storage.path)
    persist(store, [rated(modified("a"), "critical")], now_iso())
    store.close()
    for name, role in (("vic", "viewer"), ("olga", "operator"), ("ada", "admin")):
        add_user(cfg, name, role)
    return cfg


def outbox(cfg: Config) -> list[dict[str, Any]]:
    store = Store(cfg.storage.path)
    try:
        return store.messages()
    finally:
        store.close()


def test_a_viewer_reads_notifications_but_cannot_send_a_test(alerting: Config) -> None:
    app = create_app_for(alerting)
    viewer = logged_in(app, "vic")
    html = text(viewer.get("/notifications"))
    assert 'data-channel="pager"' in html and 'data-channel="audit-hook"' in html
    assert "Send test message" not in html
    token = csrf_token(viewer, "/notifications")
    assert viewer.post("/notifications/test/pager", data={"csrf_token": token}).status_code == 403
    operator = logged_in(app, "olga")
    token = csrf_token(operator, "/notifications")
    assert operator.post("/notifications/test/pager", data={"csrf_token": token}).status_code == 403
    assert outbox(alerting) == []


def test_an_admin_queues_a_test_message_for_the_scheduler(alerting: Config) -> None:
    import json

    admin = logged_in(create_app_for(alerting), "ada")
    html = text(admin.get("/notifications"))
    assert html.count("Send test message") == 2
    assert admin.post("/notifications/test/pager").status_code == 400  # no CSRF token
    token = csrf_token(admin, "/notifications")
    resp = admin.post("/notifications/test/pager", data={"csrf_token": token})
    assert resp.status_code == 302 and resp.location == "/notifications?channel=pager"
    (row,) = outbox(alerting)
    assert (row["channel"], row["kind"], row["status"], row["attempts"]) == (
        "pager",
        "test",
        "pending",
        0,
    )
    payload = json.loads(row["payload"])
    assert payload["test"] is True and payload["base_url"] == "https://dash.example.com"
    html = text(admin.get(resp.location))
    assert f'data-message="{row["id"]}"' in html
    assert "driftwatch test message for channel pager" in html and "queued for pager" in html
    assert "alert test" in text(admin.get("/audit"))
    assert admin.post("/notifications/test/nope", data={"csrf_token": token}).status_code == 404
    assert len(outbox(alerting)) == 1


def test_notifications_show_status_attempts_errors_and_filter(alerting: Config) -> None:
    from driftwatch.alerts import test_digest

    store = Store(alerting.storage.path)
    sent, failed, pending = store.enqueue(
        [test_digest(name, None) for name in ("pager", "audit-hook", "pager")]
    )
    store.mark_sent(sent)
    store.mark_retry(failed, "HTTP 503", "2030-01-01T00:00:00Z")
    store.mark_failed(failed, "HTTP 404: " + XSS)
    store.close()
    viewer = logged_in(create_app_for(alerting), "vic")
    html = text(viewer.get("/notifications"))
    assert XSS not in html and "HTTP 404: &lt;script&gt;alert(1)&lt;/script&gt;" in html
    rows = dict(re.findall(r'data-message="(\d+)">.*?data-status="(\w+)"', html, re.S))
    assert rows == {str(sent): "sent", str(failed): "failed", str(pending): "pending"}
    assert re.search(rf'data-message="{failed}">.*?<td class="n">2</td>', html, re.S)
    counts = re.search(r'data-channel="pager">(.*?)</tr>', html, re.S)
    assert counts and re.findall(r'class="n">(\d+)<', counts.group(1)) == ["1", "1", "0"]
    only_failed = text(viewer.get("/notifications?status=failed"))
    assert re.findall(r'data-message="(\d+)"', only_failed) == [str(failed)]
    only_pager = text(viewer.get("/notifications?channel=pager"))
    assert set(re.findall(r'data-message="(\d+)"', only_pager)) == {str(sent), str(pending)}
    for bad in ("status=lost", "channel=%3Cscript%3E", "limit=0", "limit=many"):
        assert viewer.get(f"/notifications?{bad}").status_code == 400, bad


def test_alert_links_point_at_dashboard_routes(alerting: Config) -> None:
    from driftwatch.alerts import drift_link, drifts_link, scan_link

    store = Store(alerting.storage.path)
    (drift,) = store.drifts()
    (scan,) = store.scans()
    store.close()
    base = "https://dash.example.com"
    viewer = logged_in(create_app_for(alerting), "vic")
    pages = {}
    for link in (
        drift_link(base, drift["fingerprint"]),
        scan_link(base, scan["id"]),
        drifts_link(base, scan["id"]),
    ):
        assert link is not None and link.startswith(base + "/")
        resp = viewer.get(link[len(base) :])
        assert resp.status_code == 200, link
        pages[link] = text(resp)
    assert rids(pages[f"{base}/drifts?scan={scan['id']}"]) == ["a"]
