"""Generic webhook: the digest as JSON, signed with HMAC-SHA256."""

from __future__ import annotations

import hashlib
import hmac
import time
from typing import Any

import orjson

from driftwatch.alerts import Digest, drifts_link
from driftwatch.config import Reader
from driftwatch.notifiers.base import USER_AGENT, Notifier, post_json
from driftwatch.registry import notifiers

SIGNATURE_HEADER = "X-Driftwatch-Signature"
DELIVERY_HEADER = "X-Driftwatch-Delivery"
TIMESTAMP_HEADER = "X-Driftwatch-Timestamp"


def payload(digest: Digest, delivery_id: str) -> dict[str, Any]:
    """The JSON body (docs/alerts.md#webhook): every item, no truncation."""
    scan = digest.scan
    return {
        "delivery_id": delivery_id,
        "channel": digest.channel,
        "title": digest.title,
        "test": digest.test,
        "scan": None
        if scan is None
        else {
            "id": scan.scan_id,
            "status": scan.status,
            "finished_at": scan.finished_at,
            "commit": scan.commit,
            "link": scan.link,
        },
        "notice": None
        if digest.notice is None
        else {
            "status": digest.notice.status,
            "text": digest.notice.text,
        },
        "counts": digest.counts,
        "drifts": [
            {
                "fingerprint": i.fingerprint,
                "event_id": i.event_id,
                "event": i.event,
                "kind": i.kind,
                "type": i.type,
                "id": i.id,
                "account": i.account,
                "region": i.region,
                "severity": i.severity,
                "changes": i.changes,
                "reason": i.reason,
                "link": i.link,
            }
            for i in digest.items
        ],
        "drifts_link": drifts_link(digest.base_url, scan.scan_id) if scan else None,
    }


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """`sha256=` + HMAC-SHA256(secret, timestamp + "." + body), hex."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


@notifiers.register("webhook")
class Webhook(Notifier):
    """A JSON POST per digest, with `X-Driftwatch-Delivery` and an HMAC-SHA256 signature."""

    type = "webhook"
    keys = ("url", "secret_env")

    @classmethod
    def settings(cls, r: Reader, t: dict[str, Any], key: str) -> dict[str, Any]:
        return {"url": r.url(t, key, "url"), "secret": r.secret_env(t, key, "secret_env", False)}

    def send(self, digest: Digest, delivery_id: str) -> None:
        body = orjson.dumps(payload(digest, delivery_id))
        timestamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            DELIVERY_HEADER: delivery_id,
            TIMESTAMP_HEADER: timestamp,
        }
        secret = self.channel.settings.get("secret")
        if secret:
            headers[SIGNATURE_HEADER] = sign(secret, timestamp, body)
        post_json(
            self.channel.settings["url"],
            body,
            headers,
            self.timeout_s,
            f"webhook {self.channel.name}",
        )
