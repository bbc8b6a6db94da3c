"""Collectors on recorded real-AWS response shapes, where moto's echo would hide a false drift.

Each test replays a fixture of tests/fixtures/real_aws/ through botocore's Stubber, reads
it with the collector's own listing/reading code, and compares it with a manifest the
way a scan does (check, then canonical forms on both sides).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from support.real_aws import FIXTURES, load, replay

import driftwatch.collectors  # noqa: F401  (registers the built-in collectors)
from driftwatch.aws import CallCounter
from driftwatch.collect import Collection, ScopePlan
from driftwatch.collectors.base import LISTED, Collector, NotComparable
from driftwatch.collectors.ec2 import Instance, SecurityGroup
from driftwatch.collectors.kms import KmsKey
from driftwatch.collectors.lambda_ import LambdaFunction
from driftwatch.collectors.s3 import S3Bucket
from driftwatch.config import AccountConfig, parse_config
from driftwatch.diff import diff_resource
from driftwatch.models import DeclaredResource, Finding, Kind, LiveResource, Scope, ScopeError
from driftwatch.registry import collectors
from driftwatch.scan import build_findings

REGION = "us-east-1"


def _diff(collector: Collector, live: LiveResource, spec: dict[str, Any]) -> Finding:
    for name, value in spec.items():
        problem = collector.attributes[name].kind.check(value)
        assert problem is None, f"{name}: {problem}"
    declared = DeclaredResource(collector.type, live.id, "a", REGION, spec, "m.yaml")
    return diff_resource(collector, declared, live, [], dt.date.today(), secret_key=bytes(32))


def _listed(collector: Collector, fixture: str) -> list[LiveResource]:
    with replay(collector.service, fixture) as client:
        return collector.list_resources(client, Scope("a", REGION, collector.type))


def _read(collector: Collector, attr: str, fixture: str) -> LiveResource:
    """The live resource with `attr` read as a scan reads it: from the listing or its source."""
    source = collector.attributes[attr].source
    if source == LISTED:
        [live] = _listed(collector, fixture)
        return live
    known = load(fixture)["_live"]
    live = LiveResource(collector.type, known["id"], "a", REGION, listed=known.get("listed", {}))
    with replay(collector.service, fixture) as client:
        live.attrs.update(collector.read(source, client, live))
    return live


# Security groups: AWS omits ports for protocols other than tcp/udp/icmp/icmpv6.

VPN = "203.0.113.0/24"
PORTLESS_SPEC: dict[str, Any] = {
    "ingress": [
        # Ports left out, protocol by name, as users write it.
        {"protocol": "esp", "cidr_blocks": [VPN], "description": "vpn peer"},
        # Terraform's shape: a number and ports 0/0, as `terraform show` prints it.
        {"protocol": "51", "from_port": 0, "to_port": 0, "cidr_blocks": [VPN],
         "description": "vpn peer"},
        {"protocol": "GRE", "from_port": 0, "to_port": 0, "self": True},
        {"protocol": "6", "from_port": 500, "to_port": 500, "ipv6_cidr_blocks": ["2001:db8::/32"]},
        {"protocol": 17, "from_port": 4500, "to_port": 4500, "cidr_blocks": [VPN]},
        {"protocol": "icmp", "from_port": -1, "to_port": -1, "cidr_blocks": ["10.0.0.0/8"]},
        {"protocol": "58", "from_port": 128, "to_port": 0, "ipv6_cidr_blocks": ["::/0"]},
    ],
    "egress": [{"protocol": "all", "cidr_blocks": ["0.0.0.0/0"]}],
}  # fmt: skip


def test_portless_protocols_are_in_sync_as_aws_returns_them() -> None:
    [live] = _listed(SecurityGroup(), "ec2/describe_security_groups_portless.json")
    finding = _diff(SecurityGroup(), live, PORTLESS_SPEC)
    assert finding.kind == Kind.IN_SYNC, [c.to_dict() for c in finding.changes]
    assert sorted(finding.snapshot["ingress"])[:3] == [
        "47 0-0 self",
        "50 0-0 203.0.113.0/24",
        "51 0-0 203.0.113.0/24",
    ]


def test_portless_protocols_still_show_real_changes() -> None:
    [live] = _listed(SecurityGroup(), "ec2/describe_security_groups_portless.json")
    ingress = [dict(r) for r in PORTLESS_SPEC["ingress"]]
    ingress[0] = {"protocol": "esp", "cidr_blocks": ["198.51.100.0/24"], "description": "vpn peer"}
    ingress[1] = {**ingress[1], "protocol": "ah", "description": "old peer"}
    finding = _diff(SecurityGroup(), live, {"ingress": ingress})
    assert finding.kind == Kind.MODIFIED
    assert [(c.path, c.declared is None, c.live is None) for c in finding.changes] == [
        ('ingress["50 0-0 198.51.100.0/24"]', False, True),
        ('ingress["50 0-0 203.0.113.0/24"]', True, False),
        ('ingress["51 0-0 203.0.113.0/24"].description', False, False),
    ]


# `aws:` reserved tags: AWS adds them (CloudFormation, Auto Scaling, launch templates) and
# nobody can set or remove them; the Terraform provider drops them on read.

TAGGED = [name for name, cls in collectors if "tags" in cls.attributes]


def _tag_keys(tags: Any) -> list[str]:
    return [t["Key"] for t in tags] if isinstance(tags, list) else list(tags)


@pytest.mark.parametrize("rtype", TAGGED)
def test_reserved_aws_tags_are_not_drift(rtype: str) -> None:
    collector = collectors.get(rtype)()
    live = _read(collector, "tags", f"tags/{rtype}.json")
    assert any(k.startswith("aws:") for k in _tag_keys(live.attrs["tags"]))  # as AWS sends them
    finding = _diff(collector, live, {"tags": {"team": "orders", "cost-center": 42}})
    assert finding.kind == Kind.IN_SYNC, [c.to_dict() for c in finding.changes]
    assert finding.snapshot == {"tags": {"team": "orders", "cost-center": "42"}}


@pytest.mark.parametrize("rtype", TAGGED)
def test_user_tags_beside_reserved_ones_still_drift(rtype: str) -> None:
    collector = collectors.get(rtype)()
    live = _read(collector, "tags", f"tags/{rtype}.json")
    finding = _diff(collector, live, {"tags": {"team": "payments"}})
    assert [c.to_dict() for c in finding.changes] == [
        {"path": "tags.cost-center", "declared": None, "live": "42"},
        {"path": "tags.team", "declared": "payments", "live": "orders"},
    ]


# S3 stores a CloudFront origin access identity given as CanonicalUser as its IAM ARN.

OAI_ARN = "arn:aws:iam::cloudfront:user/CloudFront Origin Access Identity E2QWRUHAPOMQZL"
OAI_CANONICAL_ID = "79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be"


def _site_policy(principal: Any) -> dict[str, Any]:
    return {
        "Version": "2008-10-17",
        "Id": "PolicyForCloudFrontPrivateContent",
        "Statement": {
            "Sid": "1",
            "Effect": "Allow",
            "Principal": principal,
            "Action": ["s3:GetObject"],
            "Resource": "arn:aws:s3:::acme-site/*",
        },
    }


def test_origin_access_identity_declared_as_its_arn_is_in_sync() -> None:
    live = _read(S3Bucket(), "policy", "s3/get_bucket_policy_oai.json")
    for principal in ({"AWS": OAI_ARN}, {"AWS": [OAI_ARN]}):
        finding = _diff(S3Bucket(), live, {"policy": _site_policy(principal)})
        assert finding.kind == Kind.IN_SYNC, [c.to_dict() for c in finding.changes]


def test_origin_access_identity_changes_are_never_hidden() -> None:
    live = _read(S3Bucket(), "policy", "s3/get_bucket_policy_oai.json")
    other = OAI_ARN.replace("E2QWRUHAPOMQZL", "E1ABCDEFGHIJKL")
    # A canonical user id cannot be tied to an OAI id without asking CloudFront: it is
    # compared as written, so S3's rewrite shows (documented: declare the ARN form).
    for principal in ({"AWS": other}, {"CanonicalUser": OAI_CANONICAL_ID}):
        finding = _diff(S3Bucket(), live, {"policy": _site_policy(principal)})
        assert [c.path for c in finding.changes] == ["policy.Statement"], principal


# KMS: a key pending deletion reports rotation false, whatever its setting.


class _Sessions:
    """AwsSessions' interface for Collection: every client is the one replaying client."""

    def __init__(self, client: Any) -> None:
        self._client, self.counter = client, CallCounter()

    def client(self, account: AccountConfig, region: str, service: str) -> Any:
        return self._client


