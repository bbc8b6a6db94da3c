"""The store on a real SQLite file: migrations, WAL, set-based persist, history, retention."""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path

import pytest
from sqlite_utils import Database

from driftwatch.config import IgnoreRule
from driftwatch.errors import StoreError
from driftwatch.lifecycle import Coverage, LifecyclePlan
from driftwatch.models import Change, Finding, Hidden, Kind, Scope
from driftwatch.store import ScanWrite, Store
from driftwatch.store.migrations import migrations
from driftwatch.store.persist import NOT_CHECKED, plan_resources

SCOPE = Scope("prod", "us-east-1", "aws_s3_bucket")
OTHER = Scope("prod", "eu-west-1", "aws_s3_bucket")
REGIONS = frozenset({("prod", "us-east-1"), ("prod", "eu-west-1")})


def modified(rid: str, value: str, scope: Scope = SCOPE) -> Finding:
    return Finding(
        Kind.MODIFIED,
        scope.type,
        rid,
        scope.account,
        scope.region,
        source="m.yaml",
        live_id=rid,
        changes=[Change("tags.team", "a", value)],
        snapshot={"tags": {"team": value}},
    )


def in_sync(rid: str, value: str = "a") -> Finding:
    return Finding(
        Kind.IN_SYNC, SCOPE.type, rid, SCOPE.account, SCOPE.region, source="m.yaml",
        live_id=rid, snapshot={"tags": {"team": value}},
    )  # fmt: skip


def not_checked(rid: str) -> Finding:
    return Finding(Kind.NOT_CHECKED, SCOPE.type, rid, SCOPE.account, SCOPE.region, reason="denied")


def persist(
    store: Store, findings: list[Finding], read: set[Scope], at: str, **cov: object
) -> LifecyclePlan:
    scan_id = store.start_scan(at)
    fields: dict[str, object] = {
        "read": frozenset(read),
        "unchecked": frozenset(f.key for f in findings if f.kind == Kind.NOT_CHECKED),
        "declared": frozenset(f.key for f in findings if f.kind != Kind.UNMANAGED),
        "watched": frozenset({SCOPE, OTHER}),
        "regions": REGIONS,
        **cov,
    }
    coverage = Coverage(**fields)  # type: ignore[arg-type]
    write = ScanWrite(
        scan_id=scan_id,
        finished_at=at,
        status="ok",
        commit_sha="c",
        findings=findings,
        errors=[],
        coverage=coverage,
        reopen_window=dt.timedelta(hours=24),
        declared=len(coverage.declared),
    )
    plan: LifecyclePlan = store.persist_scan(write)
    return plan


def test_wal_and_migrations_are_idempotent(tmp_path: Path) -> None:
    path = tmp_path / "d.db"
    Store(path).close()
    store = Store(path)
    assert store.db.journal_mode == "wal"
    assert {"scans", "drifts", "drift_events", "resources", "scope_errors", "snapshots"} <= set(
        store.db.table_names()
    )
    assert store.db.execute("PRAGMA auto_vacuum").fetchone()[0] == 2  # incremental


def test_unchecked_scope_leaves_records_alone(tmp_path: Path) -> None:
    store = Store(tmp_path / "d.db")
    persist(store, [modified("a", "x"), modified("b", "x", OTHER)], {SCOPE, OTHER}, "t1")
    # Scan 2: SCOPE read and clean; OTHER not read at all, "b" still declared.
    persist(store, [in_sync("a")], {SCOPE}, "t2", declared=frozenset({("prod", "eu-west-1",
            "aws_s3_bucket", "b"), in_sync("a").key}))  # fmt: skip
    status = {d["resource_id"]: d["status"] for d in store.drifts()}
    assert status == {"a": "resolved", "b": "open"}


def test_not_checked_keeps_snapshot_and_live_id_beside_other_findings(tmp_path: Path) -> None:
    """Rows of different shapes in one scan: the not-checked one keeps its last read."""
    store = Store(tmp_path / "d.db")
    persist(store, [modified("a", "x"), modified("b", "y")], {SCOPE}, "t1")
    persist(store, [not_checked("a"), modified("b", "z")], {SCOPE}, "t2")
    res = {r["resource_id"]: r for r in store.resources()}
    assert res["a"]["kind"] == "not_checked"
    assert res["a"]["snapshot"] == {"tags": {"team": "x"}} and res["a"]["live_id"] == "a"
    assert res["b"]["snapshot"] == {"tags": {"team": "z"}}
    assert {d["resource_id"]: d["status"] for d in store.drifts()} == {"a": "open", "b": "open"}


