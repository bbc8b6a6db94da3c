"""The human-facing CLI: `types`, the default report, progress off when not a terminal."""

from __future__ import annotations

from pathlib import Path

from support import seed
from support.env import Aws, ManifestRepo, run_cli, write_config

import driftwatch.collectors  # noqa: F401
from driftwatch.registry import collectors


def test_types_lists_every_type_and_attribute() -> None:
    run = run_cli("types")
    assert run.code == 0
    for name, cls in collectors:
        assert name in run.stdout
        for attr in cls.attributes:
            assert attr in run.stdout


def test_report_groups_by_kind_and_shows_declared_to_live(
    aws: Aws, repo: ManifestRepo, tmp_path: Path
) -> None:
    declared, _ = seed.bucket(aws, "acme-logs")
    aws.client("s3").create_bucket(Bucket="stray")
    repo.declare(
        {
            "type": "aws_s3_bucket",
            "id": "acme-logs",
            "spec": {**declared, "tags": {"team": "<script>x</script>", "cost": "42"}},
        },
        {"type": "aws_s3_bucket", "id": "gone", "spec": {}},
    )
    cfg = write_config(tmp_path, aws.url, repo.path, extra='[scan]\ntypes = ["aws_s3_bucket"]\n')
    run = run_cli("scan", "--config", str(cfg))
    assert run.code == 2
    out = run.stdout
    assert out.index("Modified (1)") < out.index("Missing") < out.index("Unmanaged")
    assert "tags.team: <script>x</script> → platform" in out
    assert "- aws_s3_bucket gone" in out and "+ aws_s3_bucket stray" in out
    assert "1 modified, 1 missing, 1 unmanaged" in out
    assert run.stderr == ""  # no progress bar when stderr is not a terminal


def test_no_store_writes_nothing(aws: Aws, repo: ManifestRepo, tmp_path: Path) -> None:
    aws.client("s3").create_bucket(Bucket="bkt")
    repo.declare({"type": "aws_s3_bucket", "id": "bkt", "spec": {}})
    cfg = write_config(tmp_path, aws.url, repo.path)
    run = run_cli("scan", "--config", str(cfg), "--no-store", "--format", "json")
    assert run.code == 0, run.stderr
    assert not (tmp_path / "state" / "driftwatch.db").exists()


def test_demo_runs_end_to_end(tmp_path: Path) -> None:
    run = run_cli("demo", "--workdir", str(tmp_path / "demo"))
    assert run.code == 0, run.stderr
    assert "3 modified, 0 missing, 1 unmanaged" in run.stdout
    assert (tmp_path / "demo" / "driftwatch.db").exists()
