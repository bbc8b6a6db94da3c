"""`driftwatch demo` end to end: the real command as a process on free loopback ports,
the dashboard in Chromium with the printed password, `--drift` and the banner's button,
a requested scan catching them, the alert in the webhook sink, and Ctrl-C stopping
every process and port the demo started."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from support.env import run_cli

from driftwatch.motoserver import free_port

CHROMIUM = "/usr/bin/chromium"
START_S = 45.0
READY = re.compile(r"driftwatch demo on (http://\S+) — log in as admin / (\S+)")
MADE = re.compile(r"made a drift: (\w+) (\S+) (\S+): ")


class Demo:
    """`driftwatch demo` in a child process; its output in a file, read as it comes."""

    def __init__(self, workdir: Path, log: Path) -> None:
        self.workdir, self.log, self.port = workdir, log, free_port()
        args = ["demo", "--workdir", str(workdir), "--port", str(self.port)]
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "driftwatch", *args],
            stdout=log.open("wb"),
            stderr=subprocess.STDOUT,
        )
        self.url = self.password = ""

    def wait_ready(self) -> None:
        deadline = time.monotonic() + START_S
        while time.monotonic() < deadline:
            found = READY.search(self.log.read_text())
            if found:
                self.url, self.password = found.groups()
                return
            if self.proc.poll() is not None:
                raise AssertionError(f"demo exited: {self.log.read_text()}")
            time.sleep(0.2)
        raise AssertionError(f"demo not ready in {START_S}s: {self.log.read_text()}")

    def children(self) -> set[int]:
        """Child processes now (Linux: /proc/PID/task/*/children)."""
        pids: set[int] = set()
        for task in Path(f"/proc/{self.proc.pid}/task").iterdir():
            pids.update(int(p) for p in (task / "children").read_text().split())
        return pids

    def state(self) -> dict[str, object]:
        return dict(json.loads((self.workdir / ".driftwatch" / "demo.json").read_text()))

    def drift(self) -> tuple[str, str, str]:
        run = run_cli("demo", "--drift", "--workdir", str(self.workdir))
        assert run.code == 0, run.stdout + run.stderr
        found = MADE.search(run.stdout)
        assert found, run.stdout
        kind, rtype, rid = found.groups()
        return kind, rtype, rid

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[Demo]:
    d = Demo(tmp_path / "demo-work", tmp_path / "demo.log")
    pids: set[int] = set()
    try:
        d.wait_ready()
        pids = d.children()
        yield d
    finally:
        d.kill()
        for pid in pids:  # a failed test must not leave a moto server behind
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def reload_until(page: Any, url: str, selector: str, ok: Callable[[str], bool]) -> str:
    """Load `url` until the text of `selector` passes `ok` (scans and alerts take seconds)."""
    deadline = time.monotonic() + 30
    while True:
        page.goto(url)
        text = str(page.locator(selector).inner_text())
        if ok(text):
            return text
        assert time.monotonic() < deadline, f"{url} {selector}: {text}"
        time.sleep(0.5)


def gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    stat = Path(f"/proc/{pid}/stat").read_text()
    return stat.rsplit(")", 1)[1].split()[0] == "Z"  # exited, not yet reaped by init


def refused(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex(("127.0.0.1", port)) != 0


def test_the_demo_from_start_to_ctrl_c(demo: Demo, tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    state = demo.state()
    children = demo.children()
    assert children, "the moto server runs as a child process"
    shot = tmp_path / "demo.png"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.set_default_timeout(10_000)
            page.goto(demo.url + "/")
            assert "/login" in page.url
            expect(page.locator("#demo-banner")).to_contain_text("DEMO")
            page.fill("input[name=username]", "admin")
            page.fill("input[name=password]", demo.password)
            page.click("button[type=submit]")

            # The six drifts the demo starts with, found by its first scan.
            expect(page.locator("#open-count")).to_have_text("6")
            assert page.locator('[data-kind="modified"]').inner_text() == "4"
            assert page.locator('[data-kind="missing"]').inner_text() == "1"
            assert page.locator('[data-kind="unmanaged"]').inner_text() == "1"
            expect(page.locator("#demo-banner")).to_contain_text("DEMO")
            page.screenshot(path=str(shot), full_page=True)

            page.goto(demo.url + "/drifts")
            names = sorted(page.locator("#drift-list .rid").all_inner_texts())
            assert names == [
                "acme-prod-logs",
                "acme-staging-assets",
                "acme-tmp-export",
                "api-1",
                "reporting",
                "web",
            ]

            # The first scan's alert reached the webhook sink and the SMTP catcher.
            inbox = reload_until(
                page, demo.url + "/demo", "body", lambda t: t.count("6 drifts (1 critical") == 2
            )
            webhook = page.locator('#demo-inbox tr[data-via="webhook"]')
            expect(webhook).to_have_count(1)
            expect(webhook).to_contain_text("opened aws_iam_role reporting (prod/global)")
            email = page.locator('#demo-inbox tr[data-via="email"]')
            expect(email).to_contain_text("ops@acme.example")

            # Two new drifts: the banner's button (operator, CSRF) and `demo --drift`.
            page.click("#demo-banner button:has-text('Make a drift')")
            expect(page.locator("p.flash")).to_contain_text("Made a drift: modified")
            clicked = re.search(
                r"Made a drift: \w+ (\S+) (\S+):", page.locator("p.flash").inner_text()
            )
            assert clicked
            kind, rtype, rid = demo.drift()
            assert kind == "modified" and (rtype, rid) != clicked.groups()

            page.goto(demo.url + "/")
            page.click("button:has-text('Scan now')")
            reload_until(page, demo.url + "/", "#open-count", lambda t: t == "8")
            inbox = reload_until(
                page, demo.url + "/demo", "body", lambda t: f"opened {rtype} {rid} " in t
            )
            assert f"opened {clicked.group(1)} {clicked.group(2)} (prod/" in inbox

            # Remediate one: versioning back to what Git declares, verified, resolved.
            page.goto(demo.url + "/drifts")
            page.click("#drift-list a:has-text('acme-prod-logs')")
            page.check("input[name=mode][value=revert]")
            page.click("button:has-text('Plan (changes nothing)')")
            expect(page.locator("#plan-calls")).to_contain_text("s3.put_bucket_versioning")
            page.check("input[name=confirm]")
            page.click("button:has-text('Confirm and run')")
            expect(page.locator("#rem-status")).to_have_text("succeeded")
            page.goto(demo.url + "/")
            expect(page.locator("#open-count")).to_have_text("7")
        finally:
            browser.close()
    assert shot.stat().st_size > 10_000
    keep = os.environ.get("DRIFTWATCH_SCREENSHOT_DIR")
    if keep:
        shutil.copy(shot, Path(keep) / "demo.png")

    demo.proc.send_signal(signal.SIGINT)
    assert demo.proc.wait(30) == 0, demo.log.read_text()
    assert "demo stopped" in demo.log.read_text()
    assert all(gone(pid) for pid in children), children
    ports = [demo.port, int(str(state["smtp_port"]))]
    ports += [int(str(state[k]).split(":")[2].split("/")[0]) for k in ("endpoint_url", "sink_url")]
    assert all(refused(port) for port in ports), ports
    assert not (demo.workdir / ".driftwatch" / "demo.json").exists()
    after = run_cli("demo", "--drift", "--workdir", str(demo.workdir))
    assert after.code == 1 and "no running demo" in after.stderr
