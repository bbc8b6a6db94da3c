"""Acknowledgements in the store, on real SQLite: events, audit rows, snoozes, a scan's
view of them, and retention."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from support.web import finding, modified, now_iso, persist

from driftwatch.lifecycle import ACKNOWLEDGED, OPEN, RESOLVED
from driftwatch.models import Kind
from driftwatch.store import ActionError, Actor, Store, read

OLGA = Actor("olga", "10.0.0.7")


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(tmp_path / "driftwatch.db")


def audit(store: Store) -> list[tuple[str, str, str | None]]:
    rows = store.db.execute("SELECT action, actor, ip FROM audit_log ORDER BY id").fetchall()
    return [tuple(r) for r in rows]


def test_acknowledge_writes_the_record_an_event_and_an_audit_row(store: Store) -> None:
    f = modified("logs")
    persist(store, [f], now_iso())
    store.acknowledge(f.fingerprint, OLGA, "known", "2999-01-01")
    d = store.drift(f.fingerprint)
    assert d is not None
    assert (d["status"], d["ack_by"], d["ack_reason"], d["ack_until"]) == (
        ACKNOWLEDGED,
        "olga",
        "known",
        "2999-01-01",
    )
    [*_, event] = store.events(f.fingerprint)
    assert (event["event"], event["actor"], event["scan_id"]) == ("acknowledged", "olga", None)
    assert audit(store) == [("acknowledge", "olga", "10.0.0.7")]
    store.unacknowledge(f.fingerprint, OLGA)
    assert store.drift(f.fingerprint)["status"] == OPEN  # type: ignore[index]
    assert [a[0] for a in audit(store)] == ["acknowledge", "unacknowledge"]


def test_actions_refuse_what_does_not_apply(store: Store) -> None:
    f = modified("logs")
    persist(store, [f], now_iso(-dt.timedelta(hours=1)))
    with pytest.raises(ActionError) as err:
        store.unacknowledge(f.fingerprint, OLGA)
    assert err.value.status == 409
    persist(store, [finding(Kind.IN_SYNC, "logs")], now_iso())
    assert store.drift(f.fingerprint)["status"] == RESOLVED  # type: ignore[index]
    with pytest.raises(ActionError):
        store.acknowledge(f.fingerprint, OLGA, "x")
    with pytest.raises(ActionError) as err:
        store.acknowledge("0" * 32, OLGA, "x")
    assert err.value.status == 404
    assert audit(store) == []


def test_an_acknowledged_drift_is_not_counted_open_and_survives_unchanged_scans(
    store: Store,
) -> None:
    a, b = modified("a"), finding(Kind.MISSING, "b")
    persist(store, [a, b], now_iso(-dt.timedelta(hours=2)))
    store.acknowledge(a.fingerprint, OLGA, "known")
    plan_scan = persist(store, [a, b], now_iso(-dt.timedelta(hours=1)))
    assert store.drift(a.fingerprint)["status"] == ACKNOWLEDGED  # type: ignore[index]
    s = read.summary(store.conn)
    assert (s.open, s.acknowledged, s.by_kind) == (1, 1, {"missing": 1})
    scan = read.scan(store.conn, plan_scan)
    assert scan is not None and (scan["open_drifts"], scan["acknowledged_drifts"]) == (1, 1)


def test_a_change_clears_the_acknowledgement(store: Store) -> None:
    persist(store, [modified("a", "x")], now_iso(-dt.timedelta(hours=1)))
    fp = modified("a").fingerprint
    store.acknowledge(fp, OLGA, "known", "2999-01-01")
    persist(store, [modified("a", "y")], now_iso())
    d = store.drift(fp)
    assert d is not None and (d["status"], d["ack_by"], d["ack_until"]) == (OPEN, None, None)
    assert store.events(fp)[-1]["reason"] == "changed while acknowledged: open again"


def test_a_snooze_ends_after_its_day_with_an_event(store: Store) -> None:
    f = modified("a")
    persist(store, [f], now_iso(-dt.timedelta(days=3)))
    yesterday = (dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1)).isoformat()
    today = dt.datetime.now(dt.UTC).date().isoformat()
    store.acknowledge(f.fingerprint, OLGA, "until yesterday", yesterday)
    g = modified("b")
    persist(store, [f, g], now_iso(-dt.timedelta(days=2)))
    store.acknowledge(g.fingerprint, OLGA, "through today", today)
    assert store.expire_snoozes() == 1
    assert store.drift(f.fingerprint)["status"] == OPEN  # type: ignore[index]
    assert store.drift(g.fingerprint)["status"] == ACKNOWLEDGED  # type: ignore[index]
    event = store.events(f.fingerprint)[-1]
    assert (event["event"], event["actor"]) == ("unacknowledged", "driftwatch")
    assert event["reason"] == f"acknowledged until {yesterday}: the snooze ended"
    assert store.expire_snoozes() == 0


def test_a_scan_ends_snoozes_in_its_own_transaction(store: Store) -> None:
    f = modified("a")
    persist(store, [f], now_iso(-dt.timedelta(days=3)))
    store.acknowledge(f.fingerprint, OLGA, "short", "2000-01-01")
    scan_id = persist(store, [f], now_iso())
    assert store.drift(f.fingerprint)["status"] == OPEN  # type: ignore[index]
    assert store.events(f.fingerprint)[-1]["scan_id"] == scan_id


def test_prune_keeps_acknowledged_drifts_and_the_audit_log(store: Store) -> None:
    f = modified("a")
    persist(store, [f], "2020-01-01T00:00:00Z")
    store.acknowledge(f.fingerprint, OLGA, "old but still there")
    store.prune("2030-01-01T00:00:00Z")
    assert store.drift(f.fingerprint)["status"] == ACKNOWLEDGED  # type: ignore[index]
    assert len(audit(store)) == 1


def test_keyset_pages_cover_every_row_once_in_order(store: Store) -> None:
    findings = [modified(f"r{i:03d}") for i in range(23)]
    persist(store, findings, now_iso())
    for sort in read.DRIFT_SORTS:
        for desc in (True, False):
            seen, cursor = [], None
            while True:
                page = read.drift_page(
                    store.conn, read.DriftQuery(sort=sort, desc=desc, limit=5, cursor=cursor)
                )
                seen += [r["resource_id"] for r in page.rows]
                cursor = page.next
                if cursor is None:
                    break
            assert sorted(seen) == sorted(f.id for f in findings), (sort, desc)
            assert len(seen) == len(set(seen))
            if sort == "resource":
                assert seen == sorted(seen, reverse=desc)


def test_cli_drifts_lists_acknowledged_ones_with_who_and_why(tmp_path: Path) -> None:
    from support.env import run_cli

    cfg = tmp_path / "driftwatch.toml"
    cfg.write_text(f'[git]\nurl = "{tmp_path}"\n[storage]\npath = "driftwatch.db"\n')
    store = Store(tmp_path / "driftwatch.db")
    a, b = modified("a"), finding(Kind.MISSING, "b")
    persist(store, [a, b], now_iso())
    store.acknowledge(a.fingerprint, OLGA, "vendor rollout", "2999-01-01")
    store.close()
    only = run_cli("drifts", "--status", "acknowledged", "--config", str(cfg))
    assert only.code == 0, only.stderr
    assert "acknowledged by olga until 2999-01-01: vendor rollout" in only.stdout
    assert " b " not in only.stdout
    every = run_cli("drifts", "--config", str(cfg), "--format", "json")
    assert {d["id"]: d["status"] for d in every.doc["drifts"]} == {"a": ACKNOWLEDGED, "b": OPEN}
    assert [d["ack_by"] for d in every.doc["drifts"] if d["id"] == "a"] == ["olga"]