def test_same_changes_add_no_event_and_touch_last_seen(tmp_path: Path) -> None:
    store = Store(tmp_path / "d.db")
    persist(store, [modified("a", "x")], {SCOPE}, "2026-01-01T00:00:00Z")
    plan = persist(store, [modified("a", "x")], {SCOPE}, "2026-01-01T01:00:00Z")
    assert [d.transition for d in plan.found] == ["unchanged"]
    [row] = store.drifts()
    assert (row["first_seen"], row["last_seen"]) == ("2026-01-01T00:00:00Z", "2026-01-01T01:00:00Z")
    assert [e["event"] for e in store.events()] == ["opened"]


def test_full_lifecycle_events_and_reasons(tmp_path: Path) -> None:
    store = Store(tmp_path / "d.db")
    persist(store, [modified("a", "x")], {SCOPE}, "2026-01-01T00:00:00Z")
    persist(store, [modified("a", "y")], {SCOPE}, "2026-01-01T01:00:00Z")
    persist(store, [in_sync("a")], {SCOPE}, "2026-01-01T02:00:00Z")
    plan = persist(store, [modified("a", "y")], {SCOPE}, "2026-01-01T03:00:00Z")
    assert [d.transition for d in plan.found] == ["reopened"]
    events = store.events()
    assert [(e["event"], e["reason"]) for e in events] == [
        ("opened", None),
        ("changed", None),
        ("resolved", "in sync"),
        ("reopened", None),
    ]
    [row] = store.drifts()
    assert row["status"] == "open" and row["first_seen"] == "2026-01-01T00:00:00Z"
    assert row["resolved_at"] is None and row["opened_scan_id"] == 4


def test_snapshots_are_stored_only_when_state_changes(tmp_path: Path) -> None:
    store = Store(tmp_path / "d.db")
    for i, value in enumerate(["a", "a", "b", "b", "a"]):
        persist(store, [in_sync("r", value)], {SCOPE}, f"2026-01-0{i + 1}T00:00:00Z")
    persist(store, [not_checked("r")], {SCOPE}, "2026-01-06T00:00:00Z")
    persist(store, [not_checked("r")], {SCOPE}, "2026-01-07T00:00:00Z")
    [res] = store.resources()
    history = store.snapshots(res["key"])
    assert [(h["kind"], (h["snapshot"] or {}).get("tags")) for h in history] == [
        ("in_sync", {"team": "a"}),
        ("in_sync", {"team": "b"}),
        ("in_sync", {"team": "a"}),
        ("not_checked", None),
    ]
    assert res["snapshot"] == {"tags": {"team": "a"}}  # the last read survives not-checked
    assert res["last_seen"] == "2026-01-07T00:00:00Z"


def test_a_failed_persist_leaves_the_previous_state(tmp_path: Path) -> None:
    store = Store(tmp_path / "d.db")
    persist(store, [modified("a", "x")], {SCOPE}, "t1")
    store.db.execute("CREATE TRIGGER boom BEFORE INSERT ON drift_events BEGIN "
                     "SELECT RAISE(ABORT, 'disk on fire'); END")  # fmt: skip
    with pytest.raises(sqlite3.IntegrityError):
        persist(store, [modified("a", "y"), modified("b", "y")], {SCOPE}, "t2")
    [row] = store.drifts()
    assert row["changes"][0]["live"] == "x"
    assert [r["resource_id"] for r in store.resources()] == ["a"]
    assert [s["status"] for s in store.scans()] == ["ok", "running"]


def test_start_scan_marks_a_dead_scan_interrupted(tmp_path: Path) -> None:
    store = Store(tmp_path / "d.db")
    store.start_scan("t1")  # its process died: the row stays `running`
    store.start_scan("t2")
    first, second = store.scans()
    assert first["status"] == "failed" and "interrupted" in first["error"]
    assert second["status"] == "running"


def test_corrupt_file_is_one_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "d.db"
    path.write_bytes(b"this is not sqlite" * 512)
    with pytest.raises(StoreError, match=r"is damaged .*restore it from a backup"):
        Store(path).check()


