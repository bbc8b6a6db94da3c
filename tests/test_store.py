"""The store on a real SQLite file: migrations, WAL, drift lifecycle rules."""

from __future__ import annotations

from pathlib import Path

from driftwatch.models import Change, Finding, Kind, Scope
from driftwatch.store import ScanRecord, Store

SCOPE = Scope("prod", "us-east-1", "aws_s3_bucket")
OTHER = Scope("prod", "eu-west-1", "aws_s3_bucket")


def modified(rid: str, value: str, scope: Scope = SCOPE) -> Finding:
    return Finding(
        Kind.MODIFIED,
        scope.type,
        rid,
        scope.account,
        scope.region,
        source="m.yaml",
        changes=[Change("tags.team", "a", value)],
        snapshot={"tags": {"team": value}},
    )


def record(findings: list[Finding], checked: set[Scope], at: str) -> ScanRecord:
    return ScanRecord(
        started_at=at,
        finished_at=at,
        status="ok",
        commit_sha="c",
        findings=findings,
        errors=[],
        checked_scopes=checked,
    )


def test_wal_and_migrations_are_idempotent(tmp_path: Path) -> None:
    path = tmp_path / "d.db"
    Store(path).close()
    store = Store(path)
    assert store.db.journal_mode == "wal"
    assert {"scans", "drifts", "drift_events", "resources", "scope_errors"} <= set(
        store.db.table_names()
    )


def test_unchecked_scope_leaves_records_alone(tmp_path: Path) -> None:
    store = Store(tmp_path / "d.db")
    store.persist_scan(
        record([modified("a", "x"), modified("b", "x", OTHER)], {SCOPE, OTHER}, "t1")
    )
    # Scan 2: SCOPE checked and clean; OTHER not checked at all.
    store.persist_scan(record([], {SCOPE}, "t2"))
    status = {d["resource_id"]: d["status"] for d in store.drifts()}
    assert status == {"a": "resolved", "b": "open"}


def test_not_checked_resource_in_checked_scope_is_untouched(tmp_path: Path) -> None:
    store = Store(tmp_path / "d.db")
    store.persist_scan(record([modified("a", "x")], {SCOPE}, "t1"))
    nc = Finding(Kind.NOT_CHECKED, SCOPE.type, "a", SCOPE.account, SCOPE.region, reason="denied")
    store.persist_scan(record([nc], {SCOPE}, "t2"))
    assert [d["status"] for d in store.drifts()] == ["open"]
    # The last snapshot read is kept while the resource is not checked.
    [res] = store.resources()
    assert res["kind"] == "not_checked" and res["snapshot"] == {"tags": {"team": "x"}}


def test_same_changes_add_no_event(tmp_path: Path) -> None:
    store = Store(tmp_path / "d.db")
    store.persist_scan(record([modified("a", "x")], {SCOPE}, "t1"))
    _, drifts = store.persist_scan(record([modified("a", "x")], {SCOPE}, "t2"))
    [row] = drifts.values()
    assert (row["first_seen"], row["last_seen"]) == ("t1", "t2")
    assert [e["event"] for e in store.events()] == ["opened"]


def test_secret_key_is_created_once_private(tmp_path: Path) -> None:
    from driftwatch.secretkey import load_or_create_key

    key = load_or_create_key(tmp_path / "data")
    assert load_or_create_key(tmp_path / "data") == key and len(key) == 32
    assert (tmp_path / "data" / "secret.key").stat().st_mode & 0o777 == 0o600
