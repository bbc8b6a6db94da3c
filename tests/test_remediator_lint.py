"""Every registered remediator sits beside its collector, and what it reads and orders is real."""

from __future__ import annotations

import pytest

import driftwatch.collectors
import driftwatch.remediators  # noqa: F401
from driftwatch.registry import collectors, remediators

ENTRIES = list(remediators)


@pytest.mark.parametrize("rtype,cls", ENTRIES, ids=[n for n, _ in ENTRIES])
def test_remediator_sits_beside_its_collector(rtype: str, cls: type) -> None:
    assert cls.type == rtype and rtype in collectors
    collector = collectors.get(rtype)
    assert cls.__module__.rsplit(".", 1)[-1] == collector.__module__.rsplit(".", 1)[-1]


@pytest.mark.parametrize("rtype,cls", ENTRIES, ids=[n for n, _ in ENTRIES])
def test_remediator_reads_are_collector_sources(rtype: str, cls: type) -> None:
    collector = collectors.get(rtype)
    for source in (*cls.reads, *cls.delete_reads):
        assert callable(getattr(collector, f"read_{source}", None)), (
            f"{rtype} reads {source!r} but its collector has no read_{source}"
        )


@pytest.mark.parametrize("rtype,cls", ENTRIES, ids=[n for n, _ in ENTRIES])
def test_remediator_options_are_explained_and_planned_in_order(rtype: str, cls: type) -> None:
    assert all(o.name and o.help for o in cls.options), cls.options
    unknown = set(cls.order) - set(collectors.get(rtype).attributes)
    assert not unknown, f"{rtype} orders attributes its collector does not have: {unknown}"
