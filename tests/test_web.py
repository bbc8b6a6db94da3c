"""The dashboard through Flask's test client: every route, role, filter and refusal."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from support.web import (
    PASSWORD,
    XSS,
    add_user,
    bearer,
    csrf_token,
    logged_in,
    login,
    make_token,
    modified,
    now_iso,
    persist,
    seed,
    text,
    web_config,
)

from driftwatch.config import Config
from driftwatch.store import Store
from driftwatch.web import create_app
from driftwatch.web.auth import PUBLIC, safe_next


@pytest.fixture(autouse=True)
def _quick_hashes(monkeypatch: pytest.MonkeyPatch) -> None:
    """Cheap password hashes in these tests (the product uses werkzeug's default scrypt)."""
    import functools

    from werkzeug.security import generate_password_hash

    import driftwatch.users

    quick = functools.partial(generate_password_hash, method="pbkdf2:sha256:1000")
    monkeypatch.setattr(driftwatch.users, "generate_password_hash", quick)


@pytest.fixture
def cfg(tmp_path: Path) -> Config:
    return web_config(tmp_path)


@pytest.fixture
def seeded(cfg: Config) -> dict[str, Any]:
    data = seed(cfg)
    for name, role in (("vic", "viewer"), ("olga", "operator"), ("ada", "admin")):
        add_user(cfg, name, role)
    return data


@pytest.fixture
def app(cfg: Config, seeded: dict[str, Any]) -> Flask:
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




# --- every route declares its role ---------------------------------------------------------

PAGES = ("/", "/drifts", "/resources", "/scans", "/api/v1/summary", "/api/v1/drifts", "/metrics")


def test_every_route_declares_the_role_it_needs(app: Flask) -> None:
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        view = app.view_functions[rule.endpoint]
        assert getattr(view, "required_role", None), f"{rule} has no @requires/@public"


def test_only_login_healthz_and_static_are_public(app: Flask) -> None:
    public = {
        rule.endpoint
        for rule in app.url_map.iter_rules()
        if getattr(app.view_functions[rule.endpoint], "required_role", None) == PUBLIC
    }
    assert public == {"auth.login", "ops.healthz"}


@pytest.mark.parametrize("path", PAGES)
def test_anonymous_pages_go_to_login_and_the_api_answers_401(app: Flask, path: str) -> None:
    resp = app.test_client().get(path)
    if path.startswith("/api/") or path == "/metrics":
        assert resp.status_code == 401
        assert resp.is_json and resp.json["error"]["status"] == 401
    else:
        assert resp.status_code == 302
        assert resp.location.startswith("/login?next=")


def test_healthz_needs_no_login_and_reports_the_last_scan(app: Flask) -> None:
    resp = app.test_client().get("/healthz")
    assert resp.status_code == 200
    assert resp.json["database"] == "ok" and resp.json["age_s"] >= 3600


def test_healthz_is_503_when_the_database_cannot_be_read(app: Flask, cfg: Config) -> None:
    cfg.storage.path.write_bytes(b"not a database at all" * 100)
    for suffix in ("-wal", "-shm"):
        Path(str(cfg.storage.path) + suffix).unlink(missing_ok=True)
    resp = app.test_client().get("/healthz")
    assert resp.status_code == 503 and resp.json["status"] == "error"


# --- login, logout, sessions ------------------------------------------------------------------


def test_login_then_logout(app: Flask) -> None:
    client = app.test_client()
    resp = login(client, "vic")
    assert resp.status_code == 302 and resp.location == "/"
    assert client.get("/").status_code == 200
    resp = client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    assert resp.status_code == 302
    assert client.get("/").status_code == 302


def test_a_wrong_password_is_refused_without_saying_which_part(app: Flask) -> None:
    client = app.test_client()
    for name in ("vic", "nobody"):
        resp = login(client, name, "wrong password!")
        assert resp.status_code == 401
        assert "Wrong user name or password." in text(resp)


def test_login_is_throttled_after_five_failures(app: Flask) -> None:
    client = app.test_client()
    for _ in range(5):
        assert login(client, "olga", "not the password").status_code == 401
    resp = login(client, "olga")  # even the right password, for a minute
    assert resp.status_code == 429 and resp.headers["Retry-After"] == "60"


def test_next_accepts_only_local_paths(app: Flask) -> None:
    client = app.test_client()
    for target, expected in (
        ("/drifts?kind=missing", "/drifts?kind=missing"),
        ("https://evil.example/", "/"),
        ("//evil.example/", "/"),
        ("/\\evil.example", "/"),
    ):
        client.post("/logout", data={"csrf_token": csrf_token(client, "/login")})
        token = csrf_token(client)  # a login starts a new session: a new CSRF token
        resp = client.post(
            "/login",
            data={"username": "vic", "password": PASSWORD, "csrf_token": token, "next": target},
        )
        assert resp.location == expected, target
    assert safe_next("javascript:alert(1)") is None


def test_a_form_post_without_csrf_token_fails(app: Flask, seeded: dict[str, Any]) -> None:
    client = app.test_client()
    resp = client.post("/login", data={"username": "vic", "password": PASSWORD})
    assert resp.status_code == 400 and "CSRF" in text(resp)
    operator = logged_in(app, "olga")
    fp = seeded["fp"]["logs"]
    resp = operator.post(f"/drifts/{fp}/acknowledge", data={"reason": "expected"})
    assert resp.status_code == 400
    assert operator.get(f"/api/v1/drifts/{fp}").json["status"] == "open"


def test_a_new_password_ends_old_sessions(app: Flask, cfg: Config) -> None:
    client = logged_in(app, "vic")
    add_user(cfg, "vic", "viewer", "another long password")
    assert client.get("/").status_code == 302


def test_session_cookie_is_httponly_lax_and_secure_over_https(app: Flask) -> None:
    client = app.test_client()
    html = text(client.get("/login", base_url="https://localhost"))
    token = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert token
    resp = client.post(
        "/login",
        data={"username": "vic", "password": PASSWORD, "csrf_token": token.group(1)},
        base_url="https://localhost",
        headers={"Referer": "https://localhost/login"},
    )
    cookie = resp.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" in cookie
    plain = logged_in(app, "vic").get("/")
    assert plain.status_code == 200


def test_the_session_secret_is_a_0600_key_file_in_the_data_dir(app: Flask, cfg: Config) -> None:
    key = cfg.storage.data_dir / "session.key"
    assert key.stat().st_mode & 0o777 == 0o600
    assert app.config["SECRET_KEY"] == key.read_bytes()
    again = create_app(cfg, testing=True)
    assert again.config["SECRET_KEY"] == app.config["SECRET_KEY"]


def test_the_session_secret_may_come_from_the_environment(
    cfg: Config, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DRIFTWATCH_SECRET_KEY", "x" * 40)
    assert create_app(cfg, testing=True).config["SECRET_KEY"] == b"x" * 40


# --- security headers and escaping -------------------------------------------------------


def test_security_headers(viewer: FlaskClient) -> None:
    resp = viewer.get("/")
    csp = resp.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp
    assert resp.headers["X-Content-Type-Options"] == "nosniff"


def test_no_page_has_inline_script_or_style(viewer: FlaskClient, seeded: dict[str, Any]) -> None:
    for path in ("/", "/drifts", f"/drifts/{seeded['fp']['xss-bucket']}", "/resources"):
        html = text(viewer.get(path))
        assert "<script" not in html.replace("&lt;script", "")
        assert " style=" not in html and "<style" not in html


def test_a_script_in_a_tag_value_renders_as_text(
    viewer: FlaskClient, seeded: dict[str, Any]
) -> None:
    fp = seeded["fp"]["xss-bucket"]
    for path in (
        f"/drifts/{fp}",
        "/resources/default/us-east-1/aws_s3_bucket/xss-bucket",
        f"/scans/{seeded['scan_id']}",
    ):
        html = text(viewer.get(path))
        assert XSS not in html, path
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html, path


# --- roles ---------------------------------------------------------------------------------


def test_a_viewer_reads_but_cannot_act_or_administer(
    viewer: FlaskClient, seeded: dict[str, Any]
) -> None:
    fp = seeded["fp"]["logs"]
    for path in (*PAGES, f"/drifts/{fp}", f"/scans/{seeded['scan_id']}"):
        assert viewer.get(path).status_code == 200, path
    assert "Acknowledge" not in text(viewer.get(f"/drifts/{fp}"))
    token = csrf_token(viewer, "/")
    resp = viewer.post(f"/drifts/{fp}/acknowledge", data={"reason": "x", "csrf_token": token})
    assert resp.status_code == 403
    assert viewer.get("/audit").status_code == 403
    assert viewer.get("/admin").status_code == 403


def test_an_operator_acts_but_cannot_administer(operator: FlaskClient) -> None:
    assert operator.get("/audit").status_code == 403
    assert operator.get("/admin").status_code == 403
    token = csrf_token(operator, "/")
    assert operator.post("/admin/tokens", data={"csrf_token": token}).status_code == 403


def test_an_admin_sees_the_audit_log_and_admin(admin: FlaskClient) -> None:
    assert admin.get("/audit").status_code == 200
    assert admin.get("/admin").status_code == 200


# --- pages -------------------------------------------------------------------------------


def test_overview_counts_open_drifts_and_warns_of_the_partial_scan(viewer: FlaskClient) -> None:
    html = text(viewer.get("/"))
    assert re.search(r'id="open-count">5<', html)  # logs, xss-bucket, gone, stray, web
    assert 'data-kind="modified">3<' in html
    assert "was partial" in html and "<svg" in html and "<polyline" in html


def test_overview_of_an_empty_database(tmp_path: Path) -> None:
    cfg = web_config(tmp_path)
    add_user(cfg, "vic", "viewer")
    client = logged_in(create_app(cfg, testing=True), "vic")
    html = text(client.get("/"))
    assert "No successful scan yet" in html and 'id="open-count">0<' in html
    for path in ("/drifts", "/resources", "/scans", "/api/v1/summary", "/metrics"):
        assert client.get(path).status_code == 200


def test_overview_warns_when_data_is_stale(cfg: Config, seeded: dict[str, Any]) -> None:
    import datetime as dt

    store = Store(cfg.storage.path)
    store.db.execute("UPDATE scans SET finished_at = ?", [now_iso(-dt.timedelta(hours=30))])
    store.db.conn.commit()
    client = logged_in(create_app(cfg, testing=True), "vic")
    assert "Stale:" in text(client.get("/"))


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", {"logs", "xss-bucket", "gone", "stray", "web"}),
        ("?kind=missing", {"gone"}),
        ("?type=aws_security_group", {"web"}),
        ("?region=eu-west-1", {"stray"}),
        ("?account=default&region=eu-west-1", {"stray"}),
        ("?q=XSS", {"xss-bucket"}),
        ("?status=resolved", {"fixed-later"}),
        ("?status=acknowledged", set()),
    ],
)
def test_drift_list_filters(viewer: FlaskClient, query: str, expected: set[str]) -> None:
    html = text(viewer.get("/drifts" + query))
    assert set(re.findall(r'class="rid">([^<]+)<', html)) == expected


