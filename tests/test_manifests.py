"""Manifest parsing: both file shapes, defaults, and problems reported with file:line."""

from __future__ import annotations

from pathlib import Path

import pytest

import driftwatch.collectors  # noqa: F401
from driftwatch.config import load_config
from driftwatch.declared.manifests import parse_manifests
from driftwatch.errors import ManifestError


@pytest.fixture
def cfg(tmp_path: Path):
    path = tmp_path / "driftwatch.toml"
    path.write_text(
        "[git]\nurl = 'x'\n[aws]\nregions = ['eu-west-1', 'us-east-1']\n"
        "[[aws.accounts]]\nname = 'prod'\n[[aws.accounts]]\nname = 'dev'\n"
    )
    return load_config(path)


def parse(cfg, **files: str):
    return parse_manifests(
        [(k.replace("__", "/") + ".yaml", v.encode()) for k, v in files.items()], cfg
    )


def test_both_shapes_and_defaults(cfg) -> None:
    res = parse(
        cfg,
        a="resources:\n  - type: aws_s3_bucket\n    id: logs\n    spec: {tags: {team: x}}\n",
        b="type: aws_iam_role\nid: app\naccount: dev\nignore: ['tags.*']\n",
    )
    bucket, role = res
    assert (bucket.account, bucket.region, bucket.line, bucket.source) == (
        "prod",
        "eu-west-1",
        2,
        "a.yaml",
    )
    assert bucket.spec == {"tags": {"team": "x"}}
    assert (role.account, role.region, role.ignore) == ("dev", "global", ["tags.*"])


def test_plain_values_not_yaml_types(cfg) -> None:
    [res] = parse(
        cfg,
        a="type: aws_iam_role\nid: 42\nspec:\n  max_session_duration: 3600\n"
        "  tags: {since: 2024-01-01, n: 1.5}\n",
    )
    assert res.id == "42"
    assert type(res.spec["max_session_duration"]) is int
    assert res.spec["tags"] == {"since": "2024-01-01", "n": 1.5}


def test_empty_files_and_lists_are_fine(cfg) -> None:
    assert parse(cfg, a="", b="resources: []\n", c="resources:\n") == []


def test_every_problem_is_reported_at_once(cfg) -> None:
    with pytest.raises(ManifestError) as err:
        parse(
            cfg,
            a="resources:\n  - type: nope\n    id: x\n  - type: aws_s3_bucket\n"
            "    spec: {versioning: 1}\n  - 3\n",
        )
    problems = err.value.problems
    assert problems[0].startswith("a.yaml:2: unknown type 'nope'")
    assert "a.yaml:4: `id` must be a non-empty string" in problems
    assert any(p.startswith("a.yaml:5: aws_s3_bucket.versioning") for p in problems)
    assert "a.yaml:6: a resource must be a mapping, got a number" in problems


def test_no_files_is_an_error(cfg) -> None:
    with pytest.raises(ManifestError, match="no manifest files"):
        parse_manifests([], cfg)


def test_parse_cache_reuses_valid_files_and_relocates_problems(cfg, tmp_path) -> None:
    from driftwatch.declared.manifests import ParseCache

    good = (
        b"resources:\n  - type: aws_s3_bucket\n    id: logs\n    account: dev\n"
        b"    spec: {versioning: Enabled}\n"
    )
    cache_path = tmp_path / "cache.json"
    first = parse_manifests([("a.yaml", good)], cfg, ParseCache(cache_path))
    assert cache_path.exists()
    second = parse_manifests([("a.yaml", good)], cfg, ParseCache(cache_path))
    assert second == first and second[0].line == 2
    # The same cached file is invalid under a config without `dev`: the error keeps its line.
    other = tmp_path / "other.toml"
    other.write_text("[git]\nurl = 'x'\n[[aws.accounts]]\nname = 'prod'\n")
    with pytest.raises(ManifestError) as err:
        parse_manifests([("a.yaml", good)], load_config(other), ParseCache(cache_path))
    assert err.value.problems[0].startswith("a.yaml:4: unknown account 'dev'")


def test_invalid_files_are_never_cached(cfg, tmp_path) -> None:
    from driftwatch.declared.manifests import ParseCache

    bad = b"type: aws_s3_bucket\nid: 2024-01-01\n"
    for _ in range(2):
        with pytest.raises(ManifestError, match=r"a\.yaml:1: `id` must be a non-empty string"):
            parse_manifests([("a.yaml", bad)], cfg, ParseCache(tmp_path / "c.json"))


