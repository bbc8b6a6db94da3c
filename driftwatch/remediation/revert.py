"""Mode 1, revert to declared: the remediator's calls, run in order, then re-read and re-diffed."""

from __future__ import annotations

from typing import Any

import driftwatch.collectors
import driftwatch.remediators  # noqa: F401  (registers the built-in remediators)
from driftwatch.aws import GLOBAL_API_REGION, AwsSessions, describe_error
from driftwatch.config import Config
from driftwatch.errors import DriftwatchError
from driftwatch.models import LiveResource, ResourceKey
from driftwatch.registry import collectors, remediators
from driftwatch.remediation.model import FAILED, PARTIAL, SUCCEEDED, Outcome, Prepared
from driftwatch.remediation.subject import (
    RemediationError,
    Subject,
    account_of,
    compare,
    keyed_hash,
    list_live,
    read_live,
    read_more,
)
from driftwatch.remediators.base import Call, RevertPlan, Target


def remediator_for(rtype: str) -> Any:
    if rtype not in remediators:
        raise RemediationError(f"reverting {rtype} is not supported", status=400)
    return remediators.get(rtype)()


def prepare_revert(
    cfg: Config,
    sessions: AwsSessions,
    secret_key: bytes,
    subject: Subject,
    options: frozenset[str],
) -> Prepared:
    """The calls that put the drifted paths back to what Git declares."""
    remediator = remediator_for(subject.declared.type)
    known = {o.name for o in remediator.options}
    unknown = sorted(options - known)
    if unknown:
        offered = ", ".join(sorted(known)) or "none"
        raise RemediationError(
            f"unknown option(s) {', '.join(unknown)} for {subject.declared.type}; "
            f"offered: {offered}",
            status=400,
        )
    if not subject.changes:
        raise RemediationError(
            f"{subject.declared.type} {subject.declared.id!r} is in sync now; nothing to revert"
        )
    read_more(cfg, sessions, subject.declared.key, subject.live, remediator.reads)
    target = Target(
        subject.declared,
        subject.live,
        subject.want,
        subject.have,
        tuple(subject.changes),
    )
    plan = remediator.plan(target, options)
    body = _body(plan, subject)
    return Prepared(
        summary=_summary(plan),
        body=body,
        plan_hash=keyed_hash(secret_key, {"body": body, "params": _params(plan)}),
        live_hash=keyed_hash(secret_key, subject.have),
        run=lambda: _run(cfg, sessions, secret_key, subject, plan),
    )


def prepare_delete(
    cfg: Config, sessions: AwsSessions, secret_key: bytes, key: ResourceKey
) -> Prepared:
    """Delete an unmanaged resource (admin, off by default): the remediator's delete plan."""
    remediator = remediator_for(key[2])
    live = list_live(cfg, sessions, key)
    if live is None:
        raise RemediationError(f"{key[2]} {key[3]!r} is not live any more; nothing to delete")
    read_more(cfg, sessions, key, live, remediator.delete_reads)
    plan = remediator.delete(live)
    collector = collectors.get(key[2])()
    body = {
        "calls": [c.shown() for c in plan.calls],
        "not_revertible": [n.to_dict() for n in plan.not_revertible],
        "resource": {"type": key[2], "id": key[3], "account": key[0], "region": key[1]},
    }
    if not plan.calls:
        raise RemediationError(
            "; ".join(f"{n.path}: {n.why}" for n in plan.not_revertible), status=400
        )
    return Prepared(
        summary=f"delete unmanaged {key[2]} {key[3]} ({len(plan.calls)} call(s))",
        body=body,
        plan_hash=keyed_hash(secret_key, {"body": body, "params": _params(plan)}),
        live_hash=keyed_hash(secret_key, collector.summary(live)),
        run=lambda: _run_delete(cfg, sessions, key, live, plan),
    )


def _params(plan: RevertPlan) -> list[dict[str, Any]]:
    # The full parameters, secrets included: only ever hashed with the installation key.
    return [c.params for c in plan.calls]


def _body(plan: RevertPlan, subject: Subject) -> dict[str, Any]:
    return {
        "calls": [c.shown() for c in plan.calls],
        "not_revertible": [n.to_dict() for n in plan.not_revertible],
        "fixes": plan.fixes,
        "changes": [c.to_dict() for c in subject.changes],
        "declared_at": subject.declared.where,
        "commit": subject.commit,
        "live_id": subject.live.id,
    }


