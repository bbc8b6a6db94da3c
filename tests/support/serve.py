"""`driftwatch serve` as a real child process on a free loopback port, and a small HTTP
client with a cookie jar for it (login with the CSRF token, then GET and POST)."""

from __future__ import annotations

import http.client
import json
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CHROMIUM = "/usr/bin/chromium"
PASSWORD = "a long enough password"
WAIT_S = 20.0
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def cli_with_stdin(cfg: Path, stdin: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "driftwatch", *args, "--config", str(cfg)],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """`driftwatch serve` in a child process; stopped (and waited for) on exit."""

    def __init__(self, cfg: Path, log: Path, *extra: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        args = ["serve", "--config", str(cfg), "--port", str(self.port), *extra]
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "driftwatch", *args],
            stdout=log.open("wb"),
            stderr=subprocess.STDOUT,
        )

    def wait_ready(self) -> None:
        deadline = time.monotonic() + WAIT_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"serve exited: {self.log.read_text()}")
            try:
                with urllib.request.urlopen(self.url + "/healthz", timeout=2) as resp:
                    if resp.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.1)
        raise AssertionError(f"serve not ready in {WAIT_S}s: {self.log.read_text()}")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    def json_doc(self) -> Any:
        return json.loads(self.body)


@dataclass
class Client:
    """One keep-alive connection and its session cookie, like one browser tab."""

    port: int
    headers: dict[str, str] = field(default_factory=dict)
    cookie: str = ""
    timeout_s: float = 30.0

    def __post_init__(self) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout_s)

    def request(self, method: str, path: str, body: bytes | None = None, **hdrs: str) -> Answer:
        headers = {**self.headers, **hdrs}
        if self.cookie:
            headers["Cookie"] = self.cookie
        self.conn.request(method, path, body=body, headers=headers)
        resp = self.conn.getresponse()
        data = resp.read()
        for name, value in resp.getheaders():
            if name.lower() == "set-cookie" and value.startswith("session="):
                self.cookie = value.split(";", 1)[0]
        return Answer(resp.status, {k.lower(): v for k, v in resp.getheaders()}, data)

    def get(self, path: str) -> Answer:
        return self.request("GET", path)

    def form(self, path: str, fields: dict[str, str]) -> Answer:
        body = urllib.parse.urlencode(fields).encode()
        return self.request(
            "POST", path, body, **{"Content-Type": "application/x-www-form-urlencoded"}
        )

    def csrf(self, path: str = "/login") -> str:
        match = _CSRF.search(self.get(path).text)
        assert match, path
        return match.group(1)

    def login(self, name: str, password: str) -> Answer:
        token = self.csrf()
        return self.form("/login", {"username": name, "password": password, "csrf_token": token})

    def close(self) -> None:
        self.conn.close()
