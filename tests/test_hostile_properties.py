"""Property-based hostile input (hypothesis) for manifests and config: random structures,
types, unicode, huge values, deep nesting, duplicate keys, anchors and aliases. Each case
ends in a valid result or a clear ManifestError/ConfigError, within a deadline.

The counts of cases tried and failures found are in docs/reliability.md ("Hostile input").
"""

from __future__ import annotations

import datetime as dt
import io
import json
import math
import os
import re
import time
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

import driftwatch.collectors  # noqa: F401  (registers the built-in collectors)
from driftwatch.config import Config, load_config, parse_config
from driftwatch.declared.manifests import parse_manifests
from driftwatch.diff import diff_resource
from driftwatch.errors import ConfigError, DriftwatchError, ManifestError
from driftwatch.models import DeclaredResource, Finding, Kind, LiveResource
from driftwatch.registry import collectors

EXAMPLES = int(os.environ.get("DRIFTWATCH_HYPOTHESIS_EXAMPLES", "60"))
PROFILE = settings(
    max_examples=EXAMPLES,
    deadline=dt.timedelta(seconds=30),  # a hang guard; parse time is bounded by size below
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    # The same cases on every run; a longer exploring run sets both variables.
    derandomize="DRIFTWATCH_HYPOTHESIS_RANDOM" not in os.environ,
)
HEAVY = settings(PROFILE, max_examples=max(10, EXAMPLES // 3))  # large or deep documents
KEY = b"k" * 32
TYPES = collectors.names()
ATTRS = sorted({a for t in TYPES for a in collectors.get(t).attributes})

# --- values ---------------------------------------------------------------------------------

texts = st.one_of(
    st.text(max_size=20),
    st.text(st.characters(codec="utf-8"), min_size=1, max_size=8),  # any code point
    st.sampled_from(
        [
            "<script>alert(1)</script>",
            "\u202eevil",
            "\x1b[31mred",
            "${DRIFTWATCH_X}",
            "*",
            "&a",
            "tcp 22-22 0.0.0.0/0",
            "arn:aws:iam::123456789012:role/x",
            "Enabled",
        ]
    ),
    st.integers(1000, 30_000).map(lambda n: "x" * n),  # long strings
)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.sampled_from([10**400, -(10**400), 2**63, -(2**63) - 1]),  # huge integers
    st.floats(allow_nan=True, allow_infinity=True),
    texts,
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=5),
        st.dictionaries(st.one_of(st.sampled_from(ATTRS), texts), inner, max_size=5),
    ),
    max_leaves=25,
)
specs = st.dictionaries(st.one_of(st.sampled_from(ATTRS), texts), values, max_size=5)
resources = st.fixed_dictionaries(
    {"type": st.one_of(st.sampled_from(TYPES), texts)},
    optional={
        "id": st.one_of(texts, st.integers(), st.booleans(), values),
        "region": st.one_of(st.sampled_from(["us-east-1", "eu-west-1", "global"]), scalars),
        "account": st.one_of(st.sampled_from(["default", "prod"]), scalars),
        "spec": st.one_of(specs, values),
        "ignore": st.one_of(st.lists(texts, max_size=3), values),
        "extra": values,
    },
)
documents = st.one_of(
    resources,
    st.fixed_dictionaries({"resources": st.lists(resources, max_size=6)}),
    st.fixed_dictionaries({"resources": values}),
    values,
)


def manifest_config(tmp_path: Path) -> Config:
    return parse_config(
        {
            "git": {"url": "https://example.com/infra.git"},
            "aws": {"regions": ["us-east-1", "eu-west-1"]},
        },
        tmp_path / "driftwatch.toml",
    )


def as_yaml(doc: Any) -> bytes:
    out = io.StringIO()
    YAML(typ="safe", pure=True).dump(doc, out)
    return out.getvalue().encode()


def as_json(doc: Any) -> bytes:
    return json.dumps(doc, ensure_ascii=False).encode()  # NaN and Infinity included


def as_ascii_json(doc: Any) -> bytes:
    return json.dumps(doc).encode()  # "\ud83d\ude42" escapes outside the BMP


