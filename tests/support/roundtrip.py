"""Revert round trips on the moto server: read through the collector, plan, run with boto3.

What the orchestration does, step by step: read the live resource as a scan would (the
listing, then the detail sources the declared attributes need), build the `Target`
from the canonical forms and the changes `diff_resource` finds, plan, and run the
planned calls in order with a real boto3 client.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import driftwatch.collectors  # registers the collectors
import driftwatch.remediators  # noqa: F401  (registers the remediators)
from driftwatch.diff import diff_resource
from driftwatch.models import DeclaredResource, LiveResource, Scope
from driftwatch.registry import collectors, remediators
from driftwatch.remediators.base import RevertPlan, Target
from driftwatch.schema import SECRET_KEY
from support.env import REGION, Aws

KEY = b"roundtrip-secret-key-0123456789ab"
ACCOUNT = "default"


def declared(rtype: str, rid: str, spec: dict[str, Any], region: str = REGION) -> DeclaredResource:
    return DeclaredResource(rtype, rid, ACCOUNT, region, spec, "declared/main.yaml", 1)


def read_live(aws: Aws, decl: DeclaredResource) -> LiveResource:
    """The declared resource's live twin, read as a scan reads it."""
    collector = collectors.get(decl.type)()
    client = aws.client(collector.service, decl.region)
    listed = collector.list_resources(client, Scope(ACCOUNT, decl.region, decl.type))
    [live] = collector.match(decl, listed)
    for source in collector.sources_for(list(decl.spec)):
        live.attrs.update(collector.read(source, client, live))
    return live


def target(aws: Aws, rtype: str, rid: str, spec: dict[str, Any], region: str = REGION) -> Target:
    """A fresh Target: canonical want/have and the drifted paths, as the scan finds them."""
    decl = declared(rtype, rid, spec, region)
    live = read_live(aws, decl)
    collector = collectors.get(rtype)()
    ctx = {**collector.context(live), SECRET_KEY: KEY}
    want = collector.canonical(decl.spec, ctx)
    have = collector.canonical({k: live.attrs.get(k) for k in decl.spec}, ctx)
    finding = diff_resource(collector, decl, live, [], dt.date.today(), secret_key=KEY)
    return Target(decl, live, want, have, tuple(finding.changes))


def plan(target: Target, options: frozenset[str] = frozenset()) -> RevertPlan:
    return remediators.get(target.declared.type)().plan(target, options)  # type: ignore[no-any-return]


def execute(aws: Aws, plan: RevertPlan, region: str = REGION) -> None:
    """Run the planned calls in order, each in its own region when it names one."""
    for call in plan.calls:
        client = aws.client(call.service, call.region or region)
        getattr(client, call.operation)(**call.params)


def revert(
    aws: Aws,
    rtype: str,
    rid: str,
    spec: dict[str, Any],
    options: frozenset[str] = frozenset(),
    region: str = REGION,
) -> RevertPlan:
    """Plan and run a revert; returns the plan it ran (asserting it refused nothing)."""
    done = plan(target(aws, rtype, rid, spec, region), options)
    assert not done.not_revertible, done.not_revertible
    assert done.calls, "a drifted resource must plan at least one call"
    execute(aws, done, region)
    return done


def drifted_paths(
    aws: Aws, rtype: str, rid: str, spec: dict[str, Any], region: str = REGION
) -> list[str]:
    return [c.path for c in target(aws, rtype, rid, spec, region).changes]


def pure_target(
    rtype: str,
    spec: dict[str, Any],
    live_attrs: dict[str, Any],
    *,
    rid: str = "r",
    listed: dict[str, Any] | None = None,
    names: tuple[str, ...] = (),
) -> Target:
    """A Target built without AWS, from raw live attributes (for pure planner tests)."""
    decl = declared(rtype, rid, spec)
    live = LiveResource(rtype, rid, ACCOUNT, REGION, names, listed or {}, dict(live_attrs))
    collector = collectors.get(rtype)()
    ctx = {**collector.context(live), SECRET_KEY: KEY}
    want = collector.canonical(spec, ctx)
    have = collector.canonical({k: live.attrs.get(k) for k in spec}, ctx)
    finding = diff_resource(collector, decl, live, [], dt.date.today(), secret_key=KEY)
    return Target(decl, live, want, have, tuple(finding.changes))