def test_drift_list_is_paged_by_cursor_and_sortable(viewer: FlaskClient) -> None:
    seen: list[str] = []
    url = "/drifts?sort=resource&order=asc&limit=2"
    while url:
        html = text(viewer.get(url))
        seen += re.findall(r'class="rid">([^<]+)<', html)
        nxt = re.search(r'rel="next" href="([^"]+)"', html)
        url = nxt.group(1).replace("&amp;", "&") if nxt else ""
    assert seen == ["gone", "logs", "stray", "xss-bucket", "web"]  # by type, then id


@pytest.mark.parametrize(
    "query",
    [
        "status=bogus",
        "kind=sideways",
        "type=aws_nothing",
        "sort=colour",
        "order=up",
        "limit=0",
        "limit=ten",
        "limit=100000",
        "cursor=%25%25%25",
        "cursor=WzFd",  # a valid base64 JSON of the wrong shape
        "region=" + "x" * 300,
        "account=%3Cscript%3E",
    ],
)
def test_bad_parameters_are_400_not_500(viewer: FlaskClient, query: str) -> None:
    for path in ("/drifts", "/api/v1/drifts"):
        resp = viewer.get(f"{path}?{query}")
        assert resp.status_code == 400, (path, query)
    assert viewer.get("/api/v1/drifts?" + query).json["error"]["message"]


