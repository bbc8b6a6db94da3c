"""Remediator test helpers: Targets read and diffed as a scan does, plans run with boto3."""

from __future__ import annotations

import datetime as dt
import functools
from typing import Any

import boto3
from botocore.validate import validate_parameters

from driftwatch.aws import GLOBAL_API_REGION
from driftwatch.collectors.base import LISTED, Collector
from driftwatch.diff import diff_resource
from driftwatch.models import GLOBAL_REGION, DeclaredResource, LiveResource, Scope
from driftwatch.registry import collectors, remediators
from driftwatch.remediators.base import RevertPlan, Target
from driftwatch.schema import SECRET_KEY
from support import real_aws
from support.env import REGION, Aws

ACCOUNT = "123456789012"
KEY = b"k" * 32


def declared(
    rtype: str, rid: str, spec: dict[str, Any], ignore: tuple[str, ...] = ()
) -> DeclaredResource:
    region = GLOBAL_REGION if collectors.get(rtype).is_global else REGION
    return DeclaredResource(rtype, rid, ACCOUNT, region, spec, "declared/main.yaml", 1, [*ignore])


def target_of(decl: DeclaredResource, live: LiveResource) -> Target:
    """The Target of a declared and a live resource: canonical forms and changes as a scan's."""
    collector = collectors.get(decl.type)()
    finding = diff_resource(collector, decl, live, [], dt.date.today(), secret_key=KEY)
    ctx = {**collector.context(live), SECRET_KEY: KEY}
    want = collector.canonical(decl.spec, ctx)
    have = collector.canonical({k: live.attrs.get(k) for k in decl.spec}, ctx)
    return Target(decl, live, want, have, tuple(finding.changes))


def pure_target(
    rtype: str,
    spec: dict[str, Any],
    attrs: dict[str, Any],
    *,
    rid: str = "thing",
    live_id: str | None = None,
    names: tuple[str, ...] = (),
    listed: dict[str, Any] | None = None,
    ignore: tuple[str, ...] = (),
) -> Target:
    """A Target from plain data (no AWS): the live side is `attrs` as a collector reads it."""
    decl = declared(rtype, rid, spec, ignore)
    live = LiveResource(
        rtype, live_id or rid, ACCOUNT, decl.region, names, listed or {}, dict(attrs)
    )
    return target_of(decl, live)


def _client(aws: Aws, collector: Collector) -> Any:
    return aws.client(collector.service, GLOBAL_API_REGION if collector.is_global else REGION)


def read_live(aws: Aws, rtype: str, rid: str, sources: tuple[str, ...] = ()) -> LiveResource:
    """One resource as its collector lists it, plus the detail `sources` named."""
    collector = collectors.get(rtype)()
    client = _client(aws, collector)
    scope = Scope(ACCOUNT, GLOBAL_REGION if collector.is_global else REGION, rtype)
    found = collector.match(declared(rtype, rid, {}), collector.list_resources(client, scope))
    assert len(found) == 1, (rtype, rid, found)
    live = found[0]
    for source in sources:
        live.attrs.update(collector.read(source, client, live))
    return live


def replayed(rtype: str, attr: str, fixture: str) -> LiveResource:
    """A resource read from a recorded real-AWS fixture as a scan reads `attr`."""
    collector = collectors.get(rtype)()
    source = collector.attributes[attr].source
    region = GLOBAL_REGION if collector.is_global else REGION
    with real_aws.replay(collector.service, fixture) as client:
        if source == LISTED:
            [live] = collector.list_resources(client, Scope(ACCOUNT, region, rtype))
            return live
        known = real_aws.load(fixture)["_live"]
        live = LiveResource(rtype, known["id"], ACCOUNT, region, listed=known.get("listed", {}))
        live.attrs.update(collector.read(source, client, live))
    return live


def read_target(
    aws: Aws, rtype: str, rid: str, spec: dict[str, Any], ignore: tuple[str, ...] = ()
) -> Target:
    """Read the live resource (the declared attributes' sources and the remediator's reads)."""
    collector = collectors.get(rtype)()
    sources = (*collector.sources_for(list(spec)), *remediators.get(rtype).reads)
    return target_of(declared(rtype, rid, spec, ignore), read_live(aws, rtype, rid, sources))


def plan(target: Target, *options: str) -> RevertPlan:
    """The remediator's plan, every call checked against botocore's model of its API."""
    return checked(remediators.get(target.declared.type)().plan(target, frozenset(options)))


def checked(revert: RevertPlan) -> RevertPlan:
    """Fail unless every call names a real operation (and waiter) and valid parameters."""
    for call in revert.calls:
        meta = _model_client(call.service).meta
        api = meta.method_to_api_mapping.get(call.operation)
        assert api, f"{call.service} has no operation {call.operation}"
        validate_parameters(call.params, meta.service_model.operation_model(api).input_shape)
        if call.waiter:
            assert call.waiter in _model_client(call.service).waiter_names, call.waiter
    return revert


@functools.cache
def _model_client(service: str) -> Any:
    return boto3.client(
        service, region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x"
    )


def execute(aws: Aws, revert: RevertPlan) -> list[str]:
    """Run the calls in order with boto3 (waiters included); the operations run."""
    done = []
    for call in revert.calls:
        client = aws.client(call.service, call.region or REGION)
        getattr(client, call.operation)(**call.params)
        if call.waiter:
            waiter = client.get_waiter(call.waiter)
            waiter.wait(**call.params, WaiterConfig={"Delay": 1, "MaxAttempts": 20})
        done.append(call.operation)
    return done


def revert(aws: Aws, rtype: str, rid: str, spec: dict[str, Any], *options: str) -> RevertPlan:
    """Plan from a fresh read, check nothing is refused, run it, and check it is in sync."""
    before = read_target(aws, rtype, rid, spec)
    assert before.changes, "nothing drifted: the test's drift did not happen"
    planned = plan(before, *options)
    assert planned.not_revertible == [], planned.not_revertible
    assert set(planned.fixes) == {c.path for c in before.changes}
    execute(aws, planned)
    after = read_target(aws, rtype, rid, spec)
    assert after.changes == (), after.changes
    return planned
