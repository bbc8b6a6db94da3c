"""Accept into Git: pure manifest edits, and a real branch on a real bare remote."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import textwrap
from pathlib import Path
from typing import Any

import pytest
import yaml
from support import seed
from support.env import Aws, ManifestRepo, scan, write_config

from driftwatch.aws import AwsSessions
from driftwatch.config import Config, load_config
from driftwatch.datadir import prepare_data_dir
from driftwatch.declared.git import GitSource, read_blob
from driftwatch.diff import diff_resource
from driftwatch.models import Change, DeclaredResource, Finding, Scope
from driftwatch.registry import collectors
from driftwatch.remediation.accept import (
    SECRET_WHY,
    execute_accept,
    plan_accept,
    plan_new_manifest,
    plan_remove,
    prepare_accept,
    prepare_accept_missing,
    prepare_accept_unmanaged,
)
from driftwatch.remediation.subject import RemediationError, compare, read_live
from driftwatch.scan import load_all, load_declared
from driftwatch.secretkey import load_or_create_key

BUCKETS = """\
# Buckets of the platform team.
resources:
  # Central logs; versioned.
  - type: aws_s3_bucket
    id: acme-logs
    spec:
      versioning: Enabled   # never suspend
      tags:
        team: platform  # who pays
        cost: "42"
  # Untouched by the accept.
  - type: aws_s3_bucket
    id: acme-data
    spec:
      tags: {team: data}
