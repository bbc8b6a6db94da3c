"""Follow-ups the leader sends between scans, on a real SQLite store: reminders of drifts
still open (`repeat_interval`) and acknowledgements that ran out."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from support.web import modified, now_iso, persist, web_config

from driftwatch.alerts import AlertSetup
from driftwatch.config import ChannelConfig
from driftwatch.store import Actor, Store

HOURLY = ChannelConfig("ops", "webhook", repeat_interval=dt.timedelta(hours=1))
NEVER = ChannelConfig("quiet", "webhook")
LONG_AGO = now_iso(-dt.timedelta(days=3))


def store_with_drifts(tmp_path: Path, channels: tuple[ChannelConfig, ...]) -> Store:
    """Two open drifts, announced by their scan's digest on every channel."""
    store = Store(web_config(tmp_path).storage.path)
    persist(store, [modified("logs"), modified("data")], now_iso(), alerts=AlertSetup(channels))
    return store


def payloads(store: Store, kind: str) -> list[dict[str, Any]]:
    rows = store.conn.execute("SELECT payload FROM outbox WHERE kind = ? ORDER BY id", [kind])
    return [json.loads(p) for (p,) in rows]


def age_messages(store: Store, hours: float) -> None:
    at = now_iso(-dt.timedelta(hours=hours))
    with store.db.atomic():
        store.conn.execute("UPDATE outbox SET created_at = ?", [at])
        store.conn.execute("UPDATE reminders SET at = ?", [at])


def test_a_reminder_is_due_once_the_interval_has_passed(tmp_path: Path) -> None:
    store = store_with_drifts(tmp_path, (HOURLY, NEVER))
    assert len(payloads(store, "digest")) == 2  # the scan's own announcement, per channel
    assert store.follow_up((HOURLY, NEVER), None, LONG_AGO) == []  # just announced
    age_messages(store, 2)
    [rid] = store.follow_up((HOURLY, NEVER), None, LONG_AGO)
    [reminder] = payloads(store, "reminder")
    assert reminder["channel"] == "ops" and reminder["reminder"] is True
    assert sorted(i["id"] for i in reminder["items"]) == ["data", "logs"]
    assert {i["event"] for i in reminder["items"]} == {"reminder"}
    # Told just now: not again until another interval has passed.
    assert store.follow_up((HOURLY, NEVER), None, LONG_AGO) == []
    age_messages(store, 2)
    assert len(store.follow_up((HOURLY, NEVER), None, LONG_AGO)) == 1
    assert rid > 0


def test_acknowledged_drifts_are_not_reminded(tmp_path: Path) -> None:
    store = store_with_drifts(tmp_path, (HOURLY,))
    logs = modified("logs").fingerprint
    store.acknowledge(logs, Actor("olga"), "known")
    age_messages(store, 2)
    store.follow_up((HOURLY,), None, LONG_AGO)
    [reminder] = payloads(store, "reminder")
    assert [i["id"] for i in reminder["items"]] == ["data"]


def test_an_acknowledgement_that_ran_out_is_announced_once(tmp_path: Path) -> None:
    store = store_with_drifts(tmp_path, (NEVER,))
    logs = modified("logs").fingerprint
    yesterday = (dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1)).isoformat()
    store.acknowledge(logs, Actor("olga"), "vendor rollout", until=yesterday)
    assert store.expire_snoozes() == 1
    [mid] = store.follow_up((NEVER,), "https://dw.example.com", LONG_AGO)
    digests = payloads(store, "digest")
    ended = digests[-1]
    assert [i["id"] for i in ended["items"]] == ["logs"]
    assert ended["items"][0]["event"] == "snooze ended"
    assert "the snooze ended" in ended["items"][0]["reason"]
    assert ended["items"][0]["link"] == f"https://dw.example.com/drifts/{logs}"
    assert store.follow_up((NEVER,), None, LONG_AGO) == []  # dedup by event, as for scans
    assert mid > 0
