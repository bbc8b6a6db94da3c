"""aws_db_instance end to end: the `driftwatch scan` process against the moto server."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from support import seed_rds
from support.env import Aws, ManifestRepo, scan, write_config
from support.seed_rds import MASTER_USER, PASSWORD

TYPE = "aws_db_instance"
ONLY_RDS = f'[scan]\ntypes = ["{TYPE}"]\n'
NO_UNMANAGED = "[scan]\nunmanaged = false\n"


def test_in_sync_when_declared_differently(aws: Aws, repo: ManifestRepo, tmp_path: Path) -> None:
    declared, _ = seed_rds.instance(aws, "orders-db")
    repo.declare({"type": TYPE, "id": "orders-db", "spec": declared})
    run = scan(write_config(tmp_path, aws.url, repo.path, extra=ONLY_RDS))
    assert run.code == 0, run.stderr + run.stdout
    assert run.doc["summary"]["in_sync"] == 1
    assert run.doc["drifts"] == []


def test_every_attribute_drifting(aws: Aws, repo: ManifestRepo, tmp_path: Path) -> None:
    _, drifted = seed_rds.instance(aws, "orders-db")
    repo.declare({"type": TYPE, "id": "orders-db", "spec": drifted})
    run = scan(write_config(tmp_path, aws.url, repo.path, extra=NO_UNMANAGED))
    assert run.code == 2, run.stderr
    drift = run.drift(TYPE, "orders-db")
    assert drift["kind"] == "modified"
    changed = {c["path"].split(".")[0].split("[")[0] for c in drift["changes"]}
    assert changed == set(drifted), drift["changes"]
    for change in drift["changes"]:
        assert change["declared"] != change["live"], change


def test_engine_version_prefix_rule(aws: Aws, repo: ManifestRepo, tmp_path: Path) -> None:
    # Every instance runs postgres 15.4; a declared prefix must end at a dot.
    cases = {"15.4": False, "15": False, "1": True, "15.40": True, "14": True}
    ids = {version: f"db-{i}" for i, version in enumerate(cases)}
    for rid in ids.values():
        seed_rds.instance(aws, rid)
    repo.declare(
        *({"type": TYPE, "id": rid, "spec": {"engine_version": v}} for v, rid in ids.items())
    )
    run = scan(write_config(tmp_path, aws.url, repo.path, extra=NO_UNMANAGED))
    assert run.code == 2, run.stderr
    drifted = {d["id"]: d["changes"] for d in run.findings("modified")}
    assert set(drifted) == {ids[v] for v, drifts in cases.items() if drifts}
    assert drifted[ids["1"]] == [{"path": "engine_version", "declared": "1", "live": "15.4"}]
    assert run.doc["summary"]["in_sync"] == 2


def test_missing_and_unmanaged(aws: Aws, repo: ManifestRepo, tmp_path: Path) -> None:
    for name in ("kept", "stray-1"):
        seed_rds.bare_instance(aws, name)
    seed_rds.bare_instance(aws, "elsewhere", region="eu-west-1")
    rds = aws.client("rds")
    rds.create_db_cluster(
        DBClusterIdentifier="aurora",
        Engine="aurora-postgresql",
        MasterUsername=MASTER_USER,
        MasterUserPassword=PASSWORD,
    )
    rds.create_db_instance(
        DBInstanceIdentifier="aurora-1",
        DBClusterIdentifier="aurora",
        DBInstanceClass="db.r6g.large",
        Engine="aurora-postgresql",
    )
    repo.declare(
        {"type": TYPE, "id": "KEPT", "spec": {"engine": "mysql"}},  # identifiers ignore case
        {"type": TYPE, "id": "deleted-db", "spec": {"tags": {}}},
    )
    run = scan(write_config(tmp_path, aws.url, repo.path, extra=ONLY_RDS))
    assert run.code == 2, run.stderr
    assert {d["id"] for d in run.findings("missing")} == {"deleted-db"}
    # aurora-1 belongs to a cluster (aws_rds_cluster_instance); eu-west-1 is not watched.
    assert {d["id"] for d in run.findings("unmanaged")} == {"stray-1"}
    assert run.doc["summary"]["in_sync"] == 1


def _stored_text(db: Path) -> str:
    con = sqlite3.connect(db)
    try:
        tables = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        return "\n".join(
            str(v) for t in tables for row in con.execute(f'SELECT * FROM "{t}"') for v in row
        )
    finally:
        con.close()


def test_no_secret_is_stored_or_shown(aws: Aws, repo: ManifestRepo, tmp_path: Path) -> None:
    declared, _ = seed_rds.instance(aws, "orders-db")
    seed_rds.bare_instance(aws, "stray")
    repo.declare({"type": TYPE, "id": "orders-db", "spec": {**declared, "engine_version": "14"}})
    cfg = write_config(tmp_path, aws.url, repo.path, extra=ONLY_RDS)
    run = scan(cfg)
    assert run.code == 2, run.stderr
    db = tmp_path / "state" / "driftwatch.db"
    con = sqlite3.connect(db)
    snapshots = dict(
        con.execute(
            "SELECT r.resource_id, s.snapshot FROM resources r JOIN snapshots s ON s.key = r.key"
        ).fetchall()
    )
    con.close()
    # Unmanaged: listing facts only; declared: exactly the declared attributes.
    assert json.loads(snapshots["stray"]) == {
        "id": "stray",
        "engine": "mysql",
        "instance_class": "db.t3.micro",
    }
    assert set(json.loads(snapshots["orders-db"])) == set(declared)
    raw = b"".join(p.read_bytes() for p in db.parent.iterdir() if p.name.startswith(db.name))
    for secret in (PASSWORD, MASTER_USER, ".rds.amazonaws.com"):
        assert secret not in run.stdout + run.stderr
        assert secret not in _stored_text(db)
        assert secret.encode() not in raw


def test_password_is_not_an_attribute(aws: Aws, repo: ManifestRepo, tmp_path: Path) -> None:
    seed_rds.bare_instance(aws, "app-db")
    for key in ("password", "master_password"):
        repo.declare({"type": TYPE, "id": "app-db", "spec": {"engine": "mysql", key: PASSWORD}})
        run = scan(write_config(tmp_path, aws.url, repo.path, extra=ONLY_RDS), "--no-store")
        assert run.code == 1, run.stdout + run.stderr
        assert f"{TYPE} has no attribute {key!r}" in run.stderr
        assert PASSWORD not in run.stdout + run.stderr


def test_every_attribute_comes_from_the_listing(
    aws: Aws, repo: ManifestRepo, tmp_path: Path
) -> None:
    declared, _ = seed_rds.instance(aws, "orders-db")
    cfg = write_config(tmp_path, aws.url, repo.path, extra=NO_UNMANAGED)
    for spec in ({"tags": declared["tags"]}, declared):
        repo.declare({"type": TYPE, "id": "orders-db", "spec": spec})
        run = scan(cfg, "--no-store")
        assert run.code == 0, run.stdout + run.stderr
        assert run.doc["scan"]["api_calls"] == 1, spec  # DescribeDBInstances only
