"""Slack: real scans → outbox → slack_sdk's WebhookClient → a local HTTP receiver."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from support.env import Aws, ManifestRepo, scan, write_config
from support.receiver import Receiver, receiver

from driftwatch.alerts import AlertItem, Digest, ScanFacts
from driftwatch.config import load_config
from driftwatch.delivery import send_due
from driftwatch.notifiers.slack import MAX_BLOCKS, MAX_SECTION, item_text, render
from driftwatch.store import Store

ENV = "DRIFTWATCH_T_SLACK"


def config(unmanaged: bool) -> str:
    return (
        f'[scan]\ntypes = ["aws_s3_bucket"]\nunmanaged = {str(unmanaged).lower()}\n'
        "[dashboard]\nbase_url = 'https://dw.example.com'\n"
        "[alerts]\nbackoff = '1s'\n"
        f"[[alerts.channels]]\nname = 'ops-slack'\ntype = 'slack'\nwebhook_url_env = '{ENV}'\n"
    )


def versioned(name: str) -> dict[str, object]:
    return {"type": "aws_s3_bucket", "id": name, "spec": {"versioning": "Enabled"}}


def sections(blocks: list[dict[str, Any]]) -> list[str]:
    return [b["text"]["text"] for b in blocks if b["type"] == "section"]


def test_many_drifts_fit_slack_limits_with_more_link(
    aws: Aws, repo: ManifestRepo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    s3 = aws.client("s3")
    for name in ["logs", "data", *(f"stray-{n:02d}" for n in range(60))]:
        s3.create_bucket(Bucket=name)
    repo.declare(versioned("logs"), versioned("data"))
    with receiver() as rec:
        monkeypatch.setenv(ENV, rec.url)
        cfg_path = write_config(tmp_path, aws.url, repo.path, config(unmanaged=True))
        first = scan(cfg_path)
        assert first.code == 2, first.stderr
        assert len(first.doc["drifts"]) == 62
        cfg = load_config(cfg_path)
        store = Store(cfg.storage.path)
        assert send_due(store, cfg.alerts).sent == 1
        [msg] = store.messages()
        [req] = rec.requests
        assert req["headers"]["X-Driftwatch-Delivery"] == msg["delivery_id"]
        doc = req["json"]
        blocks = doc["blocks"]
        assert doc["text"] == "driftwatch: 62 drifts (2 high, 60 low)"
        assert len(blocks) == MAX_BLOCKS
        assert all(len(t) <= MAX_SECTION for t in sections(blocks))
        assert blocks[0] == {
            "type": "header",
            "text": {"type": "plain_text", "text": doc["text"]},
        }
        texts = sections(blocks)
        assert texts[0] == ":large_orange_circle: 2 high · :white_circle: 60 low"
        fps = {d["id"]: d["fingerprint"] for d in first.doc["drifts"]}
        # Most severe first, each with severity, resource, declared → live and a link.
        assert texts[1] == (
            ":large_orange_circle: *high* · new modified · `aws_s3_bucket` *data* "
            f"(default/us-east-1) <https://dw.example.com/drifts/{fps['data']}|open>\n"
            "• `versioning`: Enabled → Disabled"
        )
        assert "*logs*" in texts[2] and "Enabled → Disabled" in texts[2]
        shown = texts[1:-1]
        assert all("*low* · new unmanaged" in t for t in shown[2:])
        # 50 blocks = header, counts, 46 drifts, "+N more", footer.
        assert len(shown) == 46
        scan_id = first.doc["scan"]["id"]
        assert texts[-1] == (
            f"+16 more: <https://dw.example.com/drifts?scan={scan_id}|see all in driftwatch>"
        )
        assert blocks[-1]["elements"][0]["text"] == f"delivery {msg['delivery_id']}"


def test_429_waits_retry_after_5xx_retries_4xx_fails(
    aws: Aws, repo: ManifestRepo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    s3 = aws.client("s3")
    s3.create_bucket(Bucket="logs")
    repo.declare(versioned("logs"))
    with receiver() as rec:
        monkeypatch.setenv(ENV, rec.url)
        cfg_path = write_config(tmp_path, aws.url, repo.path, config(unmanaged=False))
        assert scan(cfg_path).code == 2
        cfg = load_config(cfg_path)
        store = Store(cfg.storage.path)
        rec.answer((429, {"Retry-After": "1"}), (500, {}))
        assert send_due(store, cfg.alerts).retried == 1
        [msg] = store.messages()
        assert msg["status"] == "pending" and "HTTP 429" in msg["last_error"]
        _send_until_sent(store, cfg.alerts, rec, timeout_s=8)
        assert rec.attempts == 3 and len(rec.requests) == 1
        assert rec.times[1] - rec.times[0] >= 1.0  # Retry-After honoured
        assert rec.requests[0]["headers"]["X-Driftwatch-Delivery"] == msg["delivery_id"]
        assert store.messages()[0]["attempts"] == 3

        # Slack's 4xx (a revoked webhook answers 404 no_service) is permanent.
        s3.put_bucket_versioning(Bucket="logs", VersioningConfiguration={"Status": "Enabled"})
        assert scan(cfg_path).code == 0
        rec.answer((404, {}))
        assert send_due(store, cfg.alerts).failed == 1
        [failed] = store.messages(status="failed")
        assert "slack ops-slack: HTTP 404" in failed["last_error"] and failed["attempts"] == 1
        assert len(rec.requests) == 1


def _send_until_sent(store: Store, alerts: Any, rec: Receiver, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        send_due(store, alerts)
        if all(m["status"] == "sent" for m in store.messages()):
            return
        time.sleep(0.1)
    raise AssertionError(store.messages())


def _item(n: int, changes: int, width: int) -> AlertItem:
    return AlertItem(
        fingerprint=f"fp{n}",
        event_id=n,
        event="changed",
        kind="modified",
        type="aws_s3_bucket",
        id=f"b{n}",
        account="prod",
        region="eu-west-1",
        severity="critical",
        changes=[
            {"path": f"tags.k{c}", "declared": "d" * width, "live": "<&>" * width}
            for c in range(changes)
        ],
        link=f"https://dw.example.com/drifts/fp{n}",
    )


def test_section_text_is_capped_and_escaped() -> None:
    text = item_text(_item(1, changes=12, width=400))
    assert len(text) == MAX_SECTION and text.endswith("…")
    assert "&lt;&amp;&gt;" in text and "<&>" not in text
    short = item_text(_item(2, changes=12, width=5))
    assert short.endswith("… 2 more changes") and short.count("\n• ") == 10


def test_render_fits_exactly_without_more_line() -> None:
    scan = ScanFacts(scan_id=7, status="ok", finished_at="2026-01-01T00:00:00Z")
    # header + counts + 47 drifts + footer = 50: all fit, no "+N more".
    fits = Digest("c", scan, [_item(n, 1, 5) for n in range(47)], base_url="https://x")
    _, blocks = render(fits, "dw-1")
    assert len(blocks) == MAX_BLOCKS and not any("more:" in t for t in sections(blocks))
    over = Digest("c", scan, [_item(n, 1, 5) for n in range(48)], base_url="https://x")
    _, blocks = render(over, "dw-1")
    assert len(blocks) == MAX_BLOCKS
    assert sections(blocks)[-1] == "+2 more: <https://x/drifts?scan=7|see all in driftwatch>"