def test_malformed_and_unknown_ids(viewer: FlaskClient) -> None:
    assert viewer.get("/drifts/not-an-id").status_code == 400
    assert viewer.get("/api/v1/drifts/zz").status_code == 400
    assert viewer.get("/drifts/" + "0" * 32).status_code == 404
    assert viewer.get("/api/v1/drifts/" + "0" * 32).json["error"]["status"] == 404
    assert viewer.get("/scans/999").status_code == 404
    assert viewer.get("/scans/abc").status_code == 404
    assert viewer.get("/resources/no/such/thing").status_code == 404
    assert viewer.get("/api/v1/nothing").status_code == 404
    assert viewer.get("/resources?state=bogus").status_code == 400


def test_drift_detail_shows_declared_live_source_commit_and_timeline(
    viewer: FlaskClient, seeded: dict[str, Any]
) -> None:
    html = text(viewer.get(f"/drifts/{seeded['fp']['logs']}"))
    assert "tags.team" in html and "platform" in html
    assert "declared/main.yaml" in html and "c0ffeec0ffee" in html
    assert "opened</strong> by driftwatch scan" in html


def test_long_values_are_collapsed(
    cfg: Config, seeded: dict[str, Any], viewer: FlaskClient
) -> None:
    store = Store(cfg.storage.path)
    long_value = {"statement": ["s3:GetObject"] * 60}
    persist(store, [modified("big", long_value)], now_iso())
    store.close()
    fp = modified("big").fingerprint
    html = text(viewer.get(f"/drifts/{fp}"))
    assert '<details class="val">' in html


