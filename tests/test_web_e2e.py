"""The dashboard end to end: a real scan against the moto server, `driftwatch user add`
and `token create` as processes, `driftwatch serve` as a real process on a free loopback
port, and Debian's Chromium driven by Playwright."""

from __future__ import annotations

import json
import os
import shutil
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.env import Aws, ManifestRepo, run_cli, scan, write_config
from support.serve import CHROMIUM, PASSWORD, Server, cli_with_stdin


@pytest.fixture
def scanned(aws: Aws, repo: ManifestRepo, tmp_path: Path) -> Path:
    """Drift of every kind, made by a real scan; an operator and a read token."""
    s3 = aws.client("s3")
    for name in ("logs", "data"):
        s3.create_bucket(Bucket=name)
    s3.put_bucket_tagging(
        Bucket="logs",
        Tagging={"TagSet": [{"Key": "team", "Value": "<script>alert(1)</script>"}]},
    )
    repo.declare(
        {"type": "aws_s3_bucket", "id": "logs", "spec": {"tags": {"team": "platform"}}},
        {"type": "aws_s3_bucket", "id": "data", "spec": {}},
        {"type": "aws_s3_bucket", "id": "gone", "spec": {}},
    )
    cfg = write_config(tmp_path, aws.url, repo.path, extra='[scan]\ntypes = ["aws_s3_bucket"]\n')
    run = scan(cfg)
    assert run.code == 2, run.stdout + run.stderr
    s3.create_bucket(Bucket="stray")  # the second scan finds one more drift: a line to chart
    run = scan(cfg)
    assert run.code == 2 and len(run.doc["drifts"]) == 3, run.stdout + run.stderr
    made = cli_with_stdin(cfg, PASSWORD + "\n", "user", "add", "olga", "--role", "operator")
    assert made.returncode == 0, made.stderr
    assert "added user olga (operator)" in made.stdout
    return cfg


@pytest.fixture
def server(scanned: Path, tmp_path: Path) -> Iterator[Server]:
    srv = Server(scanned, tmp_path / "serve.log")
    try:
        srv.wait_ready()
        yield srv
    finally:
        srv.stop()


def test_user_add_never_takes_the_password_from_argv(scanned: Path) -> None:
    run = run_cli(
        "user", "add", "bob", "--role", "viewer", "--password", "x", "--config", str(scanned)
    )
    assert run.code == 1 and "No such option" in run.stderr
    short = cli_with_stdin(scanned, "short\n", "user", "add", "bob", "--role", "viewer")
    assert short.returncode == 1 and "at least 10 characters" in short.stderr


def test_token_create_prints_once_and_the_api_answers_it(server: Server, scanned: Path) -> None:
    made = cli_with_stdin(scanned, "", "token", "create", "--user", "olga", "--scope", "read")
    assert made.returncode == 0, made.stderr
    token = made.stdout.strip()
    db = (scanned.parent / "state" / "driftwatch.db").read_bytes()
    assert token.encode() not in db  # only its hash is stored
    req = urllib.request.Request(
        server.url + "/api/v1/drifts", headers={"Authorization": f"Bearer {token}"}
    )
    with urllib.request.urlopen(req, timeout=10) as resp:
        doc = json.load(resp)
    assert {d["resource_id"] for d in doc["drifts"]} == {"logs", "gone", "stray"}
    post = urllib.request.Request(
        server.url + f"/api/v1/drifts/{doc['drifts'][0]['id']}/acknowledge",
        data=b'{"reason": "x"}',
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        method="POST",
    )
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(post, timeout=10)
    assert err.value.code == 403
    unknown = cli_with_stdin(scanned, "", "token", "create", "--user", "nobody", "--scope", "read")
    assert unknown.returncode == 1 and "no user 'nobody'" in unknown.stderr


def test_scan_json_drift_id_opens_the_drift_in_the_api(server: Server, scanned: Path) -> None:
    run = scan(scanned)
    logs = run.drift("aws_s3_bucket", "logs")
    made = cli_with_stdin(scanned, "", "token", "create", "--user", "olga", "--scope", "operate")
    token = made.stdout.strip()
    url = server.url + f"/api/v1/drifts/{logs['fingerprint']}"
    req = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        assert json.load(resp)["resource_id"] == "logs"


