"""`driftwatch init` against the moto server: a starter, and a baseline from what is live."""

from __future__ import annotations

import re
import shlex
import subprocess
import tomllib
from pathlib import Path

import pytest
from support import (
    seed,
    seed_dynamodb,
    seed_iam,
    seed_kms,
    seed_lambda,
    seed_logs,
    seed_rds,
    seed_sns,
    seed_sqs,
)
from support.env import Aws, run_cli, scan
from support.faultproxy import Fault, FaultProxy

import driftwatch.collectors  # noqa: F401
from driftwatch.config import load_config, parse_config
from driftwatch.init import InitOptions, config_text
from driftwatch.registry import collectors

OTHER = "222222222222"
OTHER_ROLE = f"arn:aws:iam::{OTHER}:role/driftwatch-read"


def git_commit(folder: Path) -> None:
    for args in (
        ["init", "-q", "-b", "main"],
        ["-c", "user.email=t@example.com", "-c", "user.name=t", "add", "-A"],
        ["-c", "user.email=t@example.com", "-c", "user.name=t", "commit", "-q", "-m", "baseline"],
    ):
        subprocess.run(["git", *args], cwd=folder, check=True, capture_output=True)


def seed_everything(aws: Aws) -> None:
    """One configured resource of each of the 13 types."""
    seed.bucket(aws, "acme-logs")
    seed.security_group(aws, "web")
    seed.instance(aws, "api")
    seed.role(aws, "app")
    seed_iam.policy(aws, "readers")
    seed_iam.user(aws, "alice")
    seed_lambda.function(aws, "orders")
    seed_dynamodb.table(aws, "sessions")
    seed_sqs.queue(aws, "jobs")
    seed_sqs.fifo_queue(aws, "events.fifo")
    seed_sns.topic(aws, "alerts")
    seed_rds.instance(aws, "billing")
    seed_kms.key(aws, "alias/payments")
    doomed = seed_kms.bare_key(aws, "alias/doomed")
    aws.client("kms").schedule_key_deletion(KeyId=doomed, PendingWindowInDays=7)
    aws.client("kms").describe_key(KeyId="alias/aws/s3")  # moto makes AWS's own key on first use
    seed_logs.log_group(aws, "/app/api")


def test_from_live_declares_every_type_and_the_next_scan_is_zero_drift(
    aws: Aws, tmp_path: Path
) -> None:
    seed_everything(aws)
    infra = tmp_path / "infra"
    run = run_cli("init", "--from-live", "--dir", str(infra), "--endpoint-url", aws.url)
    assert run.code == 0, run.stdout + run.stderr
    assert "listing" in run.stderr and "reading every attribute" in run.stderr  # progress
    files = sorted(p.relative_to(infra).as_posix() for p in infra.rglob("*.yaml"))
    assert "declared/us-east-1/s3_bucket.yaml" in files
    assert "declared/global/iam_role.yaml" in files
    text = {f: (infra / f).read_text() for f in files}
    assert all(t.startswith("# ") for t in text.values()), "every manifest has a comment header"

    # The Lambda environment's values never reach Git; its keys are ignored by name.
    lam = text["declared/us-east-1/lambda_function.yaml"]
    assert seed_lambda.SECRET not in "".join(text.values()) and seed_lambda.STAGE not in lam
    assert "environment.DB_PASSWORD" in lam and "NOT written" in lam
    assert "secret values NOT written" in run.stdout and "environment.DB_PASSWORD" in run.stdout
    # AWS's own resources (the default security groups, alias/aws/ keys) are not declared.
    assert "id: default" not in text["declared/us-east-1/security_group.yaml"]
    keys = text["declared/us-east-1/kms_key.yaml"]
    assert "alias/aws/" not in keys and keys.count("- type: aws_kms_key") == 2
    # A key pending deletion is declared without the rotation KMS cannot report for it.
    doomed = keys[keys.index("id: alias/doomed") :].split("- type:")[0]
    assert "key_usage: ENCRYPT_DECRYPT" in doomed and "enable_key_rotation" not in doomed
    assert "left out: aws_kms_key alias/doomed: key state PendingDeletion" in run.stdout

    git_commit(infra)
    result = scan(infra / "driftwatch.toml")
    assert result.code == 0, result.stdout + result.stderr
    summary = result.doc["summary"]
    declared = result.doc["scan"]["declared"]
    assert summary == {
        "in_sync": declared, "modified": 0, "missing": 0, "unmanaged": 0, "not_checked": 0,
    }  # fmt: skip
    typed = {line.split()[2] for t in text.values() for line in t.splitlines() if "- type:" in line}
    assert typed == set(collectors.names())
    assert declared >= 15


