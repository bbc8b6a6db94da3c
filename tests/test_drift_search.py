"""The drift list's free text (`q=`): the trigram index answers what the old scan did."""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from support.web import SG, add_user, finding, logged_in, modified, now_iso, persist, web_config

from driftwatch.config import Config
from driftwatch.models import Kind
from driftwatch.store import Store, read
from driftwatch.store.migrations import migrations
from driftwatch.store.read import DriftQuery, drift_page
from driftwatch.web import create_app

IDS = [
    "res-00123",
    "RES-00124",
    "bucket-Ärger-01",
    "ärger-02",
    "100%_done",
    "100x_done",
    "100%xdone",
    "it's-a-bucket",
    'say-"hi"-bucket',
    "arn:aws:s3:::logs/2024/*",
    "vol AND or NOT",
    "日本語-バケット",
]
QUERIES = [
    "00123",
    "res",
    "RES-0012",
    "bucket",
    "ärg",  # SQLite's lower() folds ASCII only: Ä is not ä, as before the index
    "Ärger",
    "rger",
    "%",
    "%_",
    "0%_d",
    "_do",
    "'",
    "it's",
    '"hi"',
    '"',
    "::logs/",
    "*",
    "AND",
    " or ",
    "NOT",
    "NEAR(",
    "語-バ",
    "バケット",
    "e",
    "00",
    "no-such-id",
]


@pytest.fixture(params=["scan", "index"], autouse=True)
def path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Every case both ways: the budgeted scan, and the trigram index (budget spent at once)."""
    if request.param == "index":
        monkeypatch.setattr(read, "SCAN_BUDGET", -1.0)
        monkeypatch.setattr(read, "_TICK", 1)
    return str(request.param)


def ascii_lower(s: str) -> str:
    return "".join(c.lower() if c.isascii() else c for c in s)


def expected(q: str, ids: list[str] = IDS) -> set[str]:
    """What `q` matched before the index: a substring, ASCII case ignored."""
    return {rid for rid in ids if ascii_lower(q) in ascii_lower(rid)}


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Any:
    path = tmp_path_factory.mktemp("search") / "dw.db"
    store = Store(path)
    findings = [modified(rid) for rid in IDS]
    findings += [finding(Kind.MISSING, f"gone-res-{i}") for i in range(3)]
    findings.append(modified("res-sg-1", rtype=SG))
    persist(store, findings, now_iso(-dt.timedelta(hours=1)))
    yield store
    store.close()


def ids(store: Store, **kw: Any) -> list[str]:
    out: list[str] = []
    cursor = None
    while True:
        page = drift_page(store.conn, DriftQuery(cursor=cursor, **kw))
        out += [r["resource_id"] for r in page.rows]
        if not page.next:
            return out
        cursor = page.next


@pytest.mark.parametrize("q", QUERIES)
def test_free_text_matches_what_the_substring_scan_matched(store: Store, q: str) -> None:
    every = IDS + [f"gone-res-{i}" for i in range(3)] + ["res-sg-1"]
    assert set(ids(store, q=q)) == expected(q, every)


def test_free_text_combines_with_filters_and_keyset_pages(store: Store) -> None:
    got = ids(store, q="res", kind="modified", type=modified("x").type, limit=1,
              sort="resource", desc=False)
    assert got == ["RES-00124", "res-00123"]  # by type then id, one per page
    missing = ids(store, q="RES", kind="missing", limit=2)
    assert sorted(missing) == [f"gone-res-{i}" for i in range(3)] and len(set(missing)) == 3
    assert ids(store, q="res-sg", type=SG) == ["res-sg-1"]
    assert ids(store, q="res-sg", type=modified("x").type) == []
    assert ids(store, q="00123", status="resolved") == []


def test_search_plan_is_driven_by_the_trigram_index(store: Store, path: str) -> None:
    statements: list[str] = []
    store.conn.set_trace_callback(statements.append)
    drift_page(store.conn, DriftQuery(q="00123", status="all"))
    store.conn.set_trace_callback(None)
    indexed = [sql for sql in statements if "CROSS JOIN drifts" in sql]
    assert len(indexed) == (1 if path == "index" else 0)
    plan = store.conn.execute(
        f"EXPLAIN QUERY PLAN SELECT fingerprint FROM ({read._DRIFT_HITS}) "
        "CROSS JOIN drifts ON drifts.fingerprint = hit ORDER BY first_seen",
        ['"00123"'],
    ).fetchall()
    details = [row[-1] for row in plan]
    assert details[0].startswith("SCAN s VIRTUAL TABLE INDEX 0:M")  # the MATCH comes first
    assert any("SEARCH drifts USING INDEX sqlite_autoindex_drifts_1" in d for d in details)


def test_an_interrupt_that_is_not_the_budget_is_an_error(store: Store) -> None:
    def boom() -> read.Page:
        raise sqlite3.OperationalError("disk I/O error")

    with pytest.raises(Exception, match="disk I/O"):
        read._within(store.conn, 60.0, boom)


def search_rows(store: Store) -> set[tuple[str, str]]:
    return set(
        store.conn.execute(
            "SELECT k.fingerprint, s.resource_id FROM drift_search s "
            "JOIN drift_search_keys k ON k.id = s.rowid"
        ).fetchall()
    )


def drift_rows(store: Store) -> set[tuple[str, str]]:
    return set(store.conn.execute("SELECT fingerprint, resource_id FROM drifts").fetchall())


def test_triggers_keep_the_index_in_step_through_resolve_and_prune(tmp_path: Path) -> None:
    store = Store(tmp_path / "dw.db")
    persist(store, [modified("keep-me"), modified("drop-me")], now_iso(-dt.timedelta(days=40)))
    persist(store, [modified("keep-me")], now_iso(-dt.timedelta(days=39)))  # drop-me resolved
    assert len(search_rows(store)) == 2 and search_rows(store) == drift_rows(store)
    store.prune(now_iso(-dt.timedelta(days=30)))
    assert {rid for _, rid in search_rows(store)} == {"keep-me"}
    assert search_rows(store) == drift_rows(store)
    assert ids(store, q="drop", status="all") == []
    store.conn.execute("UPDATE drifts SET resource_id = 'renamed' WHERE resource_id = 'keep-me'")
    assert ids(store, q="renamed") == ["renamed"] and ids(store, q="keep") == []
    store.close()


def test_migration_indexes_drifts_stored_before_it(tmp_path: Path) -> None:
    path = tmp_path / "dw.db"
    old = Store(path, migrate=False)
    migrations.apply(old.db, stop_before="m017_drift_search")
    old.db.conn.commit()
    persist(old, [modified("older-res-1"), finding(Kind.MISSING, "older-res-2")], now_iso())
    assert "drift_search" not in old.db.table_names()
    old.close()
    store = Store(path)
    assert search_rows(store) == drift_rows(store) and len(drift_rows(store)) == 2
    assert set(ids(store, q="OLDER-RES")) == {"older-res-1", "older-res-2"}
    store.close()


def test_api_free_text_with_quotes_and_operators(tmp_path: Path) -> None:
    cfg: Config = web_config(tmp_path)
    store = Store(cfg.storage.path)
    persist(store, [modified(rid) for rid in IDS], now_iso())
    store.close()
    add_user(cfg, "vic", "viewer")
    client = logged_in(create_app(cfg, testing=True), "vic")
    for q in ('"hi"', "it's", "%_", "NEAR(", "*", "Ärger"):
        resp = client.get("/api/v1/drifts", query_string={"q": q})
        assert resp.status_code == 200
        assert {d["resource_id"] for d in resp.json["drifts"]} == expected(q)