def test_damaged_pages_fail_the_quick_check(tmp_path: Path) -> None:
    path = tmp_path / "d.db"
    store = Store(path)
    persist(store, [modified(f"r{i}", "x" * 200) for i in range(300)], {SCOPE}, "t1")
    store.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    store.close()
    data = bytearray(path.read_bytes())
    page = 4096
    for offset in range(3 * page, min(len(data), 12 * page)):
        data[offset] = 0xA5  # scribble over b-tree pages, keep the header intact
    path.write_bytes(bytes(data))
    with pytest.raises(StoreError, match="damaged"):
        Store(path).check()


def test_secret_key_is_created_once_private(tmp_path: Path) -> None:
    from driftwatch.secretkey import load_or_create_key

    key = load_or_create_key(tmp_path / "data")
    assert load_or_create_key(tmp_path / "data") == key and len(key) == 32
    assert (tmp_path / "data" / "secret.key").stat().st_mode & 0o777 == 0o600


def test_prune_keeps_open_drifts_current_state_and_frees_pages(tmp_path: Path) -> None:
    store = Store(tmp_path / "d.db")
    old, new = "2026-01-01T00:00:00Z", "2026-06-01T00:00:00Z"
    big = [modified(f"gone-{i}", "x" * 500) for i in range(200)]
    persist(store, [modified("open", "x"), in_sync("fixed", "a"), *big], {SCOPE}, old)
    persist(store, [modified("open", "x"), in_sync("fixed", "b")], {SCOPE}, new,
            declared=frozenset({modified("open", "x").key, in_sync("fixed").key}))  # fmt: skip
    dry = store.prune("2026-03-01T00:00:00Z", dry_run=True)
    assert dry.drifts == 0  # the 200 resolved at `new`, after the cutoff
    counts = store.prune("2026-07-01T00:00:00Z", dry_run=True)
    assert (counts.drifts, counts.resources) == (200, 201)  # "fixed": not seen since either
    assert store.prune("2026-07-01T00:00:00Z") == counts
    [kept] = store.drifts()
    assert (kept["resource_id"], kept["status"]) == ("open", "open")
    assert [e["event"] for e in store.events(kept["fingerprint"])] == ["opened"]
    assert {r["resource_id"] for r in store.resources()} == {"open"}
    assert [s["id"] for s in store.scans()] == [1, 2]  # opened the open drift; the latest
    assert store.db.execute("PRAGMA freelist_count").fetchone()[0] == 0
    assert store.last_prune() is not None


def test_prune_keeps_each_resources_current_snapshot(tmp_path: Path) -> None:
    store = Store(tmp_path / "d.db")
    for i, value in enumerate(["a", "b", "c"]):
        persist(store, [modified("r", value)], {SCOPE}, f"2026-01-0{i + 1}T00:00:00Z")
    counts = store.prune("2026-02-01T00:00:00Z")
    assert counts.snapshots == 2  # the open drift keeps the resource; only old states go
    [res] = store.resources()
    assert res["snapshot"] == {"tags": {"team": "c"}}


