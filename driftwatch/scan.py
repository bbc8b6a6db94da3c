"""One scan: load declared state → collect live state → diff → persist."""

from __future__ import annotations

import datetime as dt
import functools
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import driftwatch.collectors  # noqa: F401  (registers the built-in collectors)
from driftwatch.alerts import AlertSetup
from driftwatch.aws import AwsSessions
from driftwatch.collect import Collected, Collection, Progress, ScopePlan
from driftwatch.config import Config, IgnoreRule, ScanScope
from driftwatch.datadir import prepare_data_dir
from driftwatch.declared.git import Fetched, GitSource
from driftwatch.declared.manifests import SUFFIXES, ParseCache, duplicates, parse_manifests
from driftwatch.declared.terraform.load import TerraformDeclared, held_accounts, load_terraform
from driftwatch.declared.terraform.sources import ReadContext
from driftwatch.diff import diff_resource
from driftwatch.errors import ConfigError, DeclaredDropError, DriftwatchError, ManifestError
from driftwatch.ignore import apply_rules, check_rule_types, rule_statuses, unused_rules
from driftwatch.lifecycle import ACKNOWLEDGED, Coverage, Found, LifecyclePlan, Resolved
from driftwatch.lock import data_dir_lock
from driftwatch.models import (
    GLOBAL_REGION,
    DeclaredResource,
    Finding,
    Hidden,
    Kind,
    ResourceKey,
    Scope,
    ScopeError,
)
from driftwatch.registry import collectors
from driftwatch.secretkey import load_or_create_key
from driftwatch.severity import assign as assign_severity
from driftwatch.store import Fence, FencedError, PruneCounts, ScanWrite, Store

log = logging.getLogger(__name__)
EVERYTHING = ScanScope()


@dataclass
class ScanResult:
    """What one scan decided, and what it did to the drift records (when stored)."""

    id: int | None
    commit: str | None
    status: str
    started_at: str
    finished_at: str
    findings: list[Finding]
    errors: list[ScopeError]
    declared: int = 0
    lifecycle: LifecyclePlan | None = None
    auto_remediations: list[int] = field(default_factory=list)  # ids run after the scan
    expired_rules: list[IgnoreRule] = field(default_factory=list)
    hidden: list[Hidden] = field(default_factory=list)  # what [[ignore]] rules hid
    unused_rules: list[IgnoreRule] = field(default_factory=list)
    api_calls: int = 0
    duration_s: float = 0.0
    pruned: PruneCounts | None = None
    stale_source: str | None = None  # the Git fetch error, when `commit` is the last fetched one
    states: list[dict[str, Any]] = field(default_factory=list)  # Terraform states read

    def count(self, kind: Kind) -> int:
        return sum(1 for f in self.findings if f.kind == kind)

    @property
    def summary(self) -> dict[str, int]:
        return {k.value: self.count(k) for k in Kind}

    @property
    def has_drift(self) -> bool:
        """A drift that is not acknowledged (acknowledged ones do not set exit code 2)."""
        return any(f.kind.is_drift and not self.acknowledged(f) for f in self.findings)

    def acknowledged(self, f: Finding) -> bool:
        record = self.record(f)
        return record is not None and record.status == ACKNOWLEDGED

    @property
    def incomplete(self) -> bool:
        """Something was not checked: a scope or a resource."""
        return bool(self.errors) or any(f.kind == Kind.NOT_CHECKED for f in self.findings)

    @property
    def resolved(self) -> list[Resolved]:
        return self.lifecycle.resolved if self.lifecycle else []

    def record(self, f: Finding) -> Found | None:
        """The drift record behind a drift finding, as this scan left it (None unstored)."""
        return self._records.get(f.fingerprint)

    @functools.cached_property
    def _records(self) -> dict[str, Found]:
        return {d.fingerprint: d for d in self.lifecycle.found} if self.lifecycle else {}


