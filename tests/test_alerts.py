"""Reminders of drifts still open (`repeat_interval`): a pure decision, case by case."""

from __future__ import annotations

import datetime as dt

import orjson

from driftwatch.alerts import AlertItem, Digest, OpenDrift, plan_reminder
from driftwatch.config import ChannelConfig
from driftwatch.notifiers.email import compose
from driftwatch.notifiers.slack import render

NOW = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.UTC)
DAY = dt.timedelta(hours=24)
OPS = ChannelConfig("ops", "slack")


def drift(
    rid: str, severity: str = "high", rtype: str = "aws_s3_bucket", **kw: object
) -> OpenDrift:
    item = AlertItem(
        fingerprint=f"fp-{rid}",
        event_id=7,
        event="opened",
        kind="modified",
        type=rtype,
        id=rid,
        account="prod",
        region="eu-west-1",
        severity=severity,
        changes=[{"path": "versioning", "declared": "Enabled", "live": "Suspended"}],
        link=f"https://dw.example.com/drifts/fp-{rid}",
    )
    return OpenDrift(item, **kw)  # type: ignore[arg-type]


def ids(d: Digest | None) -> list[str]:
    assert d is not None
    return [i.id for i in d.items]


def test_off_unless_repeat_interval_is_set() -> None:
    assert plan_reminder(OPS, [drift("a")], {}, NOW, None) is None


def test_due_once_the_interval_has_passed_since_last_said() -> None:
    drifts = [drift("told-25h"), drift("told-23h"), drift("told-24h"), drift("never-told")]
    said = {
        "fp-told-25h": NOW - dt.timedelta(hours=25),
        "fp-told-23h": NOW - dt.timedelta(hours=23),
        "fp-told-24h": NOW - DAY,
    }
    d = plan_reminder(OPS, drifts, said, NOW, DAY)
    assert ids(d) == ["never-told", "told-24h", "told-25h"]
    assert d is not None and {i.event for i in d.items} == {"reminder"}
    assert plan_reminder(OPS, [drift("told-23h")], said, NOW, DAY) is None


def test_severity_floor_and_channel_filters() -> None:
    drifts = [
        drift("low", "low"),
        drift("medium", "medium"),
        drift("high", "high"),
        drift("crit", "critical"),
        drift("role", "critical", rtype="aws_iam_role"),
    ]
    assert ids(plan_reminder(OPS, drifts, {}, NOW, DAY)) == ["role", "crit", "high"]
    assert ids(plan_reminder(OPS, drifts, {}, NOW, DAY, min_severity="medium")) == [
        "role",
        "crit",
        "high",
        "medium",
    ]
    s3_only = ChannelConfig("s3", "slack", types=("aws_s3_*",), min_severity="critical")
    assert ids(plan_reminder(s3_only, drifts, {}, NOW, DAY, min_severity="low")) == ["crit"]


def test_acknowledged_and_snoozed_drifts_are_not_reminded() -> None:
    drifts = [
        drift("acked", acknowledged=True),
        drift("snoozed", snoozed_until=NOW + dt.timedelta(hours=1)),
        drift("woke", snoozed_until=NOW - dt.timedelta(minutes=1)),
    ]
    assert ids(plan_reminder(OPS, drifts, {}, NOW, DAY)) == ["woke"]


def test_reminder_digest_reads_as_one_and_survives_the_outbox() -> None:
    d = plan_reminder(OPS, [drift("a"), drift("b", "critical")], {}, NOW, DAY, base_url="https://x")
    assert d is not None
    assert d.title == "driftwatch reminder: 2 drifts still open"
    assert d.counts == {"critical": 1, "high": 1}
    again = Digest.from_dict(orjson.loads(orjson.dumps(d.to_dict())))
    assert again == d
    _, blocks = render(again, "dw-1")
    texts = [b["text"]["text"] for b in blocks if b["type"] == "section"]
    assert "*critical* · still open modified · `aws_s3_bucket` *b*" in texts[1]
    msg = compose(again, "dw-1", "dw@example.com", ["ops@example.com"])
    text = msg.get_body(("plain",))
    assert text is not None
    assert "[high] still open modified: aws_s3_bucket a (prod/eu-west-1)" in text.get_content()
