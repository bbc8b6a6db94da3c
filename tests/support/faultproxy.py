"""An HTTP proxy in front of the moto server that injects AWS failures by region/service/action.

Tests point driftwatch's `endpoint_url` at the proxy; requests go through boto3's
real HTTP path. A `Fault` answers the calls it matches (all of them, or a random
`rate` of them) with an AWS error in the service's own protocol, a web server's
error page, a dropped or reset connection, a response slower than the read
timeout, or a truncated body. A `RateLimit` is a token bucket per region and
service, as AWS meters API calls: calls past it are throttled. The proxy listens
on loopback only.
"""

from __future__ import annotations

import http.client
import json
import random
import re
import socket
import struct
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HTML_500 = (
    """<!doctype html>
<html lang=en>
<title>500 Internal Server Error</title>
<style>body { font-family: sans-serif }</style>
<h1>Internal Server Error</h1>
<p>The server encountered an internal error and was unable to complete your request.
   Either the server is overloaded or there is an error in the application.</p>
"""
    + "<!-- padding -->\n" * 200
)

_SCOPE = re.compile(r"Credential=[^/]+/\d{8}/([^/]+)/([^/]+)/aws4_request")
JSON_SERVICES = frozenset({"dynamodb", "kms", "logs", "sqs", "lambda"})
# What each service answers when it throttles: (code, HTTP status).
THROTTLE_CODES = {"s3": ("SlowDown", 503), "ec2": ("RequestLimitExceeded", 503)}
STATUS_CODES = {500: "InternalError", 503: "ServiceUnavailable"}
# Every kind a Fault can be; `error` is a 5xx with the service's error body.
KINDS = ("deny", "throttle", "error", "html500", "drop", "reset", "slow", "truncate")


@dataclass
class Fault:
    """Match on region/service/action (None matches any), for a `rate` of the matching calls.

    `kind` is one of KINDS. `code` and `status` override the error answered (a
    throttle defaults to the service's own throttling code, an error to 500);
    `delay` is how long a `slow` answer waits before it is sent.
    """

    kind: str
    region: str | None = None
    service: str | None = None
    action: str | None = None
    method: str | None = None  # e.g. PUT: an S3 write, not the read of the same sub-resource
    rate: float = 1.0
    code: str | None = None
    status: int | None = None
    delay: float = 0.0
    hits: int = 0

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; known: {', '.join(KINDS)}")

    def matches(
        self, region: str | None, service: str | None, action: str, method: str = ""
    ) -> bool:
        return (
            (self.region is None or self.region == region)
            and (self.service is None or self.service == service)
            and (self.action is None or self.action == action)
            and (self.method is None or self.method == method)
        )

    def answer(self, service: str | None) -> tuple[str, int]:
        """The error code and HTTP status this fault answers for a service."""
        if self.kind == "deny":
            return self.code or ("UnauthorizedOperation" if service == "ec2" else "AccessDenied"), (
                self.status or 403
            )
        if self.kind == "throttle":
            default = THROTTLE_CODES.get(service or "", ("", 400))
            code = (
                self.code
                or default[0]
                or ("ThrottlingException" if service in JSON_SERVICES else "Throttling")
            )
            status = self.status or {"SlowDown": 503, "RequestLimitExceeded": 503}.get(code, 400)
            return code, status
        status = self.status or 500
        return self.code or STATUS_CODES.get(status, "InternalError"), status


