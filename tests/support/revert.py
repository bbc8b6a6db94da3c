"""Revert test helpers: Targets read and diffed as a scan does, plans checked and run with boto3.

The round trip, step by step: read the live resource as a scan would (the listing,
then the detail sources the declared attributes and the remediator need), build the
`Target` from the canonical forms and the changes `diff_resource` finds, plan (every
call checked against botocore's model of its API), and run the planned calls in
order with a real boto3 client. `pure_target` builds the same Target from plain data
for planner tests without AWS; `replayed` reads recorded real-AWS responses.
"""

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


def home_region(rtype: str) -> str:
    """The region a resource of `rtype` is declared in by default: global, or the test region."""
    return GLOBAL_REGION if collectors.get(rtype).is_global else REGION


def declared(
    rtype: str,
    rid: str,
    spec: dict[str, Any],
    *,
    region: str | None = None,
    ignore: tuple[str, ...] = (),
) -> DeclaredResource:
    """A declared resource as a manifest entry gives it, in `region` (default: `home_region`)."""
    return DeclaredResource(
        rtype, rid, ACCOUNT, region or home_region(rtype), spec, "declared/main.yaml", 1, [*ignore]
    )


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
    region: str | None = None,
) -> Target:
    """A Target from plain data (no AWS): the live side is `attrs` as a collector reads it."""
    decl = declared(rtype, rid, spec, region=region, ignore=ignore)
    live = LiveResource(
        rtype, live_id or rid, ACCOUNT, decl.region, names, listed or {}, dict(attrs)
    )
    return target_of(decl, live)


def _client(aws: Aws, collector: Collector, region: str) -> Any:
    """The collector's boto3 client on the moto server; global services use the global API."""
    return aws.client(collector.service, GLOBAL_API_REGION if collector.is_global else region)


def read_live(
    aws: Aws,
    rtype: str,
    rid: str,
    sources: tuple[str, ...] = (),
    *,
    region: str | None = None,
) -> LiveResource:
    """One resource as its collector lists it in `region`, plus the detail `sources` named."""
    collector = collectors.get(rtype)()
    region = region or home_region(rtype)
    client = _client(aws, collector, region)
    scope = Scope(ACCOUNT, region, rtype)
    listed = collector.list_resources(client, scope)
    found = collector.match(declared(rtype, rid, {}, region=region), listed)
    assert len(found) == 1, (rtype, rid, found)
    live = found[0]
    for source in sources:
        live.attrs.update(collector.read(source, client, live))
    return live


def replayed(rtype: str, attr: str, fixture: str) -> LiveResource:
    """A resource read from a recorded real-AWS fixture as a scan reads `attr`."""
    collector = collectors.get(rtype)()
    source = collector.attributes[attr].source
    region = home_region(rtype)
    with real_aws.replay(collector.service, fixture) as client:
        if source == LISTED:
            [live] = collector.list_resources(client, Scope(ACCOUNT, region, rtype))
            return live
        known = real_aws.load(fixture)["_live"]
        live = LiveResource(rtype, known["id"], ACCOUNT, region, listed=known.get("listed", {}))
        live.attrs.update(collector.read(source, client, live))
    return live


def read_target(
    aws: Aws,
    rtype: str,
    rid: str,
    spec: dict[str, Any],
    *,
    region: str | None = None,
    ignore: tuple[str, ...] = (),
) -> Target:
    """A fresh Target: reads the declared attributes' sources and the remediator's reads."""
    collector = collectors.get(rtype)()
    sources = (*collector.sources_for(list(spec)), *remediators.get(rtype).reads)
    decl = declared(rtype, rid, spec, region=region, ignore=ignore)
    return target_of(decl, read_live(aws, rtype, rid, sources, region=decl.region))


def drifted_paths(
    aws: Aws, rtype: str, rid: str, spec: dict[str, Any], *, region: str | None = None
) -> list[str]:
    """The change paths a fresh read finds (empty when the resource is in sync)."""
    return [c.path for c in read_target(aws, rtype, rid, spec, region=region).changes]


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
    """A boto3 client used only for its API model (it never sends a request)."""
    return boto3.client(
        service, region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x"
    )


def execute(aws: Aws, revert: RevertPlan, *, region: str = REGION) -> list[str]:
    """Run the calls in order with boto3, each in its own region when it names one, else
    `region` (waiters included); returns the operations run."""
    done = []
    for call in revert.calls:
        client = aws.client(call.service, call.region or region)
        getattr(client, call.operation)(**call.params)
        if call.waiter:
            waiter = client.get_waiter(call.waiter)
            waiter.wait(**call.params, WaiterConfig={"Delay": 1, "MaxAttempts": 20})
        done.append(call.operation)
    return done


def revert(
    aws: Aws,
    rtype: str,
    rid: str,
    spec: dict[str, Any],
    *options: str,
    region: str | None = None,
) -> RevertPlan:
    """Plan from a fresh read, check nothing is refused, run it, and check it is in sync.

    Returns the plan it ran.
    """
    before = read_target(aws, rtype, rid, spec, region=region)
    assert before.changes, "nothing drifted: the test's drift did not happen"
    planned = plan(before, *options)
    assert planned.not_revertible == [], planned.not_revertible
    assert planned.calls, "a drifted resource must plan at least one call"
    assert set(planned.fixes) == {c.path for c in before.changes}
    execute(aws, planned, region=region or REGION)
    after = read_target(aws, rtype, rid, spec, region=region)
    assert after.changes == (), after.changes
    return planned
