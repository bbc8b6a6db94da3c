"""Honest failure semantics, end to end: not checked is not missing; bad input fails loudly."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from support import seed
from support.env import Aws, ManifestRepo, run_cli, scan, write_config
from support.faultproxy import Fault, FaultProxy

from driftwatch.store import Store

NO_UNMANAGED = "[scan]\nunmanaged = false\n"


@pytest.fixture
def proxy(aws: Aws):
    p = FaultProxy(aws.url).start()
    yield p
    p.stop()


def db(tmp_path: Path) -> Store:
    return Store(tmp_path / "state" / "driftwatch.db")


def _two_region_drift(aws: Aws, repo: ManifestRepo) -> None:
    _, sg_decl, _ = seed.security_group(aws, "web", region="eu-west-1")
    aws.client("s3").create_bucket(Bucket="east-bucket")
    repo.declare(
        {
            "type": "aws_security_group",
            "id": "web",
            "region": "eu-west-1",
            "spec": {**sg_decl, "description": "declared description"},
        },
        {"type": "aws_s3_bucket", "id": "east-bucket", "spec": {"versioning": "Enabled"}},
    )


@pytest.mark.parametrize(
    "fault",
    [
        Fault("deny", region="eu-west-1", service="ec2", action="DescribeSecurityGroups"),
        Fault("throttle", region="eu-west-1", service="ec2"),
        Fault("drop", region="eu-west-1"),
    ],
    ids=["access-denied", "throttled", "unreachable"],
)
def test_failed_scope_is_not_checked_and_keeps_drift_open(
    aws: Aws, repo: ManifestRepo, tmp_path: Path, proxy: FaultProxy, fault: Fault
) -> None:
    _two_region_drift(aws, repo)
    cfg = write_config(
        tmp_path, proxy.url, repo.path, extra=NO_UNMANAGED, regions=("us-east-1", "eu-west-1")
    )
    first = scan(cfg)
    assert first.code == 2
    assert first.drift("aws_security_group", "web")["kind"] == "modified"

    proxy.faults.append(fault)
    second = scan(cfg)
    assert fault.hits > 0
    # Something was not checked: exit 1, after the whole report (drift included).
    assert second.code == 1, second.stderr
    assert "--allow-partial" in second.stderr
    assert second.drift("aws_s3_bucket", "east-bucket")["kind"] == "modified"
    assert second.doc["scan"]["status"] == "partial"
    [nc] = second.findings("not_checked")
    assert (nc["type"], nc["id"], nc["region"]) == ("aws_security_group", "web", "eu-west-1")
    [err] = second.doc["errors"]
    assert (err["region"], err["type"]) == ("eu-west-1", "aws_security_group")
    assert not second.findings("missing")
    store = db(tmp_path)
    sg_drift = [d for d in store.drifts() if d["type"] == "aws_security_group"]
    assert [d["status"] for d in sg_drift] == ["open"]
    assert [e["event"] for e in store.events(sg_drift[0]["fingerprint"])] == ["opened"]
    assert store.scope_errors(second.doc["scan"]["id"])[0]["region"] == "eu-west-1"
    # --allow-partial: exit by the drift that was found.
    assert scan(cfg, "--allow-partial").code == 2


def test_failed_scope_never_resolves(
    aws: Aws, repo: ManifestRepo, tmp_path: Path, proxy: FaultProxy
) -> None:
    """Even when the live resource was fixed meanwhile, an unreadable scope resolves nothing."""
    _two_region_drift(aws, repo)
    cfg = write_config(tmp_path, proxy.url, repo.path, regions=("us-east-1", "eu-west-1"))
    assert scan(cfg).code == 2
    proxy.faults.append(Fault("deny", region="eu-west-1"))
    aws.client("s3").delete_bucket(Bucket="east-bucket")
    run = scan(cfg)
    open_sg = [d for d in db(tmp_path).drifts("open") if d["type"] == "aws_security_group"]
    assert len(open_sg) == 1 and open_sg[0]["kind"] == "modified"
    assert run.drift("aws_s3_bucket", "east-bucket")["kind"] == "missing"


def test_every_scope_failing_is_an_error(
    aws: Aws, repo: ManifestRepo, tmp_path: Path, proxy: FaultProxy
) -> None:
    _two_region_drift(aws, repo)
    proxy.faults.append(Fault("deny"))
    run = scan(write_config(tmp_path, proxy.url, repo.path, regions=("us-east-1", "eu-west-1")))
    assert run.code == 1
    assert run.doc["scan"]["status"] == "failed"
    assert run.doc["summary"]["not_checked"] == 2
    assert not run.findings("missing") and not run.findings("unmanaged")


def test_detail_read_failure_marks_only_that_resource(
    aws: Aws, repo: ManifestRepo, tmp_path: Path, proxy: FaultProxy
) -> None:
    for name in ("a-bucket", "b-bucket"):
        aws.client("s3").create_bucket(Bucket=name)
    repo.declare(
        {"type": "aws_s3_bucket", "id": "a-bucket", "spec": {"tags": {}}},
        {"type": "aws_s3_bucket", "id": "b-bucket", "spec": {"versioning": "Enabled"}},
    )
    proxy.faults.append(Fault("deny", service="s3", action="tagging"))
    run = scan(write_config(tmp_path, proxy.url, repo.path, extra=NO_UNMANAGED))
    assert [nc["id"] for nc in run.findings("not_checked")] == ["a-bucket"]
    assert run.drift("aws_s3_bucket", "b-bucket")["kind"] == "modified"
    assert run.doc["errors"][0]["resource_id"] == "a-bucket"
    assert run.code == 1


def test_lifecycle_opened_changed_resolved(aws: Aws, repo: ManifestRepo, tmp_path: Path) -> None:
    s3 = aws.client("s3")
    s3.create_bucket(Bucket="logs")
    repo.declare({"type": "aws_s3_bucket", "id": "logs", "spec": {"tags": {"team": "platform"}}})
    cfg = write_config(tmp_path, aws.url, repo.path, extra=NO_UNMANAGED)

    def tag(value: str) -> None:
        s3.put_bucket_tagging(Bucket="logs", Tagging={"TagSet": [{"Key": "team", "Value": value}]})

    tag("data")
    first = scan(cfg)
    tag("ml")
    second = scan(cfg)
    tag("platform")
    third = scan(cfg)
    assert (first.code, second.code, third.code) == (2, 2, 0)
    assert (
        first.drift("aws_s3_bucket", "logs")["first_seen"]
        == second.drift("aws_s3_bucket", "logs")["first_seen"]
    )
    store = db(tmp_path)
    [record] = store.drifts()
    assert record["status"] == "resolved" and record["resolved_at"]
    events = store.events(record["fingerprint"])
    assert [e["event"] for e in events] == ["opened", "changed", "resolved"]
    assert events[1]["changes"] == [{"path": "tags.team", "declared": "platform", "live": "ml"}]
    assert [s["status"] for s in store.scans()] == ["ok", "ok", "ok"]
    # Drift that comes back reopens the same record.
    tag("again")
    scan(cfg)
    assert [e["event"] for e in db(tmp_path).events(record["fingerprint"])][-1] == "reopened"


INVALID = {
    "unparseable": (
        "declared/bad.yaml",
        "resources:\n  - type: aws_s3_bucket\n    id: [oops\n",
        "declared/bad.yaml:",
    ),
    "unknown-type": (
        "declared/bad.yaml",
        "resources:\n  - type: aws_s3_buckets\n    id: x\n    spec: {}\n",
        "declared/bad.yaml:2: unknown type 'aws_s3_buckets'",
    ),
    "unknown-attribute": (
        "declared/bad.yaml",
        "resources:\n  - type: aws_s3_bucket\n    id: x\n    spec:\n      versionning: Enabled\n",
        "declared/bad.yaml:5: aws_s3_bucket has no attribute 'versionning'",
    ),
    "wrong-value-type": (
        "declared/bad.yaml",
        "type: aws_iam_role\nid: r\nspec:\n  max_session_duration: one hour\n",
        "declared/bad.yaml:4: aws_iam_role.max_session_duration must be an integer",
    ),
    "bad-enum": (
        "declared/bad.json",
        '{"type": "aws_s3_bucket", "id": "x", "spec": {"versioning": "On"}}',
        "declared/bad.json:1: aws_s3_bucket.versioning must be one of",
    ),
    "declared-twice": (
        "declared/dup.yaml",
        "resources:\n  - type: aws_s3_bucket\n    id: logs\n",
        "declared/main.yaml:3: aws_s3_bucket 'logs' (default/us-east-1) is "
        "already declared at declared/dup.yaml:2",
    ),
    "duplicate-key": (
        "declared/bad.yaml",
        "type: aws_s3_bucket\nid: a\nid: b\n",
        "declared/bad.yaml:",
    ),
    "unknown-account": (
        "declared/bad.yaml",
        "type: aws_s3_bucket\nid: a\naccount: prod\n",
        "declared/bad.yaml:3: unknown account 'prod'",
    ),
    "region-on-global": (
        "declared/bad.yaml",
        "type: aws_iam_role\nid: a\nregion: us-east-1\n",
        "declared/bad.yaml:3: aws_iam_role is global",
    ),
    "region-not-watched": (
        "declared/bad.yaml",
        "type: aws_s3_bucket\nid: a\nregion: eu-west-1\n",
        "declared/bad.yaml:3: region 'eu-west-1' is not watched by account 'default'",
    ),
    "global-on-regional": (
        "declared/bad.yaml",
        "type: aws_s3_bucket\nid: a\nregion: global\n",
        "declared/bad.yaml:3: aws_s3_bucket is regional; 'global' is only for global types",
    ),
    "bad-rule-at-its-line": (
        "declared/bad.yaml",
        "type: aws_security_group\nid: web\nspec:\n  ingress:\n"
        "    - {protocol: tcp, from_port: 22, to_port: 22, cidr_blocks: [10.0.0.0/8]}\n"
        "    - {protocol: tcp, from_port: 80, to_port: http, cidr_blocks: [10.0.0.0/8]}\n",
        "declared/bad.yaml:6: aws_security_group.ingress rule 1 needs an integer to_port",
    ),
    "not-a-manifest": (
        "declared/ci.yaml",
        "jobs:\n  build: {}\n",
        "declared/ci.yaml:1: not a manifest",
    ),
}


@pytest.mark.parametrize("case", sorted(INVALID))
def test_invalid_manifest_fails_scan_and_keeps_results(
    aws: Aws, repo: ManifestRepo, tmp_path: Path, case: str
) -> None:
    aws.client("s3").create_bucket(Bucket="logs")
    aws.client("s3").create_bucket(Bucket="stray")
    repo.declare({"type": "aws_s3_bucket", "id": "logs", "spec": {"versioning": "Enabled"}})
    cfg = write_config(tmp_path, aws.url, repo.path)
    assert scan(cfg).code == 2
    before = db(tmp_path).drifts()

    rel, text, expected = INVALID[case]
    repo.write(rel, text)
    repo.commit("break it")
    run = scan(cfg)
    assert run.code == 1
    assert expected in run.stderr, run.stderr
    assert "Traceback" not in run.stderr
    assert run.stdout == ""
    store = db(tmp_path)
    assert store.drifts() == before  # nothing opened, nothing resolved, nothing unmanaged
    last = store.scans()[-1]
    assert last["status"] == "failed" and rel in last["error"]
    assert last["commit_sha"] == repo.git("rev-parse", "HEAD")


def test_empty_manifest_folder_fails(aws: Aws, repo: ManifestRepo, tmp_path: Path) -> None:
    repo.write("README.md", "nothing declared yet\n")
    repo.write("declared/notes.txt", "still nothing\n")
    repo.commit()
    run = scan(write_config(tmp_path, aws.url, repo.path))
    assert run.code == 1
    assert "no manifest files" in run.stderr


def test_crash_mid_persist_leaves_previous_state(
    aws: Aws, repo: ManifestRepo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from driftwatch.config import load_config
    from driftwatch.scan import run_scan

    s3 = aws.client("s3")
    s3.create_bucket(Bucket="logs")
    repo.declare({"type": "aws_s3_bucket", "id": "logs", "spec": {"versioning": "Enabled"}})
    cfg = load_config(write_config(tmp_path, aws.url, repo.path))
    run_scan(cfg, db(tmp_path))
    path = tmp_path / "state" / "driftwatch.db"
    snapshot = {
        t: list(db(tmp_path).db.table(t).rows)
        for t in ("scans", "drifts", "drift_events", "resources", "scope_errors")
    }

    s3.put_bucket_versioning(Bucket="logs", VersioningConfiguration={"Status": "Enabled"})
    s3.create_bucket(Bucket="new-stray")

    import driftwatch.store.persist as persist

    def boom(conn: object, write: object) -> None:
        raise RuntimeError("power cut")

    # Resources and scope errors are written by then; the lifecycle step fails.
    monkeypatch.setattr(persist, "_write_lifecycle", boom)
    with pytest.raises(RuntimeError, match="power cut"):
        run_scan(cfg, Store(path))
    after = {t: list(db(tmp_path).db.table(t).rows) for t in snapshot}
    failed = after["scans"].pop()
    assert after == snapshot
    # The started scan left its row, failed, with the cause and where the traceback is.
    assert failed["status"] == "failed"
    assert "internal error: RuntimeError: power cut" in failed["error"]
    assert "driftwatch.log" in failed["error"]


def test_fetches_new_commits_from_a_remote(aws: Aws, repo: ManifestRepo, tmp_path: Path) -> None:
    aws.client("s3").create_bucket(Bucket="logs")
    first_sha = repo.declare(
        {"type": "aws_s3_bucket", "id": "logs", "spec": {"versioning": "Enabled"}}
    )
    remote = tmp_path / "remote.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(repo.path), str(remote)], check=True)
    cfg = write_config(tmp_path, aws.url, f"file://{remote}", extra=NO_UNMANAGED)
    first = scan(cfg)
    assert first.doc["scan"]["commit"] == first_sha and first.code == 2

    second_sha = repo.declare(
        {"type": "aws_s3_bucket", "id": "logs", "spec": {"versioning": "Disabled"}}
    )
    repo.git("push", "-q", str(remote), "main")
    second = scan(cfg)
    assert second.doc["scan"]["commit"] == second_sha != first_sha
    assert second.code == 0


def test_unknown_branch_is_a_clear_error(aws: Aws, repo: ManifestRepo, tmp_path: Path) -> None:
    repo.declare()
    cfg = write_config(tmp_path, aws.url, repo.path)
    cfg.write_text(cfg.read_text().replace('branch = "main"', 'branch = "mian"'))
    run = scan(cfg)
    assert run.code == 1
    assert "cannot fetch branch 'mian'" in run.stderr and "Traceback" not in run.stderr


def test_ambiguous_names_are_not_checked(aws: Aws, repo: ManifestRepo, tmp_path: Path) -> None:
    ec2 = aws.client("ec2")
    ami = aws.ami()
    for _ in range(2):
        ec2.run_instances(
            ImageId=ami,
            MinCount=1,
            MaxCount=1,
            TagSpecifications=[
                {"ResourceType": "instance", "Tags": [{"Key": "Name", "Value": "worker"}]}
            ],
        )
    vpcs = [ec2.create_vpc(CidrBlock=f"10.{i}.0.0/16")["Vpc"]["VpcId"] for i in (1, 2)]
    for vpc in vpcs:
        ec2.create_security_group(GroupName="shared", Description="x", VpcId=vpc)
    ec2.create_security_group(GroupName="picked", Description="x", VpcId=vpcs[0])
    ec2.create_security_group(GroupName="picked", Description="y", VpcId=vpcs[1])
    repo.declare(
        {"type": "aws_instance", "id": "worker", "spec": {}},
        {"type": "aws_security_group", "id": "shared", "spec": {"description": "x"}},
        {
            "type": "aws_security_group",
            "id": "picked",
            "spec": {"vpc_id": vpcs[1], "description": "y"},
        },
    )
    extra = '[scan]\ntypes = ["aws_instance", "aws_security_group"]\n'
    run = scan(write_config(tmp_path, aws.url, repo.path, extra=extra))
    reasons = {nc["id"]: nc["reason"] for nc in run.findings("not_checked")}
    assert set(reasons) == {"worker", "shared"}
    assert all(r.startswith("ambiguous: ") for r in reasons.values())
    # Ambiguous candidates are claimed, not reported as unmanaged; the other "picked" group is.
    unmanaged = run.findings("unmanaged")
    assert [u["type"] for u in unmanaged] == ["aws_security_group"]
    assert run.doc["summary"]["in_sync"] == 1


@pytest.mark.parametrize(
    "body,expected",
    [
        (
            "[git]\nurl = 'x'\n[aws]\nmax_concurrency = 'many'\n",
            "[aws.max_concurrency]: must be an integer",
        ),
        ("[git]\nurl = 'x'\n[aws]\nregion = 'us-east-1'\n", "[aws.region]: unknown key"),
        ("[aws]\nregions = ['us-east-1']\n", "[git]: missing section"),
        ("[git\nurl = 'x'\n", "not valid TOML"),
        (
            "[git]\nurl = 'x'\n[[ignore]]\npath = 'tags.x'\nexpires = 'soon'\n",
            "[ignore[0].expires]: 'soon' is not a date",
        ),
        (
            "[git]\nurl = '${DRIFTWATCH_GIT_TOKEN_UNSET}'\n",
            "[git.url]: environment variable DRIFTWATCH_GIT_TOKEN_UNSET is not set",
        ),
        (
            "[git]\nurl = 'x'\n[[aws.accounts]]\nname = 'p'\nrole_arn = 'prod-role'\n",
            "[aws.accounts[0].role_arn]: 'prod-role' is not an IAM role ARN",
        ),
        (
            "[git]\nurl = 'x'\n[scan]\ntypes = ['aws_s3']\n",
            "[scan.types]: unknown resource type 'aws_s3'; known: aws_",
        ),
    ],
)
def test_bad_config_is_one_clear_line(
    aws: Aws, tmp_path: Path, body: str, expected: str, repo: ManifestRepo
) -> None:
    repo.declare()
    cfg = tmp_path / "bad.toml"
    cfg.write_text(body.replace("url = 'x'", f"url = '{repo.path}'"))
    run = run_cli("scan", "--config", str(cfg))
    assert run.code == 1
    assert f"driftwatch: error: {cfg}: {expected}" in run.stderr, run.stderr
    assert str(cfg) in run.stderr
    assert "Traceback" not in run.stderr


def test_missing_config_file(tmp_path: Path) -> None:
    run = run_cli("scan", "--config", str(tmp_path / "nope.toml"))
    assert run.code == 1 and "config file not found" in run.stderr


def test_an_html_error_page_becomes_one_line_of_text(
    aws: Aws, repo: ManifestRepo, tmp_path: Path, proxy: FaultProxy
) -> None:
    aws.client("logs").create_log_group(logGroupName="app")
    repo.declare({"type": "aws_cloudwatch_log_group", "id": "app", "spec": {}})
    proxy.faults.append(Fault("html500", service="logs"))
    cfg = write_config(tmp_path, proxy.url, repo.path, extra=NO_UNMANAGED)
    run = scan(cfg)
    [nc] = run.findings("not_checked")
    reason = nc["reason"]
    assert reason == run.doc["errors"][0]["error"]
    assert reason.startswith("500: 500 Internal Server Error Internal Server Error The server")
    assert "<" not in reason and "\n" not in reason and "font-family" not in reason
    assert len(reason) <= 300
    table = run_cli("scan", "--config", str(cfg))
    assert "<title>" not in table.stdout and "scope error" in table.stdout
