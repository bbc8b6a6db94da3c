"""What a remediator is: a pure planner from (declared, live) to the exact AWS calls of a revert.

A plan is data you can print, store, review and verify against (as `terraform plan`):
`Remediator.plan(target, options)` reads nothing and changes nothing. The code that
runs the calls (`driftwatch.remediate`) is the same for every type.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any, ClassVar

from driftwatch.models import Change, DeclaredResource, LiveResource
from driftwatch.paths import split_path

REDACTED = "(secret: from Git, never stored or shown)"
WHOLE = "(resource)"  # the path a call on the whole resource fixes (a delete)


@dataclass(frozen=True)
class Call:
    """One AWS API call of a revert: the boto3 operation, its parameters, the paths it fixes.

    `secret_params` names top-level parameters whose values are secrets (e.g. a
    Lambda's `Environment`): shown and stored redacted, sent as planned.
    `region` overrides the resource's region (global types call one API region).
    `waiter` names a boto3 waiter of the same service that must succeed, given the
    call's own `params`, before the next call runs (e.g. `instance_stopped` after
    `stop_instances`).
    """

    service: str
    operation: str
    params: dict[str, Any]
    fixes: tuple[str, ...]
    note: str = ""
    secret_params: tuple[str, ...] = ()
    region: str | None = None
    waiter: str | None = None

    def shown(self) -> dict[str, Any]:
        """The call as planned, with secret parameters redacted: safe to store, log and show."""
        params = copy.deepcopy(self.params)
        for name in self.secret_params:
            if name in params:
                params[name] = _redact(params[name])
        shown = {
            "service": self.service,
            "operation": self.operation,
            "params": params,
            "fixes": list(self.fixes),
            "note": self.note,
        }
        if self.waiter:
            shown["waiter"] = self.waiter
        return shown


def _redact(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _redact(v) for k, v in value.items()}
    return REDACTED


@dataclass(frozen=True)
class NotRevertible:
    """A drifted path no call can put back in place, and why (shown in the plan)."""

    path: str
    why: str

    def to_dict(self) -> dict[str, str]:
        return {"path": self.path, "why": self.why}


@dataclass
class RevertPlan:
    """The ordered calls of a revert and the drifted paths it leaves alone."""

    calls: list[Call] = field(default_factory=list)
    not_revertible: list[NotRevertible] = field(default_factory=list)

    def add(self, call: Call) -> None:
        self.calls.append(call)

    def refuse(self, path: str, why: str) -> None:
        self.not_revertible.append(NotRevertible(path, why))

    @property
    def fixes(self) -> list[str]:
        """Every drifted path some call fixes, in call order."""
        return list(dict.fromkeys(p for c in self.calls for p in c.fixes))


@dataclass(frozen=True)
class Target:
    """Everything a remediator plans from, read fresh for the plan.

    `want`/`have` are the canonical declared and live values of the declared
    attributes (as the scan compares them); `declared.spec` holds the raw declared
    values (e.g. a policy as written, secret values from Git); `live` is the resource
    as collected (listed data and the raw attributes its reads returned);
    `changes` are the drifted paths, after ignore rules.
    """

    declared: DeclaredResource
    live: LiveResource
    want: dict[str, Any]
    have: dict[str, Any]
    changes: tuple[Change, ...]

    @property
    def drifted(self) -> list[str]:
        """Top-level attribute names with at least one change, sorted."""
        return sorted({split_path(c.path)[0] for c in self.changes})

    def paths(self, attr: str) -> tuple[str, ...]:
        """The change paths under one top-level attribute."""
        return tuple(c.path for c in self.changes if split_path(c.path)[0] == attr)


@dataclass(frozen=True)
class Option:
    """A per-plan choice a remediator offers (e.g. RDS `apply_immediately`), off by default."""

    name: str
    help: str


class Remediator:
    """Plans reverts for one resource type; subclasses implement `plan_attr()` per attribute.

    `plan()` asks `plan_attr()` for each drifted top-level attribute in a fixed
    order (`order`, then the rest by name); an attribute the type cannot change in
    place goes to `RevertPlan.refuse()` with why. `delete()` plans the deletion of an
    unmanaged resource (an explicit, admin-only action); the default refuses.

    `reads` names collector sources (`Collector.read_<source>`) the plan needs beyond
    those of the declared attributes (e.g. an IAM policy's version list), and
    `delete_reads` those `delete()` needs beyond the listing: the code that builds the
    Target reads them; scans never do.
    """

    type: ClassVar[str]
    order: ClassVar[tuple[str, ...]] = ()
    options: ClassVar[tuple[Option, ...]] = ()
    reads: ClassVar[tuple[str, ...]] = ()
    delete_reads: ClassVar[tuple[str, ...]] = ()

    def plan(self, target: Target, options: frozenset[str] = frozenset()) -> RevertPlan:
        out = RevertPlan()
        drifted = target.drifted
        ranked = [a for a in self.order if a in drifted] + [
            a for a in drifted if a not in self.order
        ]
        for attr in ranked:
            self.plan_attr(attr, target, options, out)
        return out

    def plan_attr(
        self, attr: str, target: Target, options: frozenset[str], out: RevertPlan
    ) -> None:
        out.refuse(attr, f"reverting {attr} of {self.type} is not supported")

    def delete(self, live: LiveResource) -> RevertPlan:
        out = RevertPlan()
        out.refuse(WHOLE, f"deleting an unmanaged {self.type} is not supported")
        return out


def register(cls: type[Remediator]) -> type[Remediator]:
    """Class decorator: register a remediator under its own `type` name."""
    from driftwatch.registry import remediators

    remediators.add(cls.type, cls)
    return cls
