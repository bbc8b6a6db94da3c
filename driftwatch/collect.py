"""Concurrent collection: list every scope, then read details only for declared resources.

Listing and detail reads share one thread pool bounded by `aws.max_concurrency`;
a scope's detail reads start as soon as its listing is done.
"""

from __future__ import annotations

import logging
import queue
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from driftwatch.aws import AWS_FAILURES, GLOBAL_API_REGION, AwsSessions, describe_error
from driftwatch.collectors.base import Collector, NotComparable, is_code
from driftwatch.config import AccountConfig
from driftwatch.models import DeclaredResource, LiveResource, ResourceKey, Scope, ScopeError
from driftwatch.registry import collectors

log = logging.getLogger(__name__)


@dataclass
class ScopePlan:
    """One scope to read: whether unmanaged detection applies, and what is declared in it."""

    scope: Scope
    account: AccountConfig
    watched: bool
    declared: list[DeclaredResource] = field(default_factory=list)


@dataclass
class Progress:
    scopes_total: int = 0
    scopes_done: int = 0
    resources_read: int = 0
    api_calls: int = 0


@dataclass
class Collected:
    """The outcome of collection, per scope and per declared resource (by resource key)."""

    live: dict[Scope, list[LiveResource]] = field(default_factory=dict)
    errors: list[ScopeError] = field(default_factory=list)
    failed_scopes: dict[Scope, str] = field(default_factory=dict)
    matches: dict[ResourceKey, LiveResource] = field(default_factory=dict)
    unchecked: dict[ResourceKey, str] = field(default_factory=dict)
    claimed: dict[ResourceKey, list[LiveResource]] = field(default_factory=dict)


@dataclass(frozen=True)
class Read:
    """The detail sources one declared resource needs from its matched live resource."""

    declared: DeclaredResource
    live: LiveResource
    sources: tuple[str, ...]


@dataclass(frozen=True)
class ListTask:
    plan: ScopePlan


@dataclass(frozen=True)
class BatchTask:
    plan: ScopePlan
    reads: tuple[Read, ...]


@dataclass(frozen=True)
class DetailTask:
    read: Read
    collector: Collector


Task = ListTask | BatchTask | DetailTask
Tasks = dict["Future[Any]", Task]


