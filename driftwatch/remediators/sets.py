"""Differences between canonical forms, limited to what drifted: what to add, change, remove.

A change path names a key below its attribute (`tags.team`, `ingress["tcp 22-22 self"]`)
unless the attribute changed as a whole; keys an ignore rule hides have no change
path, so a plan built from these never touches them.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from driftwatch.paths import split_path
from driftwatch.remediators.base import Target


@dataclass(frozen=True)
class MapDiff:
    """A mapping attribute's drifted keys: missing live, different live, extra live."""

    add: dict[str, Any]
    change: dict[str, Any]
    remove: list[str]

    @property
    def put(self) -> dict[str, Any]:
        """The declared values to write: missing and different keys, by key."""
        return dict(sorted({**self.add, **self.change}.items()))


def changed_keys(target: Target, attr: str) -> set[str] | None:
    """Keys of a mapping attribute its change paths name; None when it changed as a whole."""
    keys = set()
    for path in target.paths(attr):
        parts = split_path(path)
        if len(parts) < 2:
            return None
        keys.add(parts[1])
    return keys


def map_diff(target: Target, attr: str) -> MapDiff:
    """What differs between the canonical declared and live mappings, drifted keys only."""
    want, have = target.want.get(attr) or {}, target.have.get(attr) or {}
    touch = changed_keys(target, attr)

    def drifted(key: str) -> bool:
        return touch is None or key in touch

    return MapDiff(
        add={k: v for k, v in sorted(want.items()) if k not in have and drifted(k)},
        change={k: v for k, v in sorted(want.items()) if k in have and have[k] != v and drifted(k)},
        remove=sorted(k for k in have if k not in want and drifted(k)),
    )


def set_diff(target: Target, attr: str) -> tuple[list[str], list[str]]:
    """(missing live, extra live) of a set attribute, each sorted."""
    want, have = set(target.want.get(attr) or ()), set(target.have.get(attr) or ())
    return sorted(want - have), sorted(have - want)


def key_paths(target: Target, attr: str, keys: Collection[str]) -> tuple[str, ...]:
    """The change paths under `attr` that name one of `keys` (or the whole attribute)."""
    out = []
    for path in target.paths(attr):
        parts = split_path(path)
        if len(parts) < 2 or parts[1] in keys:
            out.append(path)
    return tuple(out)
