"""init --from-live's manifests on recorded real-AWS shapes: written, parsed back, in sync.

moto echoes what it was given; these shapes are what AWS really returns (ports left out,
`aws:` tags, rewritten principals). Each live resource is turned into a manifest entry,
written as YAML, parsed by the scan's own manifest parser, and compared as a scan would.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from support.real_aws import load, replay
from support.revert import plan, pure_target

import driftwatch.collectors  # noqa: F401
from driftwatch.baseline import PLACEHOLDER, Baseline, _entry, manifest_files
from driftwatch.collectors.base import LISTED, Collector
from driftwatch.collectors.ec2 import SecurityGroup
from driftwatch.collectors.lambda_ import LambdaFunction
from driftwatch.collectors.s3 import S3Bucket
from driftwatch.config import Config, parse_config
from driftwatch.declared.manifests import parse_manifests
from driftwatch.diff import diff_resource
from driftwatch.models import Kind, LiveResource, Scope
from driftwatch.registry import collectors

REGION = "us-east-1"
KEY = bytes(range(32))
TODAY = dt.date(2026, 11, 27)


@pytest.fixture
def cfg(tmp_path: Path) -> Config:
    return parse_config({"git": {"url": "x"}, "aws": {"regions": [REGION]}}, tmp_path / "c.toml")


def listed(collector: Collector, fixture: str) -> list[LiveResource]:
    with replay(collector.service, fixture) as client:
        return list(collector.list_resources(client, Scope("default", REGION, collector.type)))


def read(collector: Collector, attr: str, fixture: str) -> LiveResource:
    """The live resource with `attr` read as a scan reads it: from the listing or its source."""
    source = collector.attributes[attr].source
    if source == LISTED:
        [live] = listed(collector, fixture)
        return live
    known = load(fixture)["_live"]
    region = "global" if collector.is_global else REGION
    live = LiveResource(
        collector.type, known["id"], "default", region, listed=known.get("listed", {})
    )
    with replay(collector.service, fixture) as client:
        live.attrs.update(collector.read(source, client, live))
    return live


def round_trip(cfg: Config, collector: Collector, live: LiveResource) -> tuple[str, Any]:
    """(the manifest text, the finding of the entry parsed back and compared with `live`)."""
    base = Baseline()
    base.entries.append(_entry(collector, live, live.id, KEY, TODAY, base))
    assert not base.omitted, base.omitted
    [(path, text)] = manifest_files(base, cfg, "driftwatch init --from-live").items()
    [declared] = parse_manifests([(path, text.encode())], cfg)
    finding = diff_resource(collector, declared, live, (), TODAY, secret_key=KEY)
    return text, finding


def test_portless_rules_are_written_so_that_they_read_back_in_sync(cfg: Config) -> None:
    [live] = listed(SecurityGroup(), "ec2/describe_security_groups_portless.json")
    text, finding = round_trip(cfg, SecurityGroup(), live)
    assert finding.kind == Kind.IN_SYNC, [c.to_dict() for c in finding.changes]
    assert set(finding.snapshot) == set(SecurityGroup.attributes)  # every attribute declared
    assert "protocol: '50'" in text and "self: true" in text


TAGGED = [name for name, cls in collectors if "tags" in cls.attributes]


@pytest.mark.parametrize("rtype", TAGGED)
def test_reserved_aws_tags_are_never_written(cfg: Config, rtype: str) -> None:
    collector = collectors.get(rtype)()
    live = read(collector, "tags", f"tags/{rtype}.json")
    text, finding = round_trip(cfg, collector, live)
    assert finding.kind == Kind.IN_SYNC, [c.to_dict() for c in finding.changes]
    assert "aws:" not in text and "cost-center: '42'" in text


def test_a_rewritten_principal_is_written_as_aws_returns_it(cfg: Config) -> None:
    live = read(S3Bucket(), "policy", "s3/get_bucket_policy_oai.json")
    text, finding = round_trip(cfg, S3Bucket(), live)
    assert finding.kind == Kind.IN_SYNC
    assert "CloudFront Origin Access Identity E2QWRUHAPOMQZL" in text


def test_container_image_function_and_secret_environment(cfg: Config) -> None:
    image, _zip = listed(LambdaFunction(), "lambda/list_functions_image.json")
    image.attrs["environment"] = {"TOKEN": "hunter2-very-secret", "MODE": "blue"}
    text, finding = round_trip(cfg, LambdaFunction(), image)
    assert finding.kind == Kind.IN_SYNC, [c.to_dict() for c in finding.changes]
    assert "runtime: null" in text and "hunter2" not in text and "blue" not in text
    assert text.count(PLACEHOLDER) == 2
    assert "ignore:\n      - environment.MODE\n      - environment.TOKEN" in text
    # A variable added live is still drift: only the written keys are ignored.
    image.attrs["environment"]["NEW"] = "x"
    [declared] = parse_manifests([("m.yaml", text.encode())], cfg)
    changed = diff_resource(LambdaFunction(), declared, image, (), TODAY, secret_key=KEY)
    assert [c.path for c in changed.changes] == ["environment.NEW"]


def test_a_revert_never_writes_inits_placeholders_over_the_real_secrets() -> None:
    """A variable added live drifts `environment`; reverting it would send the placeholders."""
    spec = {"environment": {"TOKEN": PLACEHOLDER}, "timeout": 9}
    live = {"timeout": 3, "environment": {"TOKEN": "real-token-value", "NEW": "x"}}
    listed = {"arn": "arn:aws:lambda:us-east-1:123456789012:function:api"}
    got = plan(pure_target("aws_lambda_function", spec, live, rid="api", listed=listed))
    assert [c.params for c in got.calls] == [{"FunctionName": "api", "Timeout": 9}]
    [refused] = got.not_revertible
    assert refused.path == "environment" and "TOKEN" in refused.why
    assert "placeholder" in refused.why and "real-token-value" not in refused.why
