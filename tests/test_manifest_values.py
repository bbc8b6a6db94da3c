"""Attribute values that real AWS cannot hold are manifest errors, reported with file:line."""

from __future__ import annotations

from pathlib import Path

import pytest

import driftwatch.collectors  # noqa: F401
from driftwatch.config import Config, load_config
from driftwatch.declared.manifests import parse_manifests
from driftwatch.errors import ManifestError


@pytest.fixture
def cfg(tmp_path: Path) -> Config:
    path = tmp_path / "driftwatch.toml"
    path.write_text("[git]\nurl = 'x'\n")
    return load_config(path)


def problems(cfg: Config, text: str) -> list[str]:
    with pytest.raises(ManifestError) as err:
        parse_manifests([("m.yaml", text.encode())], cfg)
    return err.value.problems


SG_TWO_DESCRIPTIONS = """\
resources:
  - type: aws_security_group
    id: web
    spec:
      description: web
      ingress:
        - {protocol: tcp, from_port: 22, to_port: 22, cidr_blocks: [10.0.0.0/8]}
        - {protocol: "6", from_port: 22, to_port: 22, cidr_blocks: [10.0.0.0/8], description: ssh}
"""


def test_rules_differing_only_by_description(cfg: Config) -> None:
    assert problems(cfg, SG_TWO_DESCRIPTIONS) == [
        "m.yaml:6: aws_security_group.ingress rules 0 and 1 both declare "
        "'tcp 22-22 10.0.0.0/8' with different descriptions (none and 'ssh'); AWS keeps "
        "one description per protocol, ports and source: declare it once"
    ]


def test_portless_protocol_without_ports_is_valid(cfg: Config) -> None:
    text = SG_TWO_DESCRIPTIONS.replace('"6", from_port: 22, to_port: 22', "esp")
    [res] = parse_manifests([("m.yaml", text.encode())], cfg)
    assert res.spec["ingress"][1] == {
        "protocol": "esp",
        "cidr_blocks": ["10.0.0.0/8"],
        "description": "ssh",
    }


def test_declared_aws_tag(cfg: Config) -> None:
    text = "type: aws_s3_bucket\nid: logs\nspec:\n  tags:\n    aws:cloudformation:stack-name: x\n"
    assert problems(cfg, text) == [
        "m.yaml:5: aws_s3_bucket.tags tag 'aws:cloudformation:stack-name' uses the reserved "
        "prefix 'aws:': only AWS sets such tags (CloudFormation, Auto Scaling, ...), they "
        "cannot be declared and driftwatch ignores them on live resources; remove it"
    ]


def test_policy_element_types(cfg: Config) -> None:
    text = """\
resources:
  - type: aws_iam_policy
    id: read-logs
    spec:
      policy:
        Statement:
          - Effect: Allow
            Action: [[s3:GetObject]]
            Resource: "*"
  - type: aws_iam_role
    id: app
    spec:
      inline_policies:
        p: {Statement: {Effect: [Allow], Action: "s3:*"}}
"""
    assert problems(cfg, text) == [
        "m.yaml:6: aws_iam_policy.policy Statement 0 Action must be a string or a list of "
        'strings, got [["s3:GetObject"]]',
        "m.yaml:14: aws_iam_role.inline_policies policy 'p' Statement 0 Effect must be "
        '"Allow" or "Deny", got ["Allow"]',
    ]
