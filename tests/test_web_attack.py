"""The dashboard's attack surface through Flask's test client: every state-changing
route (found by walking the URL map) refused without login, with the wrong role,
without or with a forged CSRF token and with tokens of too little scope or role;
session fixation and logout; login throttling; open redirects; headers on every page.

A refusal must also change nothing: the whole database (but login bookkeeping) is
compared before and after each attempt."""

from __future__ import annotations

import datetime as dt
import re
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from support.web import (
    PASSWORD,
    add_user,
    bearer,
    csrf_token,
    logged_in,
    login,
    make_token,
    modified,
    now_iso,
    persist,
    text,
)
from werkzeug.routing import Rule

from driftwatch.config import Config, parse_config
from driftwatch.store import Actor, Store
from driftwatch.users import ADMIN, OPERATOR, ROLES, VIEWER
from driftwatch.web import create_app
from driftwatch.web.auth import PUBLIC

CHANGING = {"POST", "PUT", "PATCH", "DELETE"}
USERS = {VIEWER: "vic", OPERATOR: "olga", ADMIN: "ada"}
LOGIN_BOOKKEEPING = ("login_failures", "sessions")


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
    """A config with an alert channel (for the test-message route), a scan with two
    drifts, a scan request, a token, and a user of each role."""
    cfg = parse_config(
        {
            "git": {"url": str(tmp_path / "infra")},
            "aws": {"regions": ["us-east-1", "eu-west-1"]},
            "storage": {"path": str(tmp_path / "state" / "driftwatch.db")},
            "alerts": {
                "channels": [{"name": "pager", "type": "webhook", "url": "https://h.example/a"}]
            },
            "remediation": {"enabled": True},
        },
        tmp_path / "driftwatch.toml",
    )
    store = Store(cfg.storage.path)
    persist(store, [modified("logs"), modified("data")], now_iso())
    store.request_scan("olga")
    store.create_remediation(
        Actor("ada"),
        fingerprint=modified("logs").fingerprint,
        resource_key="default/us-east-1/aws_s3_bucket/logs",
        mode="revert",
        options=[],
        plan={"summary": "1 API call(s) fixing tags.team", "calls": []},
        plan_hash="x",
        live_hash="y",
        expires_at=now_iso(dt.timedelta(hours=1)),
    )
    store.close()
    for role, name in USERS.items():
        add_user(cfg, name, role)
    make_token(cfg, "vic", "read")
    return cfg


@pytest.fixture
def app(cfg: Config) -> Flask:
    return create_app(cfg, testing=True)


