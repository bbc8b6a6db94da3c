"""`config = "git:DIR"`: a Terraform root's .tf files as evidence of what is configured."""

from __future__ import annotations

import json
import stat
from pathlib import Path
from typing import Any

import pytest
from support import tfstate as tf
from support.env import ManifestRepo

import driftwatch.declared.terraform.hcl as hcl
from driftwatch.config import Config, load_config
from driftwatch.declared.git import GitSource
from driftwatch.declared.terraform.hcl import ConfigRootError, config_address, summarize
from driftwatch.declared.terraform.load import HCL_CACHE, TerraformDeclared, load_terraform
from driftwatch.declared.terraform.sources import ReadContext
from driftwatch.paths import path_matches, split_path

KEY = b"k" * 32

MAIN_TF = """
provider "aws" {
  region = "us-east-1"
  default_tags {
    tags = { team = "x" }
  }
  ignore_tags {
    keys         = ["CreatedBy", var.extra_key]
    key_prefixes = ["kubernetes.io/"]
  }
}

resource "aws_security_group" "web" {
  count  = 2
  name   = "web-${count.index}"
  vpc_id = var.vpc_id

  dynamic "ingress" {
    for_each = var.ports
    content {
      from_port   = ingress.value
      to_port     = ingress.value
      protocol    = "tcp"
      cidr_blocks = ["10.0.0.0/8"]
    }
  }
}

resource "aws_iam_role" "app" {
  name               = "app"
  assume_role_policy = data.aws_iam_policy_document.trust.json
}

module "data" {
  source   = "./modules/bucket"
  for_each = toset(["eu", "us"])
  name     = "data-${each.key}"
}

module "remote" {
  source = "terraform-aws-modules/s3-bucket/aws"
}
"""

BUCKET_TF = """
resource "aws_s3_bucket" "this" {
  bucket = var.name
  policy = jsonencode({ Version = "2012-10-17", Statement = [] })
}
"""

SG_ID = "sg-0123456789abcdef0"


def rule(port: int) -> dict[str, Any]:
    return {
        "cidr_blocks": ["10.0.0.0/8"],
        "description": "",
        "from_port": port,
        "ipv6_cidr_blocks": [],
        "prefix_list_ids": [],
        "protocol": "tcp",
        "security_groups": [],
        "self": False,
        "to_port": port,
    }


def state() -> dict[str, Any]:
    sg = tf.security_group(SG_ID, "web-0", "vpc-1", ingress=[rule(443)])
    sg["egress"] = [rule(0)]
    role = tf.role("app", tf.TRUST, managed_policy_arns=["arn:aws:iam::aws:policy/Old"])
    tags = {"team": "x", "CreatedBy": "ci", "kubernetes.io/cluster/a": "owned"}
    eu = tf.bucket("data-eu", tags=tags, policy=tf.policy("s3:GetObject"))
    remote = tf.bucket("remote", policy=tf.policy("s3:GetObject"))
    return tf.state(
        tf.resource("aws_security_group", "web", tf.instance(sg, index_key=0)),
        tf.resource("aws_iam_role", "app", tf.instance(role)),
        tf.resource("aws_s3_bucket", "this", tf.instance(eu), module='module.data["eu"]'),
        tf.resource(
            "aws_s3_bucket", "this", tf.instance(remote, index_key=0), module="module.remote"
        ),
    )


def setup(tmp_path: Path, files: dict[str, str] | None = None) -> tuple[Config, ReadContext]:
    repo = ManifestRepo(tmp_path / "repo")
    repo.write("infra/app/main.tf", MAIN_TF)
    repo.write("infra/app/modules/bucket/main.tf", BUCKET_TF)
    repo.write("infra/app/terraform.tfstate", tf.dumps(state()).decode())
    for rel, text in (files or {}).items():
        repo.write(rel, text)
    repo.commit()
    path = tmp_path / "driftwatch.toml"
    path.write_text(
        f'[git]\nurl = "{repo.path}"\nbranch = "main"\npath = "infra"\n\n'
        '[storage]\npath = "state/driftwatch.db"\n\n'
        '[[terraform]]\nname = "app"\nfrom = "git:infra/app/terraform.tfstate"\n'
        'config = "git:infra/app"\n'
    )
    cfg = load_config(path)
    assert cfg.git is not None
    source = GitSource(cfg.git, cfg.storage.data_dir)
    fetched = source.fetch()
    return cfg, ReadContext(cfg, None, source.cache, fetched.commit)


