"""[[ignore]] rules end to end: `driftwatch scan` and `driftwatch ignored` as real processes
against the moto server, real Git repositories and a real SQLite file."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from support.env import Aws, ManifestRepo, run_cli, scan, write_config
from support.faultproxy import Fault, FaultProxy

from driftwatch.store import Store

ONLY_S3 = '[scan]\ntypes = ["aws_s3_bucket"]\n'
NO_UNMANAGED = "[scan]\nunmanaged = false\n"
TMP_RULE = """
[[ignore]]
kind = "unmanaged"
type = "aws_s3_bucket"
id = "tmp-*"
reason = "CI scratch buckets"
expires = "2099-01-31"
"""


@pytest.fixture
def proxy(aws: Aws) -> Iterator[FaultProxy]:
    p = FaultProxy(aws.url).start()
    yield p
    p.stop()


def db(tmp_path: Path) -> Store:
    return Store(tmp_path / "state" / "driftwatch.db")


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
    none = run_cli("ignored", "--config", str(tmp_path / "driftwatch.toml"))
    assert none.code == 1 and "no completed scan in " in none.stderr
    assert "yet; run `driftwatch scan` first" in none.stderr


def test_an_unmanaged_tmp_bucket_is_ignored_and_its_open_drift_resolves(
    aws: Aws, repo: ManifestRepo, tmp_path: Path
) -> None:
    s3 = aws.client("s3")
    for name in ("logs", "tmp-build-1"):
        s3.create_bucket(Bucket=name)
    s3.put_bucket_versioning(Bucket="logs", VersioningConfiguration={"Status": "Enabled"})
    repo.declare(bucket("logs"))
    before = scan(write_config(tmp_path, aws.url, repo.path, extra=ONLY_S3))
    assert before.code == 2 and [d["id"] for d in before.findings("unmanaged")] == ["tmp-build-1"]

    cfg = write_config(tmp_path, aws.url, repo.path, extra=ONLY_S3 + TMP_RULE)
    run = scan(cfg)
    assert run.code == 0, run.stdout + run.stderr
    assert run.doc["drifts"] == [] and run.doc["summary"]["unmanaged"] == 0
    assert run.doc["ignored"] == [
        {
            "rule": 0,
            "kind": "unmanaged",
            "type": "aws_s3_bucket",
            "id": "tmp-build-1",
            "account": "default",
            "region": "us-east-1",
            "path": None,
        }
    ]
    [resolved] = run.doc["resolved"]
    assert (resolved["id"], resolved["reason"]) == ("tmp-build-1", "ignored by an [[ignore]] rule")
    assert db(tmp_path).drifts(status="open") == []

    table = run_cli("scan", "--config", str(cfg), "--format", "table")
    assert table.code == 0, table.stderr
    assert "Ignored (1) unmanaged or missing, hidden by rules" in table.stdout
    assert "· aws_s3_bucket tmp-build-1  (default/us-east-1, unmanaged, ignore[0])" in table.stdout

    s3.create_bucket(Bucket="stray-1")  # the glob is no wildcard for every bucket
    stray = scan(cfg)
    assert stray.code == 2 and [d["id"] for d in stray.findings("unmanaged")] == ["stray-1"]


def test_a_missing_resource_is_ignored_until_its_rule_expires(
    aws: Aws, repo: ManifestRepo, tmp_path: Path
) -> None:
    s3 = aws.client("s3")
    s3.create_bucket(Bucket="logs")
    s3.put_bucket_versioning(Bucket="logs", VersioningConfiguration={"Status": "Enabled"})
    repo.declare(bucket("logs"), bucket("spot-cache"))
    rule = '[[ignore]]\nkind = "missing"\ntype = "aws_s3_*"\nid = "spot-*"\nreason = "on demand"\n'
    run = scan(write_config(tmp_path, aws.url, repo.path, extra=NO_UNMANAGED + rule))
    assert run.code == 0, run.stdout + run.stderr
    assert run.doc["summary"] == {
        "in_sync": 1,
        "modified": 0,
        "missing": 0,
        "unmanaged": 0,
        "not_checked": 0,
    }
    assert [(h["kind"], h["id"], h["rule"]) for h in run.doc["ignored"]] == [
        ("missing", "spot-cache", 0)
    ]
    assert db(tmp_path).drifts(status="all") == []

    expired = rule + 'expires = "2020-01-31"\n'
    cfg = write_config(tmp_path, aws.url, repo.path, extra=NO_UNMANAGED + expired)
    run = scan(cfg)
    assert run.code == 2 and [d["id"] for d in run.findings("missing")] == ["spot-cache"]
    assert run.doc["ignored"] == []
    assert run.doc["expired_ignore_rules"] == [
        {
            "index": 0,
            "kind": "missing",
            "type": "aws_s3_*",
            "id": "spot-*",
            "path": "",
            "reason": "on demand",
            "expires": "2020-01-31",
        }
    ]
    table = run_cli("scan", "--config", str(cfg), "--format", "table")
    assert (
        "ignore rule expired on 2020-01-31: ignore[0] type=aws_s3_* id=spot-* kind=missing "
        "(on demand); it no longer applies" in table.stdout
    )


UNUSED_RULES = """
[[ignore]]
type = "aws_s3_bucket"
id = "logs"
path = "versioning"
reason = "in sync now, but it names a declared attribute"