def test_a_resolved_drift_shows_its_reason(viewer: FlaskClient, seeded: dict[str, Any]) -> None:
    html = text(viewer.get(f"/drifts/{seeded['fp']['fixed-later']}"))
    assert "resolved" in html and "in sync" in html


def test_resources_inventory_filters_and_resource_page(viewer: FlaskClient) -> None:
    html = text(viewer.get("/resources?state=in_sync"))
    assert set(re.findall(r'class="rid">([^<]+)<', html)) == {"fine", "fixed-later"}
    html = text(viewer.get("/resources/default/us-east-1/aws_s3_bucket/logs"))
    assert "Latest snapshot" in html and "&#34;team&#34;" in html
    assert "Snapshot history" in html


def test_scans_list_and_detail_with_scope_errors(
    viewer: FlaskClient, seeded: dict[str, Any]
) -> None:
    assert "#2" in text(viewer.get("/scans"))
    html = text(viewer.get(f"/scans/{seeded['scan_id']}"))
    assert "default/eu-west-1/aws_security_group" in html and "AccessDenied" in html


# --- actions ---------------------------------------------------------------------------------


def test_acknowledge_with_a_date_then_unacknowledge(
    operator: FlaskClient, admin: FlaskClient, seeded: dict[str, Any]
) -> None:
    fp = seeded["fp"]["logs"]
    token = csrf_token(operator, "/")
    resp = operator.post(
        f"/drifts/{fp}/acknowledge",
        data={"reason": "migration in progress", "until": "2999-01-01", "csrf_token": token},
    )
    assert resp.status_code == 302
    html = text(operator.get(f"/drifts/{fp}"))
    assert "Acknowledged by <strong>olga</strong>" in html and "until 2999-01-01" in html
    assert "acknowledged</strong> by olga" in html
    assert seeded_names(operator, "/drifts") == {"xss-bucket", "gone", "stray", "web"}
    assert re.search(r'id="open-count">4<', text(operator.get("/")))
    assert (
        operator.post(f"/drifts/{fp}/unacknowledge", data={"csrf_token": token}).status_code == 302
    )
    assert "unacknowledged</strong> by olga" in text(operator.get(f"/drifts/{fp}"))
    audit = text(admin.get("/audit"))
    assert audit.count(fp) >= 2 and "unacknowledge" in audit and "127.0.0.1" in audit


