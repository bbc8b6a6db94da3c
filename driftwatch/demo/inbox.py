"""Where the demo's alerts land: an SMTP catcher and a webhook sink on loopback.

Both append what they receive to `<data_dir>/demo-inbox.jsonl`, one JSON object a line
(`received_at`, `via`, `title`, `to`: recipients or channel, `drifts`); the dashboard's
demo page reads it.
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

MAX_SHOWN = 50


class Inbox:
    """The JSON-lines file both receivers append to (one lock: lines never interleave)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    def add(self, via: str, title: str, to: str, drifts: list[str]) -> None:
        now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        line = {"received_at": now, "via": via, "title": title, "to": to, "drifts": drifts}
        with self._lock, self.path.open("a", encoding="utf-8") as f:
            f.write(json.dumps(line) + "\n")


def read_inbox(path: Path, limit: int = MAX_SHOWN) -> list[dict[str, Any]]:
    """The newest `limit` messages received, newest first; none when the file is absent."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return []
    return [json.loads(line) for line in reversed(lines[-limit:]) if line.strip()]


class SmtpCatcher:
    """aiosmtpd on 127.0.0.1: accepts every message and files its subject in the inbox."""

    def __init__(self, inbox: Inbox, port: int) -> None:
        from aiosmtpd.controller import Controller

        self.inbox, self.port = inbox, port
        self._controller = Controller(self, hostname="127.0.0.1", port=port, ready_timeout=10)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.inbox.add("email", str(msg["Subject"]), ", ".join(envelope.rcpt_tos), [])
        return "250 Message accepted for delivery"

    def start(self) -> SmtpCatcher:
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()


class WebhookSink:
    """A JSON webhook receiver on 127.0.0.1 (`url`): files each digest in the inbox."""

    def __init__(self, inbox: Inbox, port: int) -> None:
        self.inbox = inbox
        self._server = ThreadingHTTPServer(("127.0.0.1", port), _handler(inbox))
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/hook"
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="demo-webhook-sink", daemon=True
        )

    def start(self) -> WebhookSink:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)


def digest_lines(doc: dict[str, Any]) -> list[str]:
    """One line per drift of a webhook digest: event, type, id, account/region."""
    return [
        f"{d['event']} {d['type']} {d['id']} ({d['account']}/{d['region']})"
        for d in doc.get("drifts") or []
    ]


def _handler(inbox: Inbox) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            try:
                doc = json.loads(body)
            except ValueError:
                self._answer(400, b"not JSON")
                return
            title, channel = str(doc.get("title", "")), str(doc.get("channel", ""))
            inbox.add("webhook", title, channel, digest_lines(doc))
            self._answer(200, b"ok")

        def _answer(self, status: int, text: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Length", str(len(text)))
            self.end_headers()
            self.wfile.write(text)

        def log_message(self, *args: Any) -> None:  # the demo's terminal stays readable
            pass

    return Handler
