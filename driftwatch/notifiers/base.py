"""What every alert channel shares: settings, the send contract, and HTTP outcomes."""

from __future__ import annotations

import email.utils
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, ClassVar

import jinja2

from driftwatch.alerts import Digest
from driftwatch.config import ChannelConfig, Reader
from driftwatch.errors import DriftwatchError

USER_AGENT = "driftwatch"


class DeliveryError(DriftwatchError):
    """A send that did not go through: retried later, or a permanent failure.

    `retry_after`: seconds the receiver asked us to wait (HTTP 429 Retry-After).
    """

    def __init__(self, message: str, retry: bool, retry_after: float | None = None) -> None:
        self.retry, self.retry_after = retry, retry_after
        super().__init__(message)


class Notifier:
    """A channel type: its own config keys, and how it sends one digest."""

    type: ClassVar[str]
    keys: ClassVar[tuple[str, ...]] = ()

    def __init__(self, channel: ChannelConfig, timeout_s: float = 10.0) -> None:
        self.channel, self.timeout_s = channel, timeout_s

    @classmethod
    def settings(cls, r: Reader, t: dict[str, Any], key: str) -> dict[str, Any]:
        """Validate this type's keys of one [[alerts.channels]] table (secrets resolved)."""
        raise NotImplementedError

    def send(self, digest: Digest, delivery_id: str) -> None:
        """Deliver once; `delivery_id` is the idempotency key the receiver sees.

        Raises DeliveryError: retry=True for what may pass later, False for what won't.
        """
        raise NotImplementedError


def http_outcome(status: int, body: str, headers: Any, what: str) -> None:
    """Map an HTTP answer to success or a DeliveryError (docs/alerts.md#delivery)."""
    if 200 <= status < 300:
        return
    text = f"{what}: HTTP {status}: {body[:300].strip()}"
    if status == 429:
        raise DeliveryError(text, retry=True, retry_after=retry_after(headers))
    if status >= 500 or status == 408:
        raise DeliveryError(text, retry=True)
    raise DeliveryError(text, retry=False)


def retry_after(headers: Any) -> float | None:
    """Seconds from a Retry-After header: a number, or an HTTP date."""
    value = headers.get("Retry-After") if headers is not None else None
    if isinstance(value, list):
        value = value[0] if value else None
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        when = email.utils.parsedate_to_datetime(value)
        return max(0.0, when.timestamp() - time.time()) if when else None


def post_json(url: str, body: bytes, headers: dict[str, str], timeout_s: float, what: str) -> None:
    """POST with urllib; connection errors and timeouts are retryable."""
    req = urllib.request.Request(url, data=body, method="POST", headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=timeout_s) as resp:
            http_outcome(resp.status, "", resp.headers, what)
    except urllib.error.HTTPError as exc:
        http_outcome(exc.code, exc.read().decode("utf-8", "replace"), exc.headers, what)
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise DeliveryError(f"{what}: cannot connect: {reason}", retry=True) from None


def templates_dir() -> Path:
    """`templates/` at the top of a checkout, or `driftwatch/templates` in a wheel."""
    here = Path(__file__).resolve().parent.parent
    for candidate in (here / "templates", here.parent / "templates"):
        if (candidate / "alerts").is_dir():
            return candidate
    raise DriftwatchError(f"alert templates not found near {here}; reinstall driftwatch")


def jinja_env(autoescape: bool) -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates_dir())),
        autoescape=autoescape,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def show(value: Any, limit: int = 200) -> str:
    """A declared or live value, short."""
    import json

    if value is None:
        return "(absent)"
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)
    return text if len(text) <= limit else text[: limit - 3] + "..."