"""

PAB_OFF = dict.fromkeys(
    ("block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets"),
    False,
)


def declared(rtype: str, rid: str, source: str, line: int | None = None, **kw: Any) -> Any:
    region = "global" if rtype.startswith("aws_iam") else "us-east-1"
    return DeclaredResource(rtype, rid, "default", region, {}, source, line, **kw)


def diff_lines(diff: str) -> tuple[list[str], list[str]]:
    """The removed and added lines of a unified diff (headers left out)."""
    lines = [ln for ln in diff.splitlines() if not ln.startswith(("---", "+++"))]
    return [ln[1:] for ln in lines if ln.startswith("-")], [
        ln[1:] for ln in lines if ln.startswith("+")
    ]


def comments(text: str) -> list[str]:
    return [ln[ln.index("#") :] for ln in text.splitlines() if "#" in ln]


# ------------------------------------------------------------------------ pure plans: YAML


def test_yaml_tags_and_scalar_keep_comments_order_and_other_resources() -> None:
    have = {"versioning": "Suspended", "tags": {"team": "data", "owner": "alice"}}
    changes = [
        Change("tags.cost", "42", None),
        Change("tags.owner", None, "alice"),
        Change("tags.team", "platform", "data"),
        Change("versioning", "Enabled", "Suspended"),
    ]
    plan = plan_accept(
        declared("aws_s3_bucket", "acme-logs", "d/b.yaml", 4), have, changes, BUCKETS, set()
    )
    removed, added = diff_lines(plan.diff)
    assert removed == [
        "      versioning: Enabled   # never suspend",
        "        team: platform  # who pays",
        '        cost: "42"',
    ]
    assert added == [
        "      versioning: Suspended # never suspend",
        "        team: data      # who pays",
        "        owner: alice",
    ]
    assert comments(plan.new_text) == comments(BUCKETS)
    assert plan.written == ("tags.cost", "tags.owner", "tags.team", "versioning")
    assert plan.left_out == () and not plan.new_file
    doc = yaml.safe_load(plan.new_text)["resources"]
    assert doc[1] == {
        "type": "aws_s3_bucket",
        "id": "acme-data",
        "spec": {"tags": {"team": "data"}},
    }


def test_yaml_quotes_strings_that_would_read_as_other_types_and_writes_struct_fields() -> None:
    text = textwrap.dedent("""\
        type: aws_s3_bucket
        id: b
        spec:
            public_access_block:
                block_public_acls: true   # required by policy
            tags:
                cost: "1"
        """)
    have = {"public_access_block": PAB_OFF, "tags": {"cost": "42", "since": "2024-01-01"}}
    changes = [
        Change("public_access_block.block_public_acls", True, False),
        Change("tags.cost", "1", "42"),
        Change("tags.since", None, "2024-01-01"),
    ]
    plan = plan_accept(declared("aws_s3_bucket", "b", "b.yaml", 1), have, changes, text, set())
    removed, added = diff_lines(plan.diff)
    assert removed == [
        "        block_public_acls: true   # required by policy",
        '        cost: "1"',
    ]
    assert added == [
        "        block_public_acls: false  # required by policy",
        '        cost: "42"',
        '        since: "2024-01-01"',
    ]


def test_yaml_sets_keep_declared_order_and_comments() -> None:
    text = textwrap.dedent("""\
        resources:
        - type: aws_iam_role
          id: app
          spec:
            managed_policy_arns:
            - arn:aws:iam::aws:policy/ZZZ   # first on purpose
            - arn:aws:iam::aws:policy/Gone
            - arn:aws:iam::aws:policy/AAA
        """)
    have = {
        "managed_policy_arns": [
            "arn:aws:iam::aws:policy/AAA",
            "arn:aws:iam::aws:policy/New",
            "arn:aws:iam::aws:policy/ZZZ",
        ]
    }
    plan = plan_accept(
        declared("aws_iam_role", "app", "r.yaml", 2),
        have,
        [Change("managed_policy_arns", [], [])],
        text,
        set(),
    )
    removed, added = diff_lines(plan.diff)
    assert removed == ["    - arn:aws:iam::aws:policy/Gone"]
    assert added == ["    - arn:aws:iam::aws:policy/New"]
    assert "# first on purpose" in plan.new_text


def test_security_group_rules_remove_a_source_add_a_rule_and_change_a_description() -> None:
    ssh = '{protocol: tcp, from_port: 22, to_port: 22, cidr_blocks: ["10.0.0.0/8", "10.9.0.0/16"]}'
    text = textwrap.dedent(f"""\
        resources:
          - type: aws_security_group
            id: web
            spec:
              ingress:
                # ssh from the office and the VPN
                - {ssh}
                - protocol: tcp
                  from_port: 443
                  to_port: 443
                  cidr_blocks: ["0.0.0.0/0"]
                  description: web
        """)

    def rule(port: int, cidr: str, desc: str | None = None) -> dict[str, Any]:
        return {
            "protocol": "tcp",
            "from_port": port,
            "to_port": port,
            "cidr_blocks": [cidr],
            "description": desc,
        }

    have = {"ingress": {
        "tcp 22-22 10.0.0.0/8": rule(22, "10.0.0.0/8"),
        "tcp 443-443 0.0.0.0/0": rule(443, "0.0.0.0/0", "https"),
        "tcp 3389-3389 0.0.0.0/0": rule(3389, "0.0.0.0/0", "rdp"),
    }}  # fmt: skip
    changes = [
        Change('ingress["tcp 22-22 10.9.0.0/16"]', {}, None),
        Change('ingress["tcp 3389-3389 0.0.0.0/0"]', None, {}),
        Change('ingress["tcp 443-443 0.0.0.0/0"].description', "web", "https"),
    ]
    plan = plan_accept(
        declared("aws_security_group", "web", "sg.yaml", 2), have, changes, text, set()
    )
    removed, added = diff_lines(plan.diff)
    assert removed[0].startswith(f"        - {ssh}")
    assert added[0].startswith(
        '        - {protocol: tcp, from_port: 22, to_port: 22, cidr_blocks: ["10.0.0.0/8"]}'
    )
    assert removed[1:] == ["          description: web"]
    assert added[1:] == [
        "          description: https",
        "        - {protocol: tcp, from_port: 3389, to_port: 3389, cidr_blocks: [0.0.0.0/0], "
        "description: rdp}",
    ]
    assert "# ssh from the office and the VPN" in plan.new_text
    assert plan.left_out == ()


def test_a_rule_declared_through_the_groups_own_id_is_left_out() -> None:
    text = textwrap.dedent("""\
        type: aws_security_group
        id: web
        spec:
          ingress:
            - {protocol: tcp, from_port: 443, to_port: 443, security_groups: [sg-0aaa]}
        """)
    change = Change('ingress["tcp 443-443 self"]', {}, None)
    plan = plan_accept(
        declared("aws_security_group", "web", "sg.yaml", 1), {"ingress": {}}, [change], text, set()
    )
    assert plan.written == () and plan.diff == "" and plan.new_text == text
    (left,) = plan.left_out
    assert left.path == change.path and "own id" in left.why


# ------------------------------------------------------------- pure plans: JSON, policies


@pytest.mark.parametrize("indent", [2, 4, None])
def test_json_keeps_its_indentation_and_changes_only_drifted_lines(indent: int | None) -> None:
    doc = {"resources": [{"type": "aws_iam_role", "id": "app", "spec": {
        "description": "old",
        "max_session_duration": 3600,
        "tags": {"team": "a"},
    }}]}  # fmt: skip
    text = json.dumps(doc, indent=indent) + "\n"
    have = {"description": "new", "max_session_duration": 3600, "tags": {"team": "b"}}
    changes = [Change("description", "old", "new"), Change("tags.team", "a", "b")]
    plan = plan_accept(declared("aws_iam_role", "app", "r.json"), have, changes, text, set())
    expected = (
        json.dumps(json.loads(text.replace('"old"', '"new"').replace('"a"', '"b"')), indent=indent)
        + "\n"
    )
    assert plan.new_text == expected
    removed, added = diff_lines(plan.diff)
    if indent:
        assert [ln.strip() for ln in removed] == ['"description": "old",', '"team": "a"']
        assert [ln.strip() for ln in added] == ['"description": "new",', '"team": "b"']


def test_nested_policy_paths_keep_json_text_as_text_and_mappings_as_mappings() -> None:
    inline = json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject"}]},
        separators=(",", ":"),
    )
    text = textwrap.dedent(f"""\
        type: aws_iam_role
        id: app
        spec:
          # who may assume it
          assume_role_policy:
            Version: "2012-10-17"
            Statement:
              Effect: Allow
              Principal: {{Service: lambda.amazonaws.com}}
              Action: sts:AssumeRole
          inline_policies:
            read: '{inline}'
        """)
    trust = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": ["ec2.amazonaws.com"]},
         "Action": ["sts:AssumeRole"]}
    ]}  # fmt: skip
    read = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"], "Resource": ["*"]}
    ]}  # fmt: skip
    changes = [
        Change("assume_role_policy.Statement", [], []),
        Change("inline_policies.read.Statement", [], []),
    ]
    have = {"assume_role_policy": trust, "inline_policies": {"read": read}}
    plan = plan_accept(declared("aws_iam_role", "app", "r.yaml", 1), have, changes, text, set())
    new = yaml.safe_load(plan.new_text)["spec"]
    assert new["assume_role_policy"] == trust
    assert isinstance(new["inline_policies"]["read"], str)
    assert json.loads(new["inline_policies"]["read"]) == read
    assert "# who may assume it" in plan.new_text
    removed, _ = diff_lines(plan.diff)
    assert '    Version: "2012-10-17"' not in removed  # only the Statement was drifted


# ------------------------------------------------------------------------ secrets, refusals


def test_secret_paths_are_left_out_and_never_in_the_diff() -> None:
    text = textwrap.dedent("""\
        type: aws_lambda_function
        id: api
        spec:
          environment:
            DB_PASSWORD: hunter2-from-git
          memory_size: 128
        """)
    changes = [
        Change("environment.DB_PASSWORD", "(hidden)", "(hidden: differs)"),
        Change("memory_size", 128, 256),
    ]
    have = {"environment": {"DB_PASSWORD": "hmac-sha256:ab"}, "memory_size": 256}
    plan = plan_accept(
        declared("aws_lambda_function", "api", "f.yaml", 1), have, changes, text, {"environment"}
    )
    assert plan.written == ("memory_size",)
    assert [x.to_dict() for x in plan.left_out] == [
        {"path": "environment.DB_PASSWORD", "why": SECRET_WHY}
    ]
    assert "hunter2-from-git" in plan.new_text  # the file keeps what Git declared ...
    assert "hunter2-from-git" not in plan.diff  # ... but the shown diff masks it
    assert "hunter2-from-git" not in json.dumps(plan.to_dict())
    assert "hmac-sha256" not in plan.new_text
    _, added = diff_lines(plan.diff)
    assert added == ["  memory_size: 256"]


@pytest.mark.parametrize("fmt", ["yaml", "json"])
def test_a_multi_line_secret_is_masked_in_the_diff_context(fmt: str) -> None:
    """A block scalar (YAML) or an escaped string (JSON) next to a drifted line: none of
    its lines reaches the shown diff, whose context would otherwise carry them."""
    key = "-----BEGIN KEY-----\nMIIEpQIBAAKCAQEA0planted\nx9\n-----END KEY-----\n"
    spec = {"environment": {"TLS_KEY": key, "MODE": "x9"}, "memory_size": 128}
    doc = {"type": "aws_lambda_function", "id": "api", "spec": spec}
    if fmt == "json":
        text = json.dumps(doc, indent=2) + "\n"
    else:
        text = textwrap.dedent("""\
            type: aws_lambda_function
            id: api
            spec:
              environment:
                MODE: x9
                TLS_KEY: |
                  -----BEGIN KEY-----
                  MIIEpQIBAAKCAQEA0planted
                  x9
                  -----END KEY-----
              memory_size: 128
            """)
    assert yaml.safe_load(text)["spec"] == spec
    plan = plan_accept(
        declared("aws_lambda_function", "api", f"f.{fmt}", 1),
        {"memory_size": 256},
        [Change("memory_size", 128, 256)],
        text,
        {"environment"},
    )
    assert plan.written == ("memory_size",)
    assert "planted" in plan.new_text  # the file keeps what Git declared ...
    for secret in ("MIIEpQIBAAKCAQEA0planted", "BEGIN KEY", "x9"):
        assert secret not in plan.diff, plan.diff  # ... the shown diff masks every line
    assert "memory_size" in plan.diff


def test_terraform_declared_resources_are_refused() -> None:
    res = declared(
        "aws_s3_bucket", "b", "tfstate", declared_by={"state": "net", "address": "aws_s3_bucket.b"}
    )
    with pytest.raises(RemediationError, match=r"change the \.tf config; use pipeline mode"):
        plan_accept(
            res,
            {"versioning": "Enabled"},
            [Change("versioning", "Suspended", "Enabled")],
            "",
            set(),
        )


def test_a_resource_no_longer_in_the_file_is_refused() -> None:
    with pytest.raises(RemediationError, match="not found in the file"):
        plan_accept(
            declared("aws_s3_bucket", "gone", "d/b.yaml", 4),
            {},
            [Change("versioning", "a", "b")],
            BUCKETS,
            set(),
        )


def test_new_manifest_for_an_unmanaged_resource() -> None:
    have = {
        "memory_size": 256,
        "runtime": "python3.12",
        "environment": {"K": "hmac-sha256:00"},
        "tags": {"team": "api"},
        "layers": None,
    }
    plan = plan_new_manifest(
        "aws_lambda_function",
        "api",
        "prod",
        "eu-west-1",
        have,
        folder="declared",
        known_from="a live read",
    )
    assert (
        plan.new_file
        and plan.path == "declared/accepted/prod/eu-west-1/aws_lambda_function/api.yaml"
    )
    doc = yaml.safe_load(plan.new_text)
    assert doc == {
        "type": "aws_lambda_function",
        "id": "api",
        "account": "prod",
        "region": "eu-west-1",
        "spec": {"memory_size": 256, "runtime": "python3.12", "tags": {"team": "api"}},
    }
    assert plan.left_out[0].path == "environment" and plan.left_out[0].why == SECRET_WHY
    assert plan.new_text.startswith("# Accepted into Git by driftwatch")
    assert all(ln.startswith("+") for ln in plan.diff.splitlines()[2:] if not ln.startswith("@@"))
    with pytest.raises(RemediationError, match="already exists"):
        plan_new_manifest(
            "aws_s3_bucket", "b", "prod", "eu-west-1", {}, folder="declared", exists=True
        )


# ------------------------------------------------------------------------ against a real remote


def remote_of(repo: ManifestRepo, tmp_path: Path) -> Path:
    remote = tmp_path / "remote.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(repo.path), str(remote)], check=True)
    return remote


def git(path: Path, *args: str) -> str:
    out = subprocess.run(
        ["git", "-C", str(path), *args], check=True, capture_output=True, text=True
    )
    return out.stdout.strip()


def finding_for(aws: Aws, cfg: Config, rid: str) -> tuple[str, DeclaredResource, Finding]:
    """What the orchestration plans from: the declared resource at the fetched commit, live."""
    fetched, resources = load_declared(cfg)
    res = next(r for r in resources if r.id == rid)
    collector = collectors.get(res.type)()
    client = aws.client(collector.service)
    live = next(
        lv
        for lv in collector.list_resources(client, Scope(res.account, res.region, res.type))
        if lv.answers_to(rid)
    )
    for source in collector.sources_for(list(res.spec)):
        live.attrs.update(collector.read(source, client, live))
    key = load_or_create_key(cfg.storage.data_dir)
    return (
        fetched.commit,
        res,
        diff_resource(collector, res, live, [], dt.date.today(), secret_key=key),
    )


ACCEPT_CONFIG = """
[remediation]
enabled = true
[remediation.git]
push = true
author_email = "driftwatch@acme.example"
"""


def test_accept_pushes_a_branch_whose_diff_is_the_drift_and_merging_it_syncs(
    aws: Aws, repo: ManifestRepo, tmp_path: Path
) -> None:
    seed.bucket(aws, "acme-logs")
    seed.bucket(aws, "acme-data")
    s3 = aws.client("s3")
    s3.put_bucket_tagging(
        Bucket="acme-data", Tagging={"TagSet": [{"Key": "team", "Value": "data"}]}
    )
    repo.write("declared/buckets.yaml", BUCKETS)
    repo.commit("buckets")
    remote = remote_of(repo, tmp_path)
    cfg_path = write_config(tmp_path, aws.url, remote, extra=ACCEPT_CONFIG)

    s3.put_bucket_versioning(Bucket="acme-logs", VersioningConfiguration={"Status": "Suspended"})
    s3.put_bucket_tagging(Bucket="acme-logs", Tagging={"TagSet": [
        {"Key": "team", "Value": "data"}, {"Key": "owner", "Value": "alice"},
    ]})  # fmt: skip
    cfg = load_config(cfg_path)
    base, res, finding = finding_for(aws, cfg, "acme-logs")
    text = read_blob(GitSource(cfg.git, cfg.storage.data_dir).cache, base, res.source)  # type: ignore[arg-type]
    assert text is not None
    plan = plan_accept(res, finding.snapshot or {}, finding.changes, text.decode(), set())
    result = execute_accept(
        cfg, plan, drift_id=finding.fingerprint, actor_name="Alice Ops", base_commit=base
    )

    branch = f"driftwatch/accept-{finding.fingerprint}"
    assert result.branch == branch and result.pushed
    assert git(remote, "rev-parse", f"refs/heads/{branch}") == result.commit
    assert git(remote, "rev-parse", f"{result.commit}^") == base
    assert (
        git(remote, "log", "-1", "--format=%an <%ae>", result.commit)
        == "Alice Ops <driftwatch@acme.example>"
    )
    message = git(remote, "log", "-1", "--format=%B", result.commit)
    assert "aws_s3_bucket acme-logs (default/us-east-1)" in message
    assert "tags.cost" in message and "versioning" in message and "Alice Ops" in message
    assert git(remote, "diff", "--name-only", base, result.commit) == "declared/buckets.yaml"
    removed, added = diff_lines(git(remote, "diff", base, result.commit))
    assert removed == [
        "      versioning: Enabled   # never suspend",
        "        team: platform  # who pays",
        '        cost: "42"',
    ]
    assert added == [
        "      versioning: Suspended # never suspend",
        "        team: data      # who pays",
        "        owner: alice",
    ]
    committed = git(remote, "show", f"{result.commit}:declared/buckets.yaml")
    assert comments(committed) == comments(BUCKETS)
    assert git(remote, "rev-parse", "refs/heads/main") == base  # nothing merged by driftwatch

    # Not resolved before the merge; in sync after it.
    assert scan(cfg_path).doc["summary"]["modified"] == 1
    git(remote, "update-ref", "refs/heads/main", result.commit)  # the user merges (fast-forward)
    after = scan(cfg_path)
    assert after.code == 0, after.stdout + after.stderr
    assert after.doc["summary"]["in_sync"] == 2 and after.doc["summary"]["modified"] == 0

    # A retry of the same plan finds its change there; another change is refused.
    again = execute_accept(
        cfg, plan, drift_id=finding.fingerprint, actor_name="Al", base_commit=base
    )
    assert again.commit == result.commit and again.pushed
    other = plan_accept(res, finding.snapshot or {}, finding.changes[:1], text.decode(), set())
    with pytest.raises(RemediationError, match=r"already exists on .* a different commit"):
        execute_accept(cfg, other, drift_id=finding.fingerprint, actor_name="Bob", base_commit=base)
    assert git(remote, "rev-parse", f"refs/heads/{branch}") == result.commit


def test_prepared_accept_without_push_commits_in_driftwatchs_clone_only(
    aws: Aws, repo: ManifestRepo, tmp_path: Path
) -> None:
    seed.bucket(aws, "acme-logs")
    repo.write("declared/buckets.yaml", BUCKETS)
    base = repo.commit("buckets")
    remote = remote_of(repo, tmp_path)
    cfg = load_config(write_config(tmp_path, aws.url, remote))
    aws.client("s3").put_bucket_versioning(
        Bucket="acme-logs", VersioningConfiguration={"Status": "Suspended"}
    )
    # What the orchestration does: read declared and live now, compare, prepare, run.
    sessions, key = AwsSessions(cfg.aws), load_or_create_key(prepare_data_dir(cfg))
    found = load_all(cfg, sessions, key)
    res = next(r for r in found.resources if r.id == "acme-logs")
    subject = compare(cfg, res, read_live(cfg, sessions, res), key, base)
    prepared = prepare_accept(cfg, key, subject, fingerprint="d1", actor_name="carol")
    assert prepared.body["written"] == ["versioning"] and prepared.body["commit"] == base
    assert prepared.body["branch"] == "driftwatch/accept-d1" and prepared.body["push"] is False
    assert "push is off" in prepared.summary
    # Planning again (at execution, by someone else) gives the same digests: not stale.
    again = prepare_accept(cfg, key, subject, fingerprint="d1", actor_name="dan")
    assert (again.plan_hash, again.live_hash) == (prepared.plan_hash, prepared.live_hash)
    outcome = prepared.run()
    assert outcome.status == "succeeded" and not outcome.resolve, outcome.result
    assert outcome.result["pushed"] is False
    assert git(remote, "branch", "--list", "driftwatch/*") == ""
    cache = GitSource(cfg.git, cfg.storage.data_dir).cache  # type: ignore[arg-type]
    assert git(cache, "rev-parse", "refs/heads/driftwatch/accept-d1") == outcome.result["commit"]
    assert git(repo.path, "status", "--porcelain") == ""  # the user's checkout is untouched
    assert git(repo.path, "branch", "--list", "driftwatch/*") == ""
    # acme-data was never created: accepting that drift removes its declaration.
    gone = next(r for r in found.resources if r.id == "acme-data")
    removal = prepare_accept_missing(
        cfg, sessions, key, gone, base, fingerprint="d3", actor_name="carol"
    )
    assert removal.body["written"] == ["(resource)"]
    removed = removal.run()
    assert removed.status == "succeeded", removed.result
    after = git(cache, "show", f"{removed.result['commit']}:declared/buckets.yaml")
    assert "acme-data" not in after and "# Untouched by the accept." not in after
    assert "# Central logs; versioned." in after and "acme-logs" in after
    with pytest.raises(RemediationError, match="is live again"):
        prepare_accept_missing(cfg, sessions, key, res, base, fingerprint="d4", actor_name="c")
    stale = plan_accept(
        res,
        {"versioning": "Suspended"},
        [Change("versioning", "Enabled", "Suspended")],
        BUCKETS + "\n",
        set(),
    )
    with pytest.raises(RemediationError, match="not the text the plan was made from"):
        execute_accept(cfg, stale, drift_id="d2", actor_name="carol", base_commit=base)


def test_accepting_an_unmanaged_bucket_declares_it_in_sync(
    aws: Aws, repo: ManifestRepo, tmp_path: Path
) -> None:
    repo.write("declared/buckets.yaml", "resources: []\n")
    repo.commit("nothing yet")
    seed.bucket(aws, "acme-stray")
    remote = remote_of(repo, tmp_path)
    cfg_path = write_config(tmp_path, aws.url, remote, extra=ACCEPT_CONFIG)
    before = scan(cfg_path)
    (unmanaged,) = before.findings("unmanaged")
    cfg = load_config(cfg_path)
    sessions, key = AwsSessions(cfg.aws), load_or_create_key(prepare_data_dir(cfg))
    prepared = prepare_accept_unmanaged(
        cfg,
        sessions,
        key,
        ("default", "us-east-1", "aws_s3_bucket", "acme-stray"),
        fingerprint=unmanaged["fingerprint"],
        actor_name="dave",
    )
    assert set(prepared.body["written"]) == {
        "versioning",
        "server_side_encryption",
        "public_access_block",
        "policy",
        "tags",
    }
    path = "declared/accepted/default/us-east-1/aws_s3_bucket/acme-stray.yaml"
    assert prepared.body["path"] == path and prepared.body["new_file"]
    outcome = prepared.run()
    assert outcome.status == "succeeded" and outcome.result["pushed"], outcome.result
    git(remote, "update-ref", "refs/heads/main", outcome.result["commit"])
    after = scan(cfg_path)
    assert after.code == 0, after.stdout + after.stderr
    assert after.doc["summary"]["in_sync"] == 1 and after.findings("unmanaged") == []
    # Once declared, a second accept of the same resource would overwrite the file: refused.
    with pytest.raises(RemediationError, match="already exists"):
        prepare_accept_unmanaged(
            cfg,
            sessions,
            key,
            ("default", "us-east-1", "aws_s3_bucket", "acme-stray"),
            fingerprint="again",
            actor_name="dave",
        )


# ------------------------------------------------------------- fidelity on real manifests

EXAMPLES = sorted((Path(__file__).parent.parent / "docs" / "examples" / "declared").glob("*.yaml"))


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_adding_a_tag_to_any_example_manifest_changes_only_that_line(path: Path) -> None:
    text = path.read_text()
    original = yaml.safe_load(text)
    entries = original.get("resources", [original])
    lines = ruamel_lines(text)
    tagged = [(i, e) for i, e in enumerate(entries) if isinstance(e["spec"].get("tags"), dict)]
    for i, entry in tagged:
        tags = {str(k): str(v) for k, v in entry["spec"]["tags"].items()}
        res = declared(entry["type"], str(entry["id"]), path.name, lines[i])
        have = {"tags": {**tags, "accepted": "yes"}}
        plan = plan_accept(res, have, [Change("tags.accepted", None, "yes")], text, set())
        removed, added = diff_lines(plan.diff)
        assert len(removed) <= 1 and len(added) == len(removed) + (0 if removed else 1), plan.diff
        assert '"yes"' in added[-1]  # a YAML 1.1 reader must not see a boolean
        expected = yaml.safe_load(text)
        got = expected["resources"][i] if "resources" in expected else expected
        got["spec"]["tags"]["accepted"] = "yes"
        assert yaml.safe_load(plan.new_text) == expected
    assert tagged or path.name in {"lambda.yaml"}, "no tagged resource in the example"


def ruamel_lines(text: str) -> list[int]:
    """The line of each resource entry, as driftwatch records it."""
    from ruamel.yaml import YAML

    doc = YAML().load(text)
    return [int(item.lc.line) + 1 for item in doc.get("resources", [doc])]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "# head\n---\ntype: aws_s3_bucket\nid: b\nspec:\n  versioning: Enabled # c\n",
            "# head\n---\ntype: aws_s3_bucket\nid: b\nspec:\n  versioning: Suspended # c\n",
        ),
        (
            "type: aws_s3_bucket\r\nid: b\r\nspec:\r\n  versioning: Enabled\r\n  policy: ~\r\n",
            "type: aws_s3_bucket\r\nid: b\r\nspec:\r\n  versioning: Suspended\r\n  policy: ~\r\n",
        ),
        (
            "type: aws_s3_bucket\nid: b\nspec:\n  policy:\n  versioning: Enabled",
            "type: aws_s3_bucket\nid: b\nspec:\n  policy:\n  versioning: Suspended",
        ),
    ],
    ids=["comment-and-document-start", "crlf-and-null", "no-final-newline"],
)
def test_file_conventions_survive(text: str, expected: str) -> None:
    res = declared("aws_s3_bucket", "b", "b.yaml", None)
    change = Change("versioning", "Enabled", "Suspended")
    plan = plan_accept(res, {"versioning": "Suspended"}, [change], text, set())
    assert plan.new_text == expected


def test_a_refused_attribute_leaves_no_trace_beside_a_written_one() -> None:
    text = textwrap.dedent("""\
        resources:
          - type: aws_security_group
            id: web
            spec:
              description: web tier   # shown in the console
              ingress:
                # from the load balancer
                - {protocol: tcp, from_port: 443, to_port: 443, security_groups: [sg-0aaa]}
              tags: {team: web}
          # the next one
          - type: aws_security_group
            id: db
            spec: {}
        """)
    changes = [Change('ingress["tcp 443-443 self"]', {}, None), Change("tags.team", "web", "edge")]
    have = {"ingress": {}, "tags": {"team": "edge"}}
    plan = plan_accept(
        declared("aws_security_group", "web", "sg.yaml", 2), have, changes, text, set()
    )
    assert plan.written == ("tags.team",)
    assert [x.path for x in plan.left_out] == ['ingress["tcp 443-443 self"]']
    removed, added = diff_lines(plan.diff)
    assert removed == ["      tags: {team: web}"] and added == ["      tags: {team: edge}"]


# ------------------------------------------------------------- missing: the declaration goes

THREE = """\
# file head
resources:
  # first bucket
  - type: aws_s3_bucket
    id: one
    spec:
      tags:
        x: y
  # second bucket
  - type: aws_s3_bucket
    id: two
    spec: {versioning: Enabled}
  # third bucket
  - type: aws_s3_bucket
    id: three   # last