def _scan(
    collector: Collector, rid: str, spec: dict[str, Any], *fixtures: str
) -> tuple[Finding, list[ScopeError]]:
    """One declared resource through the scan's own collection and findings.

    One worker, so calls reach the Stubber in the order the fixtures record them.
    """
    res = DeclaredResource(collector.type, rid, "a", REGION, spec, "m.yaml")
    plan = ScopePlan(
        Scope("a", REGION, collector.type), AccountConfig("a", (REGION,)), False, [res]
    )
    with replay(collector.service, *fixtures) as client:
        got = Collection(_Sessions(client), max_workers=1).run([plan])
    cfg = parse_config({"git": {"url": "x"}}, Path("driftwatch.toml"))
    [finding] = build_findings(cfg, [plan], got, dt.date.today(), bytes(32))
    return finding, got.errors


def test_key_pending_deletion_reports_its_state_not_rotation_drift() -> None:
    for declared in (True, False):
        finding, errors = _scan(
            KmsKey(),
            "alias/orders",
            {"enable_key_rotation": declared},
            "kms/list_keys.json",
            "kms/rotation_pending_deletion.json",
        )
        assert (finding.kind, finding.changes, errors) == (Kind.NOT_CHECKED, [], [])
        assert finding.reason and "key state PendingDeletion" in finding.reason
        assert "deletion on 2026-12-04" in finding.reason


