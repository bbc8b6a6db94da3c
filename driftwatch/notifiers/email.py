"""Email over SMTP (the standard library's smtplib): text and HTML from Jinja2 templates."""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate
from typing import Any

from driftwatch.alerts import EVENT_TITLES, Digest, drifts_link
from driftwatch.config import Reader
from driftwatch.notifiers.base import DeliveryError, Notifier, jinja_env, show
from driftwatch.registry import notifiers

TLS_MODES = ("starttls", "ssl", "none")
_DEFAULT_PORT = {"starttls": 587, "ssl": 465, "none": 25}


def message_id(delivery_id: str) -> str:
    """The Message-ID is the delivery's idempotency key: a resend is the same message."""
    return f"<{delivery_id}@driftwatch>"


def compose(digest: Digest, delivery_id: str, sender: str, to: list[str]) -> EmailMessage:
    """A multipart/alternative message from templates/alerts/digest.{txt,html}."""
    context = {
        "d": digest,
        "events": EVENT_TITLES,
        "show": show,
        "more_link": drifts_link(digest.base_url, digest.scan.scan_id) if digest.scan else None,
        "delivery_id": delivery_id,
    }
    msg = EmailMessage()
    msg["Subject"] = digest.title
    msg["From"] = sender
    msg["To"] = ", ".join(to)
    msg["Date"] = formatdate(localtime=False)
    msg["Message-ID"] = message_id(delivery_id)
    msg["X-Driftwatch-Delivery"] = delivery_id
    msg.set_content(jinja_env(autoescape=False).get_template("alerts/digest.txt").render(context))
    html = jinja_env(autoescape=True).get_template("alerts/digest.html").render(context)
    msg.add_alternative(html, subtype="html")
    return msg


@notifiers.register("email")
class Email(Notifier):
    """Email over SMTP with STARTTLS, implicit TLS or none; one message per digest."""

    type = "email"
    keys = ("smtp_host", "smtp_port", "tls", "username", "password_env", "from", "to")

    @classmethod
    def settings(cls, r: Reader, t: dict[str, Any], key: str) -> dict[str, Any]:
        tls = r.choice(t, key, "tls", TLS_MODES)
        username = r.string(t, key, "username", "") or None
        if username and "password_env" not in t:
            raise r.fail(f"{key}.password_env", "missing required key (username is set)")
        to = r.strings(t, key, "to", [], nonempty=True) if "to" in t else None
        if not to:
            raise r.fail(f"{key}.to", "missing required key: a list of addresses")
        for addr in [*to, r.string(t, key, "from", required=True)]:
            if "@" not in addr:
                raise r.fail(
                    f"{key}.{'from' if addr not in to else 'to'}",
                    f"{addr!r} is not an email address",
                )
        return {
            "smtp_host": r.string(t, key, "smtp_host", required=True),
            "smtp_port": r.integer(
                t, key, "smtp_port", _DEFAULT_PORT[tls], minimum=1, maximum=65535
            ),
            "tls": tls,
            "username": username,
            "password": r.secret_env(t, key, "password_env", required=bool(username)),
            "from": r.string(t, key, "from", required=True),
            "to": to,
        }

    def send(self, digest: Digest, delivery_id: str) -> None:
        s = self.channel.settings
        msg = compose(digest, delivery_id, s["from"], s["to"])
        what = f"email {self.channel.name} via {s['smtp_host']}:{s['smtp_port']}"
        try:
            with self._connect(s) as smtp:
                if s["username"]:
                    smtp.login(s["username"], s["password"])
                smtp.send_message(msg)
        except smtplib.SMTPResponseException as exc:
            # 4xx: try again later; 5xx: the server refuses this message or login.
            text = f"{what}: SMTP {exc.smtp_code}: {_text(exc.smtp_error)}"
            raise DeliveryError(text, retry=exc.smtp_code < 500) from None
        except smtplib.SMTPRecipientsRefused as exc:
            # Every recipient refused: retry when all refusals were transient (4xx).
            transient = all(code < 500 for code, _ in exc.recipients.values())
            raise DeliveryError(
                f"{what}: recipients refused: {exc.recipients}", retry=transient
            ) from None
        except (TimeoutError, smtplib.SMTPException, OSError) as exc:
            raise DeliveryError(f"{what}: {type(exc).__name__}: {exc}", retry=True) from None

    def _connect(self, s: dict[str, Any]) -> smtplib.SMTP:
        host, port, timeout = s["smtp_host"], s["smtp_port"], self.timeout_s
        if s["tls"] == "ssl":
            return smtplib.SMTP_SSL(
                host, port, timeout=timeout, context=ssl.create_default_context()
            )
        smtp = smtplib.SMTP(host, port, timeout=timeout)
        if s["tls"] == "starttls":
            smtp.starttls(context=ssl.create_default_context())
        return smtp


def _text(value: bytes | str) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value
