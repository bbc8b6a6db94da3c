"""Text from AWS, Git or manifests made safe to print on a terminal."""

from __future__ import annotations

import re

from rich.markup import escape as _markup_escape

# C0 and C1 control characters (ESC starts ANSI/OSC sequences that recolour the
# terminal or retitle the window) and the bidi overrides that reorder what is shown.
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def printable(text: str) -> str:
    """`text` with every control character shown as its escape (`\\x1b`, `\\n`, `\\u202e`)."""
    return _UNSAFE.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)


def escape(text: str) -> str:
    """Rich markup escaping of `printable(text)`: for any outside data in a report line."""
    return _markup_escape(printable(text))