def test_from_live_lays_out_one_file_per_account_region_and_type(aws: Aws, tmp_path: Path) -> None:
    seed.bucket(aws, "acme-logs")
    seed.bucket(aws, "acme-eu-logs", "eu-west-1")
    seed.bucket(aws, "acme-other-logs", **aws.account_creds(OTHER))
    infra = tmp_path / "infra"
    run = run_cli(
        "init", "--from-live", "--dir", str(infra), "--types", "aws_s3_bucket",
        "--regions", "us-east-1,eu-west-1", "--accounts", f"main,other={OTHER_ROLE}",
        "--endpoint-url", aws.url,
    )  # fmt: skip
    assert run.code == 0, run.stdout + run.stderr
    files = sorted(p.relative_to(infra).as_posix() for p in infra.rglob("*.yaml"))
    assert files == [
        "declared/main/eu-west-1/s3_bucket.yaml",
        "declared/main/us-east-1/s3_bucket.yaml",
        "declared/other/us-east-1/s3_bucket.yaml",
    ]
    other = (infra / files[2]).read_text()
    assert "id: acme-other-logs\n    account: other\n" in other
    cfg = load_config(infra / "driftwatch.toml")
    assert [(a.name, a.role_arn) for a in cfg.aws.accounts] == [
        ("main", None), ("other", OTHER_ROLE),
    ]  # fmt: skip
    assert cfg.scan.types == ("aws_s3_bucket",)
    git_commit(infra)
    result = scan(infra / "driftwatch.toml")
    assert result.code == 0, result.stdout + result.stderr
    assert result.doc["summary"]["in_sync"] == 3 == result.doc["scan"]["declared"]


def test_init_writes_a_commented_valid_starter_and_never_overwrites(tmp_path: Path) -> None:
    run = run_cli("init", "--dir", str(tmp_path), "--regions", "eu-west-1")
    assert run.code == 0, run.stderr
    config = tmp_path / "driftwatch.toml"
    cfg = load_config(config)
    assert cfg.aws.regions == ("eu-west-1",) and cfg.git and cfg.git.path == "declared"
    assert config.read_text().count("\n#") > 20  # commented
    assert "resources: []" in (tmp_path / "declared" / "example.yaml").read_text()
    ignored = (tmp_path / ".gitignore").read_text().splitlines()
    assert "driftwatch.db*" in ignored and ".driftwatch/" in ignored

    config.write_text(config.read_text() + "# mine\n")
    again = run_cli("init", "--dir", str(tmp_path))
    assert again.code == 1
    assert f"{config} already exists" in again.stderr and "--force" in again.stderr
    assert config.read_text().endswith("# mine\n")

    # --from-live refuses before reading AWS: the config, then any existing manifest.
    nowhere = ("--endpoint-url", "http://127.0.0.1:9")
    live = run_cli("init", "--from-live", "--dir", str(tmp_path), *nowhere)
    assert live.code == 1 and f"{config} already exists" in live.stderr
    config.rename(tmp_path / "mine.toml")
    live = run_cli("init", "--from-live", "--dir", str(tmp_path), *nowhere)
    assert live.code == 1 and f"{tmp_path / 'declared/example.yaml'} already exists" in live.stderr
    assert "listing" not in live.stderr
    (tmp_path / "mine.toml").rename(config)

    forced = run_cli("init", "--dir", str(tmp_path), "--force", "--types", "aws_s3_bucket")
    assert forced.code == 0, forced.stderr
    assert tomllib.loads(config.read_text())["scan"]["types"] == ["aws_s3_bucket"]
    assert (tmp_path / ".gitignore").read_text().count("driftwatch.db*") == 1


def test_init_refuses_bad_options_before_writing(tmp_path: Path) -> None:
    bad_type = run_cli("init", "--dir", str(tmp_path), "--types", "aws_s3_buckets")
    assert bad_type.code == 1 and "unknown resource type 'aws_s3_buckets'" in bad_type.stderr
    bad_arn = run_cli("init", "--dir", str(tmp_path), "--accounts", "prod=arn:aws:iam::1:role/x")
    assert bad_arn.code == 1 and "is not an IAM role ARN" in bad_arn.stderr
    assert not list(tmp_path.iterdir())