[[ignore]]
type = "aws_s3_bucket"
id = "logz"
path = "versioning"
reason = "typo"

[[ignore]]
kind = "unmanaged"
type = "aws_s3_bucket"
id = "tmp-*"

[[ignore]]
kind = "missing"
type = "aws_instance"

[[ignore]]
kind = "unmanaged"
type = "aws_instance"

[[ignore]]
type = "aws_s3_bucket"
id = "eu-*"
path = "versioning"
"""


def test_a_rule_that_matched_nothing_checked_is_reported_as_unused(
    aws: Aws, repo: ManifestRepo, tmp_path: Path, proxy: FaultProxy
) -> None:
    s3 = aws.client("s3")
    s3.create_bucket(Bucket="logs")
    s3.put_bucket_versioning(Bucket="logs", VersioningConfiguration={"Status": "Enabled"})
    aws.client("s3", "eu-west-1").create_bucket(
        Bucket="eu-data", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
    )
    eu = {**bucket("eu-data", "Suspended"), "region": "eu-west-1"}
    repo.declare(bucket("logs"), eu)
    regions = ("us-east-1", "eu-west-1")
    cfg = write_config(
        tmp_path, proxy.url, repo.path, extra=ONLY_S3 + UNUSED_RULES, regions=regions
    )
    run = scan(cfg)
    assert run.code == 0, run.stdout + run.stderr
    # 1: its id matches nothing declared; 2: no tmp-* bucket in the S3 scopes, all read;
    # 3: no instance is declared. Not 4: unmanaged instances are not watched.
    assert [(r["index"], r["kind"], r["id"]) for r in run.doc["unused_ignore_rules"]] == [
        (1, "modified", "logz"),
        (2, "unmanaged", "tmp-*"),
        (3, "missing", "*"),
    ]
    table = run_cli("scan", "--config", str(cfg), "--format", "table")
    assert (
        "ignore rule matched nothing in this scan: ignore[1] type=aws_s3_bucket id=logz "
        "path=versioning (typo); check it for a typo, or delete it" in table.stdout
    )
    assert (
        "matched nothing in this scan: ignore[2] type=aws_s3_bucket id=tmp-* kind=unmanaged "
        "(no reason given)" in table.stdout
    )
    assert "ignore[4]" not in table.stdout and "ignore[0]" not in table.stdout

    # eu-west-1 cannot be read: rules that could match there are not judged.
    proxy.faults.append(Fault("deny", region="eu-west-1"))
    partial = scan(cfg)
    assert partial.doc["scan"]["status"] == "partial"
    assert [r["index"] for r in partial.doc["unused_ignore_rules"]] == [1, 3]


def test_ignored_lists_what_each_rule_hid_in_the_last_completed_scan(
    aws: Aws, repo: ManifestRepo, tmp_path: Path
) -> None:
    s3 = aws.client("s3")
    for name in ("logs", "tmp-build-1", "tmp-build-2"):
        s3.create_bucket(Bucket=name)
    s3.put_bucket_versioning(Bucket="logs", VersioningConfiguration={"Status": "Enabled"})
    repo.declare(bucket("logs", "Suspended"), bucket("spot-cache"))
    rules = TMP_RULE + (
        '[[ignore]]\ntype = "aws_s3_bucket"\nid = "logs"\npath = "versioning"\n'
        'reason = "migration"\n'
        '[[ignore]]\nkind = "missing"\nid = "spot-*"\n'
        '[[ignore]]\ntype = "aws_s3_bucket"\nid = "logz"\npath = "versioning"\n'
    )
    cfg = write_config(tmp_path, aws.url, repo.path, extra=ONLY_S3 + rules)
    assert scan(cfg).code == 0
    repo.write("declared/broken.yaml", "resources: [")
    repo.commit()
    assert scan(cfg).code == 1  # a failed scan: `ignored` still shows the last completed one

    listed = run_cli("ignored", "--config", str(cfg), "--format", "json")
    assert listed.code == 0, listed.stderr
    report = listed.doc
    assert (report["scan"]["id"], report["scan"]["status"]) == (1, "ok")
    where = {"account": "default", "region": "us-east-1"}
    assert report["rules"] == [
        {
            "index": 0,
            "kind": "unmanaged",
            "type": "aws_s3_bucket",
            "id": "tmp-*",
            "path": "",
            "reason": "CI scratch buckets",
            "expires": "2099-01-31",
            "status": "active",
            "hid": [
                {"kind": "unmanaged", "type": "aws_s3_bucket", "id": f"tmp-build-{n}", **where,
                 "path": None}
                for n in (1, 2)
            ],
        },
        {
            "index": 1,
            "kind": "modified",
            "type": "aws_s3_bucket",
            "id": "logs",
            "path": "versioning",
            "reason": "migration",
            "expires": None,
            "status": "active",
            "hid": [
                {"kind": "modified", "type": "aws_s3_bucket", "id": "logs", **where,
                 "path": "versioning"}
            ],
        },
        {
            "index": 2,
            "kind": "missing",
            "type": "*",
            "id": "spot-*",
            "path": "",
            "reason": "",
            "expires": None,
            "status": "active",
            "hid": [
                {"kind": "missing", "type": "aws_s3_bucket", "id": "spot-cache", **where,
                 "path": None}
            ],
        },
        {
            "index": 3,
            "kind": "modified",
            "type": "aws_s3_bucket",
            "id": "logz",
            "path": "versioning",
            "reason": "",
            "expires": None,
            "status": "unused",
            "hid": [],
        },
    ]  # fmt: skip

    table = run_cli("ignored", "--config", str(cfg))
    assert table.code == 0, table.stderr
    lines = table.stdout.splitlines()
    assert lines[0].startswith("ignore rules in scan 1 (") and lines[0].endswith(", ok)")
    assert lines[1:] == [
        "ignore[0] type=aws_s3_bucket id=tmp-* kind=unmanaged  (CI scratch buckets, expires "
        "2099-01-31)",
        "    unmanaged aws_s3_bucket tmp-build-1 (default/us-east-1)",
        "    unmanaged aws_s3_bucket tmp-build-2 (default/us-east-1)",
        "ignore[1] type=aws_s3_bucket id=logs path=versioning  (migration)",
        "    aws_s3_bucket logs (default/us-east-1): versioning",
        "ignore[2] type=* id=spot-* kind=missing  (no reason given)",
        "    missing aws_s3_bucket spot-cache (default/us-east-1)",
        "ignore[3] type=aws_s3_bucket id=logz path=versioning  (no reason given)",
        "    matched nothing in this scan: check it for a typo, or delete it",
    ]
