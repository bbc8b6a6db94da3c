"""[[schedules]], [[severity]], [dashboard] and [[alerts.channels]]: values and startup errors."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from driftwatch.config import DEFAULT_SCHEDULE, load_config
from driftwatch.errors import ConfigError
from driftwatch.models import Kind

BASE = "[git]\nurl = 'x'\n"


def load(tmp_path: Path, body: str):  # type: ignore[no-untyped-def]
    path = tmp_path / "driftwatch.toml"
    path.write_text(BASE + body)
    return load_config(path)


def fails(tmp_path: Path, body: str, key: str, match: str) -> None:
    with pytest.raises(ConfigError) as err:
        load(tmp_path, body)
    assert err.value.key == key, str(err.value)
    assert match in err.value.message, str(err.value)
    assert str(tmp_path / "driftwatch.toml") in str(err.value)


def test_no_schedules_means_everything_every_30_minutes(tmp_path: Path) -> None:
    cfg = load(tmp_path, "")
    assert cfg.schedules == (DEFAULT_SCHEDULE,)
    assert DEFAULT_SCHEDULE.interval == dt.timedelta(minutes=30)
    assert cfg.alerts.channels == () and cfg.dashboard.base_url is None


def test_schedules_interval_cron_and_scope(tmp_path: Path) -> None:
    cfg = load(
        tmp_path,
        """
[[aws.accounts]]
name = "prod"
[[schedules]]
name = "fast"
interval = "30s"
[[schedules]]
name = "nightly"
cron = "0 3 * * *"
accounts = ["prod"]
regions = ["us-east-1"]
types = ["aws_s3_bucket"]
""",
    )
    fast, nightly = cfg.schedules
    assert fast.interval == dt.timedelta(seconds=30) and fast.scope.everything
    assert nightly.cron == "0 3 * * *" and nightly.interval is None
    assert nightly.scope.covers("prod", "us-east-1", "aws_s3_bucket")
    assert nightly.scope.covers("prod", "global", "aws_s3_bucket")
    assert not nightly.scope.covers("prod", "eu-west-1", "aws_s3_bucket")
    assert not nightly.scope.covers("prod", "us-east-1", "aws_sqs_queue")


@pytest.mark.parametrize(
    "body,key,match",
    [
        (
            "[[schedules]]\nname='a'\ninterval='5 minutes'\n",
            "schedules[0].interval",
            "must be a duration",
        ),
        (
            "[[schedules]]\nname='a'\ncron='*/15 * * *'\n",
            "schedules[0].cron",
            "is not a cron expression",
        ),
        (
            "[[schedules]]\nname='a'\ncron='61 * * * *'\n",
            "schedules[0].cron",
            "is not a cron expression",
        ),
        ("[[schedules]]\nname='a'\n", "schedules[0]", "set exactly one of interval"),
        (
            "[[schedules]]\nname='a'\ninterval='1m'\ncron='* * * * *'\n",
            "schedules[0]",
            "exactly one",
        ),
        ("[[schedules]]\ninterval='1m'\n", "schedules[0].name", "missing required key"),
        (
            "[[schedules]]\nname='a'\ninterval='1m'\naccounts=['nope']\n",
            "schedules[0].accounts",
            "unknown account 'nope'",
        ),
        (
            "[[schedules]]\nname='a'\ninterval='1m'\n[[schedules]]\nname='a'\ninterval='2m'\n",
            "schedules",
            "used twice",
        ),
        ("[[schedules]]\nname='a'\nevery='1m'\n", "schedules[0].every", "unknown key"),
        ("[[severity]]\ntype='aws_*'\n", "severity[0].severity", "missing required key"),
        ("[[severity]]\nseverity='urgent'\n", "severity[0].severity", "must be one of"),
        ("[[severity]]\nseverity='low'\nkind='in_sync'\n", "severity[0].kind", "must be one of"),
        (
            "[dashboard]\nbase_url='driftwatch.example.com'\n",
            "dashboard.base_url",
            "http:// or https://",
        ),
    ],
)
def test_schedule_severity_and_dashboard_errors(
    tmp_path: Path, body: str, key: str, match: str
) -> None:
    fails(tmp_path, body, key, match)


def test_severity_rules_and_base_url(tmp_path: Path) -> None:
    cfg = load(
        tmp_path,
        "[dashboard]\nbase_url = 'https://dw.example.com/'\n"
        "[[severity]]\ntype = 'aws_s3_*'\npath = 'tags.*'\nseverity = 'low'\n"
        "[[severity]]\nkind = 'unmanaged'\nseverity = 'medium'\n",
    )
    assert cfg.dashboard.base_url == "https://dw.example.com"
    low, medium = cfg.severity
    assert (low.type, low.path, low.kind, low.severity) == ("aws_s3_*", "tags.*", None, "low")
    assert medium.kind == Kind.UNMANAGED and medium.index == 1


CHANNELS = """
[[alerts.channels]]
name = "ops-slack"
type = "slack"
webhook_url_env = "DRIFTWATCH_SLACK_WEBHOOK"
min_severity = "high"
types = ["aws_iam_*"]