def now_iso() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Declared:
    """Everything declared for one scan: manifests at a commit, and Terraform states."""

    fetched: Fetched | None
    resources: list[DeclaredResource]
    terraform: TerraformDeclared = field(default_factory=TerraformDeclared)

    @property
    def held(self) -> frozenset[str]:
        return held_accounts(self.terraform.failures)

    def errors(self) -> list[ScopeError]:
        """Unreadable sources, as errors of their account (the scan is partial)."""
        return [
            ScopeError(Scope(f.account, "*", "terraform"), f.error + _HELD.format(f.account))
            for f in self.terraform.failures
        ]


_HELD = "; unmanaged findings in account {!r} are withheld until it is read"


def load_all(cfg: Config, sessions: AwsSessions, secret_key: bytes) -> Declared:
    """Manifests (when [git] is set) and every [[terraform]] source, checked together."""
    fetched, resources = load_declared(cfg) if cfg.git else (None, [])
    if not cfg.terraform:
        return Declared(fetched, resources)
    ctx = read_context(cfg, sessions, fetched.commit if fetched else None)
    try:
        tf = load_terraform(cfg, ctx, secret_key)
        problems = duplicates(resources + tf.resources)
        if problems:
            raise ManifestError(problems)
    except DriftwatchError as exc:
        exc.commit = fetched.commit if fetched else None  # type: ignore[attr-defined]
        raise
    for failure in tf.failures:
        log.warning("%s", failure.error)
    return Declared(fetched, resources + tf.resources, tf)


def read_context(cfg: Config, sessions: AwsSessions, commit: str | None) -> ReadContext:
    """What [[terraform]] sources read with; `git:` states from the [git] cache at `commit`."""
    ctx = ReadContext(cfg, sessions)
    if cfg.git and commit:
        ctx.git_cache = GitSource(cfg.git, cfg.storage.data_dir).cache
        ctx.commit = commit
    return ctx


def load_declared(cfg: Config) -> tuple[Fetched, list[DeclaredResource]]:
    """Fetch Git and parse manifests at the fetched (or, if stale, last fetched) commit."""
    assert cfg.git is not None
    source = GitSource(cfg.git, cfg.storage.data_dir)
    fetched = source.fetch()
    try:
        cache = ParseCache(cfg.storage.data_dir / "manifest-cache.json")
        return fetched, parse_manifests(source.files(fetched.commit, SUFFIXES), cfg, cache)
    except DriftwatchError as exc:
        exc.commit = fetched.commit  # type: ignore[attr-defined]
        raise


def check_types(cfg: Config) -> None:
    """Unknown names in `scan.types` and [[ignore]] `type`s are config errors listing the
    known types."""
    for rtype in cfg.scan.types:
        if rtype not in collectors:
            known = ", ".join(collectors.names())
            raise ConfigError(
                str(cfg.source), "scan.types", f"unknown resource type {rtype!r}; known: {known}"
            )
    check_rule_types(cfg, collectors.names())


def watched_scopes(cfg: Config, only: ScanScope = EVERYTHING) -> list[tuple[Scope, int]]:
    """The scopes the config watches for unmanaged resources, with their account's index
    (within a schedule's scope, when it has one)."""
    if not cfg.scan.unmanaged:
        return []
    types = list(cfg.scan.types) or collectors.names()
    return [
        (Scope(account.name, region, rtype), i)
        for i, account in enumerate(cfg.aws.accounts)
        for rtype in types
        for region in ([GLOBAL_REGION] if collectors.get(rtype).is_global else account.regions)
        if only.covers(account.name, region, rtype)
    ]


