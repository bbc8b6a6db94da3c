"""[[ignore]] rules end to end: `driftwatch scan` and `driftwatch ignored` as real processes
against the moto server, real Git repositories and a real SQLite file."""

from __future__ import annotations

from pathlib import Path

from support.env import Aws, ManifestRepo, scan, write_config

ONLY_S3 = '[scan]\ntypes = ["aws_s3_bucket"]\n'


def bucket(name: str, versioning: str = "Enabled") -> dict[str, object]:
    return {"type": "aws_s3_bucket", "id": name, "spec": {"versioning": versioning}}


def test_unknown_type_is_rejected_before_anything_is_read(
    aws: Aws, repo: ManifestRepo, tmp_path: Path
) -> None:
    repo.declare(bucket("logs"))
    extra = ONLY_S3 + '[[ignore]]\nkind = "unmanaged"\ntype = "aws_s3_buckets"\nid = "tmp-*"\n'
    run = scan(write_config(tmp_path, aws.url, repo.path, extra=extra))
    assert run.code == 1 and run.stdout == ""
    assert "[ignore[0].type]: unknown resource type 'aws_s3_buckets'; known: " in run.stderr
    assert "aws_s3_bucket, aws_security_group" in run.stderr
    glob = extra.replace("aws_s3_buckets", "aws_s4_*")
    run = scan(write_config(tmp_path, aws.url, repo.path, extra=glob))
    assert run.code == 1 and "[ignore[0].type]: 'aws_s4_*' matches no resource type" in run.stderr
    assert not (tmp_path / "state" / ".driftwatch" / "git").exists()  # nothing fetched