def test_multi_region_key_waiting_for_replica_deletion_reports_its_state() -> None:
    live = LiveResource("aws_kms_key", "mrk-1234abcd12ab34cd56ef1234567890ab", "a", REGION)
    with (
        replay("kms", "kms/rotation_pending_replica_deletion.json") as client,
        pytest.raises(NotComparable, match="key state PendingReplicaDeletion, waiting for its"),
    ):
        KmsKey().read("rotation", client, live)


def test_rotation_off_on_an_enabled_key_is_still_drift() -> None:
    fixtures = ("kms/list_keys.json", "kms/rotation_disabled.json")
    drift, errors = _scan(KmsKey(), "alias/orders", {"enable_key_rotation": True}, *fixtures)
    assert errors == [] and drift.kind == Kind.MODIFIED
    assert [c.to_dict() for c in drift.changes] == [
        {"path": "enable_key_rotation", "declared": True, "live": False}
    ]
    same, _ = _scan(KmsKey(), "alias/orders", {"enable_key_rotation": False}, *fixtures)
    assert same.kind == Kind.IN_SYNC


# EC2: a large region is read page by page (MaxResults 1000), never in one long call.


def test_instances_and_security_groups_are_read_page_by_page() -> None:
    instances = _listed(Instance(), "ec2/describe_instances_pages.json")
    assert [x.names for x in instances] == [("web-1",), ("web-2",), ("web-3",), ("web-5",)]
    groups = _listed(SecurityGroup(), "ec2/describe_security_groups_pages.json")
    assert [g.names for g in groups] == [("app-1",), ("app-2",), ("app-3",)]


# Lambda container images: no Runtime/Handler live; Terraform-shaped manifests say "".


def test_container_image_function_without_runtime_and_handler() -> None:
    image, zipped = _listed(LambdaFunction(), "lambda/list_functions_image.json")
    for empty in ("", None):
        spec = {"runtime": empty, "handler": empty, "memory_size": 1024}
        finding = _diff(LambdaFunction(), image, spec)
        assert finding.kind == Kind.IN_SYNC, [c.to_dict() for c in finding.changes]
    drift = _diff(LambdaFunction(), image, {"runtime": "python3.12", "handler": ""})
    assert [c.to_dict() for c in drift.changes] == [
        {"path": "runtime", "declared": "python3.12", "live": None}
    ]
    # A zip function's runtime is compared as before: "" is drift against a runtime.
    assert _diff(LambdaFunction(), zipped, {"runtime": ""}).kind == Kind.MODIFIED


def test_every_recorded_shape_is_labelled_and_replayed() -> None:
    """No orphan fixtures: each is used above (tags/ by type) and names its origin."""
    module = Path(__file__).read_text()
    for path in sorted(FIXTURES.rglob("*.json")):
        name = path.relative_to(FIXTURES).as_posix()
        assert load(name)["calls"], name
        used = (name.startswith("tags/") and name[5:-5] in TAGGED) or f'"{name}"' in module
        assert used, f"{name} is not replayed by any test"