def parse_budget_s(data: bytes) -> float:
    """CPU time allowed for a parse: linear in the size. ruamel's round-trip parser reads
    about 35 KB/s of token-dense flow YAML on this machine; 10 KB/s is allowed, plus 5 s
    (a garbage collection of hypothesis's own data can land inside the timed part)."""
    return 5.0 + len(data) / 10_000


def check_manifest(cfg: Config, data: bytes, path: str = "declared/x.yaml") -> list[Any]:
    """The property: resources, or a ManifestError whose every line names the file; in
    time linear in the input's size."""
    t0 = time.process_time()  # CPU time: the machine is shared; wall time is not ours
    try:
        found = parse_manifests([(path, data)], cfg)
    except ManifestError as exc:
        assert exc.problems and all(p.startswith(path) for p in exc.problems), exc.problems
        assert all("Traceback" not in p for p in exc.problems)
        found = []
    took = time.process_time() - t0
    assert took < parse_budget_s(data), (took, len(data))
    for res in found:
        assert isinstance(res, DeclaredResource) and res.id.strip()
        diff_against_itself(res)
    return found


def diff_against_itself(res: DeclaredResource) -> None:
    """A valid declared resource diffed against a live one with the same attributes: a
    finding (in sync or modified: live shapes differ from declared ones), never a crash."""
    collector = collectors.get(res.type)()
    live = LiveResource(res.type, res.id, res.account, res.region, attrs=dict(res.spec))
    try:
        finding = diff_resource(collector, res, live, (), dt.date(2026, 1, 1), secret_key=KEY)
    except DriftwatchError:
        return
    assert isinstance(finding, Finding) and finding.kind in (Kind.IN_SYNC, Kind.MODIFIED)


# --- manifests ------------------------------------------------------------------------------


@HEAVY
@given(doc=documents, fmt=st.sampled_from([as_yaml, as_json, as_ascii_json]))
def test_random_manifest_structures(tmp_path_factory: Any, doc: Any, fmt: Any) -> None:
    cfg = manifest_config(tmp_path_factory.getbasetemp())
    try:
        data = fmt(doc)
    except (ValueError, TypeError, RecursionError):  # not representable in that format
        return
    check_manifest(cfg, data, "declared/x.json" if fmt is not as_yaml else "declared/x.yaml")


YAML_BITS = [
    "resources:",
    "- ",
    "type: ",
    "aws_s3_bucket",
    "id: ",
    "spec:",
    "tags:",
    "  ",
    "\n",
    "{",
    "}",
    "[",
    "]",
    ",",
    ": ",
    "&a ",
    "*a",
    "!!python/object:os.system ",
    "!!binary ",
    "? ",
    "|",
    ">",
    "'",
    '"',
    "#",
    "---",
    "...",
    "%YAML 1.1\n",
    "<<: *a",
    "~",
    "\t",
    "\ufeff",
    "\x00",
    "\u2028",
    "é",
    "🙂",
    "1e999",
    "0x10",
    "0x" + "f" * 20,
    "9" * 4400,
    "2024-01-01",
    "2024-02-30",
    "2024-13-01",
    "!!int ",
    "!!float ",
    "!!timestamp ",
    "yes",
    "null",
]


@PROFILE
@given(parts=st.lists(st.one_of(st.sampled_from(YAML_BITS), st.text(max_size=5)), max_size=40))
def test_random_yaml_text(tmp_path_factory: Any, parts: list[str]) -> None:
    cfg = manifest_config(tmp_path_factory.getbasetemp())
    check_manifest(cfg, "".join(parts).encode("utf-8", "surrogatepass"))


@PROFILE
@given(data=st.binary(max_size=200))
def test_random_bytes(tmp_path_factory: Any, data: bytes) -> None:
    check_manifest(manifest_config(tmp_path_factory.getbasetemp()), data)


@HEAVY
@given(depth=st.integers(1, 20_000), flow=st.booleans(), mapping=st.booleans())
def test_deep_nesting_is_refused_or_read(
    tmp_path_factory: Any, depth: int, flow: bool, mapping: bool
) -> None:
    if not flow:
        depth = min(depth, 1500)  # block style indents each level: the text grows as depth²
    if flow:
        open_, close = ("{a: ", "}") if mapping else ("[", "]")
        value = open_ * depth + "1" + close * depth
    else:
        value = "".join(f"\n{'  ' * (i + 2)}{'a:' if mapping else '-'}" for i in range(depth))
        value += " 1"
    text = f"type: aws_s3_bucket\nid: deep\nspec:\n  tags: {value}\n"
    found = check_manifest(manifest_config(tmp_path_factory.getbasetemp()), text.encode())
    if depth > 2:
        assert found == [], found  # tags are one level deep (tags: {a: 1} is one)


