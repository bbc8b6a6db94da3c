"""Whole answers only: a cut AWS response is a failed attempt, never an empty result.

botocore reads responses with urllib3's `enforce_content_length=False`, so a body cut
short by a dropped connection reaches the parser. An XML parser then fails (a
ResponseParserError, outside botocore's retries); the JSON parser turns a body it
cannot read into `{"message": body}`, which a collector would read as an empty list:
every declared resource "missing". So each client's HTTP session is wrapped in
`WholeSession`, which refuses a body shorter than its Content-Length as a closed
connection (retried like one), and `refuse_unreadable_json` fails a 2xx JSON answer
that does not parse, whatever its length.
"""

from __future__ import annotations

import json
from typing import Any

import botocore.exceptions as bex

JSON_PROTOCOLS = frozenset({"json", "rest-json"})
NO_BODY_STATUS = frozenset({204, 304})


class UnreadableAnswer(bex.BotoCoreError):
    """A successful JSON answer whose body does not parse."""

    fmt = "{operation} answered {length} bytes that are not JSON"


def is_cut(method: str, status: int, content_length: str | None, received: int) -> bool:
    """True when a response body is shorter than the Content-Length it announced."""
    if method == "HEAD" or status in NO_BODY_STATUS or content_length is None:
        return False
    try:
        return received < int(content_length)
    except ValueError:
        return False


class WholeSession:
    """Wraps a client's HTTP session: a body shorter than its Content-Length is refused."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    def send(self, request: Any) -> Any:
        response = self._inner.send(request)
        if request.stream_output:  # read later by the caller; nothing here streams
            return response
        length = response.headers.get("content-length")
        if is_cut(request.method, response.status_code, length, len(response.content)):
            raise bex.ConnectionClosedError(endpoint_url=request.url)
        return response

    def __getattr__(self, name: str) -> Any:  # close() and the rest: the wrapped session's
        return getattr(self._inner, name)


def refuse_unreadable_json(operation_model: Any, response_dict: dict[str, Any], **_: Any) -> None:
    """A before-parse handler: a 2xx JSON-protocol body must parse."""
    protocol = operation_model.service_model.resolved_protocol
    body = response_dict.get("body") or b""
    if protocol not in JSON_PROTOCOLS or response_dict.get("status_code", 500) >= 300 or not body:
        return
    if operation_model.has_streaming_output:
        return
    try:
        json.loads(body)
    except ValueError:
        raise UnreadableAnswer(operation=operation_model.name, length=len(body)) from None


def install(client: Any) -> None:
    """Hook both checks into a botocore client."""
    name = client.meta.service_model.service_id.hyphenize()
    # botocore sends with `self.http_session.send(request)` inside the try that turns
    # HTTP errors into retried attempts, and only when no before-send handler answered
    # (moto's in-process mock answers there). The session is not public.
    endpoint = client._endpoint
    endpoint.http_session = WholeSession(endpoint.http_session)
    client.meta.events.register(f"before-parse.{name}", refuse_unreadable_json)
