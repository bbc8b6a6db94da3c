"""Terraform state: streaming read, projection of what Terraform owns, folding split resources."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import pytest
from support import tfstate as tf

from driftwatch.config import Config, load_config
from driftwatch.declared.terraform.load import TerraformDeclared, load_terraform
from driftwatch.declared.terraform.sources import ReadContext
from driftwatch.declared.terraform.state import StateError, read_state
from driftwatch.errors import ConfigError, ManifestError
from driftwatch.schema import secret_digest

KEY = b"k" * 32


def config(tmp_path: Path, sources: str, extra: str = "") -> Config:
    path = tmp_path / "driftwatch.toml"
    path.write_text(textwrap.dedent(sources) + textwrap.dedent(extra))
    return load_config(path)


def load(tmp_path: Path, *docs: dict[str, Any], trust: bool = False) -> TerraformDeclared:
    blocks = []
    for i, doc in enumerate(docs):
        (tmp_path / f"s{i}.tfstate").write_bytes(tf.dumps(doc))
        blocks.append(
            f'[[terraform]]\nname = "s{i}"\nfrom = "file:s{i}.tfstate"\n'
            f"trust_computed = {'true' if trust else 'false'}\n"
        )
    cfg = config(tmp_path, "\n".join(blocks))
    return load_terraform(cfg, ReadContext(cfg), KEY)


def by_id(got: TerraformDeclared) -> dict[str, Any]:
    return {r.id: r for r in got.resources}


def read(doc: Any) -> list[str]:
    kept: list[str] = []
    data = doc if isinstance(doc, bytes) else tf.dumps(doc)
    chunks = [data[i : i + 7] for i in range(0, len(data), 7)]  # tiny chunks: streaming
    read_state(iter(chunks), "s.tfstate", lambda t: True, lambda i: kept.append(i.address))
    return kept


def test_addresses_modules_and_what_is_skipped() -> None:
    doc = tf.state(
        tf.resource(
            "aws_s3_bucket",
            "logs",
            tf.instance(tf.bucket("a"), index_key="eu"),
            module='module.app["eu"]',
        ),
        tf.resource("aws_s3_bucket", "n", tf.instance(tf.bucket("b"), index_key=0)),
        tf.resource("aws_s3_bucket", "tofu", tf.instance(tf.bucket("c")), provider=tf.TOFU_AWS),
        tf.resource("aws_s3_bucket", "d", tf.instance(tf.bucket("d")), mode="data"),
        tf.resource(
            "aws_s3_bucket",
            "other",
            tf.instance(tf.bucket("e")),
            provider='provider["registry.terraform.io/acme/aws"]',
        ),
        tf.resource("aws_s3_bucket", "dep", {**tf.instance(tf.bucket("f")), "deposed": "00ab"}),
    )
    assert read(doc) == [
        'module.app["eu"].aws_s3_bucket.logs["eu"]',
        "aws_s3_bucket.n[0]",
        "aws_s3_bucket.tofu",
    ]


@pytest.mark.parametrize(
    "doc,message",
    [
        ({"version": 3, "serial": 1, "modules": []}, "format version 3 is not supported"),
        (
            {
                "serial": 1,
                "lineage": "x",
                "meta": {"key_provider.pbkdf2.k": "e30="},
                "encrypted_data": "c2VjcmV0",
                "encryption_version": "v0",
            },
            "the state is encrypted",
        ),
        ({"resources": []}, "no format `version`"),
        (
            b'{"version": 4, "resources": [{"mode": "managed", "type": "aws_s3_bucket", "pass',
            "not a complete JSON document",
        ),
        (b"<html>hunter2</html>", "not a complete JSON document"),
    ],
)
def test_unusable_states_are_clear_errors(doc: Any, message: str) -> None:
    with pytest.raises(StateError, match=message) as err:
        read(doc)
    assert "hunter2" not in str(err.value) and "c2VjcmV0" not in str(err.value)


def test_tags_all_and_owned_if_configured(tmp_path: Path) -> None:
    attrs = tf.bucket("a", tags={"team": "x"}, policy=tf.policy("s3:GetObject"))
    attrs["tags_all"] = {"team": "x", "env": "prod"}  # provider default_tags
    got = by_id(load(tmp_path, tf.state(tf.resource("aws_s3_bucket", "a", tf.instance(attrs)))))
    res = got["a"]
    assert res.spec == {"tags": {"team": "x", "env": "prod"}}
    assert res.notes["policy"].startswith("skipped: Optional+Computed")
    assert res.source.endswith("s0.tfstate#aws_s3_bucket.a")
    assert res.declared_by["address"] == "aws_s3_bucket.a" and res.declared_by["serial"] == 7
    trusted = by_id(
        load(tmp_path, tf.state(tf.resource("aws_s3_bucket", "a", tf.instance(attrs))), trust=True)
    )
    assert trusted["a"].spec["policy"] == attrs["policy"]
    assert trusted["a"].notes["versioning"].startswith("skipped: versioning.enabled = false")


def test_children_win_over_the_parents_recorded_values(tmp_path: Path) -> None:
    # The bucket records versioning off and no policy; its split resources say otherwise.
    # What the children set is the declaration: zero drift against a live bucket like them.
    doc = tf.state(
        tf.resource("aws_s3_bucket", "a", tf.instance(tf.bucket("a"))),
        tf.resource(
            "aws_s3_bucket_versioning",
            "a",
            tf.instance(
                {
                    "id": "a",
                    "bucket": "a",
                    "expected_bucket_owner": "",
                    "mfa": None,
                    "versioning_configuration": [{"mfa_delete": "", "status": "Enabled"}],
                }
            ),
        ),
        tf.resource(
            "aws_s3_bucket_policy",
            "a",
            tf.instance({"id": "a", "bucket": "a", "policy": tf.policy("s3:GetObject")}),
        ),
        tf.resource(
            "aws_s3_bucket_public_access_block",
            "a",
            tf.instance(
                {
                    "id": "a",
                    "bucket": "a",
                    "block_public_acls": True,
                    "block_public_policy": True,
                    "ignore_public_acls": True,
                    "restrict_public_buckets": False,
                }
            ),
        ),
    )
    res = by_id(load(tmp_path, doc, trust=True))["a"]
    assert res.spec["versioning"] == "Enabled"
    assert json.loads(res.spec["policy"])["Statement"][0]["Action"] == ["s3:GetObject"]
    assert res.spec["public_access_block"]["block_public_acls"] is True
    assert res.notes["versioning"] == "from aws_s3_bucket_versioning.a"


def test_children_without_a_region_fold_into_a_parent_in_another_region(tmp_path: Path) -> None:
    # Provider 5's S3 split resources record neither `region` nor an ARN; the bucket is in
    # eu-west-1, not the source's default region: the child still finds it by name.
    versioning = {
        "id": "eu",
        "bucket": "eu",
        "expected_bucket_owner": "",
        "mfa": None,
        "versioning_configuration": [{"mfa_delete": "", "status": "Enabled"}],
    }
    lone = dict(versioning, id="elsewhere", bucket="elsewhere")
    got = load(
        tmp_path,
        tf.state(
            tf.resource("aws_s3_bucket", "eu", tf.instance(tf.bucket("eu", region="eu-west-1"))),
            tf.resource("aws_s3_bucket_versioning", "eu", tf.instance(versioning)),
            tf.resource("aws_s3_bucket_versioning", "lone", tf.instance(lone)),
        ),
    )
    res = by_id(got)["eu"]
    assert res.region == "eu-west-1" and res.spec["versioning"] == "Enabled"
    assert [o.split("#")[1] for o in got.orphans] == [
        "aws_s3_bucket_versioning.lone: its aws_s3_bucket 'elsewhere' "
        "(default, any region) is in no state read"
    ]


def test_rules_and_attachments_fold_as_sets_across_states(tmp_path: Path) -> None:
    sg = tf.security_group("sg-0123456789abcdef0", "web", "vpc-1")
    role = tf.role("app", tf.TRUST, managed_policy_arns=["arn:aws:iam::aws:policy/Old"])
    first = tf.state(
        tf.resource("aws_security_group", "web", tf.instance(sg)),
        tf.resource("aws_iam_role", "app", tf.instance(role)),
        tf.resource(
            "aws_vpc_security_group_ingress_rule",
            "https",
            tf.instance(tf.ingress_rule("sg-0123456789abcdef0", 443, "0.0.0.0/0")),
        ),
    )
    second = tf.state(
        tf.resource(
            "aws_vpc_security_group_ingress_rule",
            "http",
            tf.instance(tf.ingress_rule("sg-0123456789abcdef0", 80, "10.0.0.0/8", "sgr-2")),
        ),
        tf.resource(
            "aws_iam_role_policy_attachment",
            "ro",
            tf.instance(
                {
                    "id": "app-1",
                    "role": "app",
                    "policy_arn": "arn:aws:iam::aws:policy/ReadOnlyAccess",
                }
            ),
        ),
        tf.resource(
            "aws_iam_role_policy",
            "inline",
            tf.instance(
                {
                    "id": "app:logs",
                    "role": "app",
                    "name": "logs",
                    "name_prefix": "",
                    "policy": tf.policy("logs:PutLogEvents"),
                }
            ),
        ),
    )
    got = by_id(load(tmp_path, first, second))
    ingress = got["sg-0123456789abcdef0"].spec["ingress"]
    assert sorted(r["from_port"] for r in ingress) == [80, 443]
    assert "egress" not in got["sg-0123456789abcdef0"].spec  # no evidence: not compared
    assert got["app"].spec["managed_policy_arns"] == ["arn:aws:iam::aws:policy/ReadOnlyAccess"]
    assert set(got["app"].spec["inline_policies"]) == {"logs"}


def test_two_children_disagreeing_is_an_error_naming_both(tmp_path: Path) -> None:
    def versioning(name: str, status: str) -> dict[str, Any]:
        return tf.resource(
            "aws_s3_bucket_versioning",
            name,
            tf.instance(
                {"id": "a", "bucket": "a", "versioning_configuration": [{"status": status}]}
            ),
        )

    doc = tf.state(
        tf.resource("aws_s3_bucket", "a", tf.instance(tf.bucket("a"))),
        versioning("one", "Enabled"),
        versioning("two", "Suspended"),
    )
    with pytest.raises(ManifestError) as err:
        load(tmp_path, doc)
    assert "aws_s3_bucket_versioning.one" in str(err.value)
    assert "aws_s3_bucket_versioning.two" in str(err.value)


def test_a_resource_in_two_states_is_an_error(tmp_path: Path) -> None:
    doc = tf.state(tf.resource("aws_s3_bucket", "a", tf.instance(tf.bucket("a"))))
    with pytest.raises(ManifestError, match=r"already declared at .*s0\.tfstate#aws_s3_bucket\.a"):
        load(tmp_path, doc, doc)


def test_secrets_become_digests_or_are_skipped(tmp_path: Path) -> None:
    fn = {
        "function_name": "worker",
        "role": "arn:aws:iam::123456789012:role/app",
        "runtime": "python3.12",
        "handler": "app.handler",
        "memory_size": 128,
        "timeout": 3,
        "layers": [],
        "tags": {"owner": "hunter2-tag"},
        "tags_all": {"owner": "hunter2-tag"},
        "environment": [{"variables": {"DB_PASSWORD": "hunter2-env"}}],
        "arn": "arn:aws:lambda:us-east-1:123456789012:function:worker",
    }
    doc = tf.state(
        tf.resource(
            "aws_lambda_function",
            "worker",
            tf.instance(fn, sensitive=[[tf.get_attr("tags_all")], [tf.get_attr("tags")]]),
        ),
        outputs={"password": {"value": "hunter2-output", "type": "string", "sensitive": True}},
    )
    res = by_id(load(tmp_path, doc))["worker"]
    assert res.spec["environment"] == {"DB_PASSWORD": secret_digest(KEY, "hunter2-env")}
    assert "tags" not in res.spec and "sensitive" in res.notes["tags"]
    assert "hunter2" not in repr(res)


def test_an_unreadable_source_is_a_failure_not_an_empty_state(tmp_path: Path) -> None:
    (tmp_path / "ok.tfstate").write_bytes(
        tf.dumps(tf.state(tf.resource("aws_s3_bucket", "a", tf.instance(tf.bucket("a")))))
    )
    (tmp_path / "v3.tfstate").write_text('{"version": 3, "serial": 2, "modules": []}')
    cfg = config(
        tmp_path,
        """
        [aws]
        accounts = [{name = "prod"}, {name = "dev"}]
        [[terraform]]
        name = "ok"
        from = "file:ok.tfstate"
        account = "prod"
        [[terraform]]
        name = "old"
        from = "file:v3.tfstate"
        account = "dev"
        [[terraform]]
        name = "gone"
        from = "file:nope.tfstate"
        workspaces = ["default", "st*"]
        account = "dev"
        """,
    )
    got = load_terraform(cfg, ReadContext(cfg), KEY)
    assert [r.id for r in got.resources] == ["a"]
    assert [(f.source, f.account) for f in got.failures] == [("old", "dev"), ("gone", "dev")]
    assert "format version 3" in got.failures[0].error
    assert "'default' matches no workspace" in got.failures[1].error


def test_local_backend_workspaces(tmp_path: Path) -> None:
    one = tf.state(tf.resource("aws_s3_bucket", "a", tf.instance(tf.bucket("a"))))
    two = tf.state(tf.resource("aws_s3_bucket", "a", tf.instance(tf.bucket("a-staging"))))
    (tmp_path / "terraform.tfstate").write_bytes(tf.dumps(one))
    (tmp_path / "terraform.tfstate.d" / "staging").mkdir(parents=True)
    (tmp_path / "terraform.tfstate.d" / "staging" / "terraform.tfstate").write_bytes(tf.dumps(two))
    cfg = config(
        tmp_path,
        '[[terraform]]\nname = "app"\nfrom = "file:terraform.tfstate"\nworkspaces = ["*"]\n',
    )
    got = load_terraform(cfg, ReadContext(cfg), KEY)
    assert {(s.workspace, s.serial) for s in got.states} == {("default", 7), ("staging", 7)}
    assert sorted(r.id for r in got.resources) == ["a", "a-staging"]


@pytest.mark.parametrize(
    "body,key,message",
    [
        ('from = "ftp://x/y"', "terraform[0].from", "not a state location"),
        ('from = "s3://bucket"', "terraform[0].from", "needs a bucket and a key"),
        ('from = "git:app.tfstate"', "terraform[0].from", "there is no [git] section"),
        ('from = "file:x"\naccount = "nope"', "terraform[0].account", "unknown account 'nope'"),
        (
            'from = "cmd:terraform state pull"\nworkspaces = ["*"]',
            "terraform[0].workspaces",
            "remove workspaces",
        ),
        ('from = "file:x"\nconfig = "file:infra"', "terraform[0].config", "expected git:DIR"),
        ('from = "file:x"\nconfig = "git:infra"', "terraform[0].config", "no [git] section"),
    ],
)
def test_config_errors_name_the_key(tmp_path: Path, body: str, key: str, message: str) -> None:
    with pytest.raises(ConfigError) as err:
        config(tmp_path, f'[[terraform]]\nname = "app"\n{body}\n')
    assert err.value.key == key and message in err.value.message


def test_git_is_optional_with_terraform_sources(tmp_path: Path) -> None:
    cfg = config(tmp_path, '[[terraform]]\nname = "app"\nfrom = "cmd:terraform state pull"\n')
    assert cfg.git is None and cfg.terraform[0].argv == ("terraform", "state", "pull")
    with pytest.raises(ConfigError, match=r"\[git\]: missing section"):
        config(tmp_path, "[aws]\n")


def test_a_held_account_keeps_its_drift_records() -> None:
    from driftwatch.lifecycle import NO_LONGER_DECLARED, Coverage, StoredDrift, resolution
    from driftwatch.models import Scope

    drift = StoredDrift("fp", "dev", "us-east-1", "aws_s3_bucket", "a", "missing", "t")
    cov = Coverage(
        read=frozenset({Scope("dev", "us-east-1", "aws_s3_bucket")}),
        regions=frozenset({("dev", "us-east-1")}),
    )
    assert resolution(drift, None, cov) == NO_LONGER_DECLARED
    held = Coverage(read=cov.read, regions=cov.regions, held=frozenset({"dev"}))
    assert resolution(drift, None, held) is None
    unmanaged = drift._replace(kind="unmanaged")
    assert (
        resolution(unmanaged, None, Coverage(watched=held.read, read=held.read, held=held.held))
        is None
    )