def test_ignore_rules_and_hits_are_kept_per_scan_and_pruned_with_it(tmp_path: Path) -> None:
    store = Store(tmp_path / "d.db")
    tmp = IgnoreRule(kind=Kind.UNMANAGED, type=SCOPE.type, id="tmp-*", reason="scratch", index=0)
    tags = IgnoreRule(path="tags.team", expires=dt.date(2027, 1, 31), index=1)
    hits = [
        Hidden(0, Kind.UNMANAGED, SCOPE.type, "tmp-a", "prod", "us-east-1"),
        Hidden(1, Kind.MODIFIED, SCOPE.type, "a", "prod", "us-east-1", "tags.team"),
    ]

    def write(at: str, finding: Finding) -> None:
        store.persist_scan(
            ScanWrite(
                scan_id=store.start_scan(at),
                finished_at=at,
                status="ok",
                commit_sha="c",
                findings=[finding],
                errors=[],
                coverage=Coverage(read=frozenset({SCOPE})),
                reopen_window=dt.timedelta(hours=24),
                declared=1,
                ignore_rules=[(tmp, "active"), (tags, "unused")],
                hidden=hits,
            )
        )

    write("2026-01-01T00:00:00Z", in_sync("a"))
    write("2026-01-02T00:00:00Z", in_sync("a"))
    rules = store.ignore_rules(2)
    assert [(r["rule_index"], r["kind"], r["id"], r["status"]) for r in rules] == [
        (0, "unmanaged", "tmp-*", "active"),
        (1, "modified", "*", "unused"),
    ]
    assert (rules[0]["reason"], rules[1]["path"], rules[1]["expires"]) == (
        "scratch",
        "tags.team",
        "2027-01-31",
    )
    assert [(h["rule_index"], h["resource_id"], h["path"]) for h in store.ignore_hits(2)] == [
        (0, "tmp-a", None),
        (1, "a", "tags.team"),
    ]
    # A scan whose transaction fails leaves none of its rows.
    store.db.execute("CREATE TRIGGER boom BEFORE INSERT ON drift_events BEGIN "
                     "SELECT RAISE(ABORT, 'disk on fire'); END")  # fmt: skip
    with pytest.raises(sqlite3.IntegrityError):
        write("2026-01-03T00:00:00Z", modified("b", "y"))
    assert store.ignore_rules(3) == [] and store.ignore_hits(3) == []

    counts = store.prune("2026-01-01T12:00:00Z")
    assert (counts.ignore_rules, counts.ignore_hits, counts.scans) == (2, 2, 1)
    assert store.ignore_hits(1) == [] and store.ignore_rules(1) == []
    assert len(store.ignore_hits(2)) == 2
    last = store.last_completed_scan()
    assert last is not None and last["id"] == 2  # not the failed (running) scan 3


def test_prune_removes_old_sent_and_failed_messages_never_pending(tmp_path: Path) -> None:
    from driftwatch.alerts import AlertItem, Digest, ScanFacts

    store = Store(tmp_path / "d.db")

    def digest(scan_id: int, fingerprint: str, event_id: int | None = None) -> Digest:
        event = event_id or scan_id
        item = AlertItem(fingerprint, event, "opened", "modified", "t", "r", "a", "r", "high")
        facts = ScanFacts(scan_id=scan_id, status="ok", finished_at="2026-01-01T00:00:00Z")
        return Digest("ops", facts, [item])

    sent, failed, pending, recent = store.enqueue([digest(n, f"fp{n}") for n in (1, 2, 3, 4)])
    store.mark_sent(sent)
    store.mark_failed(failed, "HTTP 404")
    store.mark_sent(recent)
    old = "2026-01-01T00:00:00Z"
    store.db.execute(
        "UPDATE outbox SET created_at = ?, sent_at = CASE WHEN sent_at IS NULL THEN NULL "
        "ELSE ? END WHERE id IN (?, ?, ?)",
        [old, old, sent, failed, pending],
    )
    store.db.conn.commit()
    counts = store.prune("2026-03-01T00:00:00Z", dry_run=True)
    assert (counts.outbox, counts.alert_items) == (2, 2)
    assert store.prune("2026-03-01T00:00:00Z") == counts
    assert sorted((m["id"], m["status"]) for m in store.messages()) == [
        (pending, "pending"),
        (recent, "sent"),
    ]
    items = store.db.execute("SELECT outbox_id FROM alert_items ORDER BY outbox_id").fetchall()
    assert [i[0] for i in items] == [pending, recent]
    # Even a cutoff in the future keeps the pending message and its dedup records.
    store.prune("2999-01-01T00:00:00Z")
    assert [(m["id"], m["status"]) for m in store.messages()] == [(pending, "pending")]
    assert store.db.execute("SELECT count(*) FROM alert_items").fetchone()[0] == 1
    # A later scan seeing the pending message's event: still not announced twice.
    assert store.enqueue([digest(9, "fp3", event_id=3)]) == []


def test_a_new_severity_reaches_an_unchanged_drift(tmp_path: Path) -> None:
    """[[severity]] rules can change between scans while the drift itself does not."""
    store = Store(tmp_path / "d.db")
    first = modified("a", "x")
    first.severity = "high"
    persist(store, [first], {SCOPE}, "2026-01-01T00:00:00Z")
    again = modified("a", "x")
    again.severity = "critical"
    plan = persist(store, [again], {SCOPE}, "2026-01-01T01:00:00Z")
    assert [d.transition for d in plan.found] == ["unchanged"]
    [row] = store.drifts()
    assert (row["severity"], row["last_seen"]) == ("critical", "2026-01-01T01:00:00Z")


