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
from support.web import SG, add_user, logged_in, modified, now_iso, persist, web_config

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


def text(resp: Any) -> str:
    return str(resp.get_data(as_text=True))


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
