"""The shapes every remediation mode shares: a prepared plan and the outcome of running it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from driftwatch.store.remediations import (
    APPROVED,
    EXPIRED,
    FAILED,
    PARTIAL,
    PLANNED,
    REFUSED,
    SUCCEEDED,
)

__all__ = ["APPROVED", "EXPIRED", "FAILED", "PARTIAL", "PLANNED", "REFUSED", "SUCCEEDED"]


@dataclass
class Outcome:
    """How an execution ended: succeeded (verified), partial or failed, and what happened."""

    status: str
    result: dict[str, Any]
    resolve: bool = False  # verified in sync: the drift resolves now, not at the next scan


@dataclass
class Prepared:
    """One mode's plan, made from what is declared and live right now.

    `body` is what is shown and stored (never a secret); `plan_hash` and `live_hash`
    are keyed digests that execution compares against a fresh `Prepared` to refuse a
    stale plan; `run` carries it out and verifies it.
    """

    summary: str
    body: dict[str, Any]
    plan_hash: str
    live_hash: str
    run: Callable[[], Outcome] = field(repr=False)