# --- last_seen / last_scan_id in their side tables (migration m014) -------------------

T1, T2, T3 = "2026-01-01T00:00:00Z", "2026-01-01T01:00:00Z", "2026-01-01T02:00:00Z"


def count_updates(conn: sqlite3.Connection) -> None:
    """Count every UPDATE of a drift or resource row (a trigger fires even when the
    new values equal the old ones: it counts rewrites, not changes)."""
    conn.execute("CREATE TEMP TABLE rewrites (tbl TEXT)")
    for table in ("drifts", "resources"):
        conn.execute(
            f"CREATE TEMP TRIGGER count_{table} AFTER UPDATE ON main.{table} "
            f"BEGIN INSERT INTO rewrites VALUES ('{table}'); END"
        )


def rewrites(conn: sqlite3.Connection) -> list[str]:
    return [r[0] for r in conn.execute("SELECT tbl FROM rewrites ORDER BY tbl")]


def test_an_unchanged_scan_moves_last_seen_and_rewrites_no_record(tmp_path: Path) -> None:
    store = Store(tmp_path / "d.db")
    persist(store, [modified("a", "x"), in_sync("b")], {SCOPE}, T1)
    count_updates(store.conn)
    persist(store, [modified("a", "x"), in_sync("b")], {SCOPE}, T2)
    assert rewrites(store.conn) == []
    [drift] = store.drifts()
    assert (drift["first_seen"], drift["last_seen"], drift["last_scan_id"]) == (T1, T2, 2)
    res = {r["resource_id"]: r for r in store.resources()}
    assert [(res[k]["first_seen"], res[k]["last_seen"], res[k]["last_scan_id"]) for k in "ab"] == [
        (T1, T2, 2),
        (T1, T2, 2),
    ]


def test_a_moved_source_rewrites_only_that_record(tmp_path: Path) -> None:
    store = Store(tmp_path / "d.db")
    persist(store, [modified("a", "x"), modified("b", "x")], {SCOPE}, T1)
    count_updates(store.conn)
    moved = modified("b", "x")
    moved.source = "moved.yaml"
    plan = persist(store, [modified("a", "x"), moved], {SCOPE}, T2)
    assert [d.transition for d in plan.found] == ["unchanged", "unchanged"]
    assert rewrites(store.conn) == ["drifts", "resources"]  # b's drift and b's resource
    assert {d["resource_id"]: d["source"] for d in store.drifts()} == {
        "a": "m.yaml",
        "b": "moved.yaml",
    }


def test_a_resolved_drift_keeps_when_it_was_last_seen(tmp_path: Path) -> None:
    store = Store(tmp_path / "d.db")
    persist(store, [modified("a", "x")], {SCOPE}, T1)
    persist(store, [in_sync("a")], {SCOPE}, T2)
    [drift] = store.drifts()
    assert (drift["status"], drift["last_seen"], drift["last_scan_id"]) == ("resolved", T1, 2)
    assert drift["resolved_at"] == T2


def test_not_checked_moves_last_seen_and_keeps_the_last_read(tmp_path: Path) -> None:
    store = Store(tmp_path / "d.db")
    persist(store, [modified("a", "x")], {SCOPE}, T1)
    persist(store, [not_checked("a")], {SCOPE}, T2)
    [res] = store.resources()
    assert (res["kind"], res["live_id"], res["last_seen"]) == ("not_checked", "a", T2)
    assert res["snapshot"] == {"tags": {"team": "x"}}
    [drift] = store.drifts()
    assert (drift["status"], drift["last_seen"]) == ("open", T1)  # not found, not resolved


def test_many_resolved_drifts_found_again_reopen(tmp_path: Path) -> None:
    """Resolved records found again are probed by key, many at once."""
    store = Store(tmp_path / "d.db")
    n = 1203
    persist(store, [modified(f"r{i}", "x") for i in range(n)], {SCOPE}, T1)
    persist(store, [in_sync(f"r{i}") for i in range(n)], {SCOPE}, T2)
    plan = persist(store, [modified(f"r{i}", "x") for i in range(n)], {SCOPE}, T3)
    assert {d.transition for d in plan.found} == {"reopened"} and len(plan.found) == n
    rows = store.drifts()
    assert {(r["status"], r["first_seen"], r["last_seen"], r["last_scan_id"]) for r in rows} == {
        ("open", T1, T3, 3)  # reopened within the window: the original first_seen
    }