@PROFILE
@given(
    key=st.sampled_from(["type", "id", "spec", "tags", "team", "versioning"]),
    where=st.integers(0, 2),
)
def test_duplicate_keys_are_problems_with_their_line(
    tmp_path_factory: Any, key: str, where: int
) -> None:
    lines = [
        "type: aws_s3_bucket",
        "id: logs",
        "spec:",
        "  versioning: Enabled",
        "  tags:",
        "    team: web",
    ]
    indent = {"type": "", "id": "", "spec": "", "versioning": "  ", "tags": "  "}.get(key, "    ")
    value = {"spec": "{}", "tags": "{}"}.get(key, "x")
    at = {"": 2, "  ": 4, "    ": 6}[indent] - where % 2
    lines.insert(max(at, 1) if indent else len(lines), f"{indent}{key}: {value}")
    cfg = manifest_config(tmp_path_factory.getbasetemp())
    try:
        parse_manifests([("d.yaml", "\n".join(lines).encode())], cfg)
    except ManifestError as exc:
        [problem] = exc.problems
        assert re.match(r"d\.yaml:\d+: ", problem) and "duplicate" in problem, problem
        return
    raise AssertionError(f"duplicate key {key!r} accepted:\n" + "\n".join(lines))


@PROFILE
@given(levels=st.integers(1, 12), width=st.integers(1, 30), merge=st.booleans())
def test_anchors_and_aliases_are_refused_without_expanding(
    tmp_path_factory: Any, levels: int, width: int, merge: bool
) -> None:
    lines = ["type: aws_s3_bucket", "id: bomb", "spec:", "  tags:", "    l0: &l0 [lol]"]
    for i in range(1, levels):
        if merge:
            lines.append(f"    l{i}: &l{i} {{<<: *l{i - 1}, x{i}: y}}")
        else:
            lines.append(f"    l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * width)}]")
    cfg = manifest_config(tmp_path_factory.getbasetemp())
    try:
        parse_manifests([("b.yaml", "\n".join(lines).encode())], cfg)
    except ManifestError as exc:
        assert exc.problems[0].startswith("b.yaml:5: YAML anchor or alias '&l0'"), exc.problems
        return
    raise AssertionError("an anchor was accepted")


# --- config ---------------------------------------------------------------------------------

SECTIONS: dict[str, list[str]] = {
    "git": ["url", "branch", "path", "on_fetch_error"],
    "aws": [
        "regions",
        "endpoint_url",
        "max_concurrency",
        "max_attempts",
        "connect_timeout",
        "read_timeout",
    ],
    "storage": ["path", "data_dir", "retention_days"],
    "scan": ["unmanaged", "types", "max_declared_drop", "reopen_window"],
    "alerts": ["max_attempts", "backoff", "max_backoff"],
    "dashboard": ["base_url"],
}
TABLE_ARRAYS: dict[str, list[str]] = {
    "aws.accounts": ["name", "role_arn", "regions", "external_id"],
    "ignore": ["kind", "type", "id", "path", "reason", "expires"],
    "schedules": ["name", "interval", "cron", "accounts", "regions", "types"],
    "severity": ["type", "path", "kind", "severity"],
    "alerts.channels": [
        "name",
        "type",
        "min_severity",
        "types",
        "accounts",
        "kinds",
        "notify_resolved",
        "notify_scan_failures",
        "url",
        "webhook_url",
        "smtp_host",
        "to",
        "from",
    ],
    "terraform": [
        "name",
        "from",
        "config",
        "workspaces",
        "workspace_key_prefix",
        "account",
        "state_account",
        "trust_computed",
    ],
}
config_values = st.one_of(
    values,
    st.sampled_from(
        [
            "15m",
            "0s",
            "-1s",
            "1000000000d",
            "*/5 * * * *",
            "99 99 * * *",
            "us-east-1",
            "cn-north-1",
            "https://example.com",
            "http://",
            "file:///etc/passwd",
            "s3://b/k",
            "cmd:terraform show -json",
            "aws_s3_bucket",
            "aws_*",
            "modified",
            "critical",
            "2024-02-30",
            "use_last",
            "${DRIFTWATCH_UNSET}",
            "-",
            "",
        ]
    ),
    st.sampled_from([0, -1, 1, 2**31, 10**20, 0.5, 1.5, math.inf, math.nan]),
)


