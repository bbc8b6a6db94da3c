"""The docs a new user follows: install lines, the quick start, the command list."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from driftwatch.cli import cli

ROOT = Path(__file__).parent.parent
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
DIST = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["name"]


def _lines(pattern: str) -> list[str]:
    found = re.compile(pattern)
    return [
        f"{doc.name}:{n}: {line.strip()}"
        for doc in DOCS
        for n, line in enumerate(doc.read_text().splitlines(), 1)
        if found.search(line)
    ]


def test_every_install_line_names_this_distribution() -> None:
    assert DIST == "driftwatch-aws"  # "driftwatch" on PyPI is an unrelated project
    installs = _lines(r"pip install (?!\.)(?!py-spy|c7n)")
    assert installs
    # A line may name the wrong package only to warn about it.
    wrong = [line for line in installs if DIST not in line and "unrelated" not in line]
    assert not wrong, wrong


def test_the_quick_start_venv_is_not_the_data_directory() -> None:
    readme = (ROOT / "README.md").read_text()
    venvs = re.findall(r"python3 -m venv (\S+)", readme)
    assert venvs and all(not v.rstrip("/").endswith("/.driftwatch") for v in venvs), venvs


def test_the_quick_start_starts_from_the_minimum_not_the_example() -> None:
    assert not _lines(r"[Cc]opy `?config\.example\.toml"), "the example fetches a fake URL"
    readme = (ROOT / "README.md").read_text()
    assert "start `driftwatch.toml` from the minimum" in readme


def test_every_command_is_in_the_operations_command_list() -> None:
    ops = (ROOT / "docs" / "operations.md").read_text()
    listing = ops[ops.index("## Commands") : ops.index("## Exit codes")]
    for name in cli.commands:
        assert f"driftwatch {name}" in listing and f"- `{name}`" in listing, name


def test_aws_endpoint_url_is_documented() -> None:
    assert _lines(r"`AWS_ENDPOINT_URL`")
