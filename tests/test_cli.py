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


def test_the_same_error_in_many_scopes_is_one_line(
    tmp_path: Path, repo: ManifestRepo, monkeypatch
) -> None:
    repo.declare({"type": "aws_s3_bucket", "id": "bkt", "spec": {}})
    for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE"):
        monkeypatch.delenv(k, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    cfg = write_config(
        tmp_path,
        "http://127.0.0.1:9",
        repo.path,
        extra='[scan]\ntypes = ["aws_s3_bucket", "aws_iam_role"]\n',
    )
    run = run_cli("scan", "--config", str(cfg))
    assert run.code == 1  # nothing could be checked
    lines = [ln for ln in run.stdout.splitlines() if ln.startswith("scope error")]
    assert len(lines) == 1 and "NoCredentials" in lines[0]
    assert "default/global/aws_iam_role" in lines[0] and "aws_s3_bucket" in lines[0]


def test_aws_endpoint_url_from_the_environment_is_honoured(
    aws: Aws, repo: ManifestRepo, tmp_path: Path
) -> None:
    """docs/configuration.md: with `aws.endpoint_url` empty, boto3's AWS_ENDPOINT_URL applies."""
    aws.client("s3").create_bucket(Bucket="logs")
    aws.client("iam").create_role(RoleName="app", AssumeRolePolicyDocument="{}")
    repo.declare(
        {"type": "aws_s3_bucket", "id": "logs", "spec": {"versioning": "Enabled"}},
        {"type": "aws_iam_role", "id": "app", "spec": {}},
    )
    cfg = write_config(tmp_path, "", repo.path, extra="[scan]\nunmanaged = false\n")
    cfg.write_text(cfg.read_text().replace('endpoint_url = ""', ""))
    run = run_cli(
        "scan", "--config", str(cfg), "--format", "json", env={"AWS_ENDPOINT_URL": aws.url}
    )
    assert run.code == 2, run.stderr  # found in moto: versioning drifts, the role is in sync
    assert run.doc["summary"]["modified"] == 1 and run.doc["summary"]["in_sync"] == 1
