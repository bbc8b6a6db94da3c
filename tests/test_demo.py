"""The demo's parts that need no moto server: the loopback guard, the state file, the
`[demo]` config, the alert receivers, and the dashboard's banner, page and button."""

from __future__ import annotations

import dataclasses
import json
import os
import smtplib
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
from flask import Flask
from support.web import PASSWORD, add_user, csrf_token, logged_in, text, web_config

from driftwatch.config import Config, DemoConfig, parse_config
from driftwatch.demo import INBOX_FILE, DemoState, require_loopback
from driftwatch.demo.inbox import Inbox, SmtpCatcher, WebhookSink, read_inbox
from driftwatch.demo.run import DATA_DIR, check_port_free, commit_manifests, prepare_workdir
from driftwatch.errors import ConfigError, DemoError
from driftwatch.motoserver import free_port
from driftwatch.web import create_app


@pytest.fixture(autouse=True)
def _quick_hashes(monkeypatch: pytest.MonkeyPatch) -> None:
    """Cheap password hashes in these tests (the product uses werkzeug's default scrypt)."""
    import functools

    from werkzeug.security import generate_password_hash

    import driftwatch.users

    quick = functools.partial(generate_password_hash, method="pbkdf2:sha256:1000")
    monkeypatch.setattr(driftwatch.users, "generate_password_hash", quick)


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:5000", "http://localhost:1", "http://[::1]:2", "http://127.9.9.9"]
)
def test_loopback_endpoints_are_accepted(url: str) -> None:
    assert require_loopback(url) == url


@pytest.mark.parametrize(
    "url", ["https://s3.amazonaws.com", "http://10.0.0.5:5000", "http://0.0.0.0:5000", ""]
)
def test_anything_else_is_refused(url: str) -> None:
    with pytest.raises(DemoError, match="not a loopback address"):
        require_loopback(url)


def state(pid: int, endpoint: str = "http://127.0.0.1:1") -> DemoState:
    return DemoState(pid, endpoint, "http://127.0.0.1:8000", 2525, "http://127.0.0.1:3/hook")


def test_the_state_file_finds_only_a_running_loopback_demo(tmp_path: Path) -> None:
    with pytest.raises(DemoError, match="no running demo"):
        DemoState.load(tmp_path)
    state(os.getpid()).save(tmp_path)
    assert DemoState.load(tmp_path).smtp_port == 2525
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    state(int(dead.stdout)).save(tmp_path)
    with pytest.raises(DemoError, match="is not running"):
        DemoState.load(tmp_path)
    state(os.getpid(), "https://ec2.us-east-1.amazonaws.com").save(tmp_path)
    with pytest.raises(DemoError, match="not a loopback address"):
        DemoState.load(tmp_path)


def test_the_demo_section_of_the_config(tmp_path: Path) -> None:
    base = {"git": {"url": "infra"}}
    assert parse_config(base, tmp_path / "c.toml").demo.enabled is False
    on = parse_config({**base, "demo": {"enabled": True}}, tmp_path / "c.toml")
    assert on.demo.enabled is True
    with pytest.raises(ConfigError, match=r"\[demo.port\]: unknown key"):
        parse_config({**base, "demo": {"port": 1}}, tmp_path / "c.toml")


