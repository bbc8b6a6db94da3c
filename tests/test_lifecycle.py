"""The pure drift lifecycle: every transition, case by case, without SQL."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from driftwatch.lifecycle import (
    ACK_LIFTED_CHANGED,
    ACKNOWLEDGED,
    CHANGED,
    EV_CHANGED,
    EV_OPENED,
    EV_REOPENED,
    EV_RESOLVED,
    IGNORED,
    IN_SYNC,
    NEW,
    NO_LONGER_DECLARED,
    NO_LONGER_LIVE,
    NOT_WATCHED,
    NOW_DECLARED,
    OPEN,
    REOPENED,
    RESOLVED,
    UNCHANGED,
    Coverage,
    LifecyclePlan,
    Prior,
    StoredDrift,
    changes_json,
    plan_lifecycle,
    snooze_over,
    text_hash,
)
from driftwatch.models import Change, Finding, Kind, Scope

S3 = Scope("prod", "us-east-1", "aws_s3_bucket")
SG = Scope("prod", "us-east-1", "aws_security_group")
T0, T1 = "2026-01-01T00:00:00Z", "2026-01-01T06:00:00Z"
DAY = dt.timedelta(hours=24)


def finding(kind: Kind, rid: str, value: str = "x", scope: Scope = S3) -> Finding:
    changes = [Change("tags.team", "a", value)] if kind == Kind.MODIFIED else []
    return Finding(kind, scope.type, rid, scope.account, scope.region, changes=changes)


@dataclass(frozen=True)
class Stored:
    """A stored drift record, as the store would load it for either role."""

    drift: StoredDrift
    prior: Prior


def stored(f: Finding, status: str = OPEN, resolved_at: str | None = None) -> Stored:
    drift = StoredDrift(f.fingerprint, f.account, f.region, f.type, f.id, f.kind.value, T0)
    return Stored(drift, Prior(status, text_hash(changes_json(f)), T0, resolved_at))


def cov(**kw: object) -> Coverage:
    base: dict[str, object] = {
        "read": frozenset({S3, SG}),
        "watched": frozenset({S3, SG}),
        "regions": frozenset({("prod", "us-east-1")}),
    }
    base.update(kw)
    return Coverage(**base)  # type: ignore[arg-type]


def plan(
    old: list[Stored], findings: list[Finding], coverage: Coverage | None = None
) -> LifecyclePlan:
    """As the store loads them: records this scan found, and open records it did not."""
    found = {f.fingerprint for f in findings if f.kind.is_drift}
    prior = {s.drift.fingerprint: s.prior for s in old if s.drift.fingerprint in found}
    unfound = [
        s.drift for s in old if s.drift.fingerprint not in found and s.prior.status != RESOLVED
    ]
    return plan_lifecycle(prior, unfound, findings, coverage or cov(), T1, DAY)


def test_a_new_drift_opens_with_an_event() -> None:
    f = finding(Kind.MODIFIED, "a")
    p = plan([], [f])
    [found] = p.found
    assert (found.transition, found.first_seen) == (NEW, T1)
    assert [e.event for e in p.events] == [EV_OPENED]
    assert p.events[0].changes == changes_json(f)


def test_the_same_drift_again_is_unchanged_and_silent() -> None:
    f = finding(Kind.MODIFIED, "a")
    p = plan([stored(f)], [f])
    assert [x.transition for x in p.found] == [UNCHANGED]
    assert p.found[0].first_seen == T0
    assert p.events == [] and p.resolved == []


def test_other_changes_are_a_change_event_keeping_first_seen() -> None:
    before = finding(Kind.MODIFIED, "a", "x")
    p = plan([stored(before)], [finding(Kind.MODIFIED, "a", "y")])
    assert [(x.transition, x.first_seen) for x in p.found] == [(CHANGED, T0)]
    assert [e.event for e in p.events] == [EV_CHANGED]


def test_in_sync_resolves_with_reason() -> None:
    old = stored(finding(Kind.MODIFIED, "a"))
    p = plan([old], [finding(Kind.IN_SYNC, "a")])
    assert [(r.drift.fingerprint, r.reason) for r in p.resolved] == [
        (old.drift.fingerprint, IN_SYNC)
    ]
    assert [(e.event, e.reason) for e in p.events] == [(EV_RESOLVED, IN_SYNC)]


def test_a_kind_change_resolves_the_old_record_and_opens_the_new() -> None:
    old = stored(finding(Kind.MODIFIED, "a"))
    p = plan([old], [finding(Kind.MISSING, "a")])
    assert [r.reason for r in p.resolved] == ["now missing"]
    assert [x.transition for x in p.found] == [NEW]


def test_reopened_within_the_window_keeps_first_seen() -> None:
    f = finding(Kind.MODIFIED, "a")
    p = plan([stored(f, RESOLVED, "2025-12-31T12:00:00Z")], [f])
    assert [(x.transition, x.first_seen) for x in p.found] == [(REOPENED, T0)]
    assert [e.event for e in p.events] == [EV_REOPENED]


def test_reopened_after_the_window_starts_afresh() -> None:
    f = finding(Kind.MODIFIED, "a")
    p = plan([stored(f, RESOLVED, "2025-12-30T00:00:00Z")], [f])
    assert [(x.transition, x.first_seen) for x in p.found] == [(REOPENED, T1)]


def test_not_checked_resource_keeps_its_drift() -> None:
    old = stored(finding(Kind.MODIFIED, "a"))
    nc = finding(Kind.NOT_CHECKED, "a")
    p = plan([old], [nc], cov(unchecked=frozenset({nc.key}), declared=frozenset({nc.key})))
    assert p.resolved == [] and p.events == [] and p.found == []


def test_a_not_checked_finding_keeps_its_drift_even_without_coverage_entry() -> None:
    old = stored(finding(Kind.MODIFIED, "a"))
    assert plan([old], [finding(Kind.NOT_CHECKED, "a")]).resolved == []


def test_failed_scope_keeps_unmanaged_and_declared_drifts() -> None:
    olds = [stored(finding(Kind.UNMANAGED, "u")), stored(finding(Kind.MISSING, "m"))]
    key = finding(Kind.MISSING, "m").key
    p = plan(olds, [], cov(read=frozenset({SG}), failed=frozenset({S3}), declared=frozenset({key})))
    assert p.resolved == []


def test_unmanaged_gone_from_a_read_watched_scope_resolves() -> None:
    p = plan([stored(finding(Kind.UNMANAGED, "u"))], [])
    assert [r.reason for r in p.resolved] == [NO_LONGER_LIVE]


def test_unmanaged_now_declared_resolves_as_declared() -> None:
    p = plan([stored(finding(Kind.UNMANAGED, "u"))], [finding(Kind.MODIFIED, "u")])
    assert [r.reason for r in p.resolved] == [NOW_DECLARED]
    assert [x.transition for x in p.found] == [NEW]


def test_unmanaged_in_a_scope_no_longer_watched_resolves_with_its_reason() -> None:
    p = plan([stored(finding(Kind.UNMANAGED, "u"))], [], cov(watched=frozenset({SG})))
    assert [r.reason for r in p.resolved] == [NOT_WATCHED]


def test_unmanaged_in_a_watched_scope_this_scan_did_not_read_stays() -> None:
    p = plan([stored(finding(Kind.UNMANAGED, "u"))], [], cov(read=frozenset({SG})))
    assert p.resolved == []


def test_removed_declaration_resolves_even_when_its_scope_was_not_read() -> None:
    # scan.unmanaged = false: the scope was planned only for this declaration.
    old = stored(finding(Kind.MODIFIED, "a"))
    p = plan([old], [], cov(read=frozenset(), watched=frozenset()))
    assert [r.reason for r in p.resolved] == [NO_LONGER_DECLARED]


def test_still_declared_but_not_read_this_scan_stays() -> None:
    f = finding(Kind.MISSING, "m")
    p = plan([stored(f)], [], cov(read=frozenset(), declared=frozenset({f.key})))
    assert p.resolved == []


def test_declared_drift_in_a_region_no_longer_watched_says_so() -> None:
    eu = Scope("prod", "eu-west-1", "aws_s3_bucket")
    old = stored(finding(Kind.MODIFIED, "a", scope=eu))
    p = plan([old], [])
    assert [r.reason for r in p.resolved] == [NOT_WATCHED]


def test_a_drift_an_ignore_rule_now_hides_resolves_as_ignored() -> None:
    # Without the rule, a still-declared missing resource would stay open, and an
    # unmanaged one would resolve as "no longer live" while it still is.
    gone, tmp = finding(Kind.MISSING, "m"), finding(Kind.UNMANAGED, "tmp-1")
    coverage = cov(declared=frozenset({gone.key}), ignored=frozenset({gone.key, tmp.key}))
    p = plan([stored(gone), stored(tmp)], [], coverage)
    assert [(r.drift.resource_id, r.reason) for r in p.resolved] == [
        ("m", IGNORED),
        ("tmp-1", IGNORED),
    ]
    assert [e.reason for e in p.events] == [IGNORED, IGNORED]


def test_an_ignored_resource_that_was_not_checked_keeps_its_drift() -> None:
    old = stored(finding(Kind.MISSING, "m"))
    nc = finding(Kind.NOT_CHECKED, "m")
    p = plan([old], [nc], cov(unchecked=frozenset({nc.key}), ignored=frozenset({nc.key})))
    assert p.resolved == []


def test_resolved_records_are_never_resolved_again() -> None:
    old = stored(finding(Kind.MODIFIED, "a"), RESOLVED, T0)
    assert plan([old], [finding(Kind.IN_SYNC, "a")]).resolved == []


def test_in_sync_findings_make_no_records() -> None:
    p = plan([], [finding(Kind.IN_SYNC, "a"), finding(Kind.NOT_CHECKED, "b")])
    assert p.found == [] and p.events == []


# --- acknowledged drifts ---------------------------------------------------------------


def test_an_acknowledged_drift_stays_acknowledged_while_unchanged() -> None:
    f = finding(Kind.MODIFIED, "a")
    p = plan([stored(f, ACKNOWLEDGED)], [f])
    assert [(x.transition, x.status) for x in p.found] == [(UNCHANGED, ACKNOWLEDGED)]
    assert p.events == [] and p.resolved == []


def test_an_acknowledged_drift_that_changes_is_open_again_and_says_why() -> None:
    before = finding(Kind.MODIFIED, "a", "x")
    p = plan([stored(before, ACKNOWLEDGED)], [finding(Kind.MODIFIED, "a", "y")])
    assert [(x.transition, x.status, x.first_seen) for x in p.found] == [(CHANGED, OPEN, T0)]
    assert [(e.event, e.reason) for e in p.events] == [(EV_CHANGED, ACK_LIFTED_CHANGED)]


def test_an_open_drift_that_changes_has_no_acknowledgement_reason() -> None:
    before = finding(Kind.MODIFIED, "a", "x")
    p = plan([stored(before)], [finding(Kind.MODIFIED, "a", "y")])
    assert [e.reason for e in p.events] == [None]


def test_an_acknowledged_drift_resolves_as_an_open_one_does() -> None:
    old = stored(finding(Kind.MODIFIED, "a"), ACKNOWLEDGED)
    p = plan([old], [finding(Kind.IN_SYNC, "a")])
    assert [r.reason for r in p.resolved] == [IN_SYNC]


def test_an_acknowledged_drift_is_kept_when_not_checked() -> None:
    old = stored(finding(Kind.MODIFIED, "a"), ACKNOWLEDGED)
    p = plan([old], [finding(Kind.NOT_CHECKED, "a")], cov(unchecked=frozenset({old.drift.key})))
    assert p.resolved == [] and p.events == []


def test_a_resolved_drift_found_again_reopens_open_not_acknowledged() -> None:
    f = finding(Kind.MODIFIED, "a")
    p = plan([stored(f, RESOLVED, "2025-12-31T12:00:00Z")], [f])
    assert [(x.transition, x.status) for x in p.found] == [(REOPENED, OPEN)]


def test_a_snooze_lasts_through_its_day_in_utc() -> None:
    assert not snooze_over("2026-01-01", "2026-01-01T23:59:59Z")
    assert snooze_over("2026-01-01", "2026-01-02T00:00:00Z")
    assert not snooze_over(None, "2030-01-01T00:00:00Z")
