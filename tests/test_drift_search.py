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


@pytest.fixture(params=["rare", "scan", "fallback", "phrase"], autouse=True)
def path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Every case four ways: the index asked for the rarest trigrams (every trigram is
    rare in this small store); with no trigram rare enough, the budgeted scan, and the
    index the scan falls back to (budget spent at once), asked for the rarest trigrams or,
    when none narrows, for the whole phrase."""
    if request.param != "rare":
        monkeypatch.setattr(read, "COMMON", 0)
    if request.param in ("fallback", "phrase"):
        monkeypatch.setattr(read, "SCAN_BUDGET", -1.0)
        monkeypatch.setattr(read, "_TICK", 1)
    if request.param == "phrase":
        monkeypatch.setattr(read, "NARROWS", 0)
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
    assert len(indexed) == (0 if path == "scan" else 1)
    plan = store.conn.execute(
        f"EXPLAIN QUERY PLAN SELECT fingerprint FROM ({read._DRIFT_HITS}) "
        "CROSS JOIN drifts ON drifts.fingerprint = hit ORDER BY first_seen",
        ['"00123"', "00123"],
    ).fetchall()
    details = [row[-1] for row in plan]
    assert details[0].startswith("SCAN s VIRTUAL TABLE INDEX 0:M")  # the MATCH comes first
    assert any("SEARCH drifts USING INDEX sqlite_autoindex_drifts_1" in d for d in details)


def test_the_index_is_asked_for_the_rarest_trigrams(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(read, "NARROWS", 3)  # "res" is in 6 ids (any case): no help
    # 123 is in one id; -00, 001, 012 and s-0 in two (res-00123, RES-00124).
    grams = [(1, "123"), (2, "-00"), (2, "001")]
    assert read.narrowing_trigrams(store.conn, "res-00123") == grams
    assert read.narrowing_trigrams(store.conn, "RES") == []
    assert read.narrowing_trigrams(store.conn, "zzz") == [(0, "zzz")]  # no id: no row
    assert ids(store, q="res-00123") == ["res-00123"]


def test_a_stale_trigram_count_changes_no_row(tmp_path: Path) -> None:
    """Counts are kept a while (the next search asks none again); a stale one only
    chooses the path: the rows are still what the store holds now."""
    store = Store(tmp_path / "dw.db")
    persist(store, [modified("zeta-1")], now_iso(-dt.timedelta(hours=2)))
    statements: list[str] = []
    store.conn.set_trace_callback(statements.append)
    assert ids(store, q="zeta") == ["zeta-1"]
    counts = "SELECT count(*) FROM (SELECT rowid FROM drift_search"
    assert len([sql for sql in statements if counts in sql]) == 2  # "zet", "eta"
    persist(store, [modified("zeta-1"), modified("zeta-2")], now_iso(-dt.timedelta(hours=1)))
    statements.clear()
    assert set(ids(store, q="zeta")) == {"zeta-1", "zeta-2"}
    assert not [sql for sql in statements if counts in sql]
    store.conn.set_trace_callback(None)
    store.close()


def test_an_interrupt_that_is_not_the_budget_is_an_error(store: Store) -> None:
    def boom() -> read.Page:
        raise sqlite3.OperationalError("disk I/O error")

    with pytest.raises(Exception, match="disk I/O"):
        read._within(store.conn, 60.0, boom)


def search_rows(store: Store) -> set[tuple[str, str]]:
    """(fingerprint, id) as the index holds them; the key table's copy of the id must agree."""
    rows = store.conn.execute(
        "SELECT k.fingerprint, s.resource_id, k.resource_id FROM drift_search s "
        "JOIN drift_search_keys k ON k.id = s.rowid"
    ).fetchall()
    assert all(indexed == kept for _, indexed, kept in rows), rows
    return {(fingerprint, indexed) for fingerprint, indexed, _ in rows}


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


@pytest.mark.parametrize("stop_before", ["m017_drift_search", "m018_drift_search_ids"])
def test_migration_indexes_drifts_stored_before_it(tmp_path: Path, stop_before: str) -> None:
    path = tmp_path / "dw.db"
    old = Store(path, migrate=False)
    migrations.apply(old.db, stop_before=stop_before)
    old.db.conn.commit()
    persist(old, [modified("older-res-1"), finding(Kind.MISSING, "older-res-2")], now_iso())
    if stop_before == "m017_drift_search":
        assert "drift_search" not in old.db.table_names()
    else:  # indexed, by the triggers without the key table's copy of the id
        assert old.conn.execute("SELECT count(*) FROM drift_search").fetchone() == (2,)
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