"""


@pytest.mark.parametrize(
    ("rid", "line", "gone"),
    [
        ("one", 4, ["# first bucket", "- type: aws_s3_bucket", "id: one", "spec:", "tags:",
                    "x: y"]),
        ("two", 10, ["# second bucket", "- type: aws_s3_bucket", "id: two",
                     "spec: {versioning: Enabled}"]),
        ("three", 14, ["# third bucket", "- type: aws_s3_bucket", "id: three   # last"]),
    ],
)  # fmt: skip
def test_removing_an_entry_takes_its_lines_and_keeps_the_others_comments(
    rid: str, line: int, gone: list[str]
) -> None:
    plan = plan_remove(declared("aws_s3_bucket", rid, "b.yaml", line), THREE)
    removed, added = diff_lines(plan.diff)
    assert [ln.strip() for ln in removed] == gone and added == []
    assert plan.written == ("(resource)",) and not plan.deletes_file
    kept = [e["id"] for e in yaml.safe_load(plan.new_text or "")["resources"]]
    assert kept == [i for i in ("one", "two", "three") if i != rid]


def test_removing_the_only_resource_deletes_its_file_or_empties_the_list() -> None:
    single = "type: aws_s3_bucket\nid: b\nspec: {}\n"
    plan = plan_remove(declared("aws_s3_bucket", "b", "b.yaml", 1), single)
    assert plan.deletes_file and plan.new_text is None
    assert plan.diff.splitlines()[:2] == ["--- a/b.yaml", "+++ /dev/null"]
    listed = json.dumps({"resources": [{"type": "aws_s3_bucket", "id": "b"}]}, indent=2) + "\n"
    plan = plan_remove(declared("aws_s3_bucket", "b", "b.json"), listed)
    assert plan.new_text == '{\n  "resources": []\n}\n'
    res = declared("aws_s3_bucket", "b", "tf", declared_by={"state": "net"})
    with pytest.raises(RemediationError, match="use pipeline mode"):
        plan_remove(res, single)


def test_a_large_manifest_diff_is_exactly_the_drifted_lines() -> None:
    # difflib's "popular line" heuristic would show the repeated `tags:` lines as changed.
    text = "resources:\n" + "".join(
        f"  - type: aws_s3_bucket\n    id: b{i}\n    spec:\n      tags:\n        team: t{i}\n"
        for i in range(300)
    )
    res = declared("aws_s3_bucket", "b150", "big.yaml", 1 + 5 * 150 + 1)
    have = {"tags": {"team": "moved"}}
    plan = plan_accept(res, have, [Change("tags.team", "t150", "moved")], text, set())
    assert diff_lines(plan.diff) == (["        team: t150"], ["        team: moved"])
    assert plan.diff.splitlines()[2] == "@@ -753,7 +753,7 @@"  # 3 lines of context


def test_diffs_apply_and_are_no_longer_than_difflibs() -> None:
    import difflib
    import random

    from driftwatch.remediation.manifest_edit import unified_diff

    rng = random.Random(7)
    for _ in range(300):
        old = [f"line {rng.randrange(8)}\n" for _ in range(rng.randrange(0, 40))]
        new = list(old)
        for _ in range(rng.randrange(1, 4)):
            at = rng.randrange(len(new) + 1)
            if new and rng.random() < 0.5:
                del new[min(at, len(new) - 1)]
            else:
                new.insert(at, f"new {rng.randrange(5)}\n")
        ours = unified_diff("f", "".join(old), "".join(new))
        assert apply_diff(old, ours) == new, ours
        theirs = "".join(difflib.unified_diff(old, new, "a/f", "b/f"))
        assert changed(ours) <= changed(theirs)


def apply_diff(old: list[str], diff: str) -> list[str]:
    """Apply a unified diff, checking every context and removed line against `old`."""
    out: list[str] = []
    at = 0
    for line in diff.splitlines(keepends=True)[2:]:
        if line.startswith("@@"):
            start = int(line.split()[1][1:].split(",")[0])
            length = line.split()[1].split(",")
            begin = start - 1 if len(length) == 1 or length[1] != "0" else start
            out += old[at:begin]
            at = begin
        elif line[0] in " -":
            assert old[at] == line[1:], (at, line)
            at += 1
            if line[0] == " ":
                out.append(line[1:])
        else:
            out.append(line[1:])
    return out + old[at:]


def changed(diff: str) -> int:
    return sum(ln[:1] in "+-" for ln in diff.splitlines()[2:])


def test_a_list_declared_for_a_keyed_canonical_form_is_written_whole() -> None:
    text = textwrap.dedent("""\
        type: aws_dynamodb_table
        id: orders
        spec:
          attribute:
            - {name: pk, type: S}
          read_capacity: 5
        """)
    have = {"attribute": {"pk": "S", "sk": "N"}}
    plan = plan_accept(
        declared("aws_dynamodb_table", "orders", "t.yaml", 1),
        have,
        [Change("attribute.sk", None, "N")],
        text,
        set(),
    )
    assert yaml.safe_load(plan.new_text or "")["spec"] == {
        "attribute": [{"name": "pk", "type": "S"}, {"name": "sk", "type": "N"}],
        "read_capacity": 5,
    }


def test_a_document_declared_as_json_text_stays_json_text() -> None:
    text = textwrap.dedent("""\
        type: aws_sqs_queue
        id: jobs
        spec:
          redrive_policy: '{"deadLetterTargetArn": "arn:aws:sqs:us-east-1:1:dlq", "maxReceiveCount": 3}'
        """)  # noqa: E501
    live = {"deadLetterTargetArn": "arn:aws:sqs:us-east-1:1:dlq", "maxReceiveCount": 5}
    plan = plan_accept(
        declared("aws_sqs_queue", "jobs", "q.yaml", 1),
        {"redrive_policy": live},
        [Change("redrive_policy.maxReceiveCount", 3, 5)],
        text,
        set(),
    )
    written = yaml.safe_load(plan.new_text or "")["spec"]["redrive_policy"]
    assert isinstance(written, str) and json.loads(written) == live
