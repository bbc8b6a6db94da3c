"""The drift lifecycle end to end: `driftwatch scan`, `drifts`, `history`, `prune` as real
processes against the moto server, real Git repositories and a real SQLite file."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from support import seed
from support.env import Aws, ManifestRepo, Run, run_cli, scan, write_config
from support.faultproxy import Fault, FaultProxy
from support.hostfs import read_only

from driftwatch.lock import data_dir_lock
from driftwatch.store import Store

NO_UNMANAGED = "[scan]\nunmanaged = false\n"
ONLY_SG = '[scan]\ntypes = ["aws_security_group"]\n'


def db(tmp_path: Path) -> Store:
    return Store(tmp_path / "state" / "driftwatch.db")


def bucket(name: str, versioning: str = "Enabled") -> dict[str, object]:
    return {"type": "aws_s3_bucket", "id": name, "spec": {"versioning": versioning}}


def cli(cfg: Path, *args: str) -> Run:
    return run_cli(*args, "--config", str(cfg))


def drifting_buckets(aws: Aws, repo: ManifestRepo, tmp_path: Path, *names: str) -> Path:
    """Live buckets without versioning, declared with it (each drifts); unmanaged off."""
    for name in names:
        aws.client("s3").create_bucket(Bucket=name)
    repo.declare(*(bucket(n) for n in names))
    return write_config(tmp_path, aws.url, repo.path, extra=NO_UNMANAGED)


def test_transitions_and_resolutions_are_in_json_and_table(
    aws: Aws, repo: ManifestRepo, tmp_path: Path
) -> None:
    s3 = aws.client("s3")
    cfg = drifting_buckets(aws, repo, tmp_path, "logs", "data")
    first = scan(cfg)
    assert {d["id"]: d["transition"] for d in first.doc["drifts"]} == {"logs": "new", "data": "new"}
    second = scan(cfg)
    assert {d["transition"] for d in second.doc["drifts"]} == {"unchanged"}
    assert second.doc["drifts"][0]["first_seen"] == first.doc["drifts"][0]["first_seen"]

    s3.put_bucket_versioning(Bucket="data", VersioningConfiguration={"Status": "Enabled"})
    s3.put_bucket_versioning(Bucket="logs", VersioningConfiguration={"Status": "Suspended"})
    third = scan(cfg)
    assert [(d["id"], d["transition"]) for d in third.doc["drifts"]] == [("logs", "changed")]
    [resolved] = third.doc["resolved"]
    assert (resolved["id"], resolved["reason"]) == ("data", "in sync")
    assert third.doc["drifts"][0]["severity"] == "high" and resolved["severity"] == "high"

    s3.put_bucket_versioning(Bucket="data", VersioningConfiguration={"Status": "Suspended"})
    table = run_cli("scan", "--config", str(cfg), "--format", "table")
    assert table.code == 2
    assert "aws_s3_bucket data (reopened)" in table.stdout
    assert "aws_s3_bucket logs [high]  (" in table.stdout  # unchanged: no transition label
    assert "1 new, 0 changed, 0 resolved" in table.stdout


def test_removed_declaration_resolves_when_its_scope_is_not_watched(
    aws: Aws, repo: ManifestRepo, tmp_path: Path
) -> None:
    cfg = drifting_buckets(aws, repo, tmp_path, "logs", "data")
    assert scan(cfg).code == 2

    repo.declare(bucket("data"))  # "logs" is no longer declared anywhere
    run = run_cli("scan", "--config", str(cfg), "--format", "table")
    assert "Resolved in this scan (1)" in run.stdout
    assert "aws_s3_bucket logs" in run.stdout and "no longer declared" in run.stdout
    record = next(d for d in db(tmp_path).drifts() if d["resource_id"] == "logs")
    assert (record["status"], record["resolved_reason"]) == ("resolved", "no longer declared")
    events = db(tmp_path).events(record["fingerprint"])
    assert [(e["event"], e["reason"]) for e in events][-1] == ("resolved", "no longer declared")


def test_scope_no_longer_watched_closes_its_drifts(
    aws: Aws, repo: ManifestRepo, tmp_path: Path
) -> None:
    seed.security_group(aws, "stray", region="eu-west-1")
    repo.declare()
    two = write_config(tmp_path, aws.url, repo.path, ONLY_SG, regions=("us-east-1", "eu-west-1"))
    first = scan(two)
    assert [d["region"] for d in first.findings("unmanaged")] == ["eu-west-1"]

    one = write_config(tmp_path, aws.url, repo.path, ONLY_SG, regions=("us-east-1",))
    second = scan(one)
    assert second.code == 0, second.stderr
    assert [r["reason"] for r in second.doc["resolved"]] == ["scope no longer watched"]
    assert db(tmp_path).drifts("open") == []


def test_emptied_manifest_is_refused_and_reopened_drift_keeps_its_age(
    aws: Aws, repo: ManifestRepo, tmp_path: Path
) -> None:
    gid, sg_decl, _ = seed.security_group(aws, "web")
    s3 = aws.client("s3")
    for name in ("aaa", "bbb", "ccc"):
        s3.create_bucket(Bucket=name)
    aws.client("ec2").authorize_security_group_ingress(
        GroupId=gid,
        IpPermissions=[{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22,
                        "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}],
    )  # fmt: skip
    full = [
        {"type": "aws_security_group", "id": "web", "spec": sg_decl},
        *(bucket(n, "Disabled") for n in ("aaa", "bbb", "ccc")),
    ]
    repo.declare(*full)
    cfg = write_config(tmp_path, aws.url, repo.path, ONLY_SG)
    first = scan(cfg)
    assert first.code == 2
    sg = first.drift("aws_security_group", "web")
    assert sg["changes"][0]["path"].startswith("ingress")

    repo.write("declared/main.yaml", "resources: []\n")
    empty_sha = repo.commit("oops")
    refused = scan(cfg)
    assert refused.code == 1 and refused.stdout == ""
    assert "declared resources dropped from 4 to 0 (100%)" in refused.stderr
    assert "--allow-declared-drop" in refused.stderr and empty_sha[:12] in refused.stderr
    store = db(tmp_path)
    last = store.scans()[-1]
    assert last["status"] == "failed" and last["commit_sha"] == empty_sha
    assert [d["status"] for d in store.drifts()] == ["open"]

    allowed = scan(cfg, "--allow-declared-drop")
    assert allowed.code == 2
    assert [r["reason"] for r in allowed.doc["resolved"]] == ["no longer declared"]

    repo.declare(*full)
    back = scan(cfg)
    again = back.drift("aws_security_group", "web")
    assert again["transition"] == "reopened"
    assert again["first_seen"] == sg["first_seen"]  # within scan.reopen_window


def test_not_checked_resource_keeps_last_snapshot_and_live_id(
    aws: Aws, repo: ManifestRepo, tmp_path: Path
) -> None:
    s3 = aws.client("s3")
    for name in ("a-bucket", "b-bucket"):
        s3.create_bucket(Bucket=name)
    s3.put_bucket_tagging(Bucket="a-bucket", Tagging={"TagSet": [{"Key": "t", "Value": "1"}]})
    repo.declare(
        {"type": "aws_s3_bucket", "id": "a-bucket", "spec": {"tags": {"t": "1"}}},
        {"type": "aws_s3_bucket", "id": "b-bucket", "spec": {"versioning": "Enabled"}},
    )
    proxy = FaultProxy(aws.url).start()
    try:
        cfg = write_config(tmp_path, proxy.url, repo.path, extra=NO_UNMANAGED)
        assert scan(cfg).code == 2
        proxy.faults.append(Fault("deny", service="s3", action="tagging"))
        run = scan(cfg)
        assert run.code == 1
    finally:
        proxy.stop()
    rows = {r["resource_id"]: r for r in db(tmp_path).resources()}
    assert rows["a-bucket"]["kind"] == "not_checked"
    assert rows["a-bucket"]["snapshot"] == {"tags": {"t": "1"}}
    assert rows["a-bucket"]["live_id"] == "a-bucket"
    assert rows["b-bucket"]["kind"] == "modified"


def test_read_only_database_fails_before_any_aws_call(
    aws: Aws, repo: ManifestRepo, tmp_path: Path
) -> None:
    aws.client("s3").create_bucket(Bucket="logs")
    repo.declare(bucket("logs"))
    proxy = FaultProxy(aws.url).start()
    try:
        cfg = write_config(tmp_path, proxy.url, repo.path, extra=NO_UNMANAGED)
        assert scan(cfg).code == 2
        path = tmp_path / "state" / "driftwatch.db"
        Store(path).db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        proxy.faults.append(counter := Fault("deny"))
        with read_only(path):
            run = scan(cfg)
        assert run.code == 1
        assert "read-only" in run.stderr and str(path) in run.stderr, run.stderr
        assert "Traceback" not in run.stderr and len(run.stderr.strip().splitlines()) == 1
        assert counter.hits == 0, "no AWS call before the database check"
    finally:
        proxy.stop()


def test_corrupt_database_is_one_line_up_front(
    aws: Aws, repo: ManifestRepo, tmp_path: Path
) -> None:
    repo.declare(bucket("logs"))
    cfg = write_config(tmp_path, "http://127.0.0.1:9", repo.path, extra=NO_UNMANAGED)
    path = tmp_path / "state" / "driftwatch.db"
    path.parent.mkdir(parents=True)
    path.write_bytes(b"\x00garbage" * 4096)
    run = scan(cfg)
    assert run.code == 1
    assert f"database {path} is damaged" in run.stderr and "Traceback" not in run.stderr
    assert "EndpointUnreachable" not in run.stdout + run.stderr


def test_a_second_scan_waits_or_refuses_naming_the_holder(
    aws: Aws, repo: ManifestRepo, tmp_path: Path
) -> None:
    cfg = drifting_buckets(aws, repo, tmp_path, "logs")
    data_dir = tmp_path / "state" / ".driftwatch"
    with data_dir_lock(data_dir):
        refused = scan(cfg)
        waited = scan(cfg, "--wait", "1s")
    assert refused.code == 1 and waited.code == 1
    assert f"another scan is running on {data_dir} (pid {os.getpid()}" in refused.stderr
    assert "after waiting 1s" in waited.stderr
    assert db(tmp_path).scans() == []  # refused before starting: no scan row


def test_concurrent_scans_after_a_new_commit_all_succeed(
    aws: Aws, repo: ManifestRepo, tmp_path: Path
) -> None:
    aws.client("s3").create_bucket(Bucket="logs")
    repo.declare(bucket("logs"))
    remote = tmp_path / "remote.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(repo.path), str(remote)], check=True)
    cfg = write_config(tmp_path, aws.url, f"file://{remote}", extra=NO_UNMANAGED)
    assert scan(cfg).code == 2
    repo.declare(bucket("logs", "Disabled"))
    repo.git("push", "-q", str(remote), "main")
    with ThreadPoolExecutor(4) as pool:
        runs = list(pool.map(lambda _: scan(cfg, "--wait", "120s"), range(4)))
    assert [r.code for r in runs] == [0, 0, 0, 0], [r.stderr for r in runs]
    assert [s["status"] for s in db(tmp_path).scans()] == ["ok"] * 5


def test_collector_bug_is_an_internal_error_not_access_denied(
    aws: Aws, repo: ManifestRepo, tmp_path: Path
) -> None:
    cfg = drifting_buckets(aws, repo, tmp_path, "logs")
    # The real CLI, with the S3 listing broken the way a collector bug would break it.
    code = (
        "import sys, driftwatch.collectors.s3 as m\n"
        "def boom(self, client, scope): return {}['Buckets']\n"
        "m.S3Bucket.list_resources = boom\n"
        "from driftwatch.cli import main\n"
        "sys.argv = ['driftwatch', 'scan', '--config', sys.argv[1], '--format', 'json']\n"
        "main()\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code, str(cfg)], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 1, proc.stderr
    doc = json.loads(proc.stdout)
    [err] = doc["errors"]
    assert err["internal"] is True
    assert err["error"].startswith("internal error: KeyError: 'Buckets'")
    assert "AccessDenied" not in err["error"]
    log = tmp_path / "state" / ".driftwatch" / "driftwatch.log"
    assert str(log) in err["error"]
    assert "Traceback" in log.read_text() and "KeyError: 'Buckets'" in log.read_text()
    assert doc["scan"]["status"] == "failed"  # its only scope failed


def test_drifts_and_history_read_the_store(aws: Aws, repo: ManifestRepo, tmp_path: Path) -> None:
    s3 = aws.client("s3")
    cfg = drifting_buckets(aws, repo, tmp_path, "logs")
    scan(cfg)
    s3.put_bucket_versioning(Bucket="logs", VersioningConfiguration={"Status": "Enabled"})
    scan(cfg)

    assert "no drift records match" in cli(cfg, "drifts").stdout
    listed = cli(cfg, "drifts", "--status", "all", "--format", "json")
    assert listed.code == 0, listed.stderr
    [d] = json.loads(listed.stdout)["drifts"]
    assert (d["id"], d["status"], d["resolved_reason"]) == ("logs", "resolved", "in sync")
    table = cli(cfg, "drifts", "--status", "resolved", "--type", "aws_s3_bucket")
    assert "logs" in table.stdout and "in sync" in table.stdout
    assert "no drift records match" in cli(cfg, "drifts", "--account", "other").stdout

    hist = cli(cfg, "history", "aws_s3_bucket", "logs")
    assert hist.code == 0, hist.stderr
    lines = hist.stdout.splitlines()
    assert "now in_sync" in lines[0]
    what = [line.split("  ", 2)[-1] for line in lines[1:] if line.strip()]
    assert what == [
        "state modified",
        "drift modified opened: versioning",
        "state in_sync: versioning changed",
        "drift modified resolved: in sync",
    ]
    missing = cli(cfg, "history", "aws_s3_bucket", "nope")
    assert missing.code == 1 and "no history for aws_s3_bucket 'nope'" in missing.stderr


def test_prune_keeps_open_drifts_and_dry_run_changes_nothing(
    aws: Aws, repo: ManifestRepo, tmp_path: Path
) -> None:
    s3 = aws.client("s3")
    cfg = drifting_buckets(aws, repo, tmp_path, "open-one", "fixed-one")
    scan(cfg)
    s3.put_bucket_versioning(Bucket="fixed-one", VersioningConfiguration={"Status": "Enabled"})
    scan(cfg)
    time.sleep(1.1)  # timestamps have one-second resolution
    dry = cli(cfg, "prune", "--older-than", "0s", "--dry-run")
    assert dry.code == 0, dry.stderr
    assert "would remove" in dry.stdout and "1 drifts" in dry.stdout
    store = db(tmp_path)
    assert len(store.drifts()) == 2 and len(store.scans()) == 2

    done = cli(cfg, "prune", "--older-than", "0s")
    assert done.code == 0 and done.stdout.startswith("removed history older than")
    assert done.stdout.split(": ", 1)[1] == dry.stdout.split(": ", 1)[1]  # the same counts
    store = db(tmp_path)
    [kept] = store.drifts()
    assert (kept["resource_id"], kept["status"]) == ("open-one", "open")
    assert [e["event"] for e in store.events(kept["fingerprint"])] == ["opened"]
    assert [s["id"] for s in store.scans()] == [1, 2]  # opened the open drift; the latest
    # Retention off and no --older-than: a clear refusal.
    off = write_config(tmp_path, aws.url, repo.path, extra=NO_UNMANAGED)
    text = off.read_text().replace(
        '"state/driftwatch.db"', '"state/driftwatch.db"\nretention_days = 0'
    )
    off.write_text(text)
    refused = cli(off, "prune")
    assert refused.code == 1 and "retention_days] is 0" in refused.stderr