@dataclass
class RateLimit:
    """A token bucket per (region, service): `rate` calls a second, `burst` at once.

    Calls past the bucket are answered with the service's throttling error. `service`
    limits it to one service (None: every service, each with its own bucket).
    """

    rate: float
    burst: float = 1.0
    service: str | None = None
    throttled: int = 0
    _buckets: dict[tuple[str | None, str | None], tuple[float, float]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def take(self, region: str | None, service: str | None, now: float) -> bool:
        """True when the call is within the limit (a token taken), False when throttled."""
        if self.service is not None and self.service != service:
            return True
        with self._lock:
            tokens, last = self._buckets.get((region, service), (self.burst, now))
            tokens = min(self.burst, tokens + (now - last) * self.rate)
            ok = tokens >= 1.0
            self._buckets[(region, service)] = (tokens - 1.0 if ok else tokens, now)
            if not ok:
                self.throttled += 1
            return ok


@dataclass(frozen=True)
class Call:
    """One call the proxy saw: when, where, and what it answered ("ok" or a fault kind)."""

    at: float
    region: str | None
    service: str | None
    action: str
    outcome: str


@dataclass
class FaultProxy:
    upstream: str
    faults: list[Fault] = field(default_factory=list)
    limits: list[RateLimit] = field(default_factory=list)
    seed: int = 13
    calls: list[Call] = field(default_factory=list)

    def start(self) -> FaultProxy:
        proxy = self
        self._random = random.Random(self.seed)
        self._lock = threading.Lock()
        up = urllib.parse.urlparse(self.upstream)

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def handle_one_request(self) -> None:
                try:
                    super().handle_one_request()
                except (BrokenPipeError, ConnectionResetError):  # the client gave up first
                    self.close_connection = True

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                m = _SCOPE.search(self.headers.get("Authorization", ""))
                region, service = (m.group(1), m.group(2)) if m else (None, None)
                action = _action(self.path, body, self.headers.get("X-Amz-Target", ""))
                fault = proxy.pick(region, service, action, self.command)
                proxy.record(region, service, action, fault.kind if fault else "ok")
                if fault is None:
                    self._forward(body)
                elif fault.kind == "drop":
                    self.close_connection = True
                    self.connection.close()
                elif fault.kind == "reset":
                    self.close_connection = True
                    linger = struct.pack("ii", 1, 0)  # close with an RST, not a FIN
                    self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, linger)
                    self.connection.close()
                elif fault.kind == "slow":
                    time.sleep(fault.delay)
                    self._forward(body)
                elif fault.kind == "truncate":
                    self._forward(body, truncate=True)
                elif fault.kind == "html500":
                    self._send(500, "text/html; charset=utf-8", HTML_500.encode())
                else:
                    self._error(fault, service)

            def _forward(self, body: bytes, truncate: bool = False) -> None:
                conn = http.client.HTTPConnection(up.hostname, up.port, timeout=60)
                headers = {k: v for k, v in self.headers.items() if k.lower() != "connection"}
                conn.request(self.command, self.path, body=body, headers=headers)
                resp = conn.getresponse()
                data = resp.read()
                conn.close()
                self.send_response(resp.status)
                for k, v in resp.getheaders():
                    if k.lower() not in ("transfer-encoding", "connection", "content-length"):
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if truncate:  # the promised length, half the bytes, then the connection ends
                    self.wfile.write(data[: len(data) // 2])
                    self.wfile.flush()
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                self.wfile.write(data)

            def _error(self, fault: Fault, service: str | None) -> None:
                code, status = fault.answer(service)
                self.send_error_body(code, status, service, f"injected {fault.kind} by test proxy")

            def send_error_body(
                self, code: str, status: int, service: str | None, msg: str
            ) -> None:
                ctype, data = _error_body(code, service, msg)
                self._send(status, ctype, data, {"x-amzn-ErrorType": code})

            def _send(
                self, status: int, ctype: str, data: bytes, extra: dict[str, str] | None = None
            ) -> None:
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                for k, v in (extra or {}).items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _handle

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def pick(
        self, region: str | None, service: str | None, action: str, method: str = ""
    ) -> Fault | None:
        """The fault that answers this call, if any: faults first, then the rate limits."""
        with self._lock:
            for f in self.faults:
                if f.matches(region, service, action, method) and (
                    f.rate >= 1.0 or self._random.random() < f.rate
                ):
                    f.hits += 1
                    return f
        now = time.monotonic()
        for limit in self.limits:
            if not limit.take(region, service, now):
                return Fault("throttle", region, service, action, hits=1)
        return None

    def record(self, region: str | None, service: str | None, action: str, outcome: str) -> None:
        with self._lock:
            self.calls.append(Call(time.monotonic(), region, service, action, outcome))


def _error_body(code: str, service: str | None, msg: str) -> tuple[str, bytes]:
    """An AWS error document in the service's protocol: (content type, body)."""
    if service in JSON_SERVICES:
        return "application/x-amz-json-1.1", json.dumps({"__type": code, "message": msg}).encode()
    if service == "s3":
        xml = f"<Error><Code>{code}</Code><Message>{msg}</Message></Error>"
    elif service == "ec2":
        xml = (
            f"<Response><Errors><Error><Code>{code}</Code><Message>{msg}"
            "</Message></Error></Errors><RequestID>x</RequestID></Response>"
        )
    else:
        xml = (
            f"<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code>"
            f"<Message>{msg}</Message></Error><RequestId>x</RequestId>"
            "</ErrorResponse>"
        )
    return "text/xml", xml.encode()


def _action(path: str, body: bytes, target: str) -> str:
    """The API action: Action= in a query-protocol body, else the S3 sub-resource or path."""
    params = urllib.parse.parse_qs(body.decode("utf-8", "replace"))
    if "Action" in params:
        return params["Action"][0]
    if target:
        return target.split(".")[-1]
    query = urllib.parse.urlparse(path).query
    return query.split("=")[0] if query else "ListBuckets" if path in ("/", "") else path
