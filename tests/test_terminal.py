"""Outside text is printed with its control characters visible, never interpreted."""

from __future__ import annotations

import pytest

from driftwatch.terminal import escape, printable


@pytest.mark.parametrize(
    "raw,shown",
    [
        ("plain text, ünïcode ✓", "plain text, ünïcode ✓"),
        ("\x1b]0;title\x07", r"\x1b]0;title\x07"),
        ("a\nb\tc\r", r"a\nb\tc\r"),
        ("\x9b31m C1 CSI", r"\x9b31m C1 CSI"),
        ("abc\u202edcba", r"abc\u202edcba"),
    ],
)
def test_printable(raw: str, shown: str) -> None:
    assert printable(raw) == shown


def test_escape_also_escapes_rich_markup() -> None:
    assert escape("[bold]\x1b[31m") == r"\[bold]\x1b[31m"