def plan_scopes(
    cfg: Config, declared: list[DeclaredResource], only: ScanScope = EVERYTHING
) -> list[ScopePlan]:
    """Watched scopes (for unmanaged detection) plus every scope something is declared in."""
    plans = {
        scope: ScopePlan(scope, cfg.aws.accounts[i], watched=True)
        for scope, i in watched_scopes(cfg, only)
    }
    for res in declared:
        if res.scope not in plans:
            acct = cfg.aws.account(res.account)
            if acct is None:  # manifests are validated against the accounts; never here
                raise DriftwatchError(f"{res.where}: unknown account {res.account!r}")
            plans[res.scope] = ScopePlan(res.scope, acct, watched=False)
        plans[res.scope].declared.append(res)
    return [plans[s] for s in sorted(plans)]


def build_findings(
    cfg: Config,
    plans: list[ScopePlan],
    got: Collected,
    today: dt.date,
    secret_key: bytes,
    held: frozenset[str] = frozenset(),
) -> list[Finding]:
    """One finding per declared resource, plus unmanaged ones in watched scopes read.

    No unmanaged findings in `held` accounts: part of their declared state is unread.
    """
    findings: list[Finding] = []
    for plan in plans:
        collector = collectors.get(plan.scope.type)()
        failed = got.failed_scopes.get(plan.scope)
        matched: set[str] = set()
        for res in plan.declared:
            live = got.matches.get(res.key)
            matched.update(x.id for x in got.claimed.get(res.key, []))
            reason = failed or got.unchecked.get(res.key)
            if reason:
                findings.append(_not_checked(res, reason, live.id if live else None))
            elif live is None:
                findings.append(
                    Finding(
                        Kind.MISSING, res.type, res.id, res.account, res.region, source=res.source
                    )
                )
            else:
                findings.append(_compare(cfg, collector, res, live, today, secret_key, got))
            findings[-1].declared_by = res.declared_by
        if plan.watched and not failed and plan.scope.account not in held:
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


def _compare(
    cfg: Config,
    collector: Any,
    res: DeclaredResource,
    live: Any,
    today: dt.date,
    secret_key: bytes,
    got: Collected,
) -> Finding:
    """diff_resource, with a canonicalisation bug kept to this resource (not checked)."""
    try:
        return diff_resource(collector, res, live, cfg.ignore, today, secret_key=secret_key)
    except Exception as exc:  # a driftwatch bug on unexpected live data: say so, loudly
        log.error("internal error comparing %s %s (%s)", res.type, res.id, res.where, exc_info=exc)
        reason = (
            f"internal error: {type(exc).__name__}: {exc} (a driftwatch bug comparing "
            f"{res.type}; traceback in {cfg.storage.log_path})"
        )
        got.errors.append(ScopeError(res.scope, reason, resource_id=res.id, internal=True))
        return _not_checked(res, reason, live.id)


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


def coverage(
    cfg: Config,
    plans: list[ScopePlan],
    got: Collected,
    declared: list[DeclaredResource],
    findings: list[Finding],
    hidden: Sequence[Hidden] = (),
    held: frozenset[str] = frozenset(),
    only: ScanScope = EVERYTHING,
) -> Coverage:
    """The evidence this scan holds for resolving (or keeping) drift records."""
    unchecked: set[ResourceKey] = {f.key for f in findings if f.kind == Kind.NOT_CHECKED}
    for key in got.unchecked:  # live candidates an ambiguous declaration claimed
        unchecked.update(lv_key(lv) for lv in got.claimed.get(key, []))
    return Coverage(
        read=frozenset(p.scope for p in plans if p.scope not in got.failed_scopes),
        failed=frozenset(got.failed_scopes),
        unchecked=frozenset(unchecked),
        declared=frozenset(r.key for r in declared),
        watched=frozenset(scope for scope, _ in watched_scopes(cfg)),
        regions=frozenset(
            (a.name, region) for a in cfg.aws.accounts for region in (*a.regions, GLOBAL_REGION)
        ),
        ignored=frozenset(h.key for h in hidden if h.kind != Kind.MODIFIED),
        held=held,
        only=None if only.everything else only.covers,
    )


def lv_key(lv: Any) -> ResourceKey:
    return (lv.account, lv.region, lv.type, lv.id)