def test_parse_cache_keeps_other_configs_entries_within_a_cap(tmp_path) -> None:
    from driftwatch.declared.manifests import ParseCache

    path = tmp_path / "c.json"
    first = ParseCache(path)
    first.put("a", [({"type": "x"}, 1)])
    first.save()
    second = ParseCache(path)
    second.put("b", [({"type": "y"}, 2)])
    second.save()
    third = ParseCache(path)
    assert third.get("a") == [({"type": "x"}, 1)] and third.get("b") is not None
    third.put("c", [])
    third.save()
    fourth = ParseCache(path)
    fourth.MAX_FILES = 2
    fourth.put("d", [])
    fourth.save()  # this run's entry, then the most recent older one
    assert set(ParseCache(path)._old) == {"c", "d"}


@pytest.fixture
def two_accounts(tmp_path: Path):
    path = tmp_path / "two.toml"
    path.write_text(
        "[git]\nurl = 'x'\n[aws]\nregions = ['us-east-1']\n"
        "[[aws.accounts]]\nname = 'prod'\n"
        "[[aws.accounts]]\nname = 'eu'\nregions = ['eu-west-1', 'eu-central-1']\n"
    )
    return load_config(path)


def test_region_defaults_to_the_accounts_first_region(two_accounts) -> None:
    prod, eu = parse(
        two_accounts,
        a="resources:\n  - {type: aws_s3_bucket, id: a}\n"
        "  - {type: aws_s3_bucket, id: b, account: eu}\n",
    )
    assert (prod.account, prod.region) == ("prod", "us-east-1")
    assert (eu.account, eu.region) == ("eu", "eu-west-1")


@pytest.mark.parametrize(
    "entry,expected",
    [
        (
            "region: eu-west-1\n",
            "a.yaml:4: region 'eu-west-1' is not watched by account 'prod' (regions: us-east-1)",
        ),
        ("region: global\n", "a.yaml:4: aws_s3_bucket is regional; 'global' is only for"),
        ("region: [us-east-1]\n", "a.yaml:4: `region` must be a region name"),
    ],
)
def test_region_must_be_one_the_account_watches(two_accounts, entry: str, expected: str) -> None:
    with pytest.raises(ManifestError) as err:
        parse(two_accounts, a="type: aws_s3_bucket\nid: x\naccount: prod\n" + entry)
    assert err.value.problems[0].startswith(expected), err.value.problems


def test_a_bad_list_item_is_reported_at_its_own_line(cfg) -> None:
    text = (
        "type: aws_security_group\n"  # 1
        "id: web\n"
        "spec:\n"
        "  ingress:\n"  # 4
        "    - {protocol: tcp, from_port: 443, to_port: 443, cidr_blocks: [0.0.0.0/0]}\n"
        "    - protocol: tcp\n"  # 6
        "      from_port: 22\n"
        "      to_port: ssh\n"
        "      cidr_blocks: [10.0.0.0/8]\n"
        "  tags:\n"  # 10
        "    team: web\n"
        "    owner: {name: x}\n"  # 12
    )
    with pytest.raises(ManifestError) as err:
        parse(cfg, a=text)
    lines = sorted(p.split(":")[1] for p in err.value.problems)
    assert lines == ["12", "6"], err.value.problems
    assert "aws_security_group.ingress rule 1 needs an integer to_port" in err.value.problems[0]


@pytest.mark.parametrize(
    "text,line,found",
    [
        ("type: aws_s3_bucket\nid: a\nspec:\n  tags: &t {a: b}\n", 4, "'&t'"),
        (
            "resources:\n  - type: aws_s3_bucket\n    id: a\n"
            "  - type: aws_s3_bucket\n    id: b\n    spec:\n      <<: *base\n",
            7,
            "'*base'",
        ),
    ],
)
def test_anchors_and_aliases_are_refused_at_their_line(
    cfg, text: str, line: int, found: str
) -> None:
    with pytest.raises(ManifestError) as err:
        parse(cfg, a=text)
    [problem] = err.value.problems
    assert problem.startswith(f"a.yaml:{line}: YAML anchor or alias {found} found"), problem
    assert "write the value out in full" in problem


