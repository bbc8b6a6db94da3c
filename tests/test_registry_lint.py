"""Every registered collector is documented, exemplified and tested (cf. c7n's PolicyMetaLint)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import driftwatch.collectors  # noqa: F401
from driftwatch.config import load_config
from driftwatch.declared.manifests import parse_manifests
from driftwatch.errors import RegistryError
from driftwatch.registry import Registry, collectors

ROOT = Path(__file__).parent.parent
DOCS = (ROOT / "docs" / "resource-types.md").read_text()
EXAMPLES = ROOT / "docs" / "examples" / "declared"
ENTRIES = list(collectors)


def section(rtype: str) -> str:
    m = re.search(rf"^## {re.escape(rtype)}\s*$(.*?)(?=^## |\Z)", DOCS, re.M | re.S)
    assert m, f"docs/resource-types.md has no '## {rtype}' section"
    return m.group(1)


@pytest.mark.parametrize("rtype,cls", ENTRIES, ids=[n for n, _ in ENTRIES])
def test_collector_is_declared_completely(rtype: str, cls: type) -> None:
    assert cls.__doc__ and cls.__doc__.strip(), f"{cls.__name__} needs a docstring"
    assert cls.type == rtype and cls.service and cls.identity and cls.attributes
    for name, attr in cls.attributes.items():
        assert attr.doc, f"{rtype}.{name} needs a doc"
        if attr.source != "list":
            assert callable(getattr(cls, f"read_{attr.source}", None)), (
                f"{rtype}.{name} names source {attr.source!r} but read_{attr.source} is missing"
            )


@pytest.mark.parametrize("rtype,cls", ENTRIES, ids=[n for n, _ in ENTRIES])
def test_collector_is_documented(rtype: str, cls: type) -> None:
    text = section(rtype)
    missing = [a for a in cls.attributes if f"`{a}`" not in text]
    assert not missing, f"docs/resource-types.md '## {rtype}' does not mention {missing}"


@pytest.mark.parametrize("rtype,cls", ENTRIES, ids=[n for n, _ in ENTRIES])
def test_collector_has_example_and_test_module(rtype: str, cls: type) -> None:
    examples = "".join(p.read_text() for p in EXAMPLES.iterdir())
    assert rtype in examples, f"no example of {rtype} under docs/examples/declared"
    module = cls.__module__.rsplit(".", 1)[-1]
    assert (ROOT / "tests" / f"test_collector_{module}.py").exists()


def test_example_manifests_are_valid(tmp_path: Path) -> None:
    cfg_path = tmp_path / "c.toml"
    cfg_path.write_text("[git]\nurl = 'x'\n")
    files = [(p.name, p.read_bytes()) for p in sorted(EXAMPLES.iterdir())]
    assert {r.type for r in parse_manifests(files, load_config(cfg_path))} == set(
        collectors.names()
    )


def test_registry_rejects_duplicates_and_lists_known_names() -> None:
    reg: Registry[int] = Registry("widget")
    reg.add("a", 1)
    with pytest.raises(RegistryError, match="already registered"):
        reg.add("a", 2)
    with pytest.raises(RegistryError, match="unknown widget 'b'; known: a"):
        reg.get("b")


def test_state_sources_are_documented() -> None:
    import driftwatch.declared.terraform.sources  # noqa: F401
    from driftwatch.registry import sources

    docs = (ROOT / "docs" / "terraform.md").read_text()
    assert sources.names() == ["cmd", "file", "git", "s3"]
    for name, cls in sources:
        assert cls.__doc__ and cls.__doc__.strip(), f"{cls.__name__} needs a docstring"
        assert f"`{name}:" in docs, f"docs/terraform.md does not document the {name} source"
    assert (ROOT / "tests" / "test_terraform_state.py").exists()


ALERTS_DOCS = (ROOT / "docs" / "alerts.md").read_text()


def _notifier_entries() -> list[tuple[str, type]]:
    import driftwatch.notifiers  # noqa: F401  (registers the built-ins)
    from driftwatch.registry import notifiers

    return list(notifiers)


@pytest.mark.parametrize("name,cls", _notifier_entries(), ids=[n for n, _ in _notifier_entries()])
def test_notifier_is_documented_and_tested(name: str, cls: type) -> None:
    assert cls.__doc__ and cls.__doc__.strip(), f"{cls.__name__} needs a docstring"
    assert getattr(cls, "type", None) == name, f"{cls.__name__}.type is not {name!r}"
    m = re.search(rf"^## {re.escape(name)}\s*$(.*?)(?=^## |\Z)", ALERTS_DOCS, re.M | re.S)
    assert m and m.group(1).strip(), f"docs/alerts.md has no '## {name}' section"
    for key in cls.keys:  # type: ignore[attr-defined]
        assert f"`{key}`" in m.group(1) or f"`{key} " in m.group(1), (
            f"docs/alerts.md '## {name}' does not mention `{key}`"
        )
    assert (ROOT / "tests" / f"test_notifier_{name}.py").exists(), f"no test_notifier_{name}.py"


def test_every_notifier_module_is_registered() -> None:
    modules = {p.stem for p in (ROOT / "driftwatch" / "notifiers").glob("*.py")} - {
        "__init__",
        "base",
    }
    assert modules == {name for name, _ in _notifier_entries()}


def test_every_type_has_a_remediator_that_is_documented_and_tested() -> None:
    import driftwatch.remediators  # noqa: F401
    from driftwatch.registry import remediators

    docs = (ROOT / "docs" / "remediation.md").read_text()
    assert set(remediators.names()) == set(collectors.names()), (
        "every resource type needs a remediator (driftwatch/remediators/)"
    )
    for rtype, cls in remediators:
        assert cls.__doc__ and cls.__doc__.strip(), f"{cls.__name__} needs a docstring"
        assert f"## Revert: {rtype}" in docs, f"docs/remediation.md needs '## Revert: {rtype}'"
        module = cls.__module__.rsplit(".", 1)[-1]
        assert (ROOT / "tests" / f"test_remediator_{module}.py").exists(), rtype
        for option in cls.options:
            assert f"`{option.name}`" in docs, f"docs/remediation.md must explain {option.name}"
