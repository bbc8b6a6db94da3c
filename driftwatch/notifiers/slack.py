"""Slack incoming webhook, Block Kit: one digest within Slack's limits.

slack_sdk's WebhookClient, not hand-made urllib: it is Slack's own maintained client
(request shape, proxy settings, User-Agent, response parsing), and it hands back the
status and headers, so retries stay in one place (driftwatch.delivery) and it is
given no retry handlers of its own.
"""

from __future__ import annotations

import urllib.error
from typing import Any

from slack_sdk.webhook import WebhookClient

from driftwatch.alerts import EVENT_TITLES, AlertItem, Digest, drifts_link
from driftwatch.config import Reader, check_url
from driftwatch.notifiers.base import DeliveryError, Notifier, http_outcome, show
from driftwatch.registry import notifiers

MAX_BLOCKS = 50  # Slack's limit per message
MAX_SECTION = 3000  # characters of one section's text
MAX_CHANGES = 10  # change lines per drift before "… N more changes"
_EMOJI = {
    "critical": ":red_circle:",
    "high": ":large_orange_circle:",
    "medium": ":large_yellow_circle:",
    "low": ":white_circle:",
}


def _esc(text: str) -> str:
    """Slack mrkdwn escapes only &, < and >."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def item_text(i: AlertItem) -> str:
    where = f"({_esc(i.account)}/{_esc(i.region)})"
    head = (
        f"{_EMOJI[i.severity]} *{i.severity}* · {EVENT_TITLES[i.event]} {i.kind} · "
        f"`{_esc(i.type)}` *{_esc(i.id)}* {where}"
    )
    if i.link:
        head += f" <{i.link}|open>"
    lines = [head]
    if i.event == "resolved":
        lines.append(f"resolved: {_esc(i.reason or '')}")
    else:
        for c in i.changes[:MAX_CHANGES]:
            lines.append(
                f"• `{_esc(c['path'])}`: {_esc(show(c['declared']))} → {_esc(show(c['live']))}"
            )
        if len(i.changes) > MAX_CHANGES:
            lines.append(f"… {len(i.changes) - MAX_CHANGES} more changes")
    return _fit("\n".join(lines))


def _fit(text: str) -> str:
    return text if len(text) <= MAX_SECTION else text[: MAX_SECTION - 1] + "…"


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": _fit(text)}}


def render(digest: Digest, delivery_id: str) -> tuple[str, list[dict[str, Any]]]:
    """(fallback text, blocks): at most MAX_BLOCKS, "+N more" with a link past that."""
    head: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": digest.title[:150]}}
    ]
    if digest.test:
        head.append(_section("This is a test message from driftwatch; the channel works."))
    if digest.notice is not None:
        head.append(_section(f"*{digest.notice.status}*: {_esc(digest.notice.text)}"))
    if digest.counts:
        head.append(_section(" · ".join(f"{_EMOJI[s]} {n} {s}" for s, n in digest.counts.items())))
    foot = [
        {"type": "context", "elements": [{"type": "mrkdwn", "text": f"delivery {delivery_id}"}]}
    ]
    room = MAX_BLOCKS - len(head) - len(foot) - 1  # one for "+N more"
    items = digest.items
    shown = items if len(items) <= room + 1 else items[:room]
    body = [_section(item_text(i)) for i in shown]
    if len(shown) < len(items):
        more = f"+{len(items) - len(shown)} more"
        link = drifts_link(digest.base_url, digest.scan.scan_id) if digest.scan else None
        body.append(_section(f"{more}: <{link}|see all in driftwatch>" if link else more))
    return digest.title, head + body + foot


@notifiers.register("slack")
class Slack(Notifier):
    """Slack incoming webhook (Block Kit), via slack_sdk's WebhookClient."""

    type = "slack"
    keys = ("webhook_url", "webhook_url_env")

    @classmethod
    def settings(cls, r: Reader, t: dict[str, Any], key: str) -> dict[str, Any]:
        if ("webhook_url" in t) == ("webhook_url_env" in t):
            raise r.fail(key, "set exactly one of webhook_url_env or webhook_url")
        if "webhook_url" in t:
            url = r.string(t, key, "webhook_url", required=True)
            return {"webhook_url": check_url(r, f"{key}.webhook_url", url)}
        url = r.secret_env(t, key, "webhook_url_env") or ""
        return {"webhook_url": check_url(r, f"{key}.webhook_url_env", url)}

    def send(self, digest: Digest, delivery_id: str) -> None:
        text, blocks = render(digest, delivery_id)
        client = WebhookClient(
            self.channel.settings["webhook_url"],
            timeout=max(1, int(self.timeout_s)),
            default_headers={"X-Driftwatch-Delivery": delivery_id},
            retry_handlers=[],
        )
        what = f"slack {self.channel.name}"
        try:
            resp = client.send(text=text, blocks=blocks)
        except (urllib.error.URLError, OSError) as exc:
            raise DeliveryError(
                f"{what}: cannot connect: {getattr(exc, 'reason', exc)}", retry=True
            ) from None
        http_outcome(resp.status_code, resp.body or "", resp.headers, what)
