"""The outbox sender: deliver due messages, retry with backoff, record what failed.

Retries: 5xx, connection errors and SMTP 4xx wait `alerts.backoff` doubled per attempt
(capped at `alerts.max_backoff`); a 429 waits its Retry-After; other 4xx are permanent
failures kept with the channel's error. A message is marked sent only after the
receiver accepted it, so a crash in between resends it with the same delivery id
(`X-Driftwatch-Delivery`, Message-ID): the receiver can tell it is the same message.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass

import orjson

import driftwatch.notifiers  # noqa: F401  (registers the built-in channel types)
from driftwatch.alerts import Digest
from driftwatch.config import AlertsConfig
from driftwatch.notifiers.base import DeliveryError
from driftwatch.registry import notifiers
from driftwatch.store import Store

log = logging.getLogger(__name__)


@dataclass
class SendCounts:
    sent: int = 0
    retried: int = 0
    failed: int = 0


def backoff(attempt: int, cfg: AlertsConfig, retry_after: float | None = None) -> dt.timedelta:
    """How long to wait after failed attempt number `attempt` (1-based)."""
    if retry_after is not None:
        return dt.timedelta(seconds=retry_after)
    return min(cfg.backoff * 2 ** (attempt - 1), cfg.max_backoff)


def send_due(
    store: Store, cfg: AlertsConfig, still_leader: Callable[[], bool] | None = None
) -> SendCounts:
    """One pass over the due messages (the leader calls this every few seconds)."""
    counts = SendCounts()
    for row in store.due_messages():
        if still_leader is not None and not still_leader():
            break  # no longer the leader: the next one sends the rest
        deliver(store, cfg, row, counts)
    return counts


def deliver(store: Store, cfg: AlertsConfig, row: dict[str, object], counts: SendCounts) -> None:
    channel = cfg.channel(str(row["channel"]))
    mid = int(str(row["id"]))
    if channel is None:
        store.mark_failed(mid, f"channel {row['channel']!r} is no longer in the config")
        counts.failed += 1
        return
    digest = Digest.from_dict(orjson.loads(str(row["payload"])))
    notifier = notifiers.get(channel.type)(channel)
    attempt = int(str(row["attempts"])) + 1
    try:
        notifier.send(digest, str(row["delivery_id"]))
    except DeliveryError as exc:
        if not exc.retry or attempt >= cfg.max_attempts:
            log.warning("alert %s to %s failed for good: %s", row["delivery_id"], channel.name, exc)
            store.mark_failed(mid, str(exc))
            counts.failed += 1
            return
        wait = backoff(attempt, cfg, exc.retry_after)
        when = _iso_ceil(dt.datetime.now(dt.UTC) + wait)
        log.info("alert %s to %s: %s; retry at %s", row["delivery_id"], channel.name, exc, when)
        store.mark_retry(mid, str(exc), when)
        counts.retried += 1
        return
    store.mark_sent(mid)
    counts.sent += 1


def _iso_ceil(t: dt.datetime) -> str:
    """Rounded up to the second: a retry is never due before its Retry-After has passed."""
    if t.microsecond:
        t = t.replace(microsecond=0) + dt.timedelta(seconds=1)
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")
