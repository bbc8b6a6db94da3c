"""`driftwatch check` against the moto server, a real Git repository and an injecting proxy."""

from __future__ import annotations

import json
from pathlib import Path

from support import seed
from support import tfstate as tf
from support.env import Aws, ManifestRepo, run_cli, write_config
from support.faultproxy import Fault, FaultProxy

OTHER_ROLE = "arn:aws:iam::222222222222:role/driftwatch-read"


def lines(text: str, status: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith(status)]


def declare_bucket(aws: Aws, repo: ManifestRepo) -> None:
    seed.bucket(aws, "acme-logs")
    repo.declare({"type": "aws_s3_bucket", "id": "acme-logs", "spec": {"versioning": "Enabled"}})


def test_all_ok(aws: Aws, repo: ManifestRepo, tmp_path: Path) -> None:
    declare_bucket(aws, repo)
    accounts = f"""
    [[aws.accounts]]
    name = "main"
    [[aws.accounts]]
    name = "other"
    role_arn = "{OTHER_ROLE}"
    """
    cfg = write_config(tmp_path, aws.url, repo.path, aws_extra=accounts)
    run = run_cli("check", "--config", str(cfg))
    assert run.code == 0, run.stdout + run.stderr
    ok = lines(run.stdout, "OK")
    checked = [line.split()[1] for line in ok]
    assert checked == ["config", "storage", "git", "manifests", "aws", "aws"], run.stdout
    assert not lines(run.stdout, "FAIL")
    assert "1 resource(s) of 1 type(s), valid" in run.stdout
    assert "arn:aws:sts::123456789012:user/moto (account 123456789012)" in run.stdout
    assert "assumed-role/driftwatch-read/driftwatch (account 222222222222)" in run.stdout
    assert "driftwatch check --iam-policy" in run.stdout


def test_bad_config_is_one_failure_naming_the_key(tmp_path: Path) -> None:
    cfg = tmp_path / "driftwatch.toml"
    cfg.write_text('[git]\nurl = "x"\n[aws]\nmax_concurrency = 0\n')
    run = run_cli("check", "--config", str(cfg))
    assert run.code == 1
    [fail] = lines(run.stdout, "FAIL")
    assert "config" in fail and "[aws.max_concurrency]: must be an integer from 1 to 256" in fail
    assert "fix: see docs/configuration.md" in run.stdout
    assert "1 check(s) failed" in run.stderr


def test_unreachable_git_and_invalid_manifests(
    aws: Aws, repo: ManifestRepo, tmp_path: Path
) -> None:
    cfg = write_config(tmp_path, aws.url, "http://127.0.0.1:9/infra.git")  # nothing listens
    run = run_cli("check", "--config", str(cfg))
    assert run.code == 1
    fails = lines(run.stdout, "FAIL")
    assert fails[0].split()[1] == "git" and "cannot fetch branch 'main'" in fails[0]
    assert (
        "manifests" in fails[1] and "not checked: the repository could not be fetched" in fails[1]
    )
    assert "fix: check [git] url and branch" in run.stdout
    assert lines(run.stdout, "OK    aws default"), run.stdout  # AWS is still checked

    repo.declare({"type": "aws_s3_bucket", "id": "x", "spec": {"versioning": "On"}})
    cfg = write_config(tmp_path, aws.url, repo.path)
    run = run_cli("check", "--config", str(cfg))
    assert run.code == 1
    [fail] = lines(run.stdout, "FAIL")
    assert "manifests" in fail and "declared/main.yaml:" in run.stdout
    assert "versioning must be one of Enabled, Suspended, Disabled" in run.stdout