def seeded_names(client: FlaskClient, path: str) -> set[str]:
    return set(re.findall(r'class="rid">([^<]+)<', text(client.get(path))))


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"reason": ""}, "reason is required"),
        ({"reason": "x", "until": "tomorrow"}, "YYYY-MM-DD"),
        ({"reason": "x", "until": "2001-01-01"}, "today or a later date"),
    ],
)
def test_acknowledge_refuses_bad_input(
    operator: FlaskClient, seeded: dict[str, Any], form: dict[str, str], message: str
) -> None:
    token = csrf_token(operator, "/")
    resp = operator.post(
        f"/drifts/{seeded['fp']['logs']}/acknowledge", data={**form, "csrf_token": token}
    )
    assert resp.status_code == 400 and message in text(resp)


def test_a_resolved_drift_cannot_be_acknowledged(
    operator: FlaskClient, seeded: dict[str, Any]
) -> None:
    token = csrf_token(operator, "/")
    fp = seeded["fp"]["fixed-later"]
    resp = operator.post(f"/drifts/{fp}/acknowledge", data={"reason": "x", "csrf_token": token})
    assert resp.status_code == 409


def test_the_audit_log_cannot_be_changed(cfg: Config, operator: FlaskClient) -> None:
    import sqlite3

    store = Store(cfg.storage.path)
    for sql in ("UPDATE audit_log SET actor = 'x'", "DELETE FROM audit_log"):
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            store.db.execute(sql)
    store.close()


# --- API ------------------------------------------------------------------------------------


def test_api_summary_and_drifts_with_cursor(viewer: FlaskClient) -> None:
    s = viewer.get("/api/v1/summary").json
    assert s["open"] == 5 and s["by_kind"]["modified"] == 3
    assert s["last_scan"]["status"] == "partial" and len(s["last_scan"]["errors"]) == 1
    ids, cursor = [], None
    while True:
        page = viewer.get("/api/v1/drifts?limit=2" + (f"&cursor={cursor}" if cursor else "")).json
        ids += [d["resource_id"] for d in page["drifts"]]
        cursor = page["next"]
        if not cursor:
            break
    assert sorted(ids) == ["gone", "logs", "stray", "web", "xss-bucket"]
    d = viewer.get("/api/v1/drifts?q=logs").json["drifts"][0]
    assert {
        "id",
        "kind",
        "type",
        "resource_id",
        "account",
        "region",
        "status",
        "first_seen",
        "last_seen",
        "source",
        "changes",
    } <= d.keys()
    assert d["changes"] == [{"path": "tags.team", "declared": "platform", "live": "x"}]


def test_api_drift_detail_resources_and_scans(viewer: FlaskClient, seeded: dict[str, Any]) -> None:
    d = viewer.get(f"/api/v1/drifts/{seeded['fp']['logs']}").json
    assert [e["event"] for e in d["events"]] == ["opened"]
    assert d["events"][0]["by"] == "driftwatch scan"
    res = viewer.get("/api/v1/resources?state=unmanaged").json["resources"]
    assert [r["resource_id"] for r in res] == ["stray"]
    scans = viewer.get("/api/v1/scans").json["scans"]
    assert [s["id"] for s in scans] == [2, 1]
    scan = viewer.get(f"/api/v1/scans/{seeded['scan_id']}").json
    assert scan["errors"][0]["type"] == "aws_security_group"


