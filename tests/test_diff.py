"""compare(): only declared attributes, readable paths, ignore rules with expiry."""

from __future__ import annotations

import datetime as dt

from driftwatch.config import IgnoreRule
from driftwatch.diff import compare, ignore_matcher
from driftwatch.models import Change
from driftwatch.paths import join_path, split_path

TODAY = dt.date(2026, 11, 27)


def never(path: str) -> bool:
    return False


def test_equal_canonical_forms_have_no_changes() -> None:
    assert compare({"a": {"x": 1}}, {"a": {"x": 1}, "extra": 2}, never) == []


def test_undeclared_live_attributes_are_not_compared() -> None:
    assert compare({"tags": {}}, {"tags": {}, "versioning": "Enabled"}, never) == []


def test_nested_changes_name_leaf_paths() -> None:
    changes = compare({"tags": {"a": "1", "b": "2"}}, {"tags": {"a": "1", "c": "3"}}, never)
    assert changes == [Change("tags.b", "2", None), Change("tags.c", None, "3")]


def test_lists_are_shown_whole() -> None:
    changes = compare({"ids": ["a", "b"]}, {"ids": ["a"]}, never)
    assert changes == [Change("ids", ["a", "b"], ["a"])]
    pol_a = {"p": {"Statement": [{"Action": ["x"]}]}}
    pol_b = {"p": {"Statement": [{"Action": ["y"]}]}}
    assert compare(pol_a, pol_b, never) == [
        Change("p.Statement", [{"Action": ["x"]}], [{"Action": ["y"]}])
    ]


def test_paths_with_dots_use_brackets_and_round_trip() -> None:
    path = join_path(["ingress", "tcp 22-22 10.0.0.0/8", "description"])
    assert path == 'ingress["tcp 22-22 10.0.0.0/8"].description'
    assert split_path(path) == ["ingress", "tcp 22-22 10.0.0.0/8", "description"]
    assert (
        join_path(["tags", "aws:cloudformation:stack-name"]) == "tags.aws:cloudformation:stack-name"
    )


def test_ignore_rules_by_type_id_path_and_parent() -> None:
    rules = [
        IgnoreRule(path="tags.LastPatched", type="aws_*", id="web-*"),
        IgnoreRule(path="ingress", type="aws_security_group"),
    ]
    ignored = ignore_matcher("aws_instance", "web-1", rules, [], TODAY)
    assert ignored("tags.LastPatched")
    assert not ignored("tags.Owner")
    assert not ignore_matcher("aws_instance", "db-1", rules, [], TODAY)("tags.LastPatched")
    sg = ignore_matcher("aws_security_group", "x", rules, [], TODAY)
    assert sg('ingress["tcp 22-22 10.0.0.0/8"].description')


def test_a_path_copied_from_a_report_works_as_a_rule() -> None:
    rules = [
        IgnoreRule(path='ingress["tcp 22-22 10.0.0.0/8"].description'),
        IgnoreRule(path='egress["tcp 1-*"]'),
    ]
    ignored = ignore_matcher("aws_security_group", "web", rules, [], TODAY)
    assert ignored('ingress["tcp 22-22 10.0.0.0/8"].description')
    assert not ignored('ingress["tcp 22-22 10.0.0.0/8"]')  # the rule itself still compares
    assert not ignored('ingress["tcp 22-22 10.1.0.0/16"].description')
    assert ignored('egress["tcp 1-65535 0.0.0.0/0"]')
    assert not ignore_matcher("t", "i", [IgnoreRule(path="tags.*")], [], TODAY)("tagsX")


def test_expired_rules_stop_applying() -> None:
    rules = [IgnoreRule(path="tags.*", expires=dt.date(2026, 11, 26))]
    assert not ignore_matcher("t", "i", rules, [], TODAY)("tags.a")
    rules = [IgnoreRule(path="tags.*", expires=TODAY)]  # valid through its expiry day
    assert ignore_matcher("t", "i", rules, [], TODAY)("tags.a")