def test_dashboard_in_chromium(server: Server, scanned: Path, tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    shots = tmp_path / "screenshots"
    shots.mkdir()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.set_default_timeout(10_000)
            page.goto(server.url + "/")
            assert "/login" in page.url
            page.fill("input[name=username]", "olga")
            page.fill("input[name=password]", PASSWORD)
            page.click("button[type=submit]")

            expect(page.locator("#open-count")).to_have_text("3")
            assert page.locator('[data-kind="modified"]').inner_text() == "1"
            assert page.locator('[data-kind="missing"]').inner_text() == "1"
            assert page.locator('[data-kind="unmanaged"]').inner_text() == "1"
            page.screenshot(path=str(shots / "overview.png"), full_page=True)

            page.click("nav >> text=Drifts")
            page.select_option("select[name=kind]", "modified")
            page.click("form.filters button[type=submit]")
            assert "kind=modified" in page.url
            rows = page.locator("#drift-list tbody tr")
            expect(rows).to_have_count(1)

            page.click("#drift-list a:has-text('logs')")
            change = page.locator("#changes tbody tr").first
            assert change.locator("th").inner_text() == "tags.team"
            assert change.locator("td.declared").inner_text() == "platform"
            assert change.locator("td.live").inner_text() == "<script>alert(1)</script>"
            page.screenshot(path=str(shots / "drift.png"), full_page=True)

            page.fill("input[name=reason]", "vendor rollout, tracked in OPS-42")
            page.click("button:has-text('Acknowledge')")
            expect(page.locator("p.note")).to_contain_text("Acknowledged by olga")
            expect(page.locator("#timeline")).to_contain_text("acknowledged by olga")

            page.goto(server.url + "/drifts")
            names = page.locator("#drift-list .rid").all_inner_texts()
            assert sorted(names) == ["gone", "stray"]
            page.goto(server.url + "/")
            expect(page.locator("#open-count")).to_have_text("2")
            expect(page.locator("#ack-count")).to_have_text("1")

            page.click("button:has-text('Log out')")
            assert "/login" in page.url
            page.goto(server.url + "/drifts")
            assert "/login" in page.url
        finally:
            browser.close()
    assert (shots / "overview.png").stat().st_size > 10_000
    print(f"screenshots kept in {shots}")
    keep = os.environ.get("DRIFTWATCH_SCREENSHOT_DIR")
    if keep:
        shutil.copy(shots / "overview.png", Path(keep) / "dashboard.png")
    # An acknowledged drift does not set the scan's exit code: 2 drifts remain open.
    after = scan(scanned)
    assert after.code == 2
    assert after.drift("aws_s3_bucket", "logs")["status"] == "acknowledged"


def test_acknowledged_drifts_do_not_set_the_exit_code_until_they_change(
    aws: Aws, scanned: Path
) -> None:
    from driftwatch.store import Actor, Store

    store = Store(scanned.parent / "state" / "driftwatch.db")
    for d in store.drifts("open"):
        store.acknowledge(d["fingerprint"], Actor("olga"), "known")
    store.close()
    quiet = scan(scanned)
    assert quiet.code == 0, quiet.stdout + quiet.stderr
    assert {d["status"] for d in quiet.doc["drifts"]} == {"acknowledged"}
    table = run_cli("scan", "--config", str(scanned), "--format", "table")
    assert table.code == 0 and "(acknowledged)" in table.stdout

    aws.client("s3").put_bucket_tagging(
        Bucket="logs", Tagging={"TagSet": [{"Key": "team", "Value": "someone-else"}]}
    )
    loud = scan(scanned)
    assert loud.code == 2
    logs = loud.drift("aws_s3_bucket", "logs")
    assert (logs["transition"], logs["status"]) == ("changed", "open")
    store = Store(scanned.parent / "state" / "driftwatch.db")
    [event] = [e for e in store.events(logs["fingerprint"]) if e["event"] == "changed"]
    assert event["reason"] == "changed while acknowledged: open again"
    store.close()


def test_behind_a_trusted_proxy_the_session_cookie_is_secure(scanned: Path, tmp_path: Path) -> None:
    srv = Server(scanned, tmp_path / "proxy.log", "--trusted-proxy", "127.0.0.1")
    try:
        srv.wait_ready()

        def cookie(headers: dict[str, str]) -> str:
            req = urllib.request.Request(srv.url + "/login", headers=headers)
            with urllib.request.urlopen(req, timeout=10) as resp:
                return str(resp.headers["Set-Cookie"])

        assert "Secure" in cookie({"X-Forwarded-Proto": "https"})
        plain = cookie({})
        assert "HttpOnly" in plain and "SameSite=Lax" in plain and "Secure" not in plain
    finally:
        srv.stop()