def test_bearer_tokens_read_and_operate(app: Flask, cfg: Config, seeded: dict[str, Any]) -> None:
    client = app.test_client()
    fp = seeded["fp"]["logs"]
    read_tok, op_tok = make_token(cfg, "olga", "read"), make_token(cfg, "olga", "operate")
    assert client.get("/api/v1/summary", headers=bearer(read_tok)).status_code == 200
    resp = client.post(
        f"/api/v1/drifts/{fp}/acknowledge", json={"reason": "x"}, headers=bearer(read_tok)
    )
    assert resp.status_code == 403
    resp = client.post(
        f"/api/v1/drifts/{fp}/acknowledge",
        json={"reason": "known", "until": "2999-12-31"},
        headers=bearer(op_tok),
    )
    assert resp.status_code == 200, resp.json
    assert (
        resp.json["status"] == "acknowledged" and resp.json["acknowledged"]["until"] == "2999-12-31"
    )
    assert resp.json["events"][-1]["by"] == "olga (token)"
    resp = client.post(f"/api/v1/drifts/{fp}/unacknowledge", headers=bearer(op_tok))
    assert resp.json["status"] == "open"
    assert client.get("/api/v1/summary", headers=bearer("dwt_nope")).status_code == 401


def test_an_operate_token_of_a_viewer_cannot_act(
    app: Flask, cfg: Config, seeded: dict[str, Any]
) -> None:
    tok = make_token(cfg, "vic", "operate")
    resp = app.test_client().post(
        f"/api/v1/drifts/{seeded['fp']['logs']}/acknowledge",
        json={"reason": "x"},
        headers=bearer(tok),
    )
    assert resp.status_code == 403


def test_api_session_posts_need_the_csrf_header(
    operator: FlaskClient, seeded: dict[str, Any]
) -> None:
    url = f"/api/v1/drifts/{seeded['fp']['logs']}/acknowledge"
    assert operator.post(url, json={"reason": "x"}).status_code == 400
    token = csrf_token(operator, "/")
    resp = operator.post(url, json={"reason": "x"}, headers={"X-CSRFToken": token})
    assert resp.status_code == 200


def test_api_acknowledge_validates_the_body(
    app: Flask, cfg: Config, seeded: dict[str, Any]
) -> None:
    tok = make_token(cfg, "olga", "operate")
    url = f"/api/v1/drifts/{seeded['fp']['logs']}/acknowledge"
    client = app.test_client()
    for body in ([1, 2], {"reason": 5}, {"reason": "x", "until": "someday"}, {}):
        resp = client.post(url, json=body, headers=bearer(tok))
        assert resp.status_code == 400, body
        assert resp.json["error"]["message"]


def test_admin_creates_and_revokes_a_token_in_the_ui(app: Flask, admin: FlaskClient) -> None:
    token = csrf_token(admin, "/admin")
    html = text(
        admin.post("/admin/tokens", data={"user": "vic", "scope": "read", "csrf_token": token})
    )
    secret = re.search(r'id="new-token">(dwt_[^<]+)<', html)
    assert secret
    client = app.test_client()
    assert client.get("/api/v1/summary", headers=bearer(secret.group(1))).status_code == 200
    [token_id] = re.findall(r"/admin/tokens/(\d+)/revoke", text(admin.get("/admin")))
    assert (
        admin.post(f"/admin/tokens/{token_id}/revoke", data={"csrf_token": token}).status_code
        == 302
    )
    assert client.get("/api/v1/summary", headers=bearer(secret.group(1))).status_code == 401
    assert "token revoke" in text(admin.get("/audit"))


