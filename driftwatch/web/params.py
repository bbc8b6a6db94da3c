"""Query parameters → typed queries; anything unusable is a QueryError (HTTP 400)."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping

import driftwatch.collectors  # noqa: F401  (registers the resource types)
from driftwatch.config import Config
from driftwatch.models import GLOBAL_REGION
from driftwatch.registry import collectors
from driftwatch.store.read import DriftQuery, QueryError, ResourceQuery

_WORD = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
_FINGERPRINT = re.compile(r"^[0-9a-f]{32}$")
MAX_Q = 200
MAX_REASON = 1000


def _text(args: Mapping[str, str], name: str) -> str | None:
    value = (args.get(name) or "").strip()
    return value or None


def word(args: Mapping[str, str], name: str) -> str | None:
    """A name-like parameter (letters, digits, `_.:-`; ≤ 64), or None when absent."""
    return _word(args, name)


def _word(args: Mapping[str, str], name: str) -> str | None:
    value = _text(args, name)
    if value is not None and not _WORD.match(value):
        raise QueryError(f"{name} {value!r} is not a valid {name}")
    return value


def _type(args: Mapping[str, str]) -> str | None:
    value = _text(args, "type")
    if value is not None and value not in collectors:
        raise QueryError(f"unknown type {value!r}; one of: {', '.join(collectors.names())}")
    return value


def _q(args: Mapping[str, str]) -> str | None:
    value = _text(args, "q")
    if value is not None and len(value) > MAX_Q:
        raise QueryError(f"q is longer than {MAX_Q} characters")
    return value


def limit(args: Mapping[str, str], default: int = 50) -> int:
    raw = args.get("limit")
    if raw in (None, ""):
        return default
    if not raw.isdigit():
        raise QueryError(f"limit must be a whole number, got {raw!r}")
    return int(raw)


def scan_id(args: Mapping[str, str]) -> int | None:
    """`scan=ID`: a scan's id, a whole number."""
    raw = _text(args, "scan")
    if raw is None:
        return None
    if not raw.isdigit() or len(raw) > 18:
        raise QueryError(f"scan must be a scan's id (a whole number), got {raw[:40]!r}")
    return int(raw)


def drift_query(args: Mapping[str, str], default_limit: int = 50) -> DriftQuery:
    """The drift list's query. With `scan=ID` the status defaults to `all`: the drifts a
    scan touched include those it resolved (the "+N more" link of an alert)."""
    order = args.get("order") or "desc"
    if order not in ("asc", "desc"):
        raise QueryError(f"order must be asc or desc, got {order!r}")
    scan = scan_id(args)
    q = DriftQuery(
        status=args.get("status") or ("all" if scan is not None else "open"),
        kind=_word(args, "kind"),
        type=_type(args),
        account=_word(args, "account"),
        region=_word(args, "region"),
        q=_q(args),
        severity=_word(args, "severity"),
        scan=scan,
        sort=args.get("sort") or "first_seen",
        desc=order == "desc",
        limit=limit(args, default_limit),
        cursor=_text(args, "cursor"),
    )
    q.check()
    return q


def resource_query(args: Mapping[str, str], default_limit: int = 50) -> ResourceQuery:
    q = ResourceQuery(
        kind=_word(args, "state"),
        type=_type(args),
        account=_word(args, "account"),
        region=_word(args, "region"),
        q=_q(args),
        limit=limit(args, default_limit),
        cursor=_text(args, "cursor"),
    )
    q.check()
    return q


def drift_id(value: str) -> str:
    """A drift id is its fingerprint: 32 lowercase hex digits."""
    if not _FINGERPRINT.match(value):
        raise QueryError(f"malformed drift id {value[:80]!r}: expected 32 hex digits")
    return value


def ack_fields(reason: str | None, until: str | None, today: dt.date) -> tuple[str, str | None]:
    """A non-empty reason, and an optional until-date (YYYY-MM-DD, today or later)."""
    reason = (reason or "").strip()
    if not reason:
        raise QueryError("a reason is required to acknowledge a drift")
    if len(reason) > MAX_REASON:
        raise QueryError(f"the reason is longer than {MAX_REASON} characters")
    until = (until or "").strip() or None
    if until is not None:
        try:
            day = dt.date.fromisoformat(until)
        except ValueError:
            raise QueryError(f"until must be a date YYYY-MM-DD, got {until[:40]!r}") from None
        if len(until) != 10 or day < today:
            raise QueryError(f"until must be today or a later date (YYYY-MM-DD), got {until!r}")
    return reason, until


def filter_values(cfg: Config) -> dict[str, list[str]]:
    """What the filter menus offer: the config's accounts and regions, the watched types
    (from the config and the registry: no query over the inventory)."""
    regions = sorted({r for a in cfg.aws.accounts for r in a.regions} | {GLOBAL_REGION})
    return {
        "type": sorted(cfg.scan.types or collectors.names()),
        "account": [a.name for a in cfg.aws.accounts],
        "region": regions,
    }