def _summary(plan: RevertPlan) -> str:
    said = f"{len(plan.calls)} API call(s) fixing {', '.join(plan.fixes) or 'nothing'}"
    if plan.not_revertible:
        said += f"; not revertible: {', '.join(n.path for n in plan.not_revertible)}"
    return said


def _client(cfg: Config, sessions: AwsSessions, key: ResourceKey, call: Call) -> Any:
    account, region, rtype, _ = key
    if call.region:
        region = call.region
    elif collectors.get(rtype).is_global:
        region = GLOBAL_API_REGION
    return sessions.client(account_of(cfg, account), region, call.service)


def _call_all(
    cfg: Config, sessions: AwsSessions, key: ResourceKey, plan: RevertPlan
) -> tuple[list[dict[str, Any]], str | None]:
    """Run the calls in order, stopping at the first failure: (steps, error)."""
    steps: list[dict[str, Any]] = []
    for call in plan.calls:
        step: dict[str, Any] = {"operation": call.operation, "fixes": list(call.fixes)}
        try:
            client = _client(cfg, sessions, key, call)
            getattr(client, call.operation)(**call.params)
            if call.waiter:  # e.g. the instance must be stopped before its type changes
                client.get_waiter(call.waiter).wait(**call.params)
        except Exception as exc:  # every AWS answer is reported by its code; nothing swallowed
            step["error"] = describe_error(exc)
            steps.append(step)
            return steps, f"{call.operation} failed: {step['error']}"
        step["ok"] = True
        steps.append(step)
    return steps, None


def _run(
    cfg: Config, sessions: AwsSessions, secret_key: bytes, subject: Subject, plan: RevertPlan
) -> Outcome:
    steps, error = _call_all(cfg, sessions, subject.declared.key, plan)
    done = sum(1 for s in steps if s.get("ok"))
    try:
        after = compare(
            cfg,
            subject.declared,
            read_live(cfg, sessions, subject.declared),
            secret_key,
            subject.commit,
        )
    except DriftwatchError as exc:
        return _unverified(steps, error, str(exc))
    remaining = [c for c in after.changes if _under(c.path, plan.fixes)]
    other = [c for c in after.changes if not _under(c.path, plan.fixes)]
    result: dict[str, Any] = {
        "steps": steps,
        "remaining": [c.to_dict() for c in remaining],
        "other_drift": [c.to_dict() for c in other],
    }
    if error:
        result["error"] = error
    if not error and not remaining:
        status = SUCCEEDED
        result["summary"] = f"{done} call(s) ran; verified in sync: {', '.join(plan.fixes)}" + (
            f"; still drifted outside the plan: {_paths(other)}" if other else ""
        )
    else:
        status = PARTIAL if done else FAILED
        result["summary"] = (
            f"{done} of {len(plan.calls)} call(s) ran"
            + (f"; stopped: {error}" if error else "")
            + (f"; still drifted: {_paths(remaining)}" if remaining else "")
        )
    return Outcome(status, result, resolve=status == SUCCEEDED and not after.changes)


def _run_delete(
    cfg: Config, sessions: AwsSessions, key: ResourceKey, live: LiveResource, plan: RevertPlan
) -> Outcome:
    steps, error = _call_all(cfg, sessions, key, plan)
    done = sum(1 for s in steps if s.get("ok"))
    try:
        gone = list_live(cfg, sessions, key) is None
    except DriftwatchError as exc:
        return _unverified(steps, error, str(exc))
    result: dict[str, Any] = {"steps": steps}
    if error:
        result["error"] = error
    if gone and not error:
        result["summary"] = f"{done} call(s) ran; verified: {key[2]} {live.id} is gone"
        return Outcome(SUCCEEDED, result, resolve=True)
    result["summary"] = f"{done} of {len(plan.calls)} call(s) ran" + (
        f"; stopped: {error}" if error else "; the resource is still listed"
    )
    return Outcome(PARTIAL if done else FAILED, result)


def _unverified(steps: list[dict[str, Any]], error: str | None, why: str) -> Outcome:
    done = sum(1 for s in steps if s.get("ok"))
    result = {
        "steps": steps,
        "error": error or f"could not verify: {why}",
        "summary": f"{done} call(s) ran; could not verify: {why}",
    }
    return Outcome(PARTIAL if done else FAILED, result)


def _under(path: str, fixes: list[str]) -> bool:
    return any(path == f or path.startswith((f + ".", f + "[")) for f in fixes)


def _paths(changes: list[Any]) -> str:
    return ", ".join(c.path for c in changes)
