"""Alert decisions as data: one scan's drift events + its health → one digest per channel.

Everything here is pure: no SQL, no network, no clock. The store gathers the inputs in
the scan's transaction (store/persist.py, `_write_alerts`), calls `plan_digests`, and
writes the digests to the outbox in that same transaction; the senders render them.

Dedup is by state change: an item is one drift event (fingerprint + event id), so a
drift is announced once per transition and never again because a later scan saw it
again. Scan health is announced once per failure streak, then once on recovery.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from fnmatch import fnmatchcase
from typing import Any

from driftwatch.config import SEVERITIES, ChannelConfig, severity_rank
from driftwatch.lifecycle import CHANGED, NEW, REOPENED, LifecyclePlan

EV_RESOLVED = "resolved"
EV_REMINDER = "reminder"
EV_SNOOZE_ENDED = "snooze ended"
UNHEALTHY = ("failed", "partial")
# How each event reads in a message.
EVENT_TITLES = {
    "opened": "new",
    "changed": "changed",
    "reopened": "reopened",
    "resolved": "resolved",
    "reminder": "still open",
    "snooze ended": "open again (acknowledgement ended)",
}


@dataclass(frozen=True)
class AlertItem:
    """One drift event worth announcing: its record, what happened, and where to look."""

    fingerprint: str
    event_id: int
    event: str  # opened, changed, reopened, resolved
    kind: str
    type: str
    id: str
    account: str
    region: str
    severity: str
    changes: list[dict[str, Any]] = field(default_factory=list)
    reason: str | None = None  # why it resolved
    link: str | None = None

    @property
    def dedup_key(self) -> str:
        return f"{self.fingerprint}:{self.event_id}"


@dataclass(frozen=True)
class ScanFacts:
    """The scan behind a digest, and its health compared with the scan before it."""

    scan_id: int
    status: str  # ok, partial, failed
    finished_at: str
    previous_status: str | None = None  # the last finished scan's status before this one
    error: str | None = None  # a failed scan's error
    scope_errors: tuple[str, ...] = ()
    commit: str | None = None
    link: str | None = None


@dataclass(frozen=True)
class Notice:
    """A scan-health message: `failed`/`partial` opens a streak, `recovered` ends it."""

    status: str
    text: str


@dataclass
class Digest:
    """One message for one channel about one scan (or a test message)."""

    channel: str
    scan: ScanFacts | None
    items: list[AlertItem] = field(default_factory=list)
    notice: Notice | None = None
    test: bool = False
    base_url: str | None = None
    reminder: bool = False  # a reminder of drifts still open (repeat_interval)

    @property
    def counts(self) -> dict[str, int]:
        """Items by severity, most severe first, only the severities present."""
        out = {s: 0 for s in reversed(SEVERITIES)}
        for item in self.items:
            if item.event != EV_RESOLVED:
                out[item.severity] += 1
        return {k: v for k, v in out.items() if v}

    @property
    def resolved(self) -> list[AlertItem]:
        return [i for i in self.items if i.event == EV_RESOLVED]

    @property
    def active(self) -> list[AlertItem]:
        return [i for i in self.items if i.event != EV_RESOLVED]

    @property
    def title(self) -> str:
        """A one-line subject: what needs attention first."""
        if self.test:
            return f"driftwatch test message for channel {self.channel}"
        if self.reminder:
            n = len(self.items)
            return f"driftwatch reminder: {n} drift{'s' if n != 1 else ''} still open"
        parts = []
        if self.notice is not None:
            parts.append(self.notice.text)
        counts = self.counts
        if counts:
            total = sum(counts.values())
            by = ", ".join(f"{n} {s}" for s, n in counts.items())
            parts.append(f"{total} drift{'s' if total != 1 else ''} ({by})")
        if self.resolved:
            parts.append(f"{len(self.resolved)} resolved")
        return "driftwatch: " + "; ".join(parts or ["no changes"])

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Digest:
        scan = (
            ScanFacts(**{**d["scan"], "scope_errors": tuple(d["scan"]["scope_errors"])})
            if d.get("scan")
            else None
        )
        return cls(
            channel=d["channel"],
            scan=scan,
            items=[AlertItem(**i) for i in d.get("items", [])],
            notice=Notice(**d["notice"]) if d.get("notice") else None,
            test=d.get("test", False),
            base_url=d.get("base_url"),
            reminder=d.get("reminder", False),
        )


def health_notice(scan: ScanFacts) -> Notice | None:
    """Once per failure streak (failed or partial), then once on recovery."""
    was_unhealthy = scan.previous_status in UNHEALTHY
    if scan.status in UNHEALTHY and not was_unhealthy:
        if scan.status == "failed":
            return Notice("failed", f"scan {scan.scan_id} failed: {scan.error or 'see the log'}")
        n = len(scan.scope_errors)
        return Notice(
            "partial", f"scan {scan.scan_id} was partial: {n} error(s), something was not checked"
        )
    if scan.status == "ok" and was_unhealthy:
        return Notice("recovered", f"scans recovered: scan {scan.scan_id} completed ok")
    return None


def wants(channel: ChannelConfig, item: AlertItem) -> bool:
    """A channel's filters: min_severity, types (globs), accounts, kinds, notify_resolved."""
    if item.event == EV_RESOLVED and not channel.notify_resolved:
        return False
    return (
        severity_rank(item.severity) >= severity_rank(channel.min_severity)
        and (not channel.types or any(fnmatchcase(item.type, t) for t in channel.types))
        and (not channel.accounts or item.account in channel.accounts)
        and (not channel.kinds or item.kind in channel.kinds)
    )


