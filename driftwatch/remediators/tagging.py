"""Tag reverts for the APIs that tag and untag by key (most services but S3).

Both sides are canonical tag mappings, without AWS's own `aws:` tags (the canonical
form drops them), so a revert never tries to set or remove one of those.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from driftwatch.paths import split_path


@dataclass(frozen=True)
class TagDelta:
    """What to set (new or changed values) and which keys to remove, to turn `have` into `want`."""

    put: dict[str, str]
    remove: list[str]


def tag_delta(want: dict[str, str] | None, have: dict[str, str] | None) -> TagDelta:
    """The keys to set and to remove, both sorted, between canonical tag mappings."""
    want, have = want or {}, have or {}
    put = {k: v for k, v in sorted(want.items()) if have.get(k) != v}
    return TagDelta(put, sorted(set(have) - set(want)))


def tag_list(tags: dict[str, str], key: str = "Key", value: str = "Value") -> list[dict[str, str]]:
    """A mapping as AWS's `[{Key, Value}]` list (KMS names them TagKey, TagValue)."""
    return [{key: k, value: v} for k, v in tags.items()]


def key_paths(fixes: tuple[str, ...], keys: Iterable[str]) -> tuple[str, ...]:
    """The tag change paths among `fixes` (`tags.KEY`) that one call fixes: those of `keys`."""
    wanted = set(keys)
    picked = tuple(p for p in fixes if _tag_key(p) in wanted)
    return picked or fixes


def _tag_key(path: str) -> str | None:
    parts = split_path(path)
    return str(parts[1]) if len(parts) > 1 else None
