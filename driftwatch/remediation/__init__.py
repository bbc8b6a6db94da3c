"""Remediation: plan → confirm (and approve) → execute → verify, the same for CLI, API and web.

Planning reads what is declared and live now and stores the plan (secrets redacted)
with two keyed digests: of the plan and of the live state it was made from.
Execution holds the data directory's lock (no scan runs meanwhile), takes the
resource's lock (its `executing` row), plans again from a fresh read and refuses
if either digest moved; then it runs the steps, stopping at the first failure, and
verifies by reading again. Every step is audited; a verified revert resolves the drift.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any

from driftwatch.aws import AwsSessions
from driftwatch.config import MODES, Config
from driftwatch.datadir import prepare_data_dir
from driftwatch.errors import DriftwatchError, LockError
from driftwatch.lifecycle import OPEN_STATUSES
from driftwatch.lock import data_dir_lock
from driftwatch.models import DeclaredResource, Kind, ResourceKey
from driftwatch.remediation.accept import (
    prepare_accept,
    prepare_accept_missing,
    prepare_accept_unmanaged,
)
from driftwatch.remediation.model import FAILED, Outcome, Prepared
from driftwatch.remediation.pipeline import prepare_pipeline
from driftwatch.remediation.revert import prepare_delete, prepare_revert
from driftwatch.remediation.subject import RemediationError, compare, read_live
from driftwatch.secretkey import load_or_create_key
from driftwatch.store import Store
from driftwatch.store.actions import ActionError, Actor
from driftwatch.users import ADMIN, OPERATOR, role_at_least

log = logging.getLogger(__name__)

DELETE = "delete"  # the revert option that deletes an unmanaged resource (admin only)

__all__ = ["DELETE", "Remediation", "RemediationError", "Request"]


@dataclass(frozen=True)
class Request:
    """What someone asks for: a mode on one drift, with the mode's options."""

    fingerprint: str
    mode: str
    options: frozenset[str] = frozenset()
    pipeline: str | None = None