def tables(keys: list[str]) -> st.SearchStrategy[dict[str, Any]]:
    return st.dictionaries(st.one_of(st.sampled_from(keys), texts), config_values, max_size=6)


raw_configs = st.fixed_dictionaries(
    {
        "git": st.one_of(
            tables(SECTIONS["git"]).map(lambda t: {"url": "x.git", **t}), config_values
        ),
    },
    optional={
        **{
            name: st.one_of(tables(keys), config_values)
            for name, keys in SECTIONS.items()
            if name != "git"
        },
        **{
            name: st.lists(st.one_of(tables(keys), config_values), max_size=3)
            for name, keys in TABLE_ARRAYS.items()
            if "." not in name
        },
        "accounts": st.lists(tables(TABLE_ARRAYS["aws.accounts"]), max_size=3),
        "channels": st.lists(tables(TABLE_ARRAYS["alerts.channels"]), max_size=3),
        "junk": config_values,
    },
)


def nest(raw: dict[str, Any]) -> dict[str, Any]:
    """`accounts`/`channels` go under [aws]/[alerts] when those are tables."""
    for key, parent in (("accounts", "aws"), ("channels", "alerts")):
        if key in raw:
            items = raw.pop(key)
            if isinstance(raw.get(parent, {}), dict):
                raw[parent] = {**raw.get(parent, {}), key: items}
    return raw


def check_config(raw: dict[str, Any], path: Path) -> None:
    try:
        cfg = parse_config(raw, path)
    except ConfigError as exc:
        assert str(exc).startswith(str(path)), exc
        assert "\n" not in exc.message or len(exc.message) < 100_000
        return
    assert isinstance(cfg, Config)
    assert cfg.aws.accounts and all(a.regions for a in cfg.aws.accounts)
    for x in (cfg.aws.connect_timeout, cfg.aws.read_timeout, cfg.scan.max_declared_drop):
        assert math.isfinite(x), cfg.aws


@PROFILE
@given(raw=raw_configs)
def test_random_config_structures(tmp_path_factory: Any, raw: dict[str, Any]) -> None:
    check_config(nest(raw), tmp_path_factory.getbasetemp() / "driftwatch.toml")


def toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return (
            "nan" if math.isnan(v) else ("inf" if v > 0 else "-inf") if math.isinf(v) else repr(v)
        )
    if isinstance(v, int):
        return str(v)
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)
    if isinstance(v, list):
        return "[" + ", ".join(toml_value(x) for x in v if x is not None) + "]"
    if isinstance(v, dict):
        return (
            "{"
            + ", ".join(
                f"{json.dumps(str(k))} = {toml_value(x)}" for k, x in v.items() if x is not None
            )
            + "}"
        )
    return '""'


@PROFILE
@given(
    raw=raw_configs,
    noise=st.lists(st.sampled_from([*YAML_BITS, "[[", "]]", "=", '"""']), max_size=3),
)
def test_random_config_files(tmp_path_factory: Any, raw: dict[str, Any], noise: list[str]) -> None:
    lines = []
    for name, value in nest(raw).items():
        if isinstance(value, dict):
            lines.append(f"[{name}]")
            lines += [
                f"{json.dumps(str(k))} = {toml_value(v)}" for k, v in value.items() if v is not None
            ]
        elif value is not None:
            lines.append(f"{name} = {toml_value(value)}")
    lines.insert(len(lines) // 2, "".join(noise))
    path = tmp_path_factory.getbasetemp() / "random.toml"
    path.write_text("\n".join(lines), encoding="utf-8")
    try:
        cfg = load_config(path)
    except ConfigError as exc:
        assert str(exc).startswith(str(path)), exc
        return
    assert isinstance(cfg, Config)