def test_per_resource_globs() -> None:
    ignored = ignore_matcher("t", "i", [], ["tags.Cost*"], TODAY)
    changes = compare(
        {"tags": {"CostCenter": "1", "team": "a"}},
        {"tags": {"CostCenter": "2", "team": "b"}},
        ignored,
    )
    assert changes == [Change("tags.team", "a", "b")]


def test_secret_values_are_compared_but_never_shown() -> None:
    from typing import ClassVar

    from driftwatch.collectors.base import Collector
    from driftwatch.diff import diff_resource
    from driftwatch.models import DeclaredResource, LiveResource
    from driftwatch.schema import Attr, SecretMap

    class Fn(Collector):
        """A test type with a secret mapping."""

        type = "test_fn"
        attributes: ClassVar = {"environment": Attr(SecretMap(), "list", "env")}

    decl = DeclaredResource(
        "test_fn",
        "f",
        "a",
        "r",
        {"environment": {"DB_PASSWORD": "hunter2", "MODE": "prod", "GONE": "x"}},
        "m.yaml",
    )
    live = LiveResource(
        "test_fn",
        "f",
        "a",
        "r",
        attrs={"environment": {"DB_PASSWORD": "hunter3", "MODE": "prod", "NEW": "y"}},
    )
    finding = diff_resource(Fn(), decl, live, [], TODAY, secret_key=bytes(32))
    assert [(c.path, c.declared, c.live) for c in finding.changes] == [
        ("environment.DB_PASSWORD", "(hidden)", "(hidden: differs)"),
        ("environment.GONE", "(hidden)", None),
        ("environment.NEW", None, "(hidden)"),
    ]
    text = repr(finding)
    assert "hunter" not in text and "prod" not in text and "y'" not in text
    assert all(v.startswith("hmac-sha256:") for v in finding.snapshot["environment"].values())


def test_config_rules_are_credited_with_the_paths_they_hid() -> None:
    from typing import ClassVar

    from driftwatch.collectors.base import Collector
    from driftwatch.diff import diff_resource
    from driftwatch.models import DeclaredResource, Hidden, Kind, LiveResource
    from driftwatch.schema import Attr, Str, Tags

    class Box(Collector):
        """A test type with tags and a string."""

        type = "test_box"
        attributes: ClassVar = {"tags": Attr(Tags(), "list", "tags"), "size": Attr(Str(), "l", "")}

    rules = [
        IgnoreRule(path="tags.Last*", index=0),
        IgnoreRule(path="tags.LastPatched", type="test_box", id="b*", index=1),
        IgnoreRule(path="size", type="other", index=2),  # another type: not credited
        IgnoreRule(kind=Kind.UNMANAGED, index=3),  # whole findings only
    ]
    decl = DeclaredResource(
        "test_box", "box", "a", "r", {"tags": {"team": "x"}, "size": "s"}, "m.yaml",
        ignore=["tags.Cost*"],
    )  # fmt: skip
    live = LiveResource(
        "test_box", "i-1", "a", "r",
        attrs={"tags": {"team": "x", "LastPatched": "now", "Cost": "1"}, "size": "l"},
    )  # fmt: skip
    finding = diff_resource(Box(), decl, live, rules, TODAY, secret_key=bytes(32))
    assert [c.path for c in finding.changes] == ["size"]
    assert finding.hidden == [
        Hidden(0, Kind.MODIFIED, "test_box", "box", "a", "r", "tags.LastPatched"),
        Hidden(1, Kind.MODIFIED, "test_box", "box", "a", "r", "tags.LastPatched"),
    ]  # the manifest's own `ignore` glob hid tags.Cost, and is no config rule


def test_every_key_is_its_own_change_even_when_most_differ() -> None:
    """DeepDiff reports a whole mapping when most keys differ (or one side is empty);
    an ignore rule on one key must still apply to it alone."""
    from driftwatch.diff import compare

    live = {"a": "1", "b": "2", "c": "3"}
    assert [c.path for c in compare({"tags": {}}, {"tags": live}, lambda p: False)] == [
        "tags.a",
        "tags.b",
        "tags.c",
    ]
    kept = compare({"tags": {"x": "9"}}, {"tags": live}, lambda p: p == "tags.b")
    assert [c.path for c in kept] == ["tags.a", "tags.c", "tags.x"]
