"""Auto-remediation: the pure guard rails, and `driftwatch scan` reverting a matching drift
against the moto server, with the circuit breaker announced once through the outbox."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from support.env import Aws, ManifestRepo, run_cli, scan, write_config
from support.faultproxy import Fault, FaultProxy

from driftwatch.remediation.auto import decide, failure_streak
from driftwatch.store import Store

NOW = dt.datetime(2026, 11, 27, 12, 0, tzinfo=dt.UTC)


def at(minutes_ago: int) -> str:
    return (NOW - dt.timedelta(minutes=minutes_ago)).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_a_streak_of_failures_stops_it() -> None:
    history = [(3, "failed", at(1), True), (2, "partial", at(2), True), (1, "failed", at(3), True)]
    assert failure_streak(history) == 3
    assert decide(history, NOW, 10, 3) == "stopped: the last 3 auto-remediations did not succeed"
    assert decide(history, NOW, 10, 4) is None


def test_a_persons_success_resets_the_breaker() -> None:
    history = [
        (4, "succeeded", at(1), False),
        (3, "failed", at(2), True),
        (2, "failed", at(3), True),
    ]
    assert failure_streak(history) == 0
    assert decide(history, NOW, 10, 2) is None


def test_the_rate_limit_counts_the_last_hour_only() -> None:
    history = [(i, "succeeded", at(10 * i), True) for i in range(1, 9)]  # 10..80 minutes ago
    assert decide(history, NOW, 5, 3) == "rate limit: 5 auto-remediations in the last hour"
    assert decide(history, NOW, 6, 3) is None


AUTO = """
[scan]
unmanaged = false

[remediation]
enabled = true
auto_max_failures = 2

[[remediation.auto]]
type = "aws_s3_bucket"
paths = ["tags.*"]

[[alerts.channels]]
name = "ops"
type = "webhook"
url = "http://127.0.0.1:9/never-reached"
"""


def tagged(aws: Aws, repo: ManifestRepo, names: list[str], versioning: bool = False) -> None:
    s3 = aws.client("s3")
    specs = []
    for name in names:
        s3.create_bucket(Bucket=name)
        s3.put_bucket_tagging(Bucket=name, Tagging={"TagSet": [{"Key": "team", "Value": "x"}]})
        specs.append({"type": "aws_s3_bucket", "id": name, "spec": {"tags": {"team": "platform"}}})
    repo.declare(*specs)


def test_scan_reverts_a_matching_drift_and_the_next_scan_is_in_sync(
    aws: Aws, repo: ManifestRepo, tmp_path: Path
) -> None:
    tagged(aws, repo, ["logs"])
    cfg = write_config(tmp_path, aws.url, repo.path, extra=AUTO)
    run = scan(cfg)
    assert run.code == 2  # the scan found the drift; the report says what was done about it
    assert run.doc["scan"]["auto_remediations"] == [1]
    tags = aws.client("s3").get_bucket_tagging(Bucket="logs")["TagSet"]
    assert tags == [{"Key": "team", "Value": "platform"}]
    store = Store(tmp_path / "state" / "driftwatch.db")
    row = store.remediation(1)
    assert row is not None and row["status"] == "succeeded" and row["auto"] == 1
    assert row["requested_by"] == "driftwatch (auto)"
    store.close()
    assert scan(cfg).code == 0


def test_a_drift_outside_the_rule_is_left_alone(
    aws: Aws, repo: ManifestRepo, tmp_path: Path
) -> None:
    aws.client("s3").create_bucket(Bucket="logs")
    repo.declare({"type": "aws_s3_bucket", "id": "logs", "spec": {"versioning": "Enabled"}})
    cfg = write_config(tmp_path, aws.url, repo.path, extra=AUTO)
    run = scan(cfg)
    assert run.code == 2 and run.doc["scan"]["auto_remediations"] == []


@pytest.fixture()
def proxy(aws: Aws) -> Any:
    p = FaultProxy(aws.url).start()
    yield p
    p.stop()


def test_the_breaker_stops_after_failures_and_alerts_once(
    aws: Aws, repo: ManifestRepo, tmp_path: Path, proxy: FaultProxy
) -> None:
    tagged(aws, repo, ["a-logs", "b-logs", "c-logs"])
    proxy.faults.append(Fault("deny", service="s3", action="tagging", method="PUT"))
    cfg = write_config(tmp_path, proxy.url, repo.path, extra=AUTO)
    run = scan(cfg)
    assert run.code == 2
    assert run.doc["scan"]["auto_remediations"] == [1, 2]  # both failed; the third never ran
    store = Store(tmp_path / "state" / "driftwatch.db")
    statuses = [store.remediation(i)["status"] for i in (1, 2)]  # type: ignore[index]
    assert statuses == ["failed", "failed"]
    assert store.remediation(3) is None
    notices = [json.loads(m["payload"]) for m in store.messages(channel="ops")]
    stops = [
        n for n in notices if n.get("notice") and "auto-remediation stopped" in n["notice"]["text"]
    ]
    assert len(stops) == 1
    store.close()
    # The next scan finds the same drifts (unchanged: not candidates) and announces nothing new.
    scan(cfg)
    again = Store(tmp_path / "state" / "driftwatch.db")
    notices = [json.loads(m["payload"]) for m in again.messages(channel="ops")]
    assert (
        sum(1 for n in notices if n.get("notice") and "auto-remediation" in n["notice"]["text"])
        == 1
    )
    again.close()
    listed = run_cli("remediation", "show", "1", "--config", str(cfg))
    assert "AccessDenied" in listed.stdout
