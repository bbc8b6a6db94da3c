"""An HTTP proxy in front of the moto server that injects AWS failures by region/service/action.

Tests point driftwatch's `endpoint_url` at the proxy; requests go through boto3's
real HTTP path, and a rule can answer AccessDenied, throttle, or drop the
connection (an unreachable endpoint) for the calls it matches.
"""

from __future__ import annotations

import http.client
import re
import threading
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


@dataclass
class Fault:
    """Match on region/service/action (None matches any).

    `kind` is deny | throttle | drop | html500 (a web server's HTML error page, as
    moto and proxies send when they fail).
    """

    kind: str
    region: str | None = None
    service: str | None = None
    action: str | None = None
    method: str | None = None  # e.g. PUT: an S3 write, not the read of the same sub-resource
    hits: int = 0


@dataclass
class FaultProxy:
    upstream: str
    faults: list[Fault] = field(default_factory=list)

    def start(self) -> FaultProxy:
        proxy = self
        up = urllib.parse.urlparse(self.upstream)

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                fault = proxy.match(
                    self.headers.get("Authorization", ""),
                    self.path,
                    body,
                    self.headers.get("X-Amz-Target", ""),
                    self.command,
                )
                if fault is not None:
                    fault.hits += 1
                    if fault.kind == "drop":
                        self.close_connection = True
                        self.connection.close()
                        return
                    if fault.kind == "html500":
                        self._html_page()
                    else:
                        self._error(fault)
                    return
                conn = http.client.HTTPConnection(up.hostname, up.port, timeout=60)
                headers = {k: v for k, v in self.headers.items() if k.lower() != "connection"}
                conn.request(self.command, self.path, body=body, headers=headers)
                resp = conn.getresponse()
                data = resp.read()
                self.send_response(resp.status)
                for k, v in resp.getheaders():
                    if k.lower() not in ("transfer-encoding", "connection", "content-length"):
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                conn.close()

            def _error(self, fault: Fault) -> None:
                code, status = (
                    ("AccessDenied", 403) if fault.kind == "deny" else ("Throttling", 400)
                )
                if fault.service == "ec2" and fault.kind == "deny":
                    code = "UnauthorizedOperation"
                msg = f"injected {fault.kind} by test proxy"
                if fault.service == "s3":
                    xml = f"<Error><Code>{code}</Code><Message>{msg}</Message></Error>"
                elif fault.service == "ec2":
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
                data = xml.encode()
                self.send_response(status)
                self.send_header("Content-Type", "text/xml")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _html_page(self) -> None:
                data = HTML_500.encode()
                self.send_response(500)
                self.send_header("Content-Type", "text/html; charset=utf-8")
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

    def match(
        self, auth: str, path: str, body: bytes, target: str, method: str = ""
    ) -> Fault | None:
        m = _SCOPE.search(auth)
        region, service = (m.group(1), m.group(2)) if m else (None, None)
        action = _action(path, body, target)
        for f in self.faults:
            if (
                (f.region is None or f.region == region)
                and (f.service is None or f.service == service)
                and (f.action is None or f.action == action)
                and (f.method is None or f.method == method)
            ):
                return f
        return None


def _action(path: str, body: bytes, target: str) -> str:
    """The API action: Action= in a query-protocol body, else the S3 sub-resource or path."""
    params = urllib.parse.parse_qs(body.decode("utf-8", "replace"))
    if "Action" in params:
        return params["Action"][0]
    if target:
        return target.split(".")[-1]
    query = urllib.parse.urlparse(path).query
    return query.split("=")[0] if query else "ListBuckets" if path in ("/", "") else path
