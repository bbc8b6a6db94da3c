"""One scan: load declared state → collect live state → diff → persist."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import driftwatch.collectors  # noqa: F401  (registers the built-in collectors)
from driftwatch.aws import AwsSessions
from driftwatch.collect import Collected, Collection, Progress, ScopePlan
from driftwatch.config import Config, IgnoreRule
from driftwatch.datadir import prepare_data_dir
from driftwatch.declared.git import Fetched, GitSource
from driftwatch.declared.manifests import SUFFIXES, ParseCache, parse_manifests
from driftwatch.diff import diff_resource
from driftwatch.errors import ConfigError, DriftwatchError
from driftwatch.models import GLOBAL_REGION, DeclaredResource, Finding, Kind, Scope, ScopeError
from driftwatch.registry import collectors
from driftwatch.secretkey import load_or_create_key
from driftwatch.store import ScanRecord, Store, finding_fingerprint


@dataclass
class ScanResult:
    """What a scan decided, and the drift records as they stand after it."""

    id: int | None
    commit: str | None
    status: str
    started_at: str
    finished_at: str
    findings: list[Finding]
    errors: list[ScopeError]
    drift_records: dict[str, dict[str, Any]] = field(default_factory=dict)
    expired_rules: list[IgnoreRule] = field(default_factory=list)
    api_calls: int = 0
    duration_s: float = 0.0
    stale_source: str | None = None  # the Git fetch error, when `commit` is the last fetched one

    def count(self, kind: Kind) -> int:
        return sum(1 for f in self.findings if f.kind == kind)

    @property
    def summary(self) -> dict[str, int]:
        return {k.value: self.count(k) for k in Kind}

    @property
    def has_drift(self) -> bool:
        return any(f.kind.is_drift for f in self.findings)


def now_iso() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def load_declared(cfg: Config) -> tuple[Fetched, list[DeclaredResource]]:
    """Fetch Git and parse manifests at the fetched (or, if stale, last fetched) commit."""
    source = GitSource(cfg.git, cfg.storage.data_dir)
    fetched = source.fetch()
    try:
        cache = ParseCache(cfg.storage.data_dir / "manifest-cache.json")
        return fetched, parse_manifests(source.files(fetched.commit, SUFFIXES), cfg, cache)
    except DriftwatchError as exc:
        exc.commit = fetched.commit  # type: ignore[attr-defined]
        raise


def check_types(cfg: Config) -> None:
    """Unknown names in `scan.types` are a config error listing the known types."""
    for rtype in cfg.scan.types:
        if rtype not in collectors:
            known = ", ".join(collectors.names())
            raise ConfigError(
                str(cfg.source), "scan.types", f"unknown resource type {rtype!r}; known: {known}"
            )


def plan_scopes(cfg: Config, declared: list[DeclaredResource]) -> list[ScopePlan]:
    """Watched scopes (for unmanaged detection) plus every scope something is declared in."""
    plans: dict[Scope, ScopePlan] = {}
    if cfg.scan.unmanaged:
        types = list(cfg.scan.types) or collectors.names()
        for account in cfg.aws.accounts:
            for rtype in types:
                regions = [GLOBAL_REGION] if collectors.get(rtype).is_global else account.regions
                for region in regions:
                    scope = Scope(account.name, region, rtype)
                    plans[scope] = ScopePlan(scope, account, watched=True)
    for res in declared:
        if res.scope not in plans:
            acct = cfg.aws.account(res.account)
            if acct is None:  # manifests are validated against the accounts; never here
                raise DriftwatchError(f"{res.where}: unknown account {res.account!r}")
            plans[res.scope] = ScopePlan(res.scope, acct, watched=False)
        plans[res.scope].declared.append(res)
    return [plans[s] for s in sorted(plans)]


def build_findings(
    cfg: Config, plans: list[ScopePlan], got: Collected, today: dt.date, secret_key: bytes
) -> list[Finding]:
    findings: list[Finding] = []
    for plan in plans:
        collector = collectors.get(plan.scope.type)()
        failed = got.failed_scopes.get(plan.scope)
        matched: set[str] = set()
        for res in plan.declared:
            live = got.matches.get(id(res))
            matched.update(x.id for x in got.claimed.get(id(res), []))
            reason = failed or got.unchecked.get(id(res))
            if reason:
                findings.append(_not_checked(res, reason, live.id if live else None))
            elif live is None:
                findings.append(
                    Finding(
                        Kind.MISSING, res.type, res.id, res.account, res.region, source=res.source
                    )
                )
            else:
                findings.append(
                    diff_resource(collector, res, live, cfg.ignore, today, secret_key=secret_key)
                )
        if plan.watched and not failed:
            findings += [
                Finding(
                    Kind.UNMANAGED,
                    live.type,
                    live.id,
                    live.account,
                    live.region,
                    live_id=live.id,
                    snapshot=collector.summary(live),
                )
                for live in got.live.get(plan.scope, [])
                if live.id not in matched and not collector.aws_managed(live)
            ]
    return findings


def _not_checked(res: DeclaredResource, reason: str, live_id: str | None) -> Finding:
    return Finding(
        Kind.NOT_CHECKED,
        res.type,
        res.id,
        res.account,
        res.region,
        source=res.source,
        live_id=live_id,
        reason=reason,
    )


def run_scan(
    cfg: Config, store: Store | None, on_progress: Callable[[Progress], None] | None = None
) -> ScanResult:
    """Run one scan; with a store, persist it (a failed scan is recorded, then re-raised)."""
    check_types(cfg)
    secret_key = load_or_create_key(prepare_data_dir(cfg))
    started, t0 = now_iso(), time.monotonic()
    try:
        fetched, declared = load_declared(cfg)
    except DriftwatchError as exc:
        if store is not None:
            store.record_failed_scan(started, now_iso(), getattr(exc, "commit", None), str(exc))
        raise
    plans = plan_scopes(cfg, declared)
    sessions = AwsSessions(cfg.aws)
    got = Collection(sessions, cfg.aws.max_concurrency, on_progress).run(plans)
    today = dt.datetime.now(dt.UTC).date()
    findings = build_findings(cfg, plans, got, today, secret_key)
    status = (
        "ok"
        if not got.errors
        else "failed"
        if plans and len(got.failed_scopes) == len(plans)
        else "partial"
    )
    result = ScanResult(
        id=None,
        commit=fetched.commit,
        status=status,
        started_at=started,
        finished_at=now_iso(),
        findings=findings,
        errors=got.errors,
        api_calls=sessions.counter.total,
        duration_s=round(time.monotonic() - t0, 3),
        expired_rules=[r for r in cfg.ignore if r.expired(today)],
        stale_source=fetched.stale_error,
    )
    if store is not None:
        checked = {p.scope for p in plans if p.scope not in got.failed_scopes}
        result.id, result.drift_records = store.persist_scan(
            ScanRecord(
                started_at=result.started_at,
                finished_at=result.finished_at,
                status=status,
                commit_sha=fetched.commit,
                findings=findings,
                errors=got.errors,
                checked_scopes=checked,
                api_calls=result.api_calls,
                duration_s=result.duration_s,
                counts=result.summary,
            )
        )
    return result


def drift_status(result: ScanResult, f: Finding) -> tuple[str, str]:
    """(status, first_seen) of the drift record behind a finding."""
    row = result.drift_records.get(finding_fingerprint(f))
    if row is None:
        return "open", result.finished_at
    return row["status"], row["first_seen"]
