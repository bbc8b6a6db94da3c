"""Auto-remediation: `[[remediation.auto]]` rules revert matching drifts right after the
scan that opens them, through the same plan → execute → verify → audit door as a person.

Guard rails, decided in `decide()` (pure): a rate limit (`auto_max_per_hour`) and a
circuit breaker: after `auto_max_failures` auto-remediations in a row that did not
succeed, auto-remediation stops until a remediation succeeds (a person's, from the
dashboard or the CLI). The stop is announced once on every alert channel.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass

from driftwatch.alerts import Digest, Notice
from driftwatch.config import Config
from driftwatch.errors import DriftwatchError
from driftwatch.lifecycle import NEW, REOPENED, LifecyclePlan
from driftwatch.models import Kind
from driftwatch.remediation import Remediation, Request
from driftwatch.store import Store
from driftwatch.store.actions import Actor
from driftwatch.store.remediations import SUCCEEDED
from driftwatch.users import OPERATOR

log = logging.getLogger(__name__)
AUTO_ACTOR = Actor("driftwatch (auto)")
ANNOUNCED_KEY = "auto_breaker_announced"  # meta: the last failure the stop was announced for

History = Sequence[tuple[int, str, str, bool]]  # (id, status, requested_at, auto), newest first


@dataclass(frozen=True)
class Candidate:
    fingerprint: str
    type: str
    paths: tuple[str, ...]
    rule: int  # the [[remediation.auto]] index that matched


def candidates(cfg: Config, plan: LifecyclePlan) -> list[Candidate]:
    """Modified drifts this scan opened (or reopened) that a rule covers entirely."""
    out = []
    for found in plan.found:
        f = found.finding
        if found.transition not in (NEW, REOPENED) or f.kind != Kind.MODIFIED:
            continue
        paths = tuple(c.path for c in f.changes)
        rule = next((r for r in cfg.remediation.auto if r.matches(f.type, paths)), None)
        if rule is not None:
            out.append(Candidate(found.fingerprint, f.type, paths, rule.index))
    return out


def failure_streak(history: History) -> int:
    """Auto-remediations that did not succeed since the last success (anyone's)."""
    streak = 0
    for _, status, _, auto in history:
        if status == SUCCEEDED:
            break
        streak += auto
    return streak


def decide(history: History, now: dt.datetime, max_per_hour: int, max_failures: int) -> str | None:
    """Why no auto-remediation may run now (None: it may)."""
    streak = failure_streak(history)
    if streak >= max_failures:
        return f"stopped: the last {streak} auto-remediations did not succeed"
    hour_ago = (now - dt.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    if sum(1 for _, _, at, auto in history if auto and at > hour_ago) >= max_per_hour:
        return f"rate limit: {max_per_hour} auto-remediations in the last hour"
    return None


def run_after_scan(cfg: Config, store: Store, plan: LifecyclePlan | None) -> list[int]:
    """Plan and run a revert for each candidate; the remediation ids that ran."""
    rem_cfg = cfg.remediation
    if not (rem_cfg.enabled and rem_cfg.auto and plan is not None):
        return []
    todo = candidates(cfg, plan)
    if not todo:
        return []
    rem = Remediation(cfg, store)
    ran: list[int] = []
    depth = rem_cfg.auto_max_per_hour + rem_cfg.auto_max_failures
    for cand in todo:
        history = store.auto_history(depth)
        stop = decide(
            history, dt.datetime.now(dt.UTC), rem_cfg.auto_max_per_hour, rem_cfg.auto_max_failures
        )
        if stop:
            log.warning("auto-remediation of %s skipped: %s", cand.fingerprint, stop)
            if stop.startswith("stopped"):
                _announce_once(cfg, store, stop, history[0][0])
            break
        try:
            rid = rem.plan(Request(cand.fingerprint, "revert"), AUTO_ACTOR, OPERATOR, auto=True)
            rem.execute(rid, AUTO_ACTOR, OPERATOR)
        except DriftwatchError as exc:
            log.warning("auto-remediation of %s (rule %s): %s", cand.fingerprint, cand.rule, exc)
            continue
        ran.append(rid)
    return ran


def _announce_once(cfg: Config, store: Store, why: str, last_failure: int) -> None:
    if store.meta(ANNOUNCED_KEY) == str(last_failure):
        return
    text = (
        f"auto-remediation {why}; it stays off until a remediation succeeds "
        "(run one from the dashboard or with `driftwatch remediate`)"
    )
    digests = [
        Digest(c.name, None, notice=Notice("failed", text), base_url=cfg.dashboard.base_url)
        for c in cfg.alerts.channels
    ]
    if digests:
        store.enqueue(digests)
    store.set_meta(ANNOUNCED_KEY, str(last_failure))
