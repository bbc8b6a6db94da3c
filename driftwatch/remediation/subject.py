"""What a remediation acts on, read fresh: the declaration now in Git and the resource now live."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from dataclasses import dataclass
from typing import Any

import botocore.exceptions as bex

from driftwatch.aws import GLOBAL_API_REGION, AwsSessions, describe_error
from driftwatch.collect import Collection, ScopePlan
from driftwatch.collectors.base import Collector
from driftwatch.config import AccountConfig, Config
from driftwatch.diff import diff_resource
from driftwatch.errors import DriftwatchError
from driftwatch.lifecycle import to_json
from driftwatch.models import Change, DeclaredResource, LiveResource, ResourceKey, Scope
from driftwatch.registry import collectors
from driftwatch.schema import SECRET_KEY


class RemediationError(DriftwatchError):
    """A remediation that may not or cannot go ahead; `status` is the HTTP answer for the web."""

    def __init__(self, message: str, status: int = 409) -> None:
        super().__init__(message)
        self.status = status


@dataclass
class Subject:
    """A declared resource and its live counterpart, compared as a scan compares them."""

    declared: DeclaredResource
    live: LiveResource
    collector: Collector
    want: dict[str, Any]
    have: dict[str, Any]
    changes: list[Change]
    commit: str | None


def keyed_hash(secret_key: bytes, value: Any) -> str:
    """An HMAC of canonical JSON: compares plans and live states, reveals nothing stored."""
    return hmac.new(secret_key, to_json(value).encode(), hashlib.sha256).hexdigest()


def account_of(cfg: Config, name: str) -> AccountConfig:
    account = cfg.aws.account(name)
    if account is None:
        raise RemediationError(f"account {name!r} is no longer in the config", status=409)
    return account


def read_live(cfg: Config, sessions: AwsSessions, declared: DeclaredResource) -> LiveResource:
    """The declared resource's live counterpart, with every detail its declaration needs."""
    plan = ScopePlan(declared.scope, account_of(cfg, declared.account), watched=False)
    plan.declared.append(declared)
    got = Collection(sessions, cfg.aws.max_concurrency, log_hint=str(cfg.storage.log_path)).run(
        [plan]
    )
    problem = got.failed_scopes.get(declared.scope) or got.unchecked.get(declared.key)
    if problem:
        raise RemediationError(f"cannot read {declared.type} {declared.id!r} now: {problem}")
    live = got.matches.get(declared.key)
    if live is None:
        raise RemediationError(
            f"{declared.type} {declared.id!r} is not live any more; the next scan reports it "
            "missing (revert does not re-create resources: use a pipeline)"
        )
    return live


def list_live(cfg: Config, sessions: AwsSessions, key: ResourceKey) -> LiveResource | None:
    """An unmanaged resource from its scope's listing, or None when it is gone."""
    account, region, rtype, rid = key
    scope = Scope(account, region, rtype)
    plan = ScopePlan(scope, account_of(cfg, account), watched=True)
    got = Collection(sessions, cfg.aws.max_concurrency).run([plan])
    if scope in got.failed_scopes:
        raise RemediationError(f"cannot list {scope} now: {got.failed_scopes[scope]}")
    return next((lv for lv in got.live.get(scope, []) if lv.id == rid), None)


def read_more(
    cfg: Config,
    sessions: AwsSessions,
    key: ResourceKey,
    live: LiveResource,
    sources: tuple[str, ...],
) -> None:
    """Collector sources only a remediation needs (a remediator's `reads`), into `live.attrs`."""
    if not sources:
        return
    account, region, rtype, rid = key
    collector = collectors.get(rtype)()
    api_region = GLOBAL_API_REGION if collector.is_global else region
    client = sessions.client(account_of(cfg, account), api_region, collector.service)
    for source in sources:
        try:
            live.attrs.update(collector.read(source, client, live))
        except (bex.ClientError, bex.BotoCoreError) as exc:
            raise RemediationError(
                f"cannot read {rtype} {rid!r} now ({source}): {describe_error(exc)}"
            ) from None


def compare(
    cfg: Config,
    declared: DeclaredResource,
    live: LiveResource,
    secret_key: bytes,
    commit: str | None,
) -> Subject:
    collector = collectors.get(declared.type)()
    ctx = {**collector.context(live), SECRET_KEY: secret_key}
    want = collector.canonical(declared.spec, ctx)
    have = collector.canonical({k: live.attrs.get(k) for k in declared.spec}, ctx)
    finding = diff_resource(
        collector, declared, live, cfg.ignore, dt.date.today(), secret_key=secret_key
    )
    return Subject(declared, live, collector, want, have, finding.changes, commit)