def by_address(got: TerraformDeclared) -> dict[str, Any]:
    return {r.declared_by["address"]: r for r in got.resources if r.declared_by}


def test_configured_arguments_count_and_point_to_file_and_line(tmp_path: Path) -> None:
    cfg, ctx = setup(tmp_path)
    got = load_terraform(cfg, ctx, KEY)
    assert not got.failures
    res = by_address(got)
    sg = res["aws_security_group.web[0]"]
    # `dynamic "ingress"` configures ingress: the recorded rules are declared; egress is not
    # written in the block, so its recorded value is not compared.
    assert sg.spec["ingress"] == [
        {
            "cidr_blocks": ["10.0.0.0/8"],
            "from_port": 443,
            "protocol": "tcp",
            "self": False,
            "to_port": 443,
        }
    ]
    assert sg.notes["ingress"] == "configured at infra/app/main.tf:12"
    assert sg.notes["vpc_id"] == "configured at infra/app/main.tf:12"
    assert "egress" not in sg.spec
    assert sg.notes["egress"] == (
        "skipped: Optional+Computed, not set in infra/app/main.tf:12; no split child"
    )
    assert (sg.declared_by["file"], sg.declared_by["line"]) == ("infra/app/main.tf", 12)
    role = res["aws_iam_role.app"]
    assert "managed_policy_arns" not in role.spec and "inline_policies" not in role.spec
    assert role.declared_by["line"] == 28
    bucket = res['module.data["eu"].aws_s3_bucket.this']
    assert json.loads(bucket.spec["policy"])["Statement"][0]["Action"] == ["s3:GetObject"]
    assert bucket.declared_by["file"] == "infra/app/modules/bucket/main.tf"
    assert bucket.declared_by["line"] == 1
    remote = res["module.remote.aws_s3_bucket.this[0]"]
    assert "policy" not in remote.spec
    assert remote.notes["policy"].startswith("skipped: Optional+Computed and no block")
    assert remote.declared_by["file"] is None


def test_provider_ignore_tags_are_not_declared_and_not_drift(tmp_path: Path) -> None:
    cfg, ctx = setup(tmp_path)
    bucket = by_address(load_terraform(cfg, ctx, KEY))['module.data["eu"].aws_s3_bucket.this']
    assert bucket.spec["tags"] == {"team": "x"}
    live_only = ["tags.CreatedBy", 'tags["kubernetes.io/cluster/b"]']
    for path in live_only:
        assert any(path_matches(g, split_path(path)) for g in bucket.ignore), path
    assert not any(path_matches(g, split_path("tags.team")) for g in bucket.ignore)


def test_hcl_is_parsed_once_per_blob_and_cached_privately(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg, ctx = setup(tmp_path)
    first = load_terraform(cfg, ctx, KEY)
    cache = cfg.storage.data_dir / HCL_CACHE
    assert stat.S_IMODE(cache.stat().st_mode) == 0o600
    text = cache.read_text()
    assert "10.0.0.0/8" not in text and "2012-10-17" not in text  # names and lines only

    def no_parse(*_: Any) -> Any:
        raise AssertionError("parsed again")

    monkeypatch.setattr(hcl, "summarize", no_parse)
    again = load_terraform(cfg, ctx, KEY)
    assert [r.notes for r in again.resources] == [r.notes for r in first.resources]


def test_a_root_that_does_not_parse_makes_the_source_unreadable(tmp_path: Path) -> None:
    cfg, ctx = setup(
        tmp_path, {"infra/app/broken.tf": 'resource "aws_s3_bucket" "x" {\n  = 1\n}\n'}
    )
    got = load_terraform(cfg, ctx, KEY)
    assert got.resources == []
    [failure] = got.failures
    assert failure.source == "app"
    assert "infra/app/broken.tf:2: not valid HCL" in failure.error


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("./nope", "infra/app/nope: no such folder"),
        ("../../..", "infra/app/more.tf:1: module 'm' leaves the repository"),
        ("./", "nests more than 16 local modules deep (a cycle?)"),
    ],
)
def test_a_local_module_that_cannot_be_read_is_an_error(
    tmp_path: Path, source: str, message: str
) -> None:
    more = f'module "m" {{\n  source = "{source}"\n}}\n'
    cfg, ctx = setup(tmp_path, {"infra/app/more.tf": more})
    [failure] = load_terraform(cfg, ctx, KEY).failures
    assert message in failure.error


