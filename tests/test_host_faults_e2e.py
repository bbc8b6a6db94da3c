"""Faults on the host: kill -9 mid-scan, a full disk, a read-only database file."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

from flask.testing import FlaskClient
from support.env import Aws, ManifestRepo, Run, scan, write_config
from support.hostfs import fill, read_only, small_filesystem
from support.killscan import (
    CHECKS,
    MODES,
    SCAN_TYPES,
    Trial,
    alerting,
    build_world,
    checkpoint,
    integrity,
    normalise,
    run_trial,
)
from support.receiver import receiver
from support.web import PASSWORD, add_user, csrf_token, logged_in, seed, text, web_config

from driftwatch.store import Store
from driftwatch.web import create_app


def test_kill_9_at_random_points_loses_and_duplicates_nothing(aws: Aws, tmp_path: Path) -> None:
    with receiver() as rec:
        world = build_world(aws, tmp_path, rec.url)
        rng = random.Random(13)
        trials = [run_trial(world, n, rng, rec.requests, mode) for n, mode in enumerate(MODES)]
        # Until one kill lands inside the persist transaction (it lasts milliseconds on
        # a quiet machine): killed the moment the lock is seen, without the bench's jitter.
        while len(trials) < 12 and not any(t.phase == "in the write transaction" for t in trials):
            trials.append(run_trial(world, len(trials), rng, rec.requests, MODES[2], 0.0))
    for t in trials:
        assert set(t.passed) == set(CHECKS)
        assert t.ok, (t.mode, t.at_s, t.phase, t.detail)
    assert any(t.phase == "in the write transaction" for t in trials), [_where(t) for t in trials]


def _where(t: Trial) -> str:
    return f"{t.mode} at +{t.at_s}s: {t.phase}"


# --- a full disk, a read-only database file -------------------------------------------------


def tagged_buckets(aws: Aws, repo: ManifestRepo, tmp_path: Path, n: int = 30) -> Path:
    """`n` buckets declared with versioning (live: none, so each drifts) and a long tag."""
    s3 = aws.client("s3")
    spec = {"versioning": "Enabled", "tags": {"team": "t" * 200}}
    for i in range(n):
        s3.create_bucket(Bucket=f"b{i:02d}")
        tags = [{"Key": "team", "Value": "t" * 200}]
        s3.put_bucket_tagging(Bucket=f"b{i:02d}", Tagging={"TagSet": tags})
    repo.declare(*({"type": "aws_s3_bucket", "id": f"b{i:02d}", "spec": spec} for i in range(n)))
    return write_config(tmp_path, aws.url, repo.path, SCAN_TYPES + alerting("http://127.0.0.1:9/h"))


def one_line_error(run: Run) -> str:
    assert run.code == 1, run.stdout + run.stderr
    assert "Traceback" not in run.stderr and len(run.stderr.strip().splitlines()) == 1, run.stderr
    return run.stderr


def test_disk_full_fails_the_scan_clearly_keeps_the_last_results_and_alerts(
    aws: Aws, repo: ManifestRepo, tmp_path: Path
) -> None:
    cfg = tagged_buckets(aws, repo, tmp_path)
    with small_filesystem(tmp_path / "state") as fs:
        db = fs / "driftwatch.db"
        assert scan(cfg).code == 2
        before = normalise(db)
        for i in range(30):  # every drift resolves: a large transaction to write
            aws.client("s3").put_bucket_versioning(
                Bucket=f"b{i:02d}", VersioningConfiguration={"Status": "Enabled"}
            )
        # Room for the scan row, not for the scan's transaction.
        filler = fill(fs, 32 * 1024)
        err = one_line_error(scan(cfg))
        assert f"database {db}: the file system holding it is full" in err, err
        assert "earlier results are kept: free space there" in err
        filler.unlink()  # (a new connection needs room for its shared-memory file)
        assert normalise(db)["records"] == before["records"]
        store = Store(db)
        assert [s["status"] for s in store.scans()] == ["ok", "failed"]
        assert "the file system holding it is full" in str(store.scans()[-1]["error"])
        # The failed scan's alert was queued once the big transaction was rolled back.
        notices = [json.loads(m["payload"])["notice"] for m in store.messages()]
        assert [n["status"] for n in notices if n] == ["failed"], notices
        store.close()
        # No room at all: not even the scan row; the same clear line, nothing written.
        filler = fill(fs, 0)
        err = one_line_error(scan(cfg))
        assert "the file system holding it is full" in err, err
        filler.unlink()
        assert [s["status"] for s in Store(db).scans()] == ["ok", "failed"]
        assert integrity(db) == "ok"
        after = scan(cfg)
        assert after.code == 0 and after.doc["scan"]["status"] == "ok", after.stderr
        assert [d["status"] for d in Store(db).drifts()] == ["resolved"] * 30


def test_dashboard_on_a_full_disk_says_so_and_refuses_writes_with_503(
    tmp_path: Path,
) -> None:
    cfg = web_config(tmp_path)
    with small_filesystem(tmp_path / "state", "4m") as fs:
        seeded = seed(cfg)
        add_user(cfg, "olga", "operator")
        app = create_app(cfg, testing=True)
        client = logged_in(app, "olga")
        fill(fs, 0)  # while the dashboard runs
        assert_shows_storage_problem(client, seeded, "the file system holding it is full")


def test_dashboard_on_a_read_only_database_says_so_and_refuses_writes_with_503(
    tmp_path: Path,
) -> None:
    cfg = web_config(tmp_path)
    seeded = seed(cfg)
    add_user(cfg, "olga", "operator")
    # A session is a row: olga logged in before the file froze (another process).
    before = create_app(cfg, testing=True)
    cookie = logged_in(before, "olga").get_cookie("session")
    assert cookie is not None
    # Its connection closed: SQLite shares one file descriptor per file in a process,
    # so an open read-write one would let the next connection write too.
    before.extensions["driftwatch"].connection().close()
    checkpoint(cfg.storage.path)
    with read_only(cfg.storage.path):
        app = create_app(cfg, testing=True)
        client = app.test_client()
        client.set_cookie("session", cookie.value)
        assert_shows_storage_problem(client, seeded, "is read-only")
        # A new login cannot write its session: a 503 that says why, never a 500.
        fresh = app.test_client()
        token = csrf_token(fresh)
        resp = fresh.post(
            "/login", data={"username": "olga", "password": PASSWORD, "csrf_token": token}
        )
        assert resp.status_code == 503 and "is read-only" in text(resp), (
            resp.status_code,
            resp.headers.get("Location"),
            text(resp)[:1000],
        )


def assert_shows_storage_problem(client: FlaskClient, seeded: dict[str, Any], what: str) -> None:
    """The overview and the API name the problem; an action is a 503 saying it; reads work."""
    html = text(client.get("/"))
    assert "Scans cannot be stored: database " in html and what in html, html[:3000]
    summary = client.get("/api/v1/summary").get_json()
    assert any(what in w for w in summary["warnings"]), summary["warnings"]
    fp = seeded["fp"]["logs"]
    assert client.get(f"/drifts/{fp}").status_code == 200
    token = csrf_token(client, "/")
    resp = client.post(f"/drifts/{fp}/acknowledge", data={"reason": "x", "csrf_token": token})
    assert resp.status_code == 503, text(resp)[:2000]
    assert what in text(resp) and "Something went wrong" not in text(resp)
    api = client.post(
        f"/api/v1/drifts/{fp}/acknowledge",
        json={"reason": "x"},
        headers={"X-CSRFToken": token},
    )
    assert api.status_code == 503 and what in api.get_json()["error"]["message"], api.get_json()