def test_the_readme_quick_start_runs_as_written(aws: Aws, tmp_path: Path) -> None:
    """init --from-live as the README gives it, then check and scan: all OK, zero drift."""
    readme = (Path(__file__).parent.parent / "README.md").read_text()
    [line] = [ln.strip() for ln in readme.splitlines() if ln.strip().startswith("driftwatch init")]
    args = shlex.split(line)[1:]
    seed.bucket(aws, "acme-eu-logs", "eu-west-1")
    seed.security_group(aws, "web", "eu-west-1")
    seed.bucket(aws, "acme-us-logs")  # another region: not asked for, not declared
    infra = tmp_path / "infra"
    infra.mkdir()
    (infra / ".gitignore").write_text("*.tmp")  # kept, and completed
    run = run_cli(*args, "--dir", str(infra), "--endpoint-url", aws.url)
    assert run.code == 0, run.stdout + run.stderr
    assert f"appended driftwatch's lines to {infra / '.gitignore'}" in run.stdout
    assert (infra / ".gitignore").read_text().startswith("*.tmp\n# driftwatch")
    manifests = sorted(p.relative_to(infra).as_posix() for p in infra.rglob("*.yaml"))
    assert manifests == [
        "declared/eu-west-1/s3_bucket.yaml",
        "declared/eu-west-1/security_group.yaml",
    ]
    git_commit(infra)
    assert not subprocess.run(
        ["git", "ls-files", "driftwatch.db", ".driftwatch"],
        cwd=infra,
        capture_output=True,
        text=True,
    ).stdout

    check = run_cli("check", "--config", str(infra / "driftwatch.toml"))
    assert check.code == 0, check.stdout + check.stderr
    result = scan(infra / "driftwatch.toml")
    assert result.code == 0, result.stdout + result.stderr
    assert result.doc["summary"]["in_sync"] == 2 == result.doc["scan"]["declared"]


def test_from_live_never_declares_what_it_could_not_read(aws: Aws, tmp_path: Path) -> None:
    """AccessDenied on a scope or on one resource's detail: not declared, listed, exit 1."""
    seed.bucket(aws, "acme-logs")
    seed_sns.topic(aws, "alerts")
    proxy = FaultProxy(aws.url, [Fault("deny", service="sns"), Fault("deny", action="tagging")])
    proxy.start()
    try:
        run = run_cli(
            "init", "--from-live", "--dir", str(tmp_path), "--endpoint-url", proxy.url,
            "--types", "aws_s3_bucket,aws_sns_topic,aws_cloudwatch_log_group",
        )  # fmt: skip
    finally:
        proxy.stop()
    assert run.code == 1, run.stdout + run.stderr
    assert "NOT READ: default/us-east-1/aws_sns_topic: AccessDenied" in run.stderr
    assert "NOT READ: default/us-east-1/aws_s3_bucket acme-logs: AccessDenied" in run.stderr
    assert "could not be read and are not declared" in run.stderr
    assert "declared 0 resource(s) in 0 manifest(s)" in run.stdout
    assert (tmp_path / "driftwatch.toml").exists() and not list(tmp_path.rglob("*.yaml"))


def test_every_commented_example_in_the_config_is_valid(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Uncommenting a section of the written config never leaves an invalid file."""
    opts = InitOptions(folder=tmp_path, regions=("eu-west-1",))
    text = config_text(opts)
    uncommented = re.sub(r"^# (\[|[a-z_]+ = )", r"\1", text, flags=re.M)
    assert uncommented.count("\n[") >= text.count("\n[") + 6
    monkeypatch.setenv("DRIFTWATCH_SLACK_WEBHOOK", "https://hooks.slack.com/services/T0/B0/x")
    cfg = parse_config(tomllib.loads(uncommented), opts.config_path)
    assert [a.name for a in cfg.aws.accounts] == ["prod"] and cfg.remediation.enabled is False
    assert cfg.ignore and cfg.severity and cfg.alerts.channels and cfg.dashboard.base_url
    assert [s.name for s in cfg.schedules] == ["all"]
