"""Remediation in the dashboard and the API: `driftwatch serve` as a real process, Chromium,
the moto server and a real Git repository. An operator plans, confirms and sees a revert
verified; a viewer sees no button and a forged POST is refused."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from support.env import Aws, ManifestRepo, run_cli, scan, write_config
from support.serve import CHROMIUM, PASSWORD, Server, cli_with_stdin

CONFIG = """
[scan]
unmanaged = false

[remediation]
enabled = true
"""


@pytest.fixture
def drifted(aws: Aws, repo: ManifestRepo, tmp_path: Path) -> Path:
    """A bucket whose tag was edited in the console; an operator and a viewer."""
    s3 = aws.client("s3")
    s3.create_bucket(Bucket="logs")
    s3.put_bucket_tagging(Bucket="logs", Tagging={"TagSet": [{"Key": "team", "Value": "intern"}]})
    repo.declare({"type": "aws_s3_bucket", "id": "logs", "spec": {"tags": {"team": "platform"}}})
    cfg = write_config(tmp_path, aws.url, repo.path, extra=CONFIG)
    assert scan(cfg).code == 2
    for name, role in (("olga", "operator"), ("vic", "viewer")):
        made = cli_with_stdin(cfg, PASSWORD + "\n", "user", "add", name, "--role", role)
        assert made.returncode == 0, made.stderr
    return cfg


@pytest.fixture
def server(drifted: Path, tmp_path: Path) -> Iterator[Server]:
    srv = Server(drifted, tmp_path / "serve.log", "--no-scheduler")
    try:
        srv.wait_ready()
        yield srv
    finally:
        srv.stop()


def fingerprint(cfg: Path) -> str:
    doc = json.loads(run_cli("drifts", "--config", str(cfg), "--format", "json").stdout)
    return str(doc["drifts"][0]["fingerprint"])


def test_operator_plans_confirms_and_sees_it_verified(
    server: Server, drifted: Path, aws: Aws, tmp_path: Path
) -> None:
    from playwright.sync_api import expect, sync_playwright

    fp = fingerprint(drifted)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.set_default_timeout(15_000)
            login(page, server, "olga")
            page.goto(f"{server.url}/drifts/{fp}")
            page.check("input[name=mode][value=revert]")
            page.click("button:has-text('Plan (changes nothing)')")
            expect(page.locator("#rem-status")).to_have_text("planned")
            calls = page.locator("#plan-calls tbody tr")
            expect(calls).to_have_count(1)
            expect(calls.first).to_contain_text("s3.put_bucket_tagging")
            expect(calls.first).to_contain_text("tags.team")
            # Nothing has changed yet: planning never writes to AWS.
            tags = aws.client("s3").get_bucket_tagging(Bucket="logs")["TagSet"]
            assert tags == [{"Key": "team", "Value": "intern"}]
            page.check("input[name=confirm]")
            page.click("button:has-text('Confirm and run')")
            expect(page.locator("#rem-status")).to_have_text("succeeded")
            expect(page.locator("#rem-result")).to_contain_text("verified in sync: tags.team")
            page.screenshot(path=str(tmp_path / "remediation.png"), full_page=True)
            page.goto(f"{server.url}/drifts/{fp}")
            expect(page.locator("p.note")).to_contain_text("remediated: #1 revert verified")
        finally:
            browser.close()
    tags = aws.client("s3").get_bucket_tagging(Bucket="logs")["TagSet"]
    assert tags == [{"Key": "team", "Value": "platform"}]
    keep = os.environ.get("DRIFTWATCH_SCREENSHOT_DIR")
    if keep:
        shutil.copy(tmp_path / "remediation.png", Path(keep) / "remediation.png")
    assert scan(drifted).code == 0
    # Every step is in the audit log with who and from where.
    conn = sqlite3.connect(tmp_path / "state" / "driftwatch.db")
    rows = conn.execute(
        "SELECT actor, ip, action FROM audit_log WHERE action LIKE 'remediation.%' ORDER BY id"
    ).fetchall()
    conn.close()
    assert rows == [
        ("olga", "127.0.0.1", "remediation.plan"),
        ("olga", "127.0.0.1", "remediation.execute"),
        ("olga", "127.0.0.1", "remediation.succeeded"),
    ]


def test_viewer_sees_no_button_and_a_forged_post_is_refused(
    server: Server, drifted: Path, aws: Aws
) -> None:
    from playwright.sync_api import sync_playwright

    fp = fingerprint(drifted)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = browser.new_page()
            page.set_default_timeout(15_000)
            login(page, server, "vic")
            page.goto(f"{server.url}/drifts/{fp}")
            assert page.locator("#remediate").count() == 0
            assert page.locator("form.remediate").count() == 0
            # The viewer's own session, no CSRF token: refused before any role check.
            forged = page.request.post(
                f"{server.url}/drifts/{fp}/remediations", form={"mode": "revert"}
            )
            assert forged.status == 400
            # With a valid CSRF token from a page, the role still refuses it.
            page.goto(f"{server.url}/drifts/{fp}")
            token = page.locator("input[name=csrf_token]").first.get_attribute("value")
            assert token
            as_viewer = page.request.post(
                f"{server.url}/drifts/{fp}/remediations",
                form={"mode": "revert", "csrf_token": token},
            )
            assert as_viewer.status == 403
        finally:
            browser.close()
    tags = aws.client("s3").get_bucket_tagging(Bucket="logs")["TagSet"]
    assert tags == [{"Key": "team", "Value": "intern"}]  # untouched


def test_api_plans_and_executes_with_an_operate_token(server: Server, drifted: Path) -> None:
    fp = fingerprint(drifted)
    read = token(drifted, "read")
    operate = token(drifted, "operate")
    with pytest.raises(urllib.error.HTTPError) as err:
        post(server, f"/api/v1/drifts/{fp}/remediations", {"mode": "revert"}, read)
    assert err.value.code == 403
    planned = post(server, f"/api/v1/drifts/{fp}/remediations", {"mode": "revert"}, operate)
    assert planned["status"] == "planned"
    assert [c["operation"] for c in planned["plan"]["calls"]] == ["put_bucket_tagging"]
    done = post(server, f"/api/v1/remediations/{planned['id']}/execute", {}, operate)
    assert done["status"] == "succeeded", done
    with pytest.raises(urllib.error.HTTPError) as again:
        post(server, f"/api/v1/remediations/{planned['id']}/execute", {}, operate)
    assert again.value.code == 409
    assert "cannot run again" in json.loads(again.value.read())["error"]["message"]


def login(page: Any, server: Server, name: str) -> None:
    page.goto(server.url + "/login")
    page.fill("input[name=username]", name)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")


def token(cfg: Path, scope: str, user: str = "olga") -> str:
    made = cli_with_stdin(cfg, "", "token", "create", "--user", user, "--scope", scope)
    assert made.returncode == 0, made.stderr
    return made.stdout.strip()


def post(server: Server, path: str, body: dict[str, Any], tok: str) -> dict[str, Any]:
    req = urllib.request.Request(
        server.url + path,
        data=json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {tok}", "Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(req, timeout=60) as resp:
        return dict(json.load(resp))


def test_with_require_approval_a_second_person_approves_before_it_runs(
    aws: Aws, repo: ManifestRepo, tmp_path: Path
) -> None:
    s3 = aws.client("s3")
    s3.create_bucket(Bucket="logs")
    s3.put_bucket_tagging(Bucket="logs", Tagging={"TagSet": [{"Key": "team", "Value": "intern"}]})
    repo.declare({"type": "aws_s3_bucket", "id": "logs", "spec": {"tags": {"team": "platform"}}})
    cfg = write_config(tmp_path, aws.url, repo.path, extra=CONFIG + "require_approval = true\n")
    assert scan(cfg).code == 2
    for name in ("olga", "omar"):
        made = cli_with_stdin(cfg, PASSWORD + "\n", "user", "add", name, "--role", "operator")
        assert made.returncode == 0, made.stderr
    olga, omar = token(cfg, "operate", "olga"), token(cfg, "operate", "omar")
    srv = Server(cfg, tmp_path / "serve.log", "--no-scheduler")
    try:
        srv.wait_ready()
        fp = fingerprint(cfg)
        planned = post(srv, f"/api/v1/drifts/{fp}/remediations", {"mode": "revert"}, olga)
        rid = planned["id"]
        for who, path in ((olga, "execute"), (olga, "approve")):
            with pytest.raises(urllib.error.HTTPError) as refused:
                post(srv, f"/api/v1/remediations/{rid}/{path}", {}, who)
            assert refused.value.code == 403
        approved = post(srv, f"/api/v1/remediations/{rid}/approve", {}, omar)
        assert (approved["status"], approved["approved_by"]) == ("approved", "omar (token)")
        done = post(srv, f"/api/v1/remediations/{rid}/execute", {}, olga)
        assert done["status"] == "succeeded"
    finally:
        srv.stop()
    tags = aws.client("s3").get_bucket_tagging(Bucket="logs")["TagSet"]
    assert tags == [{"Key": "team", "Value": "platform"}]
