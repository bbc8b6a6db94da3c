"""Schedules on the overview and `GET /api/v1/schedules`: next and last run of each.

The scheduler's leader records each schedule's next and last run (store
`schedule_runs`); before any leader ran, the next run comes from the config alone
(`scheduler.next_runs`). Decisions here are pure: rows and config in, documents out.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from driftwatch.config import Config, Schedule
from driftwatch.scheduler import next_runs, trigger_of

DEFAULT_STALE_AFTER = dt.timedelta(hours=24)


def schedule_docs(
    cfg: Config, recorded: Sequence[dict[str, Any]], now: dt.datetime
) -> list[dict[str, Any]]:
    """Each configured schedule with its next and last run (recorded, else computed)."""
    rows = {r["name"]: r for r in recorded}
    computed = next_runs(cfg, now)
    out = []
    for s in cfg.schedules:
        row = rows.get(s.name, {})
        out.append(
            {
                "name": s.name,
                "every": s.every,
                "scope": {
                    "accounts": list(s.scope.accounts),
                    "regions": list(s.scope.regions),
                    "types": list(s.scope.types),
                },
                "next_run_at": row.get("next_run_at") or computed[s.name],
                "last_run_at": row.get("last_run_at"),
                "last_scan_id": row.get("last_scan_id"),
                "last_status": row.get("last_status"),
                "recorded": bool(row),
            }
        )
    return out


def interval_of(s: Schedule, now: dt.datetime) -> dt.timedelta:
    """How often a schedule fires: its interval, or the gap between a cron's next two runs."""
    if s.interval is not None:
        return s.interval
    trigger = trigger_of(s)
    first = trigger.get_next_fire_time(None, now)
    second = trigger.get_next_fire_time(first, first + dt.timedelta(seconds=1))
    return dt.timedelta(0) if first is None or second is None else second - first


def stale_after(
    schedules: Sequence[Schedule], recorded: Sequence[dict[str, Any]], now: dt.datetime
) -> dt.timedelta:
    """Data is stale after twice the shortest schedule's interval once a scheduler runs
    on this database (it recorded its schedules); else after 24 h (scans from cron/CI)."""
    if not recorded or not schedules:
        return DEFAULT_STALE_AFTER
    shortest = min(interval_of(s, now) for s in schedules)
    return 2 * shortest if shortest > dt.timedelta(0) else DEFAULT_STALE_AFTER