def test_access_denied_on_sts_names_the_account_and_the_fix(
    aws: Aws, repo: ManifestRepo, tmp_path: Path
) -> None:
    declare_bucket(aws, repo)
    proxy = FaultProxy(aws.url, [Fault("deny", service="sts", action="AssumeRole")]).start()
    try:
        accounts = f"""
        [[aws.accounts]]
        name = "main"
        [[aws.accounts]]
        name = "other"
        role_arn = "{OTHER_ROLE}"
        """
        cfg = write_config(tmp_path, proxy.url, repo.path, aws_extra=accounts)
        run = run_cli("check", "--config", str(cfg))
        assert run.code == 1
        assert lines(run.stdout, "OK    aws main"), run.stdout
        [fail] = lines(run.stdout, "FAIL")
        assert f"aws other    {OTHER_ROLE} via sts in us-east-1: AccessDenied" in fail
        assert f"allow the base identity sts:AssumeRole on {OTHER_ROLE}" in run.stdout

        proxy.faults[:] = [Fault("deny", service="sts")]
        run = run_cli("check", "--config", str(cfg), "--iam-policy")
        assert run.code == 1
        assert len(lines(run.stderr, "FAIL")) == 2 and "GetCallerIdentity" not in run.stdout
        policies = json.loads(run.stdout)  # stdout holds only the policies
    finally:
        proxy.stop()
    assert policies["assume_role"]["Statement"][0]["Resource"] == [OTHER_ROLE]
    read = [a for s in policies["read"]["Statement"] for a in s["Action"]]
    assert "s3:GetBucketVersioning" in read and "ec2:DescribeSecurityGroups" in read
    assert "s3:PutBucketVersioning" not in read
    assert "remediate" not in policies and "revert is off" in policies["remediate_note"]


def test_iam_policy_follows_the_configured_types(
    aws: Aws, repo: ManifestRepo, tmp_path: Path
) -> None:
    declare_bucket(aws, repo)
    extra = """
    [scan]
    types = ["aws_sqs_queue"]
    [remediation]
    enabled = true
    allow_types = ["aws_sqs_*"]
    delete_unmanaged = true
    [[terraform]]
    name = "network"
    from = "file:network.tfstate"
    """
    cfg = write_config(tmp_path, aws.url, repo.path, extra=extra)
    bucket = tf.resource("aws_s3_bucket", "logs", tf.instance(tf.bucket("tf-logs")))
    (cfg.parent / "network.tfstate").write_bytes(tf.dumps(tf.state(bucket)))
    run = run_cli("check", "--config", str(cfg), "--iam-policy")
    assert run.code == 0, run.stderr
    policies = json.loads(run.stdout)
    sids = [s["Sid"] for s in policies["read"]["Statement"]]
    assert sids == ["DriftwatchReadS3", "DriftwatchReadSQS"]  # watched + declared
    assert "assume_role" not in policies
    assert "OK    terraform    network: 1 state(s) read, 1 resource(s) kept" in run.stderr
    # Write permissions only for the types [remediation] may revert, deletion included.
    assert list(policies["remediate"]) == ["aws_sqs_queue"]
    writes = json.dumps(policies["remediate"]["aws_sqs_queue"])
    assert "sqs:SetQueueAttributes" in writes and "sqs:DeleteQueue" in writes


def test_a_terraform_source_is_read_as_a_scan_reads_it(
    aws: Aws, repo: ManifestRepo, tmp_path: Path
) -> None:
    """A state that cannot be read fails its line with the fix; the other source is read,
    and its types join the IAM policy."""
    declare_bucket(aws, repo)
    extra = """
    [[terraform]]
    name = "queues"
    from = "file:queues.tfstate"
    [[terraform]]
    name = "gone"
    from = "file:no-such.tfstate"
    """
    cfg = write_config(tmp_path, aws.url, repo.path, extra=extra)
    queue = {"name": "jobs", "id": "https://sqs.us-east-1.amazonaws.com/123456789012/jobs",
             "arn": "arn:aws:sqs:us-east-1:123456789012:jobs", "tags": {}, "tags_all": {}}
    state = tf.state(tf.resource("aws_sqs_queue", "jobs", tf.instance(queue)))
    (cfg.parent / "queues.tfstate").write_bytes(tf.dumps(state))
    run = run_cli("check", "--config", str(cfg), "--iam-policy")
    assert run.code == 1
    assert "OK    terraform    queues: 1 state(s) read, 1 resource(s) kept" in run.stderr
    failed = lines(run.stderr, "FAIL")
    assert len(failed) == 1 and failed[0].startswith("FAIL  terraform    gone: "), failed
    assert "no-such.tfstate" in failed[0]
    assert "fix: see docs/terraform.md" in run.stderr
    sids = [s["Sid"] for s in json.loads(run.stdout)["read"]["Statement"]]
    assert "DriftwatchReadSQS" in sids  # declared by the state, not by the manifests

