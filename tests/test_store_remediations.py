"""The remediation records on a real SQLite file: the per-resource lock, expiry, approval,
and what a verified outcome does to the drift."""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path

import pytest
from support.web import modified, now_iso, persist, web_config

from driftwatch.store import Actor, Store
from driftwatch.store.actions import ActionError

KEY = "default/us-east-1/aws_s3_bucket/logs"


def plan(store: Store, by: str = "olga", ttl: dt.timedelta = dt.timedelta(hours=1)) -> int:
    return store.create_remediation(
        Actor(by),
        fingerprint=modified("logs").fingerprint,
        resource_key=KEY,
        mode="revert",
        options=[],
        plan={"summary": "1 API call(s) fixing tags.team", "calls": []},
        plan_hash="p",
        live_hash="l",
        expires_at=now_iso(ttl),
    )


@pytest.fixture
def store(tmp_path: Path) -> Store:
    s = Store(web_config(tmp_path).storage.path)
    persist(s, [modified("logs")], now_iso())
    return s


def test_one_execution_per_resource_and_a_dead_one_is_marked_interrupted(store: Store) -> None:
    first, second = plan(store), plan(store)
    store.claim_remediation(first, Actor("olga"), require_approval=False)
    # The database itself refuses a second `executing` row for the resource.
    with pytest.raises(sqlite3.IntegrityError), store.db.atomic():
        store.conn.execute(
            "UPDATE remediations SET status = 'executing' WHERE id = ?", [second]
        )
    # Claiming runs under the data directory's lock: an `executing` row found then
    # belongs to a process that died mid-run.
    store.claim_remediation(second, Actor("olga"), require_approval=False)
    dead = store.remediation(first)
    assert dead is not None and dead["status"] == "interrupted"
    assert "stopped mid-execution" in dead["result"]["error"]


def test_a_plan_runs_once_and_expires(store: Store) -> None:
    rid = plan(store)
    store.claim_remediation(rid, Actor("olga"), require_approval=False)
    store.finish_remediation(rid, Actor("olga"), "succeeded", {"summary": "ok"}, resolve=True)
    with pytest.raises(ActionError, match="is succeeded; it cannot run again"):
        store.claim_remediation(rid, Actor("olga"), require_approval=False)
    old = plan(store, ttl=-dt.timedelta(seconds=1))
    assert store.remediation(old)["status"] == "expired"  # type: ignore[index]
    with pytest.raises(ActionError, match="expired"):
        store.claim_remediation(old, Actor("olga"), require_approval=False)


def test_approval_by_a_second_person_only(store: Store) -> None:
    rid = plan(store, by="olga")
    with pytest.raises(ActionError, match="needs approval"):
        store.claim_remediation(rid, Actor("olga"), require_approval=True)
    with pytest.raises(ActionError, match="a second person must approve it"):
        store.approve_remediation(rid, Actor("olga"))
    store.approve_remediation(rid, Actor("ada"))
    row = store.claim_remediation(rid, Actor("olga"), require_approval=True)
    assert row["status"] == "executing"


def test_a_verified_revert_resolves_the_drift_and_others_only_add_an_event(
    store: Store,
) -> None:
    fp = modified("logs").fingerprint
    partial = plan(store)
    store.claim_remediation(partial, Actor("olga"), require_approval=False)
    store.finish_remediation(partial, Actor("olga"), "partial", {"summary": "1 of 2 ran"})
    assert store.drift(fp)["status"] == "open"  # type: ignore[index]
    done = plan(store)
    store.claim_remediation(done, Actor("olga"), require_approval=False)
    store.finish_remediation(done, Actor("olga"), "succeeded", {"summary": "ok"}, resolve=True)
    drift = store.drift(fp)
    assert drift is not None and drift["status"] == "resolved"
    assert drift["resolved_reason"] == f"remediated: #{done} revert verified"
    events = [(e["event"], e["actor"]) for e in store.events(fp)]
    assert events[-2:] == [("remediation", "olga"), ("resolved", "olga")]
    audit = [r[0] for r in store.conn.execute("SELECT action FROM audit_log ORDER BY id")]
    assert audit == [
        "remediation.plan",
        "remediation.execute",
        "remediation.partial",
        "remediation.plan",
        "remediation.execute",
        "remediation.succeeded",
    ]
