"""The dashboard's and the API's queries: filters, keyset pagination, aggregates.

Keyset pagination: a page is "the next `limit` rows after this sort key", never an
OFFSET, so page 5,000 costs what page 1 does. The cursor is the last row's sort key,
encoded as URL-safe base64 JSON; a cursor that does not decode is a `QueryError`.
"""

from __future__ import annotations

import base64
import binascii
import json
import sqlite3
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from driftwatch.config import SEVERITIES
from driftwatch.lifecycle import ACKNOWLEDGED, OPEN, STATUSES
from driftwatch.models import Kind
from driftwatch.store.persist import decode

DRIFT_KINDS = tuple(k.value for k in Kind if k.is_drift)
RESOURCE_KINDS = tuple(k.value for k in Kind)
MAX_LIMIT = 500


class QueryError(ValueError):
    """A filter value, sort or cursor that cannot be used (the web answers 400)."""


# --- cursors -----------------------------------------------------------------------------


def encode_cursor(values: Sequence[Any]) -> str:
    raw = json.dumps(list(values), separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(text: str, width: int) -> list[Any]:
    """The sort key a cursor holds; it must have `width` strings or numbers."""
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        values = json.loads(raw)
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise QueryError("cursor does not decode; pass the `next` value of a page") from None
    if (
        not isinstance(values, list)
        or len(values) != width
        or not all(isinstance(v, str | int) and not isinstance(v, bool) for v in values)
    ):
        raise QueryError("cursor does not belong to this list or sort order")
    return values


@dataclass
class Page:
    rows: list[dict[str, Any]]
    next: str | None


def _page(
    conn: sqlite3.Connection,
    sql: str,
    args: list[Any],
    limit: int,
    key_cols: Sequence[str],
) -> Page:
    cur = conn.execute(sql, [*args, limit + 1])
    cols = [c[0] for c in cur.description]
    rows = [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]
    more = len(rows) > limit
    rows = rows[:limit]
    nxt = encode_cursor([rows[-1][c] for c in key_cols]) if more and rows else None
    return Page([decode(r) for r in rows], nxt)


def _keyset(cols: Sequence[str], desc: bool, cursor: str | None) -> tuple[str, list[Any], str]:
    """(where clause or "", args, ORDER BY) for a keyset page over `cols`."""
    direction = "DESC" if desc else "ASC"
    order = ", ".join(f"{c} {direction}" for c in cols)
    if cursor is None:
        return "", [], order
    values = decode_cursor(cursor, len(cols))
    op = "<" if desc else ">"
    return f"({', '.join(cols)}) {op} ({', '.join('?' for _ in cols)})", values, order


def _check(name: str, value: str | None, allowed: Sequence[str]) -> None:
    if value is not None and value not in allowed:
        raise QueryError(f"unknown {name} {value!r}; one of: {', '.join(allowed)}")


def _limit(limit: int) -> int:
    if not 1 <= limit <= MAX_LIMIT:
        raise QueryError(f"limit must be from 1 to {MAX_LIMIT}, got {limit}")
    return limit


# --- drifts ------------------------------------------------------------------------------

# Records stored before severity existed count as high (as alerts.py does) until a scan
# sees them again and stores their severity.
UNRATED = "high"
SEVERITY = f"coalesce(severity, '{UNRATED}')"
# The rank orders severities: critical 3 … low 0; a sort key like any column.
_WHEN = " ".join(f"WHEN '{name}' THEN {rank}" for rank, name in enumerate(SEVERITIES))
SEVERITY_RANK = f"(CASE {SEVERITY} {_WHEN} ELSE 0 END)"
DRIFT_SORTS: dict[str, tuple[str, ...]] = {
    "first_seen": ("first_seen", "fingerprint"),
    "last_seen": ("last_seen", "fingerprint"),
    "resource": ("type", "resource_id", "fingerprint"),
    "severity": (SEVERITY_RANK, "first_seen", "fingerprint"),
}
# What each sort key is called in a selected row (the cursor holds those values).
_KEY_NAMES = {SEVERITY_RANK: "severity_rank"}
DRIFT_STATUSES = (*STATUSES, "all")


@dataclass(frozen=True)
class DriftQuery:
    """The drift list's filters, sort and page; `status="all"` lists every record."""

    status: str = OPEN
    kind: str | None = None
    type: str | None = None
    account: str | None = None
    region: str | None = None
    q: str | None = None
    severity: str | None = None
    scan: int | None = None  # drifts with an event written by this scan
    sort: str = "first_seen"
    desc: bool = True
    limit: int = 50
    cursor: str | None = None

    def check(self) -> None:
        _check("status", self.status, DRIFT_STATUSES)
        _check("kind", self.kind, DRIFT_KINDS)
        _check("severity", self.severity, SEVERITIES)
        _check("sort", self.sort, tuple(DRIFT_SORTS))
        _limit(self.limit)


_DRIFT_COLUMNS = (
    "fingerprint, account, region, type, resource_id, kind, status, source, changes, "
    "first_seen, last_seen, resolved_at, resolved_reason, ack_by, ack_at, ack_reason, "
    "ack_until, opened_scan_id, last_scan_id, severity"
)


# Drifts and resources with their seen columns (last_seen, last_scan_id), which live in
# narrow side tables (migration m014); USING keeps `fingerprint` and `key` unqualified.
DRIFTS = "drifts LEFT JOIN drift_seen USING (fingerprint)"
RESOURCES = "resources LEFT JOIN resource_seen USING (key)"
# Whole rows of each (the seen tables' own id left out).
DRIFT_ROW = "drifts.*, drift_seen.last_seen, drift_seen.last_scan_id"
RESOURCE_ROW = "resources.*, resource_seen.last_seen, resource_seen.last_scan_id"
SEEN_COLUMNS = ("last_seen", "last_scan_id")


def _qualified(columns: str) -> str:
    """Drift columns for `drifts d LEFT JOIN drift_seen s`."""
    names = (c.strip() for c in columns.split(","))
    return ", ".join(("s." if c in SEEN_COLUMNS else "d.") + c for c in names)


def _rated(row: dict[str, Any]) -> dict[str, Any]:
    row["severity"] = row.get("severity") or UNRATED
    return row


def drift_page(conn: sqlite3.Connection, q: DriftQuery) -> Page:
    """One page of drifts. Free text takes the trigram index when one of the text's
    trigrams is rare (its short list of ids bounds the work), and otherwise the ordered
    scan (common trigrams: matches are usually dense, so the page fills early) within a
    budget, then the index. Each path gives the same rows."""
    q.check()
    if q.q and len(q.q) >= TRIGRAM:
        rare, match = text_match(conn, q.q)
        if rare:
            page = _drift_page(conn, q, match=match)
        else:
            scanned = _within(conn, SCAN_BUDGET, lambda: _drift_page(conn, q))
            page = scanned if scanned is not None else _drift_page(conn, q, match=match)
    else:
        page = _drift_page(conn, q)
    for row in page.rows:
        _rated(row)
    return page


# A text takes the index when one of its trigrams is in fewer than COMMON ids: its list
# bounds the work, while a text of common trigrams usually fills a page early in the
# ordered scan (measured on web_bench's 300,000 ids: a phrase of four trigrams in every
# id, 7 ms). The index is asked for the ids holding the rarest few (up to RARE_TERMS) of
# those in fewer than NARROWS ids: reading such a list costs less than checking the
# candidates it removes. Counting stops at NARROWS (0.45 ms for a trigram in every id).
COMMON = 2_000
NARROWS = 10_000
RARE_TERMS = 3


def text_match(conn: sqlite3.Connection, text: str) -> tuple[bool, str]:
    """(whether a trigram of `text` is rare, the FTS5 query that finds a superset of the
    ids holding it): the narrowing trigrams, or the whole phrase when none narrows."""
    counted = narrowing_trigrams(conn, text)
    match = " AND ".join(fts_phrase(gram) for _, gram in counted) or fts_phrase(text)
    return bool(counted) and counted[0][0] < COMMON, match


def narrowing_trigrams(conn: sqlite3.Connection, text: str) -> list[tuple[int, str]]:
    """(ids holding it, trigram) for the rarest (up to RARE_TERMS) of `text`'s trigrams
    that fewer than NARROWS ids hold, rarest first."""
    db = conn.execute("PRAGMA database_list").fetchone()[2]  # the main file's path
    now = time.monotonic()
    counts = {}  # (the index folds case itself; Python's lower() can change a length)
    for gram in {text[i : i + TRIGRAM] for i in range(len(text) - TRIGRAM + 1)}:
        key = (db, gram, NARROWS)
        known = _COUNTS.get(key) if db else None
        if known is None or now - known[1] > COUNT_TTL_S:
            n = conn.execute(_TRIGRAM_COUNT, [fts_phrase(gram), NARROWS]).fetchone()[0]
            if len(_COUNTS) >= _COUNTS_MAX:
                _COUNTS.clear()
            known = _COUNTS[key] = (n, now)
        counts[gram] = known[0]
    return sorted((n, gram) for gram, n in counts.items() if n < NARROWS)[:RARE_TERMS]


_TRIGRAM_COUNT = (
    "SELECT count(*) FROM (SELECT rowid FROM drift_search WHERE drift_search MATCH ? LIMIT ?)"
)
# Trigram counts, kept a while per database: they only choose the path, and every path
# gives the same rows, so a stale count costs time, never a wrong answer. Paging on and
# refining a search ("res-0", "res-00123") ask for the same trigrams again.
COUNT_TTL_S = 300.0
_COUNTS_MAX = 10_000
_COUNTS: dict[tuple[str, str, int], tuple[int, float]] = {}

# Seconds the free-text scan may run, when every trigram is common, before the index
# takes over. Time, not VM instructions: the scan's cost is mostly page reads, which the
# instruction count does not see.
SCAN_BUDGET = 0.005
_TICK = 1_000  # VM instructions between looks at the clock


def _within(conn: sqlite3.Connection, budget: float, run: Callable[[], Page]) -> Page | None:
    """`run()`, or None when its statement runs longer than `budget` seconds."""
    deadline = time.perf_counter() + budget
    over = False

    def tick() -> int:
        nonlocal over
        over = time.perf_counter() > deadline
        return int(over)

    conn.set_progress_handler(tick, _TICK)
    try:
        return run()
    except sqlite3.OperationalError:
        if not over:  # not ours: a real error
            raise
        return None  # "interrupted" by tick(): over budget
    finally:
        conn.set_progress_handler(None, 0)


def _drift_page(conn: sqlite3.Connection, q: DriftQuery, match: str | None = None) -> Page:
    """A page by the ordered scan, or driven by the ids the FTS5 query `match` finds (a
    superset of the text's: the filters, ID_TEXT included, then apply to them)."""
    where, args = _drift_filters(q)
    source = DRIFTS
    if match:
        # CROSS JOIN: SQLite keeps this order, so the index's hits drive the query.
        source = (
            f"({_DRIFT_HITS}) CROSS JOIN drifts ON drifts.fingerprint = hit "
            "LEFT JOIN drift_seen USING (fingerprint)"
        )
        args[:0] = [match, q.q]
    cols = DRIFT_SORTS[q.sort]
    keyset, kargs, order = _keyset(cols, q.desc, q.cursor)
    if keyset:
        where.append(keyset)
        args += kargs
    keys = [c for c in cols if c in _KEY_NAMES]
    extra = "".join(f", {c} AS {_KEY_NAMES[c]}" for c in keys)
    sql = (
        f"SELECT {_DRIFT_COLUMNS}{extra} FROM {source} "
        f"{'WHERE ' + ' AND '.join(where) if where else ''} ORDER BY {order} LIMIT ?"
    )
    return _page(conn, sql, args, q.limit, [_KEY_NAMES.get(c, c) for c in cols])


def _match(where: list[str], args: list[Any], q: DriftQuery | ResourceQuery) -> None:
    """The filters the drift and resource lists share: equal columns, id text."""
    for column, value in (
        ("kind", q.kind),
        ("type", q.type),
        ("account", q.account),
        ("region", q.region),
    ):
        if value:
            where.append(f"{column} = ?")
            args.append(value)
    if q.q:
        where.append(ID_TEXT)
        args.append(q.q)


# What free text means: the resource id contains it, ASCII case ignored (SQLite's lower()).
ID_TEXT = "instr(lower(resource_id), lower(?)) > 0"
# The drift list narrows by the trigram index first (m017), then keeps ID_TEXT's meaning:
# the index folds Unicode case, so it may offer more candidates than ID_TEXT keeps.
# The key table's copy of the id (m018) is checked before the join: a trigram's list can
# hold thousands of ids the text is not in, and a lookup in drifts costs several times
# more.
_DRIFT_HITS = (
    "SELECT k.fingerprint AS hit FROM drift_search s "
    "JOIN drift_search_keys k ON k.id = s.rowid WHERE drift_search MATCH ? "
    f"AND {ID_TEXT.replace('resource_id', 'k.resource_id')}"
)
TRIGRAM = 3  # the index answers only text of at least three characters


def fts_phrase(text: str) -> str:
    """`text` as one FTS5 phrase: quoted, its double quotes doubled, nothing an operator."""
    return '"' + text.replace('"', '""') + '"'


def _drift_filters(q: DriftQuery) -> tuple[list[str], list[Any]]:
    where: list[str] = []
    args: list[Any] = []
    if q.status != "all":
        where.append("status = ?")
        args.append(q.status)
    _match(where, args, q)
    if q.severity:
        where.append(f"{SEVERITY} = ?")
        args.append(q.severity)
    if q.scan is not None:
        where.append("fingerprint IN (SELECT fingerprint FROM drift_events WHERE scan_id = ?)")
        args.append(q.scan)
    return where, args


def drift(conn: sqlite3.Connection, fingerprint: str) -> dict[str, Any] | None:
    """One drift with the commits of the scans that opened and last saw it."""
    cur = conn.execute(
        f"SELECT {_qualified(_DRIFT_COLUMNS)}, "
        "o.commit_sha AS opened_commit, l.commit_sha AS last_commit, "
        "(SELECT key FROM resources r WHERE r.account = d.account AND r.region = d.region "
        " AND r.type = d.type AND r.resource_id = d.resource_id) AS resource_key "
        "FROM drifts d LEFT JOIN drift_seen s ON s.fingerprint = d.fingerprint "
        "LEFT JOIN scans o ON o.id = d.opened_scan_id "
        "LEFT JOIN scans l ON l.id = s.last_scan_id WHERE d.fingerprint = ?",
        [fingerprint],
    )
    row = cur.fetchone()
    if row is None:
        return None
    return _rated(decode(dict(zip([c[0] for c in cur.description], row, strict=True))))


def drift_events(conn: sqlite3.Connection, fingerprint: str) -> list[dict[str, Any]]:
    cur = conn.execute(
        "SELECT e.id, e.at, e.event, e.reason, e.actor, e.scan_id, e.changes, s.commit_sha "
        "FROM drift_events e LEFT JOIN scans s ON s.id = e.scan_id "
        "WHERE e.fingerprint = ? ORDER BY e.id",
        [fingerprint],
    )
    cols = [c[0] for c in cur.description]
    return [decode(dict(zip(cols, r, strict=True))) for r in cur.fetchall()]


# --- overview and metrics --------------------------------------------------------------


Group = tuple[str, str, str, str, str, int]
"""Open drifts counted by (kind, type, account, region, severity)."""


@dataclass
class Summary:
    open: int = 0
    acknowledged: int = 0
    by_kind: dict[str, int] = field(default_factory=dict)
    by_type: dict[str, int] = field(default_factory=dict)
    by_place: dict[str, int] = field(default_factory=dict)  # "account/region" → count
    by_severity: dict[str, int] = field(default_factory=dict)  # most severe first, all four
    groups: list[Group] = field(default_factory=list)
    last_scan: dict[str, Any] | None = None
    last_good_scan: dict[str, Any] | None = None
    last_scan_errors: list[dict[str, Any]] = field(default_factory=list)


Counts = tuple[list[Group], int]
"""(open drifts grouped by kind, type, account, region, severity; acknowledged drifts)."""


def drift_counts(conn: sqlite3.Connection) -> Counts:
    acked = conn.execute("SELECT count(*) FROM drifts WHERE status = ?", [ACKNOWLEDGED])
    return open_groups(conn), int(acked.fetchone()[0])


def change_marker(conn: sqlite3.Connection) -> int:
    """Changes whenever a drift's status can have changed: every transition (a scan's,
    a person's, a snooze's end) writes a drift event. Keys a cache of `drift_counts`."""
    return int(conn.execute("SELECT coalesce(max(id), 0) FROM drift_events").fetchone()[0])


def summary(conn: sqlite3.Connection, counts: Counts | None = None) -> Summary:
    """Open drifts (acknowledged ones apart), grouped; the last scan and its errors."""
    groups, acknowledged = counts or drift_counts(conn)
    s = Summary(groups=groups, acknowledged=acknowledged)
    s.by_severity = {name: 0 for name in reversed(SEVERITIES)}
    for kind, rtype, account, region, severity, n in s.groups:
        s.open += n
        s.by_kind[kind] = s.by_kind.get(kind, 0) + n
        s.by_type[rtype] = s.by_type.get(rtype, 0) + n
        place = f"{account}/{region}"
        s.by_place[place] = s.by_place.get(place, 0) + n
        s.by_severity[severity] = s.by_severity.get(severity, 0) + n
    for d in (s.by_kind, s.by_type, s.by_place):
        ordered = sorted(d.items(), key=lambda kv: (-kv[1], kv[0]))
        d.clear()
        d.update(ordered)
    s.last_scan = _row(conn, "SELECT * FROM scans WHERE status != 'running' ORDER BY id DESC")
    s.last_good_scan = _row(
        conn, "SELECT * FROM scans WHERE status IN ('ok', 'partial') ORDER BY id DESC"
    )
    if s.last_scan:
        s.last_scan_errors = scope_errors(conn, s.last_scan["id"])
    return s


def open_groups(conn: sqlite3.Connection) -> list[Group]:
    """(kind, type, account, region, severity, count) of open (not acknowledged) drifts.

    Grouped by the stored severity, so that the covering index gives the groups in
    order (about 5 ms for 20,000 open drifts, 20 ms with the coalesce in SQL); records
    without one join the `high` groups here."""
    counts: dict[tuple[str, str, str, str, str], int] = {}
    for kind, rtype, account, region, severity, n in conn.execute(
        "SELECT kind, type, account, region, severity, count(*) FROM drifts "
        "WHERE status = ? GROUP BY kind, type, account, region, severity",
        [OPEN],
    ):
        key = (str(kind), str(rtype), str(account), str(region), str(severity or UNRATED))
        counts[key] = counts.get(key, 0) + int(n)
    return [(*key, n) for key, n in counts.items()]


def open_over_time(conn: sqlite3.Connection, points: int = 120) -> list[tuple[str, int, int]]:
    """(finished_at, open, acknowledged) after each of the last scans that counted them."""
    rows = conn.execute(
        "SELECT finished_at, open_drifts, coalesce(acknowledged_drifts, 0) FROM scans "
        "WHERE open_drifts IS NOT NULL ORDER BY id DESC LIMIT ?",
        [points],
    ).fetchall()
    return [(str(a), int(b), int(c)) for a, b, c in reversed(rows)]


def _row(conn: sqlite3.Connection, sql: str, args: Sequence[Any] = ()) -> dict[str, Any] | None:
    cur = conn.execute(sql + " LIMIT 1", list(args))
    row = cur.fetchone()
    return None if row is None else dict(zip([c[0] for c in cur.description], row, strict=True))


# --- scans -------------------------------------------------------------------------------


def scan_page(conn: sqlite3.Connection, limit: int = 50, cursor: str | None = None) -> Page:
    _limit(limit)
    keyset, args, order = _keyset(("id",), True, cursor)
    sql = (
        "SELECT s.*, (SELECT count(*) FROM scope_errors e WHERE e.scan_id = s.id) AS errors "
        f"FROM scans s {'WHERE ' + keyset if keyset else ''} ORDER BY {order} LIMIT ?"
    )
    return _page(conn, sql, args, limit, ("id",))


def scan(conn: sqlite3.Connection, scan_id: int) -> dict[str, Any] | None:
    return _row(conn, "SELECT * FROM scans WHERE id = ?", [scan_id])


def running_scan(conn: sqlite3.Connection, trigger: str, since: str) -> dict[str, Any] | None:
    """The scan running now for `trigger` that started at or after `since` (the scan a
    claimed scan-now request started: the leader runs one scan at a time)."""
    return _row(
        conn,
        "SELECT * FROM scans WHERE status = 'running' AND trigger = ? AND started_at >= ? "
        "ORDER BY id DESC",
        [trigger, since],
    )


def scope_errors(conn: sqlite3.Connection, scan_id: int) -> list[dict[str, Any]]:
    cur = conn.execute(
        "SELECT account, region, type, resource_id, error, internal FROM scope_errors "
        "WHERE scan_id = ? ORDER BY id",
        [scan_id],
    )
    cols = [c[0] for c in cur.description]
    return [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]


def terraform_states(conn: sqlite3.Connection, scan_id: int) -> list[dict[str, Any]]:
    """The Terraform/OpenTofu states a scan read: which snapshot of each, and how many
    resources it declared."""
    cur = conn.execute(
        "SELECT source, workspace, state, serial, lineage, version, terraform_version, "
        "resources, encrypted FROM terraform_states WHERE scan_id = ? ORDER BY source, workspace",
        [scan_id],
    )
    cols = [c[0] for c in cur.description]
    rows = [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]
    return [{**r, "encrypted": bool(r["encrypted"])} for r in rows]


# --- resources ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ResourceQuery:
    kind: str | None = None
    type: str | None = None
    account: str | None = None
    region: str | None = None
    q: str | None = None
    limit: int = 50
    cursor: str | None = None

    def check(self) -> None:
        _check("state", self.kind, RESOURCE_KINDS)
        _limit(self.limit)


def resource_page(conn: sqlite3.Connection, q: ResourceQuery) -> Page:
    q.check()
    where: list[str] = []
    args: list[Any] = []
    _match(where, args, q)
    keyset, kargs, order = _keyset(("key",), False, q.cursor)
    if keyset:
        where.append(keyset)
        args += kargs
    sql = (
        "SELECT key, account, region, type, resource_id, live_id, kind, source, reason, "
        f"first_seen, last_seen, last_scan_id FROM {RESOURCES} "
        f"{'WHERE ' + ' AND '.join(where) if where else ''} ORDER BY {order} LIMIT ?"
    )
    return _page(conn, sql, args, q.limit, ("key",))


def resource(conn: sqlite3.Connection, key: str) -> dict[str, Any] | None:
    return _row(conn, f"SELECT {RESOURCE_ROW} FROM {RESOURCES} WHERE key = ?", [key])


def snapshot_history(conn: sqlite3.Connection, key: str, limit: int = 100) -> list[dict[str, Any]]:
    """A resource's stored states, newest first."""
    cur = conn.execute(
        "SELECT s.id, s.scan_id, s.at, s.kind, s.hash, s.snapshot, sc.commit_sha "
        "FROM snapshots s LEFT JOIN scans sc ON sc.id = s.scan_id "
        "WHERE s.key = ? ORDER BY s.id DESC LIMIT ?",
        [key, limit],
    )
    cols = [c[0] for c in cur.description]
    return [decode(dict(zip(cols, r, strict=True))) for r in cur.fetchall()]


def resource_drifts(conn: sqlite3.Connection, res: dict[str, Any]) -> list[dict[str, Any]]:
    cur = conn.execute(
        f"SELECT {_DRIFT_COLUMNS} FROM {DRIFTS} WHERE account = ? AND region = ? AND type = ? "
        "AND resource_id = ? ORDER BY first_seen DESC",
        [res["account"], res["region"], res["type"], res["resource_id"]],
    )
    cols = [c[0] for c in cur.description]
    return [_rated(decode(dict(zip(cols, r, strict=True)))) for r in cur.fetchall()]


# --- audit -------------------------------------------------------------------------------


def audit_page(conn: sqlite3.Connection, limit: int = 100, cursor: str | None = None) -> Page:
    _limit(limit)
    keyset, args, order = _keyset(("id",), True, cursor)
    sql = f"SELECT * FROM audit_log {'WHERE ' + keyset if keyset else ''} ORDER BY {order} LIMIT ?"
    return _page(conn, sql, args, limit, ("id",))


# --- notifications (the alerts outbox) ---------------------------------------------------


def outbox_counts(conn: sqlite3.Connection) -> dict[str, dict[str, int]]:
    """Outbox messages by channel, then status (pending, sent, failed)."""
    out: dict[str, dict[str, int]] = {}
    for channel, status, n in conn.execute(
        "SELECT channel, status, count(*) FROM outbox GROUP BY channel, status"
    ):
        out.setdefault(str(channel), {})[str(status)] = int(n)
    return out


# --- health ------------------------------------------------------------------------------


def last_good_scan_at(conn: sqlite3.Connection) -> str | None:
    row = conn.execute(
        "SELECT finished_at FROM scans WHERE status IN ('ok', 'partial') ORDER BY id DESC LIMIT 1"
    ).fetchone()
    return None if row is None else row[0]