def test_alias_bomb_costs_no_time_or_memory(cfg) -> None:
    import time
    import tracemalloc

    from support.hostile import alias_bomb

    tracemalloc.start()
    start = time.monotonic()
    with pytest.raises(ManifestError, match=r"a\.yaml:5: YAML anchor or alias '&l0'"):
        parse(cfg, a=alias_bomb(levels=8))
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert time.monotonic() - start < 1 and peak < 5_000_000, peak


def test_absurd_nesting_is_a_located_error_not_a_crash(cfg) -> None:
    deep = "[" * 5000 + "]" * 5000
    with pytest.raises(ManifestError) as err:
        parse(cfg, a=f"type: aws_s3_bucket\nid: a\nspec:\n  policy: {deep}\n")
    assert err.value.problems[0].startswith("a.yaml:4: nested more than 64 levels deep")


def test_json_surrogate_pair_escapes_read_as_one_character(cfg) -> None:
    """Found by the hostile live-data test (tests/test_hostile_input_e2e.py): json.dumps
    writes 🙂 as "\\ud83d\\ude42", YAML read each half as a lone surrogate, and the scan
    crashed with a traceback storing it (orjson: str is not valid UTF-8)."""
    import json

    doc = {"type": "aws_s3_bucket", "id": "a🙂", "spec": {"tags": {"🙂 k": "v 🙂"}}}
    data = json.dumps(doc)
    assert "\\ud83d\\ude42" in data
    [res] = parse_manifests([("d.json", data.encode())], cfg)
    assert res.id == "a🙂" and res.spec == {"tags": {"🙂 k": "v 🙂"}}
    res.spec["tags"]["🙂 k"].encode("utf-8")  # storable


def test_a_lone_surrogate_escape_is_a_problem_with_its_line(cfg) -> None:
    data = b'type: aws_s3_bucket\nid: a\nspec:\n  tags: {k: "\\ud83d"}\n'
    with pytest.raises(ManifestError) as err:
        parse_manifests([("d.yaml", data)], cfg)
    assert err.value.problems == [
        "d.yaml:1: a string holds half of a UTF-16 surrogate pair escape (e.g. \\ud83d alone); "
        "write the character itself, or both halves of the pair"
    ]


@pytest.mark.parametrize(
    ("value", "why"),
    [
        ("2024-02-30", "day is out of range for month"),  # a date that does not exist
        ("2024-13-01", "month must be in 1..12"),
        ("!!int 'x'", "invalid literal for int()"),
        ("!!float 'x'", "could not convert string to float"),
        ("1" * 5000, "Exceeds the limit (4300 digits)"),
        ("0x" + "f" * 5000, "an integer of more than 64 bits"),
        ("100000000000000000000000", "an integer of more than 64 bits"),
        ("!!float", "string index out of range"),  # found by the property tests' random text
        ("!!int", "string index out of range"),
        ("!!set", "'ScalarNode' object has no attribute"),
        ("!!bool x", "KeyError"),
    ],
)
def test_values_yaml_cannot_build_are_problems_with_their_line(cfg, value: str, why: str) -> None:
    """Found by tests/test_hostile_properties.py's follow-up cases: ruamel raised a bare
    ValueError (a traceback from `driftwatch scan`) for each of these."""
    data = f"type: aws_s3_bucket\nid: logs\nspec:\n  tags:\n    team: {value}\n".encode()
    with pytest.raises(ManifestError) as err:
        parse_manifests([("d.yaml", data)], cfg)
    [problem] = err.value.problems
    assert problem.startswith("d.yaml:5: cannot parse: cannot read the value "), problem
    assert why in problem and "quote it to keep it as a string" in problem


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("? : resources:", 1),  # a mapping holding a mapping, as a key: TypeError unhashable
        ("type: aws_s3_bucket\nid: a\nspec:\n  tags:\n    ? {a: b}\n    : b\n", 5),
        ("type: aws_s3_bucket\nid: a\nspec:\n  ? [a]\n  : b\n", 4),
    ],
)
def test_keys_that_are_mappings_or_lists_are_problems(cfg, text: str, line: int) -> None:
    """Found by tests/test_hostile_properties.py (random YAML text `? : resources:`): a
    traceback (unhashable CommentedMap), or a tag key "ordereddict([('a', 'b')])"."""
    with pytest.raises(ManifestError) as err:
        parse_manifests([("d.yaml", text.encode())], cfg)
    assert err.value.problems == [
        f"d.yaml:{line}: a mapping or list used as a key (`? ...`); keys must be plain strings"
    ]