class Remediation:
    """The one door to remediation: every caller (CLI, API, web, auto) goes through it."""

    def __init__(self, cfg: Config, store: Store, sessions: AwsSessions | None = None) -> None:
        self.cfg, self.store = cfg, store
        self.sessions = sessions or AwsSessions(cfg.aws)
        self.data_dir = prepare_data_dir(cfg)
        self.secret_key = load_or_create_key(self.data_dir)

    # --- plan -----------------------------------------------------------------------------

    def plan(self, req: Request, actor: Actor, role: str, *, auto: bool = False) -> int:
        """Store a plan (nothing changes anywhere); its id is what is confirmed and run."""
        drift = self._drift(req.fingerprint)
        self._check_allowed(req, drift, role)
        try:
            prepared = self._prepare(req, drift, actor)
        except RemediationError:
            raise
        except DriftwatchError as exc:  # Git or AWS unreadable now: say so, change nothing
            raise RemediationError(f"cannot plan now: {exc}", status=502) from None
        ttl = self.cfg.remediation.plan_ttl
        expires = (dt.datetime.now(dt.UTC) + ttl).strftime("%Y-%m-%dT%H:%M:%SZ")
        body = {**prepared.body, "summary": prepared.summary, "mode": req.mode}
        if req.pipeline:
            body["pipeline"] = req.pipeline
        return self.store.create_remediation(
            actor,
            fingerprint=req.fingerprint,
            resource_key=_key_text(_key(drift)),
            mode=req.mode,
            options=sorted(req.options) + ([f"pipeline={req.pipeline}"] if req.pipeline else []),
            plan=body,
            plan_hash=prepared.plan_hash,
            live_hash=prepared.live_hash,
            expires_at=expires,
            auto=auto,
        )

    def approve(self, rid: int, actor: Actor, role: str) -> None:
        self._enabled()
        _need(role, OPERATOR, "approve a remediation")
        _action(lambda: self.store.approve_remediation(rid, actor))

    # --- execute --------------------------------------------------------------------------

    def execute(self, rid: int, actor: Actor, role: str) -> dict[str, Any]:
        """Run a confirmed plan under the data directory's lock; the finished row."""
        self._enabled()
        _need(role, OPERATOR, "run a remediation")
        row = self.store.remediation(rid)
        if row is None:
            raise RemediationError(f"no remediation #{rid}", status=404)
        if DELETE in (row["options"] or []):
            _need(role, ADMIN, "delete an unmanaged resource")
        wait = self.cfg.remediation.lock_wait.total_seconds()
        try:
            with data_dir_lock(self.data_dir, wait_s=wait):
                self._execute_locked(rid, row, actor)
        except LockError:
            raise RemediationError(
                f"a scan is running on this data directory (waited {wait:g}s); nothing was "
                "changed: run the remediation again when the scan has finished"
            ) from None
        done = self.store.remediation(rid)
        assert done is not None
        return done

    def _execute_locked(self, rid: int, row: dict[str, Any], actor: Actor) -> None:
        required = self.cfg.remediation.require_approval
        _action(lambda: self.store.claim_remediation(rid, actor, required))
        try:
            req = _request_of(row)
            fresh = self._prepare(req, self._drift(req.fingerprint), actor)
        except DriftwatchError as exc:
            self.store.refuse_remediation(rid, actor, f"cannot plan again now: {exc}")
            return
        except Exception as exc:  # a driftwatch bug: the row must not stay `executing`
            log.error("remediation #%s: planning again failed", rid, exc_info=exc)
            self.store.refuse_remediation(rid, actor, f"internal error: {type(exc).__name__}")
            raise
        if fresh.live_hash != row["live_hash"]:
            why = (
                "the live resource changed since the plan was made; nothing was changed: plan again"
            )
            self.store.refuse_remediation(rid, actor, why)
            return
        if fresh.plan_hash != row["plan_hash"]:
            why = (
                "the plan would differ now (the declaration changed?); nothing was changed: "
                "plan again"
            )
            self.store.refuse_remediation(rid, actor, why)
            return
        try:
            outcome = fresh.run()
        except Exception as exc:  # a driftwatch bug mid-run: recorded, logged, re-raised
            log.error("remediation #%s failed with an internal error", rid, exc_info=exc)
            outcome = Outcome(
                FAILED,
                {"error": f"internal error: {type(exc).__name__}: {exc}", "summary": "failed"},
            )
            self.store.finish_remediation(rid, actor, outcome.status, outcome.result)
            raise
        self.store.finish_remediation(
            rid, actor, outcome.status, outcome.result, resolve=outcome.resolve
        )

    # --- shared ---------------------------------------------------------------------------

    def _enabled(self) -> None:
        if not self.cfg.remediation.enabled:
            raise RemediationError(
                "remediation is off: set [remediation] enabled = true in the config "
                "(see docs/remediation.md)",
                status=403,
            )

    def _drift(self, fp: str) -> dict[str, Any]:
        drift = self.store.drift(fp)
        if drift is None:
            raise RemediationError(f"no drift with id {fp}", status=404)
        if drift["status"] not in OPEN_STATUSES:
            raise RemediationError(f"drift {fp} is {drift['status']}; nothing to remediate")
        return drift

    def _check_allowed(self, req: Request, drift: dict[str, Any], role: str) -> None:
        self._enabled()
        rem = self.cfg.remediation
        _need(role, OPERATOR, "plan a remediation")
        if req.mode not in MODES:
            raise RemediationError(f"unknown mode {req.mode!r}; known: {', '.join(MODES)}", 400)
        if req.mode not in rem.allow_modes:
            allowed = ", ".join(rem.allow_modes) or "none"
            raise RemediationError(
                f"mode {req.mode!r} is not allowed ([remediation] allow_modes = {allowed})", 403
            )
        if not rem.allows_type(drift["type"]):
            raise RemediationError(
                f"{drift['type']} is not in [remediation] allow_types", status=403
            )
        if DELETE in req.options:
            if not rem.delete_unmanaged:
                raise RemediationError(
                    "deleting unmanaged resources is off: set [remediation] "
                    "delete_unmanaged = true to allow it (admins only)",
                    status=403,
                )
            _need(role, ADMIN, "delete an unmanaged resource")

    def _prepare(self, req: Request, drift: dict[str, Any], actor: Actor) -> Prepared:
        kind, key = drift["kind"], _key(drift)
        if req.mode == "accept":
            return self._prepare_accept(drift, actor)
        if req.mode == "pipeline":
            return prepare_pipeline(self.cfg, self.secret_key, drift, req.pipeline)
        if req.mode == "revert":
            if kind == Kind.UNMANAGED:
                if DELETE not in req.options:
                    raise RemediationError(
                        "an unmanaged resource has no declared state to revert to: accept it "
                        "into Git, or delete it (the `delete` option, admins only, "
                        "[remediation] delete_unmanaged = true)",
                        status=400,
                    )
                return prepare_delete(self.cfg, self.sessions, self.secret_key, key)
            if DELETE in req.options:
                raise RemediationError("`delete` applies to unmanaged resources only", 400)
            if kind == Kind.MISSING:
                raise RemediationError(
                    "revert does not re-create a missing resource: trigger a pipeline "
                    "(e.g. terraform apply) or restore it, then scan",
                    status=400,
                )
            subject = self._subject(key)
            return prepare_revert(self.cfg, self.sessions, self.secret_key, subject, req.options)
        raise RemediationError(f"unknown mode {req.mode!r}", status=400)

    def _prepare_accept(self, drift: dict[str, Any], actor: Actor) -> Prepared:
        """Accept into Git: the manifest edit (modified), a new manifest (unmanaged), or
        the declaration removed (missing)."""
        kind, key, fp = drift["kind"], _key(drift), drift["fingerprint"]
        if kind == Kind.UNMANAGED:
            return prepare_accept_unmanaged(
                self.cfg, self.sessions, self.secret_key, key, fingerprint=fp, actor_name=actor.name
            )
        declared, commit = self._declared(key)
        if kind == Kind.MISSING:
            return prepare_accept_missing(
                self.cfg,
                self.sessions,
                self.secret_key,
                declared,
                commit,
                fingerprint=fp,
                actor_name=actor.name,
            )
        live = read_live(self.cfg, self.sessions, declared)
        subject = compare(self.cfg, declared, live, self.secret_key, commit)
        return prepare_accept(
            self.cfg, self.secret_key, subject, fingerprint=fp, actor_name=actor.name
        )

    def _subject(self, key: ResourceKey) -> Any:
        declared, commit = self._declared(key)
        live = read_live(self.cfg, self.sessions, declared)
        return compare(self.cfg, declared, live, self.secret_key, commit)

    def _declared(self, key: ResourceKey) -> tuple[DeclaredResource, str | None]:
        from driftwatch.scan import load_all  # scan imports the store; import late

        declared = load_all(self.cfg, self.sessions, self.secret_key)
        found = next((r for r in declared.resources if r.key == key), None)
        commit = declared.fetched.commit if declared.fetched else None
        if found is None:
            raise RemediationError(
                f"{key[2]} {key[3]!r} is no longer declared (commit {commit or '?'}); "
                "the next scan resolves this drift"
            )
        return found, commit


def _key(drift: dict[str, Any]) -> ResourceKey:
    return (drift["account"], drift["region"], drift["type"], drift["resource_id"])


def _key_text(key: ResourceKey) -> str:
    return "/".join(key)


def _request_of(row: dict[str, Any]) -> Request:
    options = [o for o in row["options"] or [] if not o.startswith("pipeline=")]
    pipeline = next(
        (o.split("=", 1)[1] for o in row["options"] or [] if o.startswith("pipeline=")), None
    )
    return Request(row["fingerprint"], row["mode"], frozenset(options), pipeline)


def _need(role: str, needed: str, what: str) -> None:
    if not role_at_least(role, needed):
        raise RemediationError(f"only an {needed} may {what}", status=403)


def _action(fn: Any) -> Any:
    try:
        return fn()
    except ActionError as exc:
        raise RemediationError(str(exc), exc.status) from None