def test_seen_rows_go_with_their_records(tmp_path: Path) -> None:
    store = Store(tmp_path / "d.db")
    old = "2026-01-01T00:00:00Z"
    persist(store, [modified("gone", "x"), in_sync("fixed")], {SCOPE, OTHER}, old)
    persist(store, [modified("open", "x")], {SCOPE}, "2026-06-01T00:00:00Z",
            declared=frozenset({modified("open", "x").key}))  # fmt: skip
    counts = store.prune("2026-07-01T00:00:00Z")
    assert (counts.drifts, counts.resources) == (1, 2)
    conn = store.conn
    assert conn.execute("SELECT count(*) FROM drift_seen").fetchone()[0] == 1
    assert [r[0] for r in conn.execute("SELECT key FROM resource_seen")] == [
        "prod/us-east-1/aws_s3_bucket/open"
    ]


def test_the_migration_moves_last_seen_to_the_side_tables(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    db = Database(path)
    step = next(m.name for m in migrations.pending(db) if m.name.endswith("_seen_tables"))
    migrations.apply(db, stop_before=step)
    db.execute(
        "INSERT INTO drifts (fingerprint, account, region, type, resource_id, kind, status, "
        "first_seen, last_seen, last_scan_id) VALUES "
        "('fp1', 'prod', 'us-east-1', 'aws_s3_bucket', 'a', 'modified', 'open', ?, ?, 7)",
        [T1, T2],
    )
    db.execute(
        "INSERT INTO resources (key, account, region, type, resource_id, kind, first_seen, "
        "last_seen, last_scan_id) VALUES "
        "('prod/us-east-1/aws_s3_bucket/a', 'prod', 'us-east-1', 'aws_s3_bucket', 'a', "
        "'modified', ?, ?, 7)",
        [T1, T3],
    )
    db.conn.commit()
    db.close()
    store = Store(path)
    [drift] = store.drifts()
    [res] = store.resources()
    assert (drift["first_seen"], drift["last_seen"], drift["last_scan_id"]) == (T1, T2, 7)
    assert (res["first_seen"], res["last_seen"], res["last_scan_id"]) == (T1, T3, 7)
    for table in ("drifts", "resources"):
        columns = {c.name for c in store.db.table(table).columns}
        assert not columns & {"last_seen", "last_scan_id"}


def row(key: str, kind: str, digest: str | None, **kw: str | None) -> tuple[object, ...]:
    """A scan's resource row (see persist.Row)."""
    live_id = None if kind == NOT_CHECKED else key
    snapshot = None if kind == NOT_CHECKED else f"snap-{digest}"
    return (key, "prod", "us-east-1", "aws_s3_bucket", key, kind, kw.get("source", "m.yaml"),
            kw.get("reason"), live_id, digest, snapshot)  # fmt: skip


def test_plan_resources_writes_only_what_changed() -> None:
    stored = {
        "same": ("in_sync", "m.yaml", None, "same", "h1"),
        "content": ("in_sync", "m.yaml", None, "content", "h1"),
        "kind": ("in_sync", "m.yaml", None, "kind", "h1"),
        "unread": ("modified", "m.yaml", None, "unread", "h1"),
        "still-unread": ("not_checked", "m.yaml", "denied", "still-unread", "h1"),
    }
    plan = plan_resources(
        stored,
        [
            row("same", "in_sync", "h1"),
            row("content", "in_sync", "h2"),
            row("kind", "modified", "h1"),
            row("unread", NOT_CHECKED, None, reason="denied"),
            row("still-unread", NOT_CHECKED, None, reason="denied"),
            row("new", "unmanaged", "h3", source=None),
        ],
    )
    assert [r[0] for r in plan.new] == ["new"]
    assert plan.changed == [
        ("in_sync", "m.yaml", None, "content", "h2", "content"),
        ("modified", "m.yaml", None, "kind", "h1", "kind"),
        # not checked: the last live id and snapshot hash read stay
        ("not_checked", "m.yaml", "denied", "unread", "h1", "unread"),
    ]
    assert plan.snapshots == [
        ("content", "in_sync", "h2", "snap-h2"),
        ("kind", "modified", "h1", "snap-h1"),
        ("unread", NOT_CHECKED, None, None),  # the kind change only
        ("new", "unmanaged", "h3", "snap-h3"),
    ]