class Collection:
    """Runs one scan's reads against AWS."""

    def __init__(
        self,
        sessions: AwsSessions,
        max_workers: int,
        on_progress: Callable[[Progress], None] | None = None,
        log_hint: str = "the driftwatch log",
    ) -> None:
        self.sessions = sessions
        self.max_workers = max_workers
        self.on_progress = on_progress or (lambda p: None)
        self.progress = Progress()
        self.log_hint = log_hint

    def run(self, plans: list[ScopePlan]) -> Collected:
        out = Collected()
        self.progress.scopes_total = len(plans)
        # Futures report themselves on a queue as they finish: waiting on the whole
        # pending set each time would cost O(pending) per completion.
        finished: queue.SimpleQueue[Future[Any]] = queue.SimpleQueue()
        pending: Tasks = {}

        def track(tasks: Tasks) -> None:
            pending.update(tasks)
            for fut in tasks:
                fut.add_done_callback(finished.put)

        with ThreadPoolExecutor(self.max_workers, thread_name_prefix="collect") as pool:
            track({pool.submit(self._list, p): ListTask(p) for p in plans})
            last_report = 0.0
            while pending:
                fut = finished.get()
                task = pending.pop(fut)
                if isinstance(task, ListTask):
                    track(self._listed(pool, fut, task.plan, out))
                elif isinstance(task, BatchTask):
                    track(self._batched(pool, fut, task, out))
                else:
                    self._detailed(fut, task, out)
                if not pending or time.monotonic() - last_report > 0.1:
                    last_report = time.monotonic()
                    self._report()
        return out

    def _list(self, plan: ScopePlan) -> list[LiveResource]:
        collector = collectors.get(plan.scope.type)()
        client = self._client(collector, plan)
        return list(collector.list_resources(client, plan.scope))

    def _client(self, collector: Collector, plan: ScopePlan) -> Any:
        region = GLOBAL_API_REGION if collector.is_global else plan.scope.region
        return self.sessions.client(plan.account, region, collector.service)

    def _failure(self, exc: BaseException, scope: Scope, what: str) -> tuple[str, bool]:
        """(reason, internal): AWS answers by their code; anything else is a driftwatch bug."""
        if isinstance(exc, AWS_FAILURES):
            return describe_error(exc), False
        log.error(
            "internal error in the %s collector (%s, %s)", scope.type, scope, what, exc_info=exc
        )
        reason = (
            f"internal error: {type(exc).__name__}: {exc} "
            f"(a driftwatch bug in the {scope.type} collector; traceback in {self.log_hint})"
        )
        return reason, True

    def _listed(
        self, pool: ThreadPoolExecutor, fut: Future[Any], plan: ScopePlan, out: Collected
    ) -> Tasks:
        self.progress.scopes_done += 1
        try:
            live: list[LiveResource] = fut.result()
        except Exception as exc:  # every failure of a scope is recorded, never swallowed
            message, internal = self._failure(exc, plan.scope, "listing")
            out.failed_scopes[plan.scope] = message
            out.errors.append(ScopeError(plan.scope, message, internal=internal))
            return {}
        out.live[plan.scope] = live
        self.progress.resources_read += len(live)
        collector = collectors.get(plan.scope.type)()
        reads: list[Read] = []
        index = collector.index(live)
        for res in plan.declared:
            found = collector.match(res, index.get(collector.match_key(res.id), []))
            out.claimed[res.key] = found  # ambiguous matches are claimed too: never unmanaged
            if len(found) > 1:
                ids = ", ".join(sorted(x.id for x in found))
                out.unchecked[res.key] = f"ambiguous: {res.id!r} matches {ids}"
            elif found:
                out.matches[res.key] = found[0]
                reads.append(Read(res, found[0], tuple(collector.sources_for(list(res.spec)))))
        batch = self._batch(collector, reads, len(live))
        tasks = self._submit_reads(
            pool, collector, plan, reads, batched={r.declared.key for r in batch}
        )
        if batch:
            live_ids = {r.live.id for r in batch}
            f = pool.submit(collector.read_batch, self._client(collector, plan), live_ids)
            tasks[f] = BatchTask(plan, tuple(batch))
        return tasks

    def _batch(self, collector: Collector, reads: list[Read], listed: int) -> list[Read]:
        """The reads that one batch call should serve instead, with their batchable sources."""
        if not collector.batch_sources:
            return []
        wanted = {r.live.id: [s for s in r.sources if s in collector.batch_sources] for r in reads}
        wanted = {k: v for k, v in wanted.items() if v}
        if not wanted or not collector.batch_worthwhile(wanted, listed):
            return []
        return [r for r in reads if r.live.id in wanted]

    def _submit_reads(
        self,
        pool: ThreadPoolExecutor,
        collector: Collector,
        plan: ScopePlan,
        reads: Iterable[Read],
        batched: set[ResourceKey],
    ) -> Tasks:
        tasks: Tasks = {}
        client = self._client(collector, plan)
        for read in reads:
            skip = collector.batch_sources if read.declared.key in batched else frozenset()
            for source in read.sources:
                if source not in skip:
                    fut = pool.submit(collector.read, source, client, read.live)
                    tasks[fut] = DetailTask(read, collector)
        return tasks

    def _batched(
        self, pool: ThreadPoolExecutor, fut: Future[Any], task: BatchTask, out: Collected
    ) -> Tasks:
        collector = collectors.get(task.plan.scope.type)()
        try:
            result: dict[str, dict[str, Any]] = fut.result()
        except Exception as exc:
            if is_code(exc, "AccessDenied", "AccessDeniedException", "UnauthorizedOperation"):
                # Allowed to read one by one but not in bulk: fall back, nothing lost.
                return self._submit_reads(pool, collector, task.plan, task.reads, batched=set())
            reason, internal = self._failure(exc, task.plan.scope, "batch read")
            for read in task.reads:
                res = read.declared
                out.errors.append(
                    ScopeError(res.scope, reason, resource_id=res.id, internal=internal)
                )
                out.unchecked.setdefault(res.key, reason)
            return {}
        for read in task.reads:
            if read.live.id in result:
                read.live.attrs.update(result[read.live.id])
            else:
                out.unchecked.setdefault(read.declared.key, "disappeared during the scan")
        return {}

    def _detailed(self, fut: Future[Any], task: DetailTask, out: Collected) -> None:
        res = task.read.declared
        try:
            task.read.live.attrs.update(fut.result())
        except NotComparable as exc:
            out.unchecked.setdefault(res.key, str(exc))
        except Exception as exc:
            if is_code(exc, *task.collector.not_found_codes):
                reason = f"disappeared during the scan ({describe_error(exc)})"
            else:
                reason, internal = self._failure(exc, res.scope, f"reading {res.id}")
                out.errors.append(
                    ScopeError(res.scope, reason, resource_id=res.id, internal=internal)
                )
            out.unchecked.setdefault(res.key, reason)

    def _report(self) -> None:
        self.progress.api_calls = self.sessions.counter.total
        self.on_progress(self.progress)
