"""Webhook: real scans → outbox → a local HTTP receiver; retries, 429, 404, signature."""

from __future__ import annotations

import hashlib
import hmac
from pathlib import Path

import pytest
from support.env import Aws, ManifestRepo, run_cli, scan, write_config
from support.receiver import receiver

from driftwatch.alerts import Digest
from driftwatch.config import load_config
from driftwatch.delivery import send_due
from driftwatch.notifiers.webhook import sign
from driftwatch.store import Store

ONLY_S3 = '[scan]\ntypes = ["aws_s3_bucket"]\nunmanaged = false\n'


def channel(url: str) -> str:
    return (
        "[dashboard]\nbase_url = 'https://dw.example.com'\n"
        "[alerts]\nbackoff = '1s'\n"
        f"[[alerts.channels]]\nname = 'pager'\ntype = 'webhook'\nurl = '{url}'\n"
        "secret_env = 'DRIFTWATCH_T_SECRET'\n"
    )


def bucket(name: str) -> dict[str, object]:
    return {"type": "aws_s3_bucket", "id": name, "spec": {"versioning": "Enabled"}}


def test_digest_per_scan_dedup_by_transition_and_retries(
    aws: Aws, repo: ManifestRepo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DRIFTWATCH_T_SECRET", "s3cret")
    s3 = aws.client("s3")
    for name in ("logs", "data"):
        s3.create_bucket(Bucket=name)
    repo.declare(bucket("logs"), bucket("data"))
    with receiver() as rec:
        cfg_path = write_config(tmp_path, aws.url, repo.path, ONLY_S3 + channel(rec.url))
        first = scan(cfg_path)
        assert first.code == 2, first.stderr
        scan(cfg_path)  # the same drift again: no new message
        cfg = load_config(cfg_path)
        store = Store(cfg.storage.path)
        rec.answer((500, {}), (429, {"Retry-After": "1"}))
        assert send_due(store, cfg.alerts).retried == 1  # 500
        [msg] = store.messages()
        assert msg["status"] == "pending" and "HTTP 500" in msg["last_error"]
        _wait_sent(store, cfg)
        assert rec.attempts == 3 and len(rec.requests) == 1
        req = rec.requests[0]
        doc = req["json"]
        assert [(d["id"], d["event"], d["severity"]) for d in doc["drifts"]] == [
            ("data", "opened", "high"),
            ("logs", "opened", "high"),
        ]
        assert doc["drifts"][0]["changes"] == [
            {"path": "versioning", "declared": "Enabled", "live": "Disabled"}
        ]
        fp = doc["drifts"][0]["fingerprint"]
        assert doc["drifts"][0]["link"] == f"https://dw.example.com/drifts/{fp}"
        assert doc["counts"] == {"high": 2} and doc["scan"]["id"] == first.doc["scan"]["id"]
        h = req["headers"]
        assert h["X-Driftwatch-Delivery"] == msg["delivery_id"] == doc["delivery_id"]
        assert h["X-Driftwatch-Signature"] == sign(
            "s3cret", h["X-Driftwatch-Timestamp"], req["body"]
        )
        expected = hmac.new(
            b"s3cret", h["X-Driftwatch-Timestamp"].encode() + b"." + req["body"], hashlib.sha256
        ).hexdigest()
        assert h["X-Driftwatch-Signature"] == "sha256=" + expected

        # One drift resolves: one digest with it, marked resolved; a 404 is permanent.
        s3.put_bucket_versioning(Bucket="logs", VersioningConfiguration={"Status": "Enabled"})
        scan(cfg_path)
        rec.answer((404, {}))
        assert send_due(store, cfg.alerts).failed == 1
        failed = store.messages(status="failed")[0]
        assert "HTTP 404" in failed["last_error"] and failed["attempts"] == 1
        payload = Digest.from_dict(__import__("orjson").loads(failed["payload"]))
        assert [(i.id, i.event, i.reason) for i in payload.items] == [
            ("logs", "resolved", "in sync")
        ]
        assert len(rec.requests) == 1


def test_failed_scan_alerts_once_per_streak_then_recovers(
    aws: Aws, repo: ManifestRepo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DRIFTWATCH_T_SECRET", "s3cret")
    aws.client("s3").create_bucket(Bucket="logs")
    repo.declare({"type": "aws_s3_bucket", "id": "logs", "spec": {}})
    with receiver() as rec:
        cfg_path = write_config(tmp_path, aws.url, repo.path, ONLY_S3 + channel(rec.url))
        assert scan(cfg_path).code == 0
        repo.write("declared/main.yaml", "resources: [\n")  # does not parse
        repo.commit("broken")
        assert scan(cfg_path).code == 1
        assert scan(cfg_path).code == 1  # still failing: no second alert
        repo.declare({"type": "aws_s3_bucket", "id": "logs", "spec": {}})
        assert scan(cfg_path).code == 0
        cfg = load_config(cfg_path)
        store = Store(cfg.storage.path)
        assert send_due(store, cfg.alerts).sent == 2
        notices = [r["json"]["notice"] for r in rec.requests]
        assert [n["status"] for n in notices] == ["failed", "recovered"]
        assert "problem(s) in declared state" in notices[0]["text"]


def test_alerts_test_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with receiver() as rec:
        cfg = write_config(tmp_path, "http://127.0.0.1:9", tmp_path, channel(rec.url))
        run = run_cli(
            "alerts", "test", "pager", "--config", str(cfg), env={"DRIFTWATCH_T_SECRET": "x"}
        )
        assert run.code == 0, run.stderr
        assert len(rec.requests) == 1 and rec.requests[0]["json"]["test"] is True
        rec.answer((404, {}))
        run = run_cli(
            "alerts", "test", "pager", "--config", str(cfg), env={"DRIFTWATCH_T_SECRET": "x"}
        )
        assert run.code == 1 and "HTTP 404" in run.stderr
        run = run_cli(
            "alerts", "test", "nope", "--config", str(cfg), env={"DRIFTWATCH_T_SECRET": "x"}
        )
        assert run.code == 1 and "no alert channel 'nope'; known: pager" in run.stderr


def _wait_sent(store: Store, cfg: object, timeout_s: float = 10) -> None:
    import time

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        send_due(store, cfg.alerts)  # type: ignore[attr-defined]
        if all(m["status"] == "sent" for m in store.messages()):
            return
        time.sleep(0.3)
    raise AssertionError(store.messages())