def order(items: Iterable[AlertItem]) -> list[AlertItem]:
    """Most severe first; resolved after the rest; then type, account, region, id."""
    return sorted(
        items,
        key=lambda i: (
            i.event == EV_RESOLVED,
            -severity_rank(i.severity),
            i.type,
            i.account,
            i.region,
            i.id,
        ),
    )


def plan_digests(
    scan: ScanFacts,
    items: Sequence[AlertItem],
    channels: Sequence[ChannelConfig],
    base_url: str | None = None,
) -> list[Digest]:
    """At most one digest per channel for this scan; none where there is nothing to say."""
    notice = health_notice(scan)
    digests = []
    for channel in channels:
        mine = order(i for i in items if wants(channel, i))
        said = notice if notice is not None and channel.notify_scan_failures else None
        if mine or said:
            digests.append(Digest(channel.name, scan, mine, said, base_url=base_url))
    return digests


@dataclass(frozen=True)
class OpenDrift:
    """A drift record still open, as a reminder sees it: the item it would show, and
    whether someone has taken it in hand (acknowledged, or snoozed until a time)."""

    item: AlertItem  # its latest event; `event` is replaced by "reminder"
    acknowledged: bool = False
    snoozed_until: dt.datetime | None = None


def plan_reminder(
    channel: ChannelConfig,
    drifts: Sequence[OpenDrift],
    last_said: Mapping[str, dt.datetime],
    now: dt.datetime,
    repeat_interval: dt.timedelta | None,
    min_severity: str = "high",
    base_url: str | None = None,
) -> Digest | None:
    """One reminder digest for `channel`, or None: the open drifts at or above
    `min_severity` (and within the channel's filters) that this channel was last told
    about (`last_said`: fingerprint → when announced or reminded) at least
    `repeat_interval` ago. Off (None) when `repeat_interval` is None. Acknowledged
    drifts and drifts snoozed past `now` are not reminded."""
    if repeat_interval is None:
        return None
    due = [
        replace(d.item, event=EV_REMINDER)
        for d in drifts
        if not d.acknowledged
        and (d.snoozed_until is None or d.snoozed_until <= now)
        and severity_rank(d.item.severity) >= severity_rank(min_severity)
        and wants(channel, d.item)
        and now - last_said.get(d.item.fingerprint, now - repeat_interval) >= repeat_interval
    ]
    if not due:
        return None
    return Digest(channel.name, None, order(due), base_url=base_url, reminder=True)


def plan_snooze_ends(
    channels: Sequence[ChannelConfig], items: Sequence[AlertItem], base_url: str | None = None
) -> list[Digest]:
    """Acknowledgements that ran out (the drift is open again): one digest per channel
    that wants any of them. Dedup is by event, as for a scan's digest."""
    digests = []
    for channel in channels:
        mine = order(i for i in items if wants(channel, i))
        if mine:
            digests.append(Digest(channel.name, None, mine, base_url=base_url))
    return digests


def drift_link(base_url: str | None, fingerprint: str) -> str | None:
    """The dashboard's drift page (issue 8): {base_url}/drifts/{fingerprint}."""
    return f"{base_url}/drifts/{fingerprint}" if base_url else None


def scan_link(base_url: str | None, scan_id: int) -> str | None:
    return f"{base_url}/scans/{scan_id}" if base_url else None


def drifts_link(base_url: str | None, scan_id: int) -> str | None:
    """Where "+N more" points: the drifts this scan touched."""
    return f"{base_url}/drifts?scan={scan_id}" if base_url else None


def test_digest(channel: str, base_url: str | None) -> Digest:
    """`driftwatch alerts test CHANNEL`: a message that says what it is."""
    return Digest(channel, None, test=True, base_url=base_url)


@dataclass(frozen=True)
class AlertSetup:
    """What the scan's transaction needs to enqueue alerts: the channels and link base."""

    channels: tuple[ChannelConfig, ...]
    base_url: str | None = None


def alert_items(
    plan: LifecyclePlan, event_ids: dict[str, int], base_url: str | None
) -> list[AlertItem]:
    """Every transition of this scan (opened, changed, reopened, resolved) as an item.

    Unchanged records give none: a drift seen again, acknowledged or not, is not news.
    """
    items = []
    for d in plan.found:
        if d.transition not in _ANNOUNCED:
            continue
        f = d.finding
        items.append(
            AlertItem(
                fingerprint=d.fingerprint,
                event_id=event_ids[d.fingerprint],
                event=_ANNOUNCED[d.transition],
                kind=f.kind.value,
                type=f.type,
                id=f.id,
                account=f.account,
                region=f.region,
                severity=f.severity or "high",
                changes=[c.to_dict() for c in f.changes],
                link=drift_link(base_url, d.fingerprint),
            )
        )
    for r in plan.resolved:
        s = r.drift
        items.append(
            AlertItem(
                fingerprint=s.fingerprint,
                event_id=event_ids[s.fingerprint],
                event=EV_RESOLVED,
                kind=s.kind,
                type=s.type,
                id=s.resource_id,
                account=s.account,
                region=s.region,
                severity=s.severity or "high",
                reason=r.reason,
                link=drift_link(base_url, s.fingerprint),
            )
        )
    return items


_ANNOUNCED = {NEW: "opened", CHANGED: "changed", REOPENED: "reopened"}
