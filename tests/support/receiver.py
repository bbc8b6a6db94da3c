"""A local HTTP server standing in for Slack and webhook receivers; answers on demand."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Receiver:
    url: str
    answers: list[tuple[int, dict[str, str]]] = field(default_factory=list)  # queued replies
    requests: list[dict[str, Any]] = field(default_factory=list)  # accepted (2xx) only
    attempts: int = 0
    times: list[float] = field(default_factory=list)  # time.monotonic() of every attempt
    holds: int = 0  # accept this many next requests, then keep their answer until release
    release: threading.Event = field(default_factory=threading.Event)

    def answer(self, *replies: tuple[int, dict[str, str]]) -> None:
        self.answers.extend(replies)

    def count(self, delivery_id: str) -> int:
        """How many times a delivery id was accepted (a resend repeats it)."""
        return sum(r["headers"]["X-Driftwatch-Delivery"] == delivery_id for r in self.requests)

    @property
    def delivered(self) -> dict[str, dict[str, Any]]:
        """Accepted requests by X-Driftwatch-Delivery, as the receiver would dedup them."""
        return {r["headers"]["X-Driftwatch-Delivery"]: r for r in self.requests}


@contextmanager
def receiver(port: int = 0) -> Iterator[Receiver]:
    """Serve on 127.0.0.1:`port` (0: a free one) until the block ends."""
    rec = Receiver("")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            rec.attempts += 1
            rec.times.append(time.monotonic())
            status, headers = rec.answers.pop(0) if rec.answers else (200, {})
            if status < 300:
                rec.requests.append(
                    {
                        "path": self.path,
                        "headers": dict(self.headers),
                        "body": body,
                        "json": json.loads(body),
                    }
                )
                if rec.holds > 0:  # the sender may die before it hears the answer
                    rec.holds -= 1
                    rec.release.wait(30)
            self.send_response(status)
            for k, v in headers.items():
                self.send_header(k, v)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    rec.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield rec
    finally:
        rec.release.set()
        server.shutdown()
        server.server_close()
