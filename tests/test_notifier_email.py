"""Email: real scans → outbox → aiosmtpd on loopback; one message per scan per channel."""

from __future__ import annotations

import time
from email.message import EmailMessage
from pathlib import Path

from support.env import Aws, ManifestRepo, scan, write_config
from support.smtpserver import SmtpServer, smtp_server

from driftwatch.config import Config, load_config
from driftwatch.delivery import send_due
from driftwatch.store import Store

S3 = '[scan]\ntypes = ["aws_s3_bucket"]\nunmanaged = true\n'


def channels(smtp: SmtpServer) -> str:
    common = f"type = 'email'\nsmtp_host = '{smtp.host}'\nsmtp_port = {smtp.port}\ntls = 'none'\n"
    return (
        "[dashboard]\nbase_url = 'https://dw.example.com'\n"
        "[alerts]\nbackoff = '1s'\n"
        f"[[alerts.channels]]\nname = 'ops-mail'\n{common}"
        "from = 'driftwatch@example.com'\nto = ['ops@example.com']\n"
        f"[[alerts.channels]]\nname = 'sec-mail'\n{common}min_severity = 'high'\n"
        "from = 'driftwatch@example.com'\nto = ['sec@example.com', 'cso@example.com']\n"
    )


def versioned(name: str) -> dict[str, object]:
    return {"type": "aws_s3_bucket", "id": name, "spec": {"versioning": "Enabled"}}


def parts(msg: EmailMessage) -> tuple[str, str]:
    text, html = msg.get_body(("plain",)), msg.get_body(("html",))
    assert text is not None and html is not None, msg.get_content_type()
    return str(text.get_content()), str(html.get_content())


def test_one_digest_per_scan_per_channel_with_text_and_html(
    aws: Aws, repo: ManifestRepo, tmp_path: Path
) -> None:
    s3 = aws.client("s3")
    for name in ("logs", "data", "stray"):
        s3.create_bucket(Bucket=name)
    repo.declare(versioned("logs"), versioned("data"))
    with smtp_server() as smtp:
        cfg_path = write_config(tmp_path, aws.url, repo.path, S3 + channels(smtp))
        first = scan(cfg_path)
        assert first.code == 2, first.stderr
        assert scan(cfg_path).code == 2  # the same drift again: nothing new to say
        cfg = load_config(cfg_path)
        store = Store(cfg.storage.path)
        assert send_due(store, cfg.alerts).sent == 2
        assert send_due(store, cfg.alerts).sent == 0
        assert len(smtp.messages) == 2 and smtp.attempts == 2
        scan_id = first.doc["scan"]["id"]
        fps = {(d["id"], d["kind"]): d["fingerprint"] for d in first.doc["drifts"]}
        by_channel = {m["channel"]: m for m in store.messages()}

        [ops] = smtp.to("ops@example.com")
        [sec] = smtp.to("sec@example.com")
        assert "cso@example.com" in str(sec["To"])
        for msg, channel in ((ops, "ops-mail"), (sec, "sec-mail")):
            delivery_id = by_channel[channel]["delivery_id"]
            assert msg["Message-ID"] == f"<{delivery_id}@driftwatch>"
            assert msg["X-Driftwatch-Delivery"] == delivery_id
            assert msg["From"] == "driftwatch@example.com"
            text, html = parts(msg)
            for rid in ("logs", "data"):
                link = f"https://dw.example.com/drifts/{fps[(rid, 'modified')]}"
                assert f"[high] new modified: aws_s3_bucket {rid} (default/us-east-1)" in text
                assert link in text and f'<a href="{link}">aws_s3_bucket {rid}</a>' in html
            assert text.count("    versioning: Enabled -> Disabled") == 2
            assert html.count("<code>versioning</code>: Enabled &rarr; Disabled") == 2
            assert f"https://dw.example.com/scans/{scan_id}" in text
            assert f"delivery {delivery_id}" in text and f"delivery {delivery_id}" in html

        # ops-mail takes every severity: the unmanaged bucket, low, comes last.
        assert ops["Subject"] == "driftwatch: 3 drifts (2 high, 1 low)"
        text, _ = parts(ops)
        assert text.index("aws_s3_bucket data") < text.index("aws_s3_bucket logs")
        assert text.index("aws_s3_bucket logs") < text.index("[low] new unmanaged")
        stray = f"https://dw.example.com/drifts/{fps[('stray', 'unmanaged')]}"
        assert stray in text
        # sec-mail asked for high and above: the low drift is not in its digest.
        assert sec["Subject"] == "driftwatch: 2 drifts (2 high)"
        assert "stray" not in parts(sec)[0] and "stray" not in parts(sec)[1]


def test_smtp_4xx_retries_with_the_same_message_id_and_5xx_fails_for_good(
    aws: Aws, repo: ManifestRepo, tmp_path: Path
) -> None:
    s3 = aws.client("s3")
    s3.create_bucket(Bucket="logs")
    repo.declare(versioned("logs"))
    with smtp_server() as smtp:
        cfg_path = write_config(
            tmp_path, aws.url, repo.path, S3.replace("true", "false") + channels(smtp)
        )
        assert scan(cfg_path).code == 2
        cfg = load_config(cfg_path)
        store = Store(cfg.storage.path)
        ids = {m["channel"]: m["delivery_id"] for m in store.messages()}

        # 451 at DATA and 450 for every recipient: both transient, both retried.
        smtp.data_answers.append("451 4.3.0 try again later")
        smtp.rcpt_answers.append("450 4.2.1 mailbox busy")
        counts = send_due(store, cfg.alerts)
        assert (counts.sent, counts.retried, counts.failed) == (0, 2, 0)
        errors = {m["channel"]: m["last_error"] for m in store.messages(status="pending")}
        assert any("SMTP 451" in e for e in errors.values()), errors
        assert any("450" in e and "recipients refused" in e for e in errors.values()), errors
        _wait_sent(store, cfg)
        assert sorted(m["Message-ID"] for m in smtp.messages) == sorted(
            f"<{i}@driftwatch>" for i in ids.values()
        )
        assert all(m["attempts"] == 2 for m in store.messages())

        # 554 at DATA: the server refuses this message; kept as failed with its error.
        s3.put_bucket_versioning(Bucket="logs", VersioningConfiguration={"Status": "Enabled"})
        assert scan(cfg_path).code == 0
        smtp.data_answers.append("554 5.6.0 message rejected")
        smtp.rcpt_answers.append("550 5.1.1 no such user")
        counts = send_due(store, cfg.alerts)
        assert (counts.sent, counts.retried, counts.failed) == (0, 0, 2)
        failed = store.messages(status="failed")
        assert sorted(m["attempts"] for m in failed) == [1, 1]
        text = " ".join(m["last_error"] for m in failed)
        assert "SMTP 554: 5.6.0 message rejected" in text and "550" in text
        assert len(smtp.messages) == 2  # nothing more was delivered


def _wait_sent(store: Store, cfg: Config, timeout_s: float = 10) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        send_due(store, cfg.alerts)
        if all(m["status"] == "sent" for m in store.messages()):
            return
        time.sleep(0.2)
    raise AssertionError(store.messages())