def test_summaries_hold_names_lines_and_module_sources() -> None:
    got = summarize(MAIN_TF.lstrip(), "main.tf")  # as committed: ManifestRepo strips it
    assert got["resources"] == [
        ["aws_security_group", "web", 12, ["count", "ingress", "name", "vpc_id"]],
        ["aws_iam_role", "app", 28, ["assume_role_policy", "name"]],
    ]
    assert got["modules"] == [["data", "./modules/bucket", 33]]  # remote ones are not kept
    assert (got["ignore_keys"], got["ignore_prefixes"]) == (["CreatedBy"], ["kubernetes.io/"])
    assert config_address('module.a["x"].module.b[0].aws_s3_bucket.c["k[1]"]') == (
        "module.a.module.b.aws_s3_bucket.c"
    )
    with pytest.raises(ConfigRootError, match=r"^bad.tf:2: not valid HCL"):
        summarize('resource "a" "b" {\n  x = = 1\n}\n', "bad.tf")


# --- .tf.json: Terraform's JSON syntax, the same evidence ---------------------------------

MAIN_TF_JSON = {
    "provider": {
        "aws": [
            {
                "region": "us-east-1",
                "ignore_tags": {
                    "keys": ["CreatedBy", "${var.extra_key}"],
                    "key_prefixes": ["kubernetes.io/"],
                },
            }
        ]
    },
    "resource": {
        "aws_security_group": {
            "web": {
                "//": "count and a dynamic block, as in main.tf",
                "count": 2,
                "name": "web-${count.index}",
                "vpc_id": "${var.vpc_id}",
                "dynamic": {"ingress": {"for_each": "${var.ports}", "content": {}}},
            }
        },
        "aws_iam_role": [{"app": {"name": "app", "assume_role_policy": "${local.trust}"}}],
    },
    "module": {
        "data": {"source": "./modules/bucket", "for_each": '${toset(["eu"])}'},
        "remote": {"source": "terraform-aws-modules/s3-bucket/aws"},
    },
}
BUCKET_TF_JSON = {"resource": {"aws_s3_bucket": {"this": {"bucket": "${var.name}", "policy": "x"}}}}


def line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def test_tf_json_files_are_evidence_like_tf_files(tmp_path: Path) -> None:
    main, bucket_json = json.dumps(MAIN_TF_JSON, indent=2), json.dumps(BUCKET_TF_JSON, indent=1)
    cfg, ctx = setup(
        tmp_path,
        {
            "infra/app/main.tf": "",  # the same root, written in JSON syntax
            "infra/app/main.tf.json": main,
            "infra/app/modules/bucket/main.tf": "",
            "infra/app/modules/bucket/main.tf.json": bucket_json,
        },
    )
    got = load_terraform(cfg, ctx, KEY)
    assert not got.failures
    res = by_address(got)
    sg = res["aws_security_group.web[0]"]
    web = line_of(main, '"web": {')
    assert sg.notes["ingress"] == f"configured at infra/app/main.tf.json:{web}"
    assert sg.spec["ingress"][0]["from_port"] == 443
    assert sg.notes["egress"].startswith("skipped: Optional+Computed, not set in")
    assert (sg.declared_by["file"], sg.declared_by["line"]) == ("infra/app/main.tf.json", web)
    assert res["aws_iam_role.app"].declared_by["line"] == line_of(main, '"app": {')
    data = res['module.data["eu"].aws_s3_bucket.this']
    assert data.declared_by["file"] == "infra/app/modules/bucket/main.tf.json"
    assert json.loads(data.spec["policy"])["Statement"][0]["Action"] == ["s3:GetObject"]
    assert data.spec["tags"] == {"team": "x"}  # CreatedBy and kubernetes.io/… ignored
    remote = res["module.remote.aws_s3_bucket.this[0]"]
    assert remote.declared_by["file"] is None and "policy" not in remote.spec


def test_an_invalid_tf_json_file_is_named_with_its_line(tmp_path: Path) -> None:
    # Empty: the blob id of an empty .tf too; each is parsed by its own syntax.
    cfg, ctx = setup(tmp_path, {"infra/app/empty.tf": "", "infra/app/empty.tf.json": ""})
    [failure] = load_terraform(cfg, ctx, KEY).failures
    assert "infra/app/empty.tf.json:1: not valid JSON" in failure.error
    bad = '{\n  "resource": {\n    "aws_s3_bucket": {"x": {,}}\n  }\n}\n'
    with pytest.raises(ConfigRootError, match=r"^bad.tf.json:3: not valid JSON"):
        hcl.summarize_json(bad, "bad.tf.json")
    with pytest.raises(ConfigRootError, match="not an object"):
        hcl.summarize_json("[]", "list.tf.json")