def db_state(cfg: Config) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table but the login bookkeeping (a token's last use aside)."""
    con = sqlite3.connect(cfg.storage.path)
    try:
        tables = [
            r[0]
            for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            if r[0] not in LOGIN_BOOKKEEPING and not r[0].startswith("sqlite_")
        ]
        out = {}
        for table in tables:
            cur = con.execute(f'SELECT * FROM "{table}"')
            cols = [c[0] for c in cur.description]
            out[table] = sorted(
                tuple(v for c, v in zip(cols, row, strict=True) if c != "last_used_at")
                for row in cur
            )
        return out
    finally:
        con.close()


def changing_rules(app: Flask) -> list[Rule]:
    rules = [r for r in app.url_map.iter_rules() if r.methods and r.methods & CHANGING]
    assert len(rules) >= 10, [r.rule for r in rules]  # the walk found the routes
    return rules


def sample_values(cfg: Config) -> dict[str, Any]:
    """A real object for each URL argument; a new argument name fails the walk until
    it has one here."""
    con = sqlite3.connect(cfg.storage.path)
    try:
        fp = con.execute("SELECT fingerprint FROM drifts WHERE resource_id = 'logs'").fetchone()
        return {
            "fp": fp[0],
            "scan_id": con.execute("SELECT max(id) FROM scans").fetchone()[0],
            "request_id": con.execute("SELECT max(id) FROM scan_requests").fetchone()[0],
            "rid": con.execute("SELECT max(id) FROM remediations").fetchone()[0],
            "token_id": con.execute("SELECT max(id) FROM api_tokens").fetchone()[0],
            "key": "default/us-east-1/aws_s3_bucket/logs",
            "name": "pager",
            "_rest": "no/such/endpoint",
            "filename": "driftwatch.css",
        }
    finally:
        con.close()


def url_of(app: Flask, rule: Rule, values: dict[str, Any]) -> str:
    missing = set(rule.arguments) - set(values)
    assert not missing, f"{rule.rule}: add a sample value for {missing} in sample_values()"
    adapter = app.url_map.bind("localhost")
    return str(adapter.build(rule.endpoint, {a: values[a] for a in rule.arguments}))


def required_role(app: Flask, rule: Rule) -> str:
    return str(app.view_functions[rule.endpoint].required_role)


def is_api(rule: Rule) -> bool:
    return rule.rule.startswith("/api/")


def send(client: FlaskClient, rule: Rule, url: str, csrf: str | None, **headers: str) -> Any:
    """Each changing method of the rule, with a body a legitimate caller would send."""
    answers = []
    for method in sorted((rule.methods or set()) & CHANGING):
        if is_api(rule):
            if csrf is not None:
                headers = {**headers, "X-CSRFToken": csrf}
            body = {"reason": "x", "mode": "revert"}
            answers.append(client.open(url, method=method, json=body, headers=headers))
        else:
            form = {"reason": "x", "user": "vic", "scope": "read", "name": "t", "mode": "revert"}
            if rule.endpoint == "auth.login":
                form = {"username": "vic", "password": PASSWORD}
            if csrf is not None:
                form["csrf_token"] = csrf
            answers.append(client.open(url, method=method, data=form, headers=headers))
    return answers


def assert_refused(
    app: Flask,
    cfg: Config,
    make_client: Callable[[], FlaskClient],
    attack: Callable[[FlaskClient, Rule, str], list[Any]],
    expected: Callable[[Rule, Any], bool],
    skip: Callable[[Rule], bool] = lambda r: False,
) -> int:
    """Run `attack` on every changing route; each answer must be `expected` and the
    database must not change. Returns how many attempts were made."""
    values = sample_values(cfg)
    failures, tried = [], 0
    for rule in changing_rules(app):
        if skip(rule):
            continue
        client = make_client()
        before = db_state(cfg)
        for resp in attack(client, rule, url_of(app, rule, values)):
            tried += 1
            if not expected(rule, resp):
                failures.append(f"{rule.rule}: {resp.status_code} {text(resp)[:200]}")
        if db_state(cfg) != before:
            failures.append(f"{rule.rule}: the database changed")
    assert not failures, "\n".join(failures)
    assert tried >= 1
    print(f"{tried} attempts refused, database unchanged")  # the figure in docs/reliability.md
    return tried


def to_login(resp: Any) -> bool:
    return resp.status_code == 302 and resp.location.startswith("/login?next=")


def csrf_refusal(resp: Any) -> bool:
    return resp.status_code == 400 and "CSRF" in text(resp)


# --- every state-changing route ------------------------------------------------------------


def test_every_state_changing_route_needs_a_login(app: Flask, cfg: Config) -> None:
    """With a valid CSRF token (so the login check, not CSRF, decides): pages send to the
    login page, the API answers 401; without one, CSRF refuses first."""

    def anonymous() -> FlaskClient:
        return app.test_client()

    def with_token(client: FlaskClient, rule: Rule, url: str) -> list[Any]:
        return list(send(client, rule, url, csrf_token(client)))

    def without_token(client: FlaskClient, rule: Rule, url: str) -> list[Any]:
        return list(send(client, rule, url, None))

    def public(rule: Rule) -> bool:
        return required_role(app, rule) == PUBLIC

    assert_refused(
        app,
        cfg,
        anonymous,
        with_token,
        lambda rule, r: r.status_code == 401 if is_api(rule) else to_login(r),
        public,
    )
    assert_refused(app, cfg, anonymous, without_token, lambda _, r: csrf_refusal(r), public)


def test_every_state_changing_route_refuses_a_lower_role(app: Flask, cfg: Config) -> None:
    tried = 0
    for role in ROLES:
        below = [r for r in ROLES if ROLES.index(r) < ROLES.index(role)]
        for weaker in below:
            client = logged_in(app, USERS[weaker])

            def attack(c: FlaskClient, rule: Rule, url: str) -> list[Any]:
                return list(send(c, rule, url, csrf_token(c, "/")))

            def other_roles(rule: Rule, role: str = role) -> bool:
                return required_role(app, rule) != role

            tried += assert_refused(
                app,
                cfg,
                lambda client=client: client,  # type: ignore[misc]
                attack,
                lambda _, r: r.status_code == 403,
                other_roles,
            )
    assert tried >= 8  # operator routes by a viewer; admin routes by a viewer and an operator


@pytest.mark.parametrize("forgery", ["missing", "garbage", "another session's", "empty"])
def test_every_state_changing_route_refuses_a_missing_or_forged_csrf_token(
    app: Flask, cfg: Config, forgery: str
) -> None:
    """Logged in as an admin (every role check passes): only CSRF can refuse."""
    admin = logged_in(app, "ada")
    other = logged_in(app, "olga")
    token = {
        "missing": None,
        "garbage": "IjRhYjQ1In0.ZZZZZZ.forged-signature-xxxxxxxxxxx",
        "another session's": csrf_token(other, "/"),
        "empty": "",
    }[forgery]

    def attack(client: FlaskClient, rule: Rule, url: str) -> list[Any]:
        return list(send(client, rule, url, token))

    def refused(rule: Rule, resp: Any) -> bool:
        return csrf_refusal(resp)

    assert_refused(
        app,
        cfg,
        lambda: admin,
        attack,
        refused,
        lambda rule: required_role(app, rule) == PUBLIC,
    )
    # The login form too (a forged login would sign the victim in as the attacker).
    assert_refused(
        app,
        cfg,
        app.test_client,
        lambda c, rule, url: list(send(c, rule, url, token)),
        refused,
        lambda rule: required_role(app, rule) != PUBLIC,
    )


def test_a_non_bearer_authorization_header_does_not_skip_csrf(app: Flask, cfg: Config) -> None:
    """Regression: any Authorization header used to skip the API's CSRF check while the
    session cookie still authenticated the call."""
    operator = logged_in(app, "olga")

    def attack(client: FlaskClient, rule: Rule, url: str) -> list[Any]:
        return list(send(client, rule, url, None, Authorization="Basic b2xnYTp4"))

    assert_refused(
        app, cfg, lambda: operator, attack, lambda _, r: csrf_refusal(r), lambda r: not is_api(r)
    )


@pytest.mark.parametrize(
    ("owner", "scope"),
    [("ada", "read"), ("vic", "operate"), ("olga", "read"), ("olga", "operate")],
)
def test_tokens_act_only_within_their_scope_and_their_users_role(
    app: Flask, cfg: Config, owner: str, scope: str
) -> None:
    """A bearer token never passes a form route (those need the CSRF token); on the API
    it needs the operate scope and a user whose role the route requires."""
    token = make_token(cfg, owner, scope)
    role = {"vic": VIEWER, "olga": OPERATOR, "ada": ADMIN}[owner]

    def allowed(rule: Rule) -> bool:
        needed = required_role(app, rule)
        return is_api(rule) and scope == "operate" and ROLES.index(role) >= ROLES.index(needed)

    def attack(client: FlaskClient, rule: Rule, url: str) -> list[Any]:
        return list(send(client, rule, url, None, **bearer(token)))

    def refused(rule: Rule, resp: Any) -> bool:
        return resp.status_code == 403 if is_api(rule) else csrf_refusal(resp)

    assert_refused(
        app,
        cfg,
        app.test_client,
        attack,
        refused,
        lambda rule: allowed(rule) or required_role(app, rule) == PUBLIC,
    )


def test_a_token_follows_its_users_current_role_and_revocation(app: Flask, cfg: Config) -> None:
    token = make_token(cfg, "olga", "operate")
    url = f"/api/v1/drifts/{sample_values(cfg)['fp']}/acknowledge"
    client = app.test_client()
    add_user(cfg, "olga", VIEWER)  # demoted: her operate token no longer acts
    before = db_state(cfg)
    assert client.post(url, json={"reason": "x"}, headers=bearer(token)).status_code == 403
    assert db_state(cfg) == before
    add_user(cfg, "olga", OPERATOR)
    store = Store(cfg.storage.path)
    token_id = store.conn.execute("SELECT max(id) FROM api_tokens").fetchone()[0]
    store.revoke_token(token_id, Actor("test"))
    store.close()
    before = db_state(cfg)
    assert client.post(url, json={"reason": "x"}, headers=bearer(token)).status_code == 401
    assert db_state(cfg) == before


def test_every_state_changing_route_works_for_its_role(app: Flask, cfg: Config) -> None:
    """The control for the refusals above: with the role and the CSRF token each route
    gets past authentication and CSRF (the catch-all API route then answers 404)."""
    values = sample_values(cfg)
    for rule in changing_rules(app):
        needed = required_role(app, rule)
        client = app.test_client() if needed == PUBLIC else logged_in(app, USERS[needed])
        for resp in send(client, rule, url_of(app, rule, values), csrf_token(client, "/login")):
            expected = 404 if rule.endpoint == "api.unknown" else None
            assert resp.status_code not in (400, 401, 403), (rule.rule, text(resp)[:300])
            assert not to_login(resp), rule.rule
            if expected:
                assert resp.status_code == expected


def test_no_get_route_changes_the_database(app: Flask, cfg: Config) -> None:
    values = sample_values(cfg)
    admin = logged_in(app, "ada")
    before = db_state(cfg)
    seen = 0
    for rule in app.url_map.iter_rules():
        if rule.methods and "GET" in rule.methods:
            resp = admin.get(url_of(app, rule, values))
            assert resp.status_code in (200, 404), (rule.rule, resp.status_code)
            seen += 1
    assert seen >= 20
    assert db_state(cfg) == before


# --- sessions --------------------------------------------------------------------------------


def session_cookie(client: FlaskClient) -> str:
    cookie = client.get_cookie("session")
    assert cookie is not None
    return str(cookie.value)


def with_cookie(app: Flask, value: str) -> FlaskClient:
    client = app.test_client()
    client.set_cookie("session", value)
    return client


def test_a_login_starts_a_new_session(app: Flask, cfg: Config) -> None:
    """Session fixation: nothing planted before the login (cookie or CSRF token) is
    worth anything after it; two logins of one user are two sessions."""
    client = app.test_client()
    planted = csrf_token(client)
    before = session_cookie(client)
    assert login(client, "olga").status_code == 302
    after = session_cookie(client)
    assert after != before
    assert with_cookie(app, before).get("/").status_code == 302  # still anonymous
    fp = sample_values(cfg)["fp"]
    state = db_state(cfg)
    resp = client.post(f"/drifts/{fp}/acknowledge", data={"reason": "x", "csrf_token": planted})
    assert csrf_refusal(resp)  # the pre-login CSRF token died with the old session
    assert db_state(cfg) == state
    fresh = csrf_token(client, "/")
    assert fresh != planted
    resp = client.post(f"/drifts/{fp}/acknowledge", data={"reason": "x", "csrf_token": fresh})
    assert resp.status_code == 302
    second = logged_in(app, "olga")
    assert session_cookie(second) != after
    con = sqlite3.connect(cfg.storage.path)
    hashes = [r[0] for r in con.execute("SELECT token_hash FROM sessions")]
    con.close()
    assert len(hashes) == len(set(hashes)) == 2


def test_logout_refuses_the_old_cookie(app: Flask) -> None:
    client = logged_in(app, "vic")
    elsewhere = logged_in(app, "vic")  # the same user in another browser
    copied = session_cookie(client)
    assert with_cookie(app, copied).get("/").status_code == 200
    resp = client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    assert resp.status_code == 302
    replay = with_cookie(app, copied)
    assert to_login(replay.get("/drifts"))
    assert replay.get("/api/v1/summary").status_code == 401
    assert elsewhere.get("/").status_code == 200  # a logout ends this session only


def test_a_session_older_than_its_lifetime_is_refused(app: Flask, cfg: Config) -> None:
    client = logged_in(app, "vic")
    con = sqlite3.connect(cfg.storage.path)
    with con:
        con.execute("UPDATE sessions SET created_at = '2020-01-01T00:00:00Z'")
    con.close()
    assert to_login(client.get("/drifts"))


def test_a_cookie_signed_with_another_key_is_refused(
    app: Flask, cfg: Config, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DRIFTWATCH_SECRET_KEY", "another key of at least 32 characters")
    other = create_app(cfg, testing=True)  # same database, another signing key
    foreign = session_cookie(logged_in(other, "ada"))
    assert to_login(with_cookie(app, foreign).get("/admin"))


# --- login throttling ------------------------------------------------------------------------


def failures_back(cfg: Config, seconds: int) -> None:
    """Move every recorded failure `seconds` into the past (the minute passes)."""
    con = sqlite3.connect(cfg.storage.path)
    with con:
        con.execute(
            "UPDATE login_failures SET at = strftime('%Y-%m-%dT%H:%M:%SZ', at, ?)",
            [f"-{seconds} seconds"],
        )
    con.close()


def from_address(app: Flask, ip: str) -> FlaskClient:
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = ip
    return client


def test_throttled_per_address_across_user_names(app: Flask, cfg: Config) -> None:
    client = app.test_client()
    for name in ("ann", "bob", "cat", "dan", "eve"):
        assert login(client, name, "guess guess guess").status_code == 401
    resp = login(client, "vic")  # a sixth name, the right password: the address waits
    assert resp.status_code == 429 and resp.headers["Retry-After"] == "60"
    other = from_address(app, "10.9.8.7")
    assert login(other, "vic").status_code == 302  # another address is not held up


def test_throttled_per_user_name_across_addresses(app: Flask, cfg: Config) -> None:
    for i in range(5):
        client = from_address(app, f"10.0.0.{i + 1}")
        assert login(client, "ada", "guess guess guess").status_code == 401
    fresh = from_address(app, "10.0.0.99")
    assert login(fresh, "ada").status_code == 429
    failures_back(cfg, 61)
    assert login(fresh, "ada").status_code == 302  # the minute has passed


def test_successful_logins_are_not_counted_as_failures(app: Flask, cfg: Config) -> None:
    """Each attempt is counted before its password check and withdrawn on success."""
    client = app.test_client()
    for _ in range(MAX_LOGINS):
        assert login(client, "vic").status_code == 302
    assert login(client, "vic", "now a wrong one").status_code == 401
    con = sqlite3.connect(cfg.storage.path)
    assert con.execute("SELECT count(*) FROM login_failures").fetchone()[0] == 1
    con.close()


MAX_LOGINS = 8


# --- redirects -------------------------------------------------------------------------------

HOSTILE_NEXT = (
    "https://evil.example/",
    "http:evil.example",
    "https:/evil.example",
    "//evil.example",
    "///evil.example",
    "////evil.example/",
    "\\\\evil.example",
    "/\\evil.example",
    "\\/evil.example",
    "/\t/evil.example",
    "/\n/evil.example",
    "/\r\n/evil.example",
    " //evil.example",
    "javascript:alert(1)",
    "JaVaScRiPt:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "//evil.example@localhost",
    "/%09/evil.example",
    "//%2F%2Fevil.example",
    "\x00//evil.example",
)


def test_next_never_leaves_the_site(app: Flask) -> None:
    for target in HOSTILE_NEXT:
        client = app.test_client()
        html = text(client.get("/login", query_string={"next": target}))
        kept = re.search(r'name="next" value="([^"]*)"', html)
        if kept:  # only a path on this site is carried in the form
            assert stays_here(kept.group(1)), (target, kept.group(1))
        assert "javascript:" not in html.lower() and "<script>alert" not in html, target
        resp = client.post(
            "/login",
            data={
                "username": "vic",
                "password": PASSWORD,
                "csrf_token": csrf_token(client),
                "next": target,
            },
        )
        assert resp.status_code == 302, target
        assert stays_here(resp.headers["Location"]), (target, resp.headers["Location"])


def stays_here(location: str) -> bool:
    """Where a browser goes from /login: browsers read a backslash as a slash and drop
    tabs and newlines, so those are refused outright."""
    if any(c in location for c in "\\\t\r\n\x00"):
        return False
    landed = urlsplit(urljoin("http://localhost/login", location))
    return (landed.scheme, landed.netloc) == ("http", "localhost")


def test_next_keeps_a_local_path_and_escapes_it_in_the_form(app: Flask) -> None:
    client = app.test_client()
    sneaky = '/drifts?q="><script>alert(1)</script>'
    html = text(client.get("/login", query_string={"next": sneaky}))
    assert "<script>alert(1)" not in html and "&lt;script&gt;" in html
    resp = client.post(
        "/login",
        data={"username": "vic", "password": PASSWORD, "csrf_token": csrf_token(client),
              "next": "/drifts?kind=missing"},
    )  # fmt: skip
    assert resp.headers["Location"] == "/drifts?kind=missing"


# --- headers on every page -------------------------------------------------------------------

SAFE_REFERRER = {"no-referrer", "same-origin", "strict-origin", "strict-origin-when-cross-origin"}
_SCRIPT_TAG = re.compile(r"<script\b([^>]*)>", re.I)
_HANDLER = re.compile(r"<[^>]+\son[a-z]+\s*=", re.I)


def header_problems(resp: Any) -> list[str]:
    """What is wrong with one response's security headers and inline script."""
    problems = []
    csp = {
        d.strip().split()[0]: d.strip().split()[1:]
        for d in resp.headers.get("Content-Security-Policy", "").split(";")
        if d.strip()
    }
    if csp.get("default-src") != ["'none'"]:
        problems.append(f"default-src {csp.get('default-src')}")
    script = csp.get("script-src", csp.get("default-src", []))
    if set(script) - {"'self'", "'none'"}:
        problems.append(f"script-src allows {script}")
    if csp.get("frame-ancestors") != ["'none'"]:
        problems.append("frame-ancestors")
    if resp.headers.get("X-Content-Type-Options") != "nosniff":
        problems.append("X-Content-Type-Options")
    if resp.headers.get("X-Frame-Options") != "DENY":
        problems.append("X-Frame-Options")
    if resp.headers.get("Referrer-Policy") not in SAFE_REFERRER:
        problems.append("Referrer-Policy")
    path = resp.request.path if hasattr(resp, "request") else "/"
    if not path.startswith("/static/") and "no-store" not in resp.headers.get("Cache-Control", ""):
        problems.append("Cache-Control")
    if b"Traceback" in resp.get_data() or b"boom" in resp.get_data():
        problems.append("internal details in the answer")
    if resp.mimetype == "text/html":
        html = text(resp)
        if any("src=" not in attrs for attrs in _SCRIPT_TAG.findall(html)):
            problems.append("inline <script>")
        if _HANDLER.search(html) or "javascript:" in html.lower():
            problems.append("inline event handler or javascript: URL")
    return problems


def test_security_headers_on_every_page_and_error(
    app: Flask, cfg: Config, monkeypatch: pytest.MonkeyPatch
) -> None:
    values = sample_values(cfg)
    admin = logged_in(app, "ada")
    viewer = logged_in(app, "vic")
    anonymous = app.test_client()
    answers = []
    for rule in app.url_map.iter_rules():
        if rule.methods and "GET" in rule.methods:
            url = url_of(app, rule, values)
            answers += [(f"admin {url}", admin.get(url)), (f"anonymous {url}", anonymous.get(url))]
    answers += [
        ("403", viewer.get("/admin")),
        ("404", admin.get("/no/such/page")),
        ("404 API", admin.get("/api/v1/drifts/" + "0" * 40)),
        ("405", admin.put("/drifts")),
        ("400 query", admin.get("/drifts?limit=abc")),
        ("400 CSRF", admin.post("/logout")),
        ("401 token", anonymous.get("/api/v1/drifts", headers=bearer("dwt_nope"))),
        ("413", admin.post("/login", data={"x": "y" * 70_000})),
    ]
    for _ in range(6):
        login(anonymous, "nobody", "guess guess guess")
    answers.append(("429", login(anonymous, "nobody", "guess guess guess")))
    from driftwatch.store import read

    def broken(*_: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(read, "summary", broken)
    answers += [("500", admin.get("/")), ("500 API", admin.get("/api/v1/summary"))]
    statuses = {resp.status_code for _, resp in answers}
    assert {200, 302, 400, 401, 403, 404, 405, 413, 429, 500} <= statuses, statuses
    problems = {name: p for name, resp in answers if (p := header_problems(resp))}
    assert not problems, problems
    assert len(answers) >= 50


def test_the_header_check_catches_a_weak_policy() -> None:
    """The checker itself: each weakness it looks for is reported."""
    from werkzeug.wrappers import Response

    weak = Response(
        '<html><script>alert(1)</script><a onclick="x()">x</a></html>', mimetype="text/html"
    )
    weak.headers["Content-Security-Policy"] = "default-src 'self'; script-src 'unsafe-inline'"
    problems = header_problems(weak)
    assert [p for p in problems if p.startswith("script-src allows")]
    assert set(problems) - {p for p in problems if p.startswith("script-src")} == {
        "default-src [\"'self'\"]",
        "frame-ancestors",
        "X-Content-Type-Options",
        "X-Frame-Options",
        "Referrer-Policy",
        "Cache-Control",
        "inline <script>",
        "inline event handler or javascript: URL",
    }


def test_a_password_typed_as_the_user_name_is_not_stored(app: Flask, cfg: Config) -> None:
    """People type passwords into the name field: the throttle keeps only the name's
    hash, the address and the time (before the fix the name was stored as typed)."""
    client = app.test_client()
    typed = "Hunter2-someones-real-password"
    assert login(client, typed, "whatever whatever").status_code == 401
    assert login(client, "vic", typed).status_code == 401
    raw = b"".join(p.read_bytes() for p in cfg.storage.path.parent.iterdir() if p.is_file())
    assert typed.encode() not in raw
    con = sqlite3.connect(cfg.storage.path)
    rows = con.execute("SELECT at, name, ip FROM login_failures").fetchall()
    con.close()
    assert len(rows) == 2 and all(len(name) == 64 for _, name, _ in rows)
    assert dt.datetime.strptime(rows[0][0], "%Y-%m-%dT%H:%M:%SZ")


def test_static_files_do_not_escape_their_folder(app: Flask) -> None:
    client = logged_in(app, "vic")
    for path in (
        "/static/../pyproject.toml",
        "/static/%2e%2e/pyproject.toml",
        "/static/..%2fpyproject.toml",
        "/static/..%5cpyproject.toml",
        "/static/%2e%2e%2f%2e%2e%2fetc%2fpasswd",
        "/static//etc/passwd",  # merged slashes: a redirect to /static/etc/passwd, a 404
    ):
        resp = client.get(path, follow_redirects=True)
        assert resp.status_code == 404, (path, resp.status_code)
        assert b"[project]" not in resp.data and b"root:" not in resp.data, path
        assert all(urlsplit(r.location).netloc in ("", "localhost") for r in resp.history)
