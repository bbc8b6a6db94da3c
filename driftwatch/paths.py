"""Attribute paths as shown in changes (`tags.team`, `ingress["tcp 22-22 …"]`) and globs."""

from __future__ import annotations

import re
from collections.abc import Sequence
from fnmatch import fnmatchcase
from typing import Any

_PLAIN_KEY = re.compile(r"^[A-Za-z0-9_:/@+=\-*?]+$")
_PART = re.compile(r'\["([^"]*)"\]|([^.\[\]]+)')


def join_path(parts: Sequence[Any]) -> str:
    """['tags', 'team'] → 'tags.team'; keys with dots or spaces go in brackets: 'tags["a.b"]'."""
    out = ""
    for p in parts:
        key = str(p)
        out += (f".{key}" if out else key) if _PLAIN_KEY.match(key) else f'["{key}"]'
    return out


def split_path(path: str) -> list[str]:
    """The inverse of join_path()."""
    return [a or b for a, b in _PART.findall(path)]


def path_matches(pattern: str, parts: Sequence[str]) -> bool:
    """True when a glob path names this path or one of its parents, component by component.

    Patterns use the same syntax as change paths, so a path copied from a report
    works as is; `*` and `?` match within one component (`tags.*`, `ingress["tcp 22-*"]`).
    """
    globs = split_path(pattern)
    return (
        bool(globs)
        and len(globs) <= len(parts)
        and all(fnmatchcase(part, glob) for part, glob in zip(parts, globs, strict=False))
    )
