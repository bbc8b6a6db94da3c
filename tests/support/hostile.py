"""Hostile inputs shared by unit and end-to-end tests."""

from __future__ import annotations


def alias_bomb(levels: int = 7) -> str:
    """The billion-laughs shape: each level holds ten aliases of the one before (10**levels)."""
    lines = ["type: aws_s3_bucket", "id: bomb", "spec:", "  policy:"]
    lines.append("    l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]")
    for i in range(1, levels):
        lines.append(f"    l{i}: &l{i} [{','.join([f'*l{i - 1}'] * 10)}]")
    return "\n".join(lines) + "\n"