def test_metrics_are_built_from_the_database(
    app: Flask, cfg: Config, operator: FlaskClient, seeded: dict[str, Any]
) -> None:
    body = text(operator.get("/metrics"))
    assert (
        'driftwatch_open_drifts{account="default",kind="modified",region="us-east-1",'
        'severity="high",type="aws_s3_bucket"} 2.0' in body
    )
    assert 'driftwatch_last_scan_status{status="partial"} 1.0' in body
    assert "driftwatch_last_scan_scope_errors 1.0" in body
    token = csrf_token(operator, "/")
    operator.post(
        f"/drifts/{seeded['fp']['logs']}/acknowledge", data={"reason": "x", "csrf_token": token}
    )
    other = create_app(cfg, testing=True)  # another worker answers the same
    client = logged_in(other, "vic")
    body = text(client.get("/metrics"))
    assert 'type="aws_s3_bucket"} 1.0' in body and "driftwatch_acknowledged_drifts 1.0" in body


def test_a_static_asset_is_served_locally(viewer: FlaskClient) -> None:
    resp = viewer.get("/static/driftwatch.css")
    assert resp.status_code == 200 and b"--ok" in resp.data


def test_create_app_takes_a_config_path_or_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "driftwatch.toml"
    path.write_text(f'[git]\nurl = "{tmp_path}"\n[storage]\npath = "state/dw.db"\n')
    app = create_app(str(path), testing=True)
    assert app.extensions["driftwatch"].config.storage.path == tmp_path / "state" / "dw.db"
    monkeypatch.setenv("DRIFTWATCH_CONFIG", str(path))
    assert create_app().extensions["driftwatch"].config.source == path  # as gunicorn calls it


def test_an_internal_error_is_a_500_page_or_json_error(
    viewer: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from driftwatch.store import read

    def broken(*_: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(read, "summary", broken)
    page = viewer.get("/")
    assert page.status_code == 500 and "500 · Internal Server Error" in text(page)
    assert "boom" not in text(page)
    api = viewer.get("/api/v1/summary")
    assert api.status_code == 500 and api.json["error"]["status"] == 500


def test_an_unknown_token_is_401_on_pages_and_api_and_harmless_on_login(app: Flask) -> None:
    client = app.test_client()
    bad = bearer("dwt_unknown")
    assert client.get("/login", headers=bad).status_code == 200
    assert client.get("/drifts", headers=bad).status_code == 401
    assert client.get("/api/v1/drifts", headers=bad).json["error"]["status"] == 401
    assert client.get("/no/such/page", headers=bad).status_code == 404


def test_the_openapi_document_lists_every_api_route(app: Flask) -> None:
    from ruamel.yaml import YAML

    root = Path(__file__).parent.parent
    doc = YAML(typ="safe").load((root / "docs" / "openapi.yaml").read_text())
    documented = {
        (
            method.upper(),
            "/api/v1"
            + path.replace("{drift_id}", "<fp>")
            .replace("{scan_id}", "<int:scan_id>")
            .replace("{request_id}", "<int:request_id>")
            .replace("{remediation_id}", "<int:rid>"),
        )
        for path, ops in doc["paths"].items()
        for method in ops
    }
    served = {
        (method, rule.rule)
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/api/v1/") and "<path:" not in rule.rule
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }
    assert documented == served


def test_cached_counts_follow_every_change(
    cfg: Config, seeded: dict[str, Any], viewer: FlaskClient, operator: FlaskClient
) -> None:
    def open_count() -> int:
        match = re.search(r'id="open-count">(\d+)<', text(viewer.get("/")))
        assert match
        return int(match.group(1))

    assert open_count() == 5
    token = csrf_token(operator, "/")
    fp = seeded["fp"]["gone"]
    operator.post(f"/drifts/{fp}/acknowledge", data={"reason": "x", "csrf_token": token})
    assert open_count() == 4
    assert viewer.get("/api/v1/summary").json["acknowledged"] == 1
    store = Store(cfg.storage.path)  # a scan in another process: the web app never saw it
    persist(store, [modified("logs"), modified("new-one")], now_iso())
    store.close()
    assert open_count() == 2  # logs and new-one; the others resolved (no longer declared)
    assert "driftwatch_acknowledged_drifts 0.0" in text(viewer.get("/metrics"))