def check_declared_drop(cfg: Config, store: Store, declared: int, commit: str | None) -> None:
    """Refuse a scan whose declared state shrank by more than `scan.max_declared_drop`."""
    before = store.last_declared_count()
    if not before or declared >= before:
        return
    drop = (before - declared) / before
    if drop > cfg.scan.max_declared_drop:
        raise DeclaredDropError(
            f"declared resources dropped from {before} to {declared} ({drop:.0%}) at commit "
            f"{(commit or '(none)')[:12]}, more than scan.max_declared_drop "
            f"({cfg.scan.max_declared_drop:.0%}); an emptied or mis-pathed manifest would "
            "turn every live resource unmanaged. Check [git] branch and path, or run with "
            "--allow-declared-drop if the clean-up is intended"
        )


def scan_status(plans: list[ScopePlan], got: Collected, findings: list[Finding]) -> str:
    if plans and len(got.failed_scopes) == len(plans):
        return "failed"
    if got.errors or any(f.kind == Kind.NOT_CHECKED for f in findings):
        return "partial"
    return "ok"


@dataclass(frozen=True)
class RunAs:
    """Who runs a scan: the trigger (a schedule's name, `request`, or None for the CLI),
    the leader's lease to fence its writes with, and the schedule's scope."""

    trigger: str | None = None
    fence: Fence | None = None
    scope: ScanScope = EVERYTHING


def run_scan(
    cfg: Config,
    store: Store | None,
    on_progress: Callable[[Progress], None] | None = None,
    *,
    allow_declared_drop: bool = False,
    wait_s: float = 0.0,
    run_as: RunAs | None = None,
) -> ScanResult:
    """Run one scan under the data directory's lock; with a store, persist it.

    Every scan started against a store leaves a row: `running`, then `ok`/`partial`/
    `failed`; a scan that cannot finish is recorded as failed, its alert queued, and the
    error re-raised. A leader that lost its lease (FencedError) writes nothing more.
    """
    run_as = run_as or RunAs()
    check_types(cfg)
    data_dir = prepare_data_dir(cfg)
    with data_dir_lock(data_dir, wait_s):
        secret_key = load_or_create_key(data_dir)
        if store is None:
            return _scan(cfg, None, None, on_progress, allow_declared_drop, secret_key)
        store.check()
        scan_id = store.start_scan(now_iso(), run_as.fence, run_as.trigger)
        try:
            result = _scan(
                cfg, store, scan_id, on_progress, allow_declared_drop, secret_key, run_as
            )
        except FencedError:
            raise
        except BaseException as exc:
            store.fail_scan(
                scan_id,
                now_iso(),
                _failure(exc, cfg),
                getattr(exc, "commit", None),
                alert_setup(cfg),
                run_as.fence,
            )
            raise
        result.pruned = _maybe_prune(cfg, store)
    # Outside the lock: each auto-remediation takes it in turn, as a person's would.
    result.auto_remediations = _auto_remediate(cfg, store, result)
    return result


def _auto_remediate(cfg: Config, store: Store, result: ScanResult) -> list[int]:
    """[[remediation.auto]] reverts of drifts this scan opened; never fails the scan."""
    if not (cfg.remediation.enabled and cfg.remediation.auto):
        return []
    from driftwatch.remediation.auto import run_after_scan

    try:
        return run_after_scan(cfg, store, result.lifecycle)
    except Exception as exc:  # logged with its traceback; the scan's result stands
        log.error("auto-remediation failed after scan", exc_info=exc)
        return []


def alert_setup(cfg: Config) -> AlertSetup | None:
    if not cfg.alerts.channels:
        return None
    return AlertSetup(cfg.alerts.channels, cfg.dashboard.base_url)


def _failure(exc: BaseException, cfg: Config) -> str:
    if isinstance(exc, DriftwatchError):
        return str(exc)
    if isinstance(exc, KeyboardInterrupt):
        return "interrupted (Ctrl-C)"
    log.error("scan failed with an internal error", exc_info=exc)
    return f"internal error: {type(exc).__name__}: {exc} (traceback in {cfg.storage.log_path})"


