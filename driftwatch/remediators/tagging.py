"""Tag reverts for the APIs that tag and untag by key (most services but S3).

Both sides are canonical tag mappings, without AWS's own `aws:` tags (the canonical
form drops them), so a revert never tries to set or remove one of those. Only drifted
keys are touched (`sets.map_diff`): a key an ignore rule hides is left as it is.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from driftwatch.remediators import sets
from driftwatch.remediators.base import Target


@dataclass(frozen=True)
class TagDelta:
    """What to set (new or changed values) and which keys to remove, to turn `have` into `want`."""

    put: dict[str, str]
    remove: list[str]


def tag_delta(target: Target) -> TagDelta:
    """The drifted tag keys to set and to remove, both sorted."""
    diff = sets.map_diff(target, "tags")
    return TagDelta(diff.put, diff.remove)


def tag_list(tags: dict[str, str], key: str = "Key", value: str = "Value") -> list[dict[str, str]]:
    """A mapping as AWS's `[{Key, Value}]` list (KMS names them TagKey, TagValue)."""
    return [{key: k, value: v} for k, v in tags.items()]


def key_paths(target: Target, keys: Collection[str]) -> tuple[str, ...]:
    """The tag change paths one call fixes: those of `keys` (or the whole attribute)."""
    return sets.key_paths(target, "tags", keys)