[[alerts.channels]]
name = "ops-mail"
type = "email"
smtp_host = "smtp.example.com"
tls = "starttls"
username = "driftwatch"
password_env = "DRIFTWATCH_SMTP_PASSWORD"
from = "driftwatch@example.com"
to = ["ops@example.com"]
notify_resolved = false

[[alerts.channels]]
name = "pager"
type = "webhook"
url = "https://hooks.example.com/driftwatch"
secret_env = "DRIFTWATCH_WEBHOOK_SECRET"
kinds = ["modified"]
"""


def test_channels_from_the_issue(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DRIFTWATCH_SLACK_WEBHOOK", "https://hooks.slack.com/services/T/B/X")
    monkeypatch.setenv("DRIFTWATCH_SMTP_PASSWORD", "pw")
    monkeypatch.setenv("DRIFTWATCH_WEBHOOK_SECRET", "s3cret")
    slack, mail, pager = load(tmp_path, CHANNELS).alerts.channels
    assert slack.min_severity == "high" and slack.types == ("aws_iam_*",)
    assert slack.settings["webhook_url"].startswith("https://hooks.slack.com/")
    assert "hooks.slack.com" not in repr(slack)  # secrets stay out of reprs and logs
    assert mail.settings["smtp_port"] == 587 and mail.settings["password"] == "pw"
    assert mail.notify_resolved is False and mail.min_severity == "low"
    assert pager.settings == {"url": "https://hooks.example.com/driftwatch", "secret": "s3cret"}
    assert pager.kinds == ("modified",)


@pytest.mark.parametrize(
    "body,key,match",
    [
        (
            "[[alerts.channels]]\nname='s'\ntype='slack'\nwebhook_url_env='DRIFTWATCH_UNSET_X'\n",
            "alerts.channels[0].webhook_url_env",
            "environment variable DRIFTWATCH_UNSET_X is not set",
        ),
        (
            "[[alerts.channels]]\nname='s'\ntype='slack'\nwebhook_url='https://hooks.slack.com/x'\n",
            "alerts.channels[0].webhook_url",
            "is a secret",
        ),
        (
            "[[alerts.channels]]\nname='s'\ntype='slack'\nwebhook_url_env='DRIFTWATCH_T_BADURL'\n",
            "alerts.channels[0].webhook_url_env",
            "must be an http:// or https:// URL",
        ),
        (
            "[[alerts.channels]]\nname='s'\ntype='teams'\n",
            "alerts.channels[0].type",
            "unknown channel type 'teams'; known: email, slack, webhook",
        ),
        (
            "[[alerts.channels]]\nname='m'\ntype='email'\nsmtp_host='h'\ntls='tls'\nfrom='a@b'\nto=['c@d']\n",
            "alerts.channels[0].tls",
            "must be one of 'starttls', 'ssl', 'none'",
        ),
        (
            "[[alerts.channels]]\nname='m'\ntype='email'\nsmtp_host='h'\nusername='u'\nfrom='a@b'\nto=['c@d']\n",
            "alerts.channels[0].password_env",
            "missing required key",
        ),
        (
            "[[alerts.channels]]\nname='m'\ntype='email'\nsmtp_host='h'\nfrom='a@b'\nto=['c@d']\npassword='x'\n",
            "alerts.channels[0].password",
            "unknown key",
        ),
        (
            "[[alerts.channels]]\nname='m'\ntype='email'\nsmtp_host='h'\nfrom='a@b'\n",
            "alerts.channels[0].to",
            "missing required key",
        ),
        (
            "[[alerts.channels]]\nname='w'\ntype='webhook'\nurl='ftp://x'\n",
            "alerts.channels[0].url",
            "must be an http:// or https:// URL",
        ),
        (
            "[[alerts.channels]]\nname='w'\ntype='webhook'\nurl='https://x'\nmin_severity='urgent'\n",
            "alerts.channels[0].min_severity",
            "must be one of",
        ),
        (
            "[[alerts.channels]]\nname='w'\ntype='webhook'\nurl='https://x'\nkinds=['in_sync']\n",
            "alerts.channels[0].kinds",
            "must name modified, missing or unmanaged",
        ),
        (
            "[[alerts.channels]]\nname='w'\ntype='webhook'\nurl='https://x'\n"
            "[[alerts.channels]]\nname='w'\ntype='webhook'\nurl='https://y'\n",
            "alerts.channels",
            "used twice",
        ),
    ],
)
def test_channel_errors_name_the_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, body: str, key: str, match: str
) -> None:
    monkeypatch.delenv("DRIFTWATCH_UNSET_X", raising=False)
    monkeypatch.setenv("DRIFTWATCH_T_BADURL", "not a url")
    fails(tmp_path, body, key, match)


def test_webhook_url_from_a_driftwatch_reference(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DRIFTWATCH_HOOK", "http://127.0.0.1:9/hook")
    body = "[[alerts.channels]]\nname='s'\ntype='slack'\nwebhook_url='${DRIFTWATCH_HOOK}'\n"
    (slack,) = load(tmp_path, body).alerts.channels
    assert slack.settings["webhook_url"] == "http://127.0.0.1:9/hook"