def test_the_receivers_file_what_they_get_newest_first(tmp_path: Path) -> None:
    inbox = Inbox(tmp_path / INBOX_FILE)
    assert read_inbox(inbox.path) == []
    sink = WebhookSink(inbox, 0).start()
    smtp = SmtpCatcher(inbox, free_port()).start()
    try:
        doc = {
            "title": "driftwatch: 1 drift (1 high)",
            "channel": "ops-webhook",
            "drifts": [
                {
                    "event": "opened",
                    "type": "aws_s3_bucket",
                    "id": "b",
                    "account": "prod",
                    "region": "us-east-1",
                }
            ],
        }
        req = urllib.request.Request(
            sink.url, data=json.dumps(doc).encode(), headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(req, timeout=10) as resp:
            assert resp.status == 200
        with smtplib.SMTP("127.0.0.1", smtp.port, timeout=10) as s:
            s.sendmail(
                "dw@acme.example",
                ["ops@acme.example"],
                "Subject: driftwatch: 2 drifts\r\n\r\nbody\r\n",
            )
    finally:
        sink.stop()
        smtp.stop()
    email, hook = read_inbox(inbox.path)
    assert (email["via"], email["title"], email["to"]) == (
        "email",
        "driftwatch: 2 drifts",
        "ops@acme.example",
    )
    assert (hook["via"], hook["title"], hook["to"]) == (
        "webhook",
        "driftwatch: 1 drift (1 high)",
        "ops-webhook",
    )
    assert hook["drifts"] == ["opened aws_s3_bucket b (prod/us-east-1)"]


def test_a_taken_dashboard_port_is_refused_before_anything_starts() -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(DemoError, match=f"cannot serve the dashboard on 127.0.0.1:{port}"):
            check_port_free(port)


def test_a_run_replaces_only_a_demo_folder_and_never_a_running_demo(tmp_path: Path) -> None:
    work = tmp_path / "demo-work"
    prepare_workdir(work, keep=False)
    (work / "driftwatch.db").write_text("old history")
    prepare_workdir(work, keep=True)
    assert (work / "driftwatch.db").read_text() == "old history"
    prepare_workdir(work, keep=False)
    assert not (work / "driftwatch.db").exists() and (work / "infra").is_dir()
    (work / DATA_DIR).mkdir()
    state(os.getpid()).save(work / DATA_DIR)
    with pytest.raises(DemoError, match="a demo is already running"):
        prepare_workdir(work, keep=False)
    other = tmp_path / "mine"
    other.mkdir()
    (other / "notes.txt").write_text("keep me")
    with pytest.raises(DemoError, match="not a demo folder"):
        prepare_workdir(other, keep=False)
    assert (other / "notes.txt").exists()


def test_manifests_are_committed_only_when_they_change(tmp_path: Path) -> None:
    repo = tmp_path / "infra"
    repo.mkdir()
    files = {"declared/a.yaml": "resources: []\n"}
    assert commit_manifests(repo, files, "Declare the estate")
    assert not commit_manifests(repo, files, "again")  # --keep, the same ids
    assert commit_manifests(repo, {"declared/a.yaml": "# new ids\nresources: []\n"}, "new ids")
    log = subprocess.run(
        ["git", "log", "--format=%s|%an"], cwd=repo, capture_output=True, text=True, check=True
    )
    assert log.stdout.splitlines() == ["new ids|Acme Platform", "Declare the estate|Acme Platform"]


@pytest.fixture
def demo_cfg(tmp_path: Path) -> Config:
    cfg = dataclasses.replace(web_config(tmp_path), demo=DemoConfig(enabled=True))
    for name, role in (("vic", "viewer"), ("olga", "operator")):
        add_user(cfg, name, role)
    return cfg


@pytest.fixture
def demo_app(demo_cfg: Config) -> Flask:
    return create_app(demo_cfg, testing=True)


def test_the_demo_routes_declare_their_roles(demo_app: Flask) -> None:
    roles = {
        rule.rule: getattr(demo_app.view_functions[rule.endpoint], "required_role", None)
        for rule in demo_app.url_map.iter_rules()
        if rule.endpoint.startswith("demo.")
    }
    assert roles == {"/demo": "viewer", "/demo/drift": "operator"}


def test_every_page_says_demo(demo_app: Flask, demo_cfg: Config) -> None:
    client = demo_app.test_client()
    login = text(client.get("/login"))
    assert "<strong>DEMO</strong>" in login and "<title>DEMO · " in login
    viewer = logged_in(demo_app, "vic")
    for path in ("/", "/drifts", "/resources", "/scans", "/notifications", "/demo", "/nope"):
        page = text(viewer.get(path))
        assert 'id="demo-banner"' in page, path
        assert "Make a drift" not in page, path  # a viewer cannot make one
    assert "Make a drift" in text(logged_in(demo_app, "olga").get("/"))


def test_the_demo_page_shows_the_inbox(demo_app: Flask, demo_cfg: Config) -> None:
    viewer = logged_in(demo_app, "vic")
    assert "Nothing received yet" in text(viewer.get("/demo"))
    demo_cfg.storage.data_dir.mkdir(parents=True, exist_ok=True)
    inbox = Inbox(demo_cfg.storage.data_dir / INBOX_FILE)
    inbox.add("webhook", "driftwatch: <b>3</b> drifts", "/hook", ["opened aws_iam_role r"])
    page = text(viewer.get("/demo"))
    assert "driftwatch: &lt;b&gt;3&lt;/b&gt; drifts" in page
    assert "<li>opened aws_iam_role r</li>" in page


def test_the_drift_button_needs_an_operator_and_a_csrf_token(demo_app: Flask) -> None:
    viewer = logged_in(demo_app, "vic")
    token = csrf_token(viewer, "/demo")
    assert viewer.post("/demo/drift", data={"csrf_token": token}).status_code == 403
    operator = logged_in(demo_app, "olga")
    assert operator.post("/demo/drift").status_code == 400  # no CSRF token
    token = csrf_token(operator, "/demo")
    resp = operator.post("/demo/drift", data={"csrf_token": token}, follow_redirects=True)
    assert "No drift made: the demo only talks to a local moto server" in text(resp)


def test_the_drift_button_without_a_running_demo_says_so(demo_cfg: Config) -> None:
    aws = dataclasses.replace(demo_cfg.aws, endpoint_url="http://127.0.0.1:9")
    app = create_app(dataclasses.replace(demo_cfg, aws=aws), testing=True)
    operator = logged_in(app, "olga")
    token = csrf_token(operator, "/demo")
    resp = operator.post("/demo/drift", data={"csrf_token": token}, follow_redirects=True)
    assert "No drift made: no running demo" in text(resp)


def test_without_demo_there_is_no_banner_and_no_demo_page(tmp_path: Path) -> None:
    cfg = web_config(tmp_path)
    add_user(cfg, "vic", "viewer", PASSWORD)
    viewer = logged_in(create_app(cfg, testing=True), "vic")
    assert "demo-banner" not in text(viewer.get("/"))
    assert viewer.get("/demo").status_code == 404
