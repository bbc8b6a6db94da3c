"""aws_dynamodb_table end to end: the `driftwatch scan` process against the moto server."""

from __future__ import annotations

from pathlib import Path

from support import seed_dynamodb
from support.env import Aws, ManifestRepo, scan, write_config

TYPE = "aws_dynamodb_table"
ONLY_DYNAMODB = f'[scan]\ntypes = ["{TYPE}"]\n'
NO_UNMANAGED = "[scan]\nunmanaged = false\n"


def test_in_sync_when_declared_differently(aws: Aws, repo: ManifestRepo, tmp_path: Path) -> None:
    declared, _ = seed_dynamodb.table(aws, "orders")
    repo.declare({"type": TYPE, "id": "orders", "spec": declared})
    run = scan(write_config(tmp_path, aws.url, repo.path, extra=ONLY_DYNAMODB))
    assert run.code == 0, run.stderr + run.stdout
    assert run.doc["summary"]["in_sync"] == 1
    assert run.doc["drifts"] == []


def test_every_attribute_drifting(aws: Aws, repo: ManifestRepo, tmp_path: Path) -> None:
    _, drifted = seed_dynamodb.table(aws, "orders")
    repo.declare({"type": TYPE, "id": "orders", "spec": drifted})
    run = scan(write_config(tmp_path, aws.url, repo.path, extra=NO_UNMANAGED))
    assert run.code == 2, run.stderr
    drift = run.drift(TYPE, "orders")
    assert drift["kind"] == "modified"
    changed = {c["path"].split(".")[0].split("[")[0] for c in drift["changes"]}
    assert changed == set(drifted), drift["changes"]
    for change in drift["changes"]:
        assert change["declared"] != change["live"], change
    # `attribute` is keyed by name, so only the attribute whose type changed is reported.
    assert {"path": "attribute.sk", "declared": "S", "live": "N"} in drift["changes"]


def test_missing_and_unmanaged(aws: Aws, repo: ManifestRepo, tmp_path: Path) -> None:
    for name in ("kept", "stray-1", "stray-2"):
        seed_dynamodb.bare_table(aws, name)
    seed_dynamodb.bare_table(aws, "elsewhere", region="eu-west-1")
    repo.declare(
        {"type": TYPE, "id": "kept", "spec": {"hash_key": "id"}},
        {"type": TYPE, "id": "deleted-table", "spec": {"tags": {}}},
    )
    run = scan(write_config(tmp_path, aws.url, repo.path, extra=ONLY_DYNAMODB))
    assert run.code == 2, run.stderr
    assert {d["id"] for d in run.findings("missing")} == {"deleted-table"}
    unmanaged = run.findings("unmanaged")
    assert {d["id"] for d in unmanaged} == {"stray-1", "stray-2"}  # eu-west-1 is not watched
    assert all(d["type"] == TYPE for d in unmanaged)
    assert run.doc["summary"]["in_sync"] == 1


def test_unconfigured_table_reads_as_defaults(aws: Aws, repo: ManifestRepo, tmp_path: Path) -> None:
    seed_dynamodb.bare_table(aws, "bare")
    spec = {
        "billing_mode": "PAY_PER_REQUEST",
        "hash_key": "id",
        "range_key": None,
        "attribute": [{"name": "id", "type": "S"}],
        "read_capacity": 0,
        "write_capacity": 0,
        "point_in_time_recovery": False,
        "stream_enabled": False,
        "tags": {},
    }
    repo.declare({"type": TYPE, "id": "bare", "spec": spec})
    run = scan(write_config(tmp_path, aws.url, repo.path, extra=NO_UNMANAGED))
    assert run.code == 0, run.stdout + run.stderr


def test_api_calls_follow_declared_attributes(aws: Aws, repo: ManifestRepo, tmp_path: Path) -> None:
    declared, _ = seed_dynamodb.table(aws, "orders")
    seed_dynamodb.table(aws, "events")
    cfg = write_config(tmp_path, aws.url, repo.path, extra=NO_UNMANAGED)
    describe = {k: declared[k] for k in ("billing_mode", "hash_key", "attribute")}
    pitr = {"point_in_time_recovery": True}
    tags = {"tags": declared["tags"]}
    # One ListTables, then only the calls behind the declared attributes. Tags need the
    # table ARN: one DescribeTable per scope learns it, then one ListTagsOfResource a table.
    for specs, calls in (
        ([describe], 1 + 1),
        ([pitr], 1 + 1),
        ([tags], 1 + 1 + 1),
        ([tags, tags], 1 + 1 + 2),
        ([declared], 1 + 1 + 1 + 2),
    ):
        repo.declare(
            *(
                {"type": TYPE, "id": n, "spec": s}
                for n, s in zip(("orders", "events"), specs, strict=False)
            )
        )
        run = scan(cfg, "--no-store")
        assert run.code == 0, run.stdout + run.stderr
        assert run.doc["scan"]["api_calls"] == calls, specs
