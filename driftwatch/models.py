"""The dataclasses passed between layers."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

GLOBAL_REGION = "global"

ResourceKey = tuple[str, str, str, str]
"""(account, region, type, id): one resource, declared or live, across scans."""


def fingerprint(account: str, region: str, rtype: str, rid: str, kind: str) -> str:
    """The identity of a drift record across scans."""
    text = "\x1f".join((account, region, rtype, rid, kind))
    return hashlib.sha256(text.encode()).hexdigest()[:32]


class Kind(StrEnum):
    """A finding's verdict on one resource."""

    IN_SYNC = "in_sync"
    MODIFIED = "modified"
    MISSING = "missing"
    UNMANAGED = "unmanaged"
    NOT_CHECKED = "not_checked"

    @property
    def is_drift(self) -> bool:
        return self in _DRIFT_KINDS


_DRIFT_KINDS = frozenset({Kind.MODIFIED, Kind.MISSING, Kind.UNMANAGED})


@dataclass(frozen=True, order=True)
class Scope:
    """account × region × resource type: the unit of collection and of errors."""

    account: str
    region: str
    type: str

    def __str__(self) -> str:
        return f"{self.account}/{self.region}/{self.type}"


@dataclass
class DeclaredResource:
    """One entry of a manifest in Git."""

    type: str
    id: str
    account: str
    region: str
    spec: dict[str, Any]
    source: str
    line: int | None = None
    ignore: list[str] = field(default_factory=list)
    # Terraform: {state, workspace, address, serial, file, line}, and per attribute
    # how it was declared ("owned", "folded from ADDRESS") or why it was not.
    declared_by: dict[str, Any] | None = None
    notes: dict[str, str] = field(default_factory=dict)

    @property
    def scope(self) -> Scope:
        return Scope(self.account, self.region, self.type)

    @property
    def key(self) -> ResourceKey:
        return (self.account, self.region, self.type, self.id)

    @property
    def where(self) -> str:
        return f"{self.source}:{self.line}" if self.line else self.source


@dataclass
class LiveResource:
    """What a collector listed: a unique native id, the names it answers to, and listed data."""

    type: str
    id: str
    account: str
    region: str
    names: tuple[str, ...] = ()
    listed: dict[str, Any] = field(default_factory=dict)
    attrs: dict[str, Any] = field(default_factory=dict)

    def answers_to(self, identifier: str) -> bool:
        return identifier == self.id or identifier in self.names


@dataclass(frozen=True)
class Change:
    """One attribute path whose declared and live values differ."""

    path: str
    declared: Any
    live: Any

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "declared": self.declared, "live": self.live}


@dataclass(frozen=True)
class Hidden:
    """What one [[ignore]] rule hid in a scan: a whole finding, or one change path of one."""

    rule: int  # the rule's index in the config: ignore[rule]
    kind: Kind  # unmanaged or missing: the whole finding; modified: the change at `path`
    type: str
    id: str
    account: str
    region: str
    path: str | None = None

    @property
    def key(self) -> ResourceKey:
        return (self.account, self.region, self.type, self.id)

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "kind": self.kind.value,
            "type": self.type,
            "id": self.id,
            "account": self.account,
            "region": self.region,
            "path": self.path,
        }


@dataclass
class Finding:
    """One scan's verdict on one resource."""

    kind: Kind
    type: str
    id: str
    account: str
    region: str
    source: str | None = None
    live_id: str | None = None
    changes: list[Change] = field(default_factory=list)
    reason: str | None = None
    snapshot: dict[str, Any] | None = None
    hidden: list[Hidden] = field(default_factory=list)  # change paths [[ignore]] rules hid
    declared_by: dict[str, Any] | None = None  # the Terraform state and address, if any
    severity: str = ""  # drift findings: low, medium, high or critical (driftwatch.severity)

    @property
    def scope(self) -> Scope:
        return Scope(self.account, self.region, self.type)

    @property
    def key(self) -> ResourceKey:
        return (self.account, self.region, self.type, self.id)

    @property
    def fingerprint(self) -> str:
        """The drift record this finding belongs to (when it is a drift); computed once."""
        # Not functools.cached_property: in 3.11 it takes a lock on every access.
        fp: str | None = self.__dict__.get("_fingerprint")
        if fp is None:
            fp = fingerprint(self.account, self.region, self.type, self.id, self.kind)
            self.__dict__["_fingerprint"] = fp
        return fp


@dataclass(frozen=True)
class ScopeError:
    """A scope (or one resource in it) that could not be read.

    `internal` marks a driftwatch bug (an unexpected exception in a collector), as
    opposed to an AWS answer such as AccessDenied or throttling.
    """

    scope: Scope
    error: str
    resource_id: str | None = None
    internal: bool = False

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "account": self.scope.account,
            "region": self.scope.region,
            "type": self.scope.type,
            "error": self.error,
        }
        if self.resource_id:
            d["resource_id"] = self.resource_id
        if self.internal:
            d["internal"] = True
        return d
