"""Dashboard test helpers: a config over a tmp database, seeded through the real persist
code (no AWS), users, and a logged-in test client."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from driftwatch.alerts import AlertSetup
from driftwatch.config import Config, parse_config
from driftwatch.lifecycle import Coverage
from driftwatch.models import Change, Finding, Kind, Scope, ScopeError
from driftwatch.store import Actor, ScanWrite, Store
from driftwatch.users import hash_password, new_token, token_hash

PASSWORD = "correct horse battery"
XSS = "<script>alert(1)</script>"
S3 = "aws_s3_bucket"
SG = "aws_security_group"


def web_config(tmp_path: Path) -> Config:
    return parse_config(
        {
            "git": {"url": str(tmp_path / "infra")},
            "aws": {"regions": ["us-east-1", "eu-west-1"]},
            "storage": {"path": str(tmp_path / "state" / "driftwatch.db")},
        },
        tmp_path / "driftwatch.toml",
    )


def modified(rid: str, value: Any = "x", region: str = "us-east-1", rtype: str = S3) -> Finding:
    return Finding(
        Kind.MODIFIED,
        rtype,
        rid,
        "default",
        region,
        source="declared/main.yaml",
        live_id=rid,
        changes=[Change("tags.team", "platform", value)],
        snapshot={"id": rid, "tags": {"team": value}},
    )


def finding(kind: Kind, rid: str, region: str = "us-east-1", rtype: str = S3) -> Finding:
    return Finding(
        kind,
        rtype,
        rid,
        "default",
        region,
        source=None if kind == Kind.UNMANAGED else "declared/main.yaml",
        live_id=None if kind == Kind.MISSING else rid,
        snapshot=None if kind == Kind.MISSING else {"id": rid},
        reason="AccessDenied" if kind == Kind.NOT_CHECKED else None,
    )


def persist(
    store: Store,
    findings: list[Finding],
    at: str,
    errors: list[ScopeError] | None = None,
    status: str = "ok",
    commit: str = "c0ffee" * 6 + "abcd",
    alerts: AlertSetup | None = None,
    states: list[dict[str, Any]] | None = None,
) -> int:
    scan_id = store.start_scan(at)
    scopes = frozenset(Scope("default", r, t) for r in ("us-east-1", "eu-west-1") for t in (S3, SG))
    store.persist_scan(
        ScanWrite(
            scan_id=scan_id,
            finished_at=at,
            status=status,
            commit_sha=commit,
            findings=findings,
            errors=errors or [],
            coverage=Coverage(
                read=scopes,
                watched=scopes,
                declared=frozenset(f.key for f in findings if f.kind != Kind.UNMANAGED),
                regions=frozenset({("default", "us-east-1"), ("default", "eu-west-1")}),
            ),
            reopen_window=dt.timedelta(hours=24),
            declared=len(findings),
            api_calls=12,
            duration_s=1.5,
            alerts=alerts,
            states=states or (),
        )
    )
    return scan_id


def now_iso(delta: dt.timedelta = dt.timedelta()) -> str:
    return (dt.datetime.now(dt.UTC) + delta).strftime("%Y-%m-%dT%H:%M:%SZ")


def seed(cfg: Config) -> dict[str, Any]:
    """Two scans: drifts of every kind, a tag value that is a script, a resolved drift."""
    store = Store(cfg.storage.path)
    first = [
        modified("logs"),
        modified("xss-bucket", XSS),
        finding(Kind.MISSING, "gone"),
        finding(Kind.UNMANAGED, "stray", "eu-west-1"),
        modified("fixed-later"),
        finding(Kind.IN_SYNC, "fine"),
    ]
    persist(store, first, now_iso(-dt.timedelta(hours=2)))
    second = [f for f in first if f.id != "fixed-later"]
    second += [finding(Kind.IN_SYNC, "fixed-later"), modified("web", rtype=SG)]
    err = ScopeError(Scope("default", "eu-west-1", SG), "AccessDenied: not allowed " + XSS)
    scan_id = persist(store, second, now_iso(-dt.timedelta(hours=1)), [err], "partial")
    out = {"scan_id": scan_id, "fp": {f.id: f.fingerprint for f in second if f.kind.is_drift}}
    out["fp"]["fixed-later"] = modified("fixed-later").fingerprint
    store.close()
    return out


def add_user(cfg: Config, name: str, role: str, password: str = PASSWORD) -> None:
    store = Store(cfg.storage.path)
    store.upsert_user(name, hash_password(password), role, Actor("test"))
    store.close()


_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_token(client: FlaskClient, path: str = "/login") -> str:
    html = client.get(path).get_data(as_text=True)
    match = _CSRF.search(html)
    assert match, html[:500]
    return match.group(1)


def login(client: FlaskClient, name: str, password: str = PASSWORD) -> Any:
    token = csrf_token(client)
    return client.post("/login", data={"username": name, "password": password, "csrf_token": token})


def logged_in(app: Flask, name: str) -> FlaskClient:
    client = app.test_client()
    resp = login(client, name)
    assert resp.status_code == 302, resp.get_data(as_text=True)[:500]
    return client


def text(resp: Any) -> str:
    return str(resp.get_data(as_text=True))


def make_token(cfg: Config, user: str, scope: str) -> str:
    """A bearer token of `user` with `scope`, made as `driftwatch token create` does."""
    from driftwatch.store import users as user_sql

    store = Store(cfg.storage.path)
    row = user_sql.user_by_name(store.conn, user)
    assert row is not None
    secret = new_token()
    store.add_token(row["id"], "t", scope, token_hash(secret), secret[:10], Actor("test"))
    store.close()
    return secret


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
