"""Concurrent collection: list every scope, then read details only for declared resources.

Listing and detail reads share one thread pool bounded by `aws.max_concurrency`;
a scope's detail reads start as soon as its listing is done.
"""

from __future__ import annotations

import queue
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from driftwatch.aws import GLOBAL_API_REGION, AwsSessions, describe_error
from driftwatch.collectors.base import Collector, is_code
from driftwatch.config import AccountConfig
from driftwatch.models import DeclaredResource, LiveResource, Scope, ScopeError
from driftwatch.registry import collectors


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
    """The outcome of collection, per scope and per declared resource."""

    live: dict[Scope, list[LiveResource]] = field(default_factory=dict)
    errors: list[ScopeError] = field(default_factory=list)
    failed_scopes: dict[Scope, str] = field(default_factory=dict)
    matches: dict[int, LiveResource] = field(default_factory=dict)
    unchecked: dict[int, str] = field(default_factory=dict)
    claimed: dict[int, list[LiveResource]] = field(default_factory=dict)


class Collection:
    """Runs one scan's reads against AWS."""

    def __init__(
        self,
        sessions: AwsSessions,
        max_workers: int,
        on_progress: Callable[[Progress], None] | None = None,
    ) -> None:
        self.sessions = sessions
        self.max_workers = max_workers
        self.on_progress = on_progress or (lambda p: None)
        self.progress = Progress()

    def run(self, plans: list[ScopePlan]) -> Collected:
        out = Collected()
        self.progress.scopes_total = len(plans)
        # Futures report themselves on a queue as they finish: waiting on the whole
        # pending set each time would cost O(pending) per completion.
        finished: queue.SimpleQueue[Future[Any]] = queue.SimpleQueue()
        pending: dict[Future[Any], tuple[Any, ...]] = {}

        def track(tasks: dict[Future[Any], tuple[Any, ...]]) -> None:
            pending.update(tasks)
            for fut in tasks:
                fut.add_done_callback(finished.put)

        with ThreadPoolExecutor(self.max_workers, thread_name_prefix="collect") as pool:
            track({pool.submit(self._list, p): ("list", p) for p in plans})
            last_report = 0.0
            while pending:
                fut = finished.get()
                task = pending.pop(fut)
                if task[0] == "list":
                    track(self._listed(pool, fut, task[1], out))
                elif task[0] == "batch":
                    track(self._batched(pool, fut, task[1], task[2], out))
                else:
                    self._detailed(fut, task[1], task[2], out)
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

    def _listed(
        self, pool: ThreadPoolExecutor, fut: Future[Any], plan: ScopePlan, out: Collected
    ) -> dict[Future[Any], tuple[Any, ...]]:
        self.progress.scopes_done += 1
        try:
            live: list[LiveResource] = fut.result()
        except Exception as exc:  # every failure of a scope is recorded, never swallowed
            message = describe_error(exc)
            out.failed_scopes[plan.scope] = message
            out.errors.append(ScopeError(plan.scope, message))
            return {}
        out.live[plan.scope] = live
        self.progress.resources_read += len(live)
        collector = collectors.get(plan.scope.type)()
        reads: list[tuple[DeclaredResource, LiveResource, list[str]]] = []
        index = collector.index(live)
        for res in plan.declared:
            found = collector.match(res, index.get(collector.match_key(res.id), []))
            out.claimed[id(res)] = found  # ambiguous matches are claimed too: never unmanaged
            if len(found) > 1:
                ids = ", ".join(sorted(x.id for x in found))
                out.unchecked[id(res)] = f"ambiguous: {res.id!r} matches {ids}"
            elif found:
                out.matches[id(res)] = found[0]
                reads.append((res, found[0], collector.sources_for(list(res.spec))))
        batch = self._batch(collector, reads, len(live))
        tasks = self._submit_reads(pool, collector, plan, reads, skip=set(batch))
        if batch:
            f = pool.submit(
                collector.read_batch,
                self._client(collector, plan),
                {lv.id for _, lv, _ in batch.values()},
            )
            tasks[f] = ("batch", plan, list(batch.values()))
        return tasks

    def _batch(
        self, collector: Collector, reads: list[Any], listed: int
    ) -> dict[int, tuple[DeclaredResource, LiveResource, list[str]]]:
        """The reads one batch call should serve instead (keyed by id of the declaration)."""
        if not collector.batch_sources:
            return {}
        wanted = {lv.id: [s for s in srcs if s in collector.batch_sources] for _, lv, srcs in reads}
        wanted = {k: v for k, v in wanted.items() if v}
        if not wanted or not collector.batch_worthwhile(wanted, listed):
            return {}
        return {
            id(res): (res, lv, [s for s in srcs if s in collector.batch_sources])
            for res, lv, srcs in reads
            if lv.id in wanted
        }

    def _submit_reads(
        self,
        pool: ThreadPoolExecutor,
        collector: Collector,
        plan: ScopePlan,
        reads: list[Any],
        skip: set[int],
    ) -> dict[Future[Any], tuple[Any, ...]]:
        tasks: dict[Future[Any], tuple[Any, ...]] = {}
        client = self._client(collector, plan)
        for res, lv, sources in reads:
            batched = collector.batch_sources if id(res) in skip else frozenset()
            for source in sources:
                if source not in batched:
                    tasks[pool.submit(collector.read, source, client, lv)] = (
                        "detail",
                        res,
                        collector,
                    )
        return tasks

    def _batched(
        self,
        pool: ThreadPoolExecutor,
        fut: Future[Any],
        plan: ScopePlan,
        reads: list[Any],
        out: Collected,
    ) -> dict[Future[Any], tuple[Any, ...]]:
        collector = collectors.get(plan.scope.type)()
        try:
            result: dict[str, dict[str, Any]] = fut.result()
        except Exception as exc:
            if is_code(exc, "AccessDenied", "AccessDeniedException", "UnauthorizedOperation"):
                # Allowed to read one by one but not in bulk: fall back, nothing lost.
                return self._submit_reads(pool, collector, plan, reads, skip=set())
            reason = describe_error(exc)
            for res, _, _ in reads:
                out.errors.append(ScopeError(res.scope, reason, resource_id=res.id))
                out.unchecked.setdefault(id(res), reason)
            return {}
        for res, lv, _ in reads:
            if lv.id in result:
                lv.attrs.update(result[lv.id])
            else:
                out.unchecked.setdefault(id(res), "disappeared during the scan")
        return {}

    def _detailed(
        self, fut: Future[Any], res: DeclaredResource, collector: Collector, out: Collected
    ) -> None:
        live = out.matches[id(res)]
        try:
            live.attrs.update(fut.result())
        except Exception as exc:
            if is_code(exc, *collector.not_found_codes):
                reason = f"disappeared during the scan ({describe_error(exc)})"
            else:
                reason = describe_error(exc)
                out.errors.append(ScopeError(res.scope, reason, resource_id=res.id))
            out.unchecked.setdefault(id(res), reason)

    def _report(self) -> None:
        self.progress.api_calls = self.sessions.counter.total
        self.on_progress(self.progress)
