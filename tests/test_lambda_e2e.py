"""aws_lambda_function end to end: the `driftwatch scan` process against the moto server."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from support import seed_lambda
from support.env import Aws, ManifestRepo, assert_api_calls, run_cli, scan, write_config
from support.seed_lambda import OTHER_SECRET, SECRET, STAGE

TYPE = "aws_lambda_function"
ONLY_LAMBDA = f'[scan]\ntypes = ["{TYPE}"]\n'
NO_UNMANAGED = "[scan]\nunmanaged = false\n"


def test_in_sync_when_declared_differently(aws: Aws, repo: ManifestRepo, tmp_path: Path) -> None:
    declared, _ = seed_lambda.function(aws, "api")
    repo.declare({"type": TYPE, "id": "api", "spec": declared})
    run = scan(write_config(tmp_path, aws.url, repo.path, extra=ONLY_LAMBDA))
    assert run.code == 0, run.stderr + run.stdout
    assert run.doc["summary"]["in_sync"] == 1
    assert run.doc["drifts"] == []


def test_every_attribute_drifting(aws: Aws, repo: ManifestRepo, tmp_path: Path) -> None:
    _, drifted = seed_lambda.function(aws, "api")
    repo.declare({"type": TYPE, "id": "api", "spec": drifted})
    run = scan(write_config(tmp_path, aws.url, repo.path, extra=NO_UNMANAGED))
    assert run.code == 2, run.stderr
    drift = run.drift(TYPE, "api")
    assert drift["kind"] == "modified"
    changed = {c["path"].split(".")[0].split("[")[0] for c in drift["changes"]}
    assert changed == set(drifted), drift["changes"]
    for change in drift["changes"]:
        assert change["declared"] != change["live"], change
    layers = next(c for c in drift["changes"] if c["path"] == "layers")
    assert layers["declared"] == list(reversed(layers["live"]))


def _text_in_db(db: Path) -> list[str]:
    """Every text value of every column of every table in the SQLite file."""
    con = sqlite3.connect(db)
    try:
        tables = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        assert {"scans", "resources", "drifts"} <= set(tables)
        values = []
        for table in tables:
            for row in con.execute(f'SELECT * FROM "{table}"'):
                values += [v for v in row if isinstance(v, str)]
        return values
    finally:
        con.close()


def test_environment_values_are_never_stored_or_shown(
    aws: Aws, repo: ManifestRepo, tmp_path: Path
) -> None:
    declared, _ = seed_lambda.function(aws, "api")
    role_arn = declared["role"]
    aws.client("lambda").update_function_configuration(
        FunctionName="api",
        Environment={"Variables": {"DB_PASSWORD": OTHER_SECRET, "PORT": "8080", "OLD": SECRET}},
    )
    seed_lambda.bare_function(aws, "stray", role_arn)
    aws.client("lambda").update_function_configuration(
        FunctionName="stray", Environment={"Variables": {"TOKEN": SECRET}}
    )
    # Declared: DB_PASSWORD differs, STAGE is declared but gone live, OLD is extra live.
    repo.declare({"type": TYPE, "id": "api", "spec": declared})
    cfg = write_config(tmp_path, aws.url, repo.path, extra=ONLY_LAMBDA)
    run = scan(cfg)
    assert run.code == 2, run.stderr
    assert run.drift(TYPE, "api")["changes"] == [
        {"path": "environment.DB_PASSWORD", "declared": "(hidden)", "live": "(hidden: differs)"},
        {"path": "environment.OLD", "declared": None, "live": "(hidden)"},
        {"path": "environment.STAGE", "declared": "(hidden)", "live": None},
    ]
    assert run.drift(TYPE, "stray")["kind"] == "unmanaged"
    table = run_cli("scan", "--config", str(cfg), "--format", "table")
    assert table.code == 2, table.stderr
    assert "environment.DB_PASSWORD" in table.stdout
    db = tmp_path / "state" / "driftwatch.db"
    stored = _text_in_db(db)
    assert any("environment" in v for v in stored)  # the findings are there, values are not
    raw = b"".join(p.read_bytes() for p in db.parent.iterdir() if p.name.startswith(db.name))
    for value in (SECRET, OTHER_SECRET, STAGE):
        for text in (run.stdout, run.stderr, table.stdout, table.stderr):
            assert value not in text
        assert not [v for v in stored if value in v]
        assert value.encode() not in raw


def test_missing_and_unmanaged(aws: Aws, repo: ManifestRepo, tmp_path: Path) -> None:
    role_arn = seed_lambda.execution_role(aws, "exec")
    for name in ("kept", "stray-1", "stray-2"):
        seed_lambda.bare_function(aws, name, role_arn)
    repo.declare(
        {"type": TYPE, "id": "kept", "spec": {"memory_size": 128, "timeout": 3}},
        {"type": TYPE, "id": "deleted-fn", "spec": {}},
    )
    run = scan(write_config(tmp_path, aws.url, repo.path, extra=ONLY_LAMBDA))
    assert run.code == 2, run.stderr
    assert {d["id"] for d in run.findings("missing")} == {"deleted-fn"}
    assert {d["id"] for d in run.findings("unmanaged")} == {"stray-1", "stray-2"}
    assert run.doc["summary"]["in_sync"] == 1


def test_unconfigured_function_has_aws_defaults(
    aws: Aws, repo: ManifestRepo, tmp_path: Path
) -> None:
    role_arn = seed_lambda.execution_role(aws, "exec")
    seed_lambda.bare_function(aws, "bare", role_arn)
    spec = {"memory_size": 128, "timeout": 3, "environment": {}, "layers": [], "tags": {}}
    repo.declare({"type": TYPE, "id": "bare", "spec": spec})
    run = scan(write_config(tmp_path, aws.url, repo.path, extra=NO_UNMANAGED))
    assert run.code == 0, run.stdout + run.stderr


def test_api_calls_follow_declared_attributes(aws: Aws, repo: ManifestRepo, tmp_path: Path) -> None:
    declared, _ = seed_lambda.function(aws, "api")
    cfg = write_config(tmp_path, aws.url, repo.path, extra=NO_UNMANAGED)
    # ListFunctions feeds everything but tags (environment included); tags: one ListTags.
    assert_api_calls(
        repo,
        cfg,
        TYPE,
        "api",
        (
            ({"tags": declared["tags"]}, 2),
            ({k: v for k, v in declared.items() if k != "tags"}, 1),
            (declared, 2),
        ),
    )