def _scan(
    cfg: Config,
    store: Store | None,
    scan_id: int | None,
    on_progress: Callable[[Progress], None] | None,
    allow_declared_drop: bool,
    secret_key: bytes,
    run_as: RunAs | None = None,
) -> ScanResult:
    started, t0 = now_iso(), time.monotonic()
    sessions = AwsSessions(cfg.aws)
    loaded = load_all(cfg, sessions, secret_key)
    declared, held = loaded.resources, loaded.held
    commit = loaded.fetched.commit if loaded.fetched else None
    scope = run_as.scope if run_as else EVERYTHING
    if not scope.everything:  # a schedule's part: the rest keeps its records as they are
        declared = [d for d in declared if scope.covers(d.account, d.region, d.type)]
    # An unread source shrinks the count without any clean-up: its account is held instead.
    if store is not None and not allow_declared_drop and not held and scope.everything:
        try:
            check_declared_drop(cfg, store, len(declared), commit)
        except DriftwatchError as exc:
            exc.commit = commit  # type: ignore[attr-defined]
            raise
    plans = plan_scopes(cfg, declared, scope)
    collection = Collection(
        sessions, cfg.aws.max_concurrency, on_progress, log_hint=str(cfg.storage.log_path)
    )
    got = collection.run(plans)
    got.errors += loaded.errors()
    today = dt.datetime.now(dt.UTC).date()
    findings, hidden = apply_rules(
        build_findings(cfg, plans, got, today, secret_key, held), cfg.ignore, today
    )
    assign_severity(findings, cfg.severity)
    cov = coverage(cfg, plans, got, declared, findings, hidden, held, scope)
    result = ScanResult(
        id=scan_id,
        commit=commit,
        status=scan_status(plans, got, findings),
        started_at=started,
        finished_at=now_iso(),
        findings=findings,
        errors=got.errors,
        declared=len(declared),
        api_calls=sessions.counter.total,
        duration_s=round(time.monotonic() - t0, 3),
        expired_rules=[r for r in cfg.ignore if r.expired(today)],
        hidden=hidden,
        unused_rules=unused_rules(cfg.ignore, today, declared, cov, hidden),
        stale_source=loaded.fetched.stale_error if loaded.fetched else None,
        states=[s.to_dict() for s in loaded.terraform.states],
    )
    if store is not None and scan_id is not None:
        result.lifecycle = store.persist_scan(
            ScanWrite(
                scan_id=scan_id,
                finished_at=result.finished_at,
                status=result.status,
                commit_sha=commit,
                findings=findings,
                errors=got.errors,
                coverage=cov,
                reopen_window=cfg.scan.reopen_window,
                declared=len(declared) if scope.everything else None,
                api_calls=result.api_calls,
                duration_s=result.duration_s,
                stale_source=result.stale_source,
                ignore_rules=rule_statuses(cfg.ignore, today, result.unused_rules),
                hidden=hidden,
                fence=run_as.fence if run_as else None,
                alerts=alert_setup(cfg),
                states=result.states,
            )
        )
    return result


PRUNE_EVERY = dt.timedelta(hours=24)


def _maybe_prune(cfg: Config, store: Store) -> PruneCounts | None:
    """Apply `storage.retention_days` at most once a day, after a scan."""
    if not cfg.storage.retention_days:
        return None
    now = dt.datetime.now(dt.UTC)
    last = store.last_prune()
    if last and now - dt.datetime.fromisoformat(last.replace("Z", "+00:00")) < PRUNE_EVERY:
        return None
    cutoff = now - dt.timedelta(days=cfg.storage.retention_days)
    counts = store.prune(cutoff.strftime("%Y-%m-%dT%H:%M:%SZ"))
    log.info("pruned history older than %s: %s", cutoff.date(), counts)
    return counts
