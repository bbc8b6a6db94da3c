"""Canonical forms: equal things compare equal, different things do not."""

from __future__ import annotations

import json

import pytest

from driftwatch.schema import (
    Bool,
    Int,
    Policy,
    PolicyMap,
    Rules,
    Str,
    StrSet,
    Struct,
    Tags,
    canonical_protocol,
)


def canon(kind, value, **ctx):
    return kind.canonical(value, ctx)


def test_policy_statement_order_and_scalar_lists() -> None:
    a = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": ["s3:Get*", "s3:List*"], "Resource": "*"},
            {"Effect": "Deny", "Action": "s3:Delete*", "Resource": ["*"]},
        ],
    }
    b = json.dumps(
        {
            "Statement": [
                {"Resource": ["*"], "Action": "s3:Delete*", "Effect": "Deny"},
                {"Resource": "*", "Effect": "Allow", "Action": ["s3:List*", "s3:Get*"]},
            ],
            "Version": "2012-10-17",
        }
    )
    assert canon(Policy(), a) == canon(Policy(), b)


def test_policy_single_statement_object_and_principals() -> None:
    a = {
        "Statement": {
            "Effect": "Allow",
            "Principal": {"AWS": "111111111111"},
            "Action": "sts:AssumeRole",
        }
    }
    b = {
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": ["arn:aws:iam::111111111111:root"]},
                "Action": ["sts:AssumeRole"],
            }
        ]
    }
    assert canon(Policy(), a) == canon(Policy(), b)
    assert canon(Policy(), {"Statement": [{"Principal": {"AWS": "*"}}]}) == canon(
        Policy(), {"Statement": [{"Principal": "*"}]}
    )


def test_policy_conditions_compare_as_string_sets() -> None:
    a = {"Statement": [{"Condition": {"Bool": {"aws:SecureTransport": False}}}]}
    b = {"Statement": [{"Condition": {"Bool": {"aws:SecureTransport": ["false"]}}}]}
    assert canon(Policy(), a) == canon(Policy(), b)


def test_policy_real_differences_stay() -> None:
    a = {"Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}
    b = {"Statement": [{"Effect": "Allow", "Action": "s3:PutObject", "Resource": "*"}]}
    assert canon(Policy(), a) != canon(Policy(), b)
    assert canon(Policy(), None) is None and canon(Policy(), "") is None


def test_tags_mapping_and_aws_tagset_with_string_values() -> None:
    assert canon(Tags(), [{"Key": "n", "Value": "1"}, {"Key": "b", "Value": "true"}]) == canon(
        Tags(), {"n": 1, "b": True}
    )
    assert canon(Tags(), None) == {} == canon(Tags(), [])


def test_rules_explode_merge_and_ignore_order() -> None:
    one = [
        {
            "protocol": "tcp",
            "from_port": 22,
            "to_port": 22,
            "cidr_blocks": ["10.0.0.0/8", "10.1.0.0/16"],
            "ipv6_cidr_blocks": ["::/0"],
        }
    ]
    many = [
        {"protocol": "6", "from_port": 22, "to_port": 22, "ipv6_cidr_blocks": ["::/0"]},
        {"protocol": "tcp", "from_port": 22, "to_port": 22, "cidr_blocks": ["10.1.0.0/16"]},
        {"protocol": "TCP", "from_port": 22, "to_port": 22, "cidr_blocks": ["10.0.0.0/8"]},
    ]
    assert canon(Rules(), one) == canon(Rules(), many)
    assert list(canon(Rules(), one)) == [
        "tcp 22-22 10.0.0.0/8",
        "tcp 22-22 10.1.0.0/16",
        "tcp 22-22 ::/0",
    ]


def test_rules_all_traffic_and_self_reference() -> None:
    aws_side = [{"protocol": "-1", "from_port": None, "to_port": None, "security_groups": ["sg-1"]}]
    declared = [{"protocol": "all", "from_port": 0, "to_port": 0, "self": True}]
    assert canon(Rules(), aws_side, self_id="sg-1") == canon(Rules(), declared, self_id="sg-1")


def test_rules_description_is_part_of_the_value() -> None:
    a = canon(
        Rules(),
        [
            {
                "protocol": "tcp",
                "from_port": 1,
                "to_port": 1,
                "cidr_blocks": ["x"],
                "description": "",
            }
        ],
    )
    b = canon(Rules(), [{"protocol": "tcp", "from_port": 1, "to_port": 1, "cidr_blocks": ["x"]}])
    c = canon(
        Rules(),
        [
            {
                "protocol": "tcp",
                "from_port": 1,
                "to_port": 1,
                "cidr_blocks": ["x"],
                "description": "ssh",
            }
        ],
    )
    assert a == b != c


def test_struct_fills_defaults() -> None:
    kind = Struct({"a": (Bool(), False), "b": (Bool(), False)})
    assert canon(kind, {"a": True}) == canon(kind, {"a": True, "b": False})
    assert canon(Struct({"x": (Str(), None)}, nullable=True), None) is None


def test_strset_and_policy_map() -> None:
    assert canon(StrSet(), ["b", "a", "b"]) == ["a", "b"]
    assert canon(PolicyMap(), {"p": '{"Statement": {"Action": "a"}}'}) == canon(
        PolicyMap(), {"p": {"Statement": [{"Action": ["a"]}]}}
    )


@pytest.mark.parametrize(
    "kind,value,problem",
    [
        (Int(), "3600", "must be an integer"),
        (Int(), True, "must be an integer"),
        (Bool(), "yes", "must be true or false"),
        (Str(choices=("A", "B")), "C", "must be one of A, B"),
        (Tags(), ["a"], "mapping of tag key"),
        (Tags(), {"a": {"b": 1}}, "scalar value"),
        (StrSet(), "sg-1", "list of strings"),
        (Policy(), "{not json", "not valid JSON"),
        (Policy(), "[1]", "JSON object"),
        (PolicyMap(), {"p": 3}, "policy 'p'"),
        (Struct({"a": (Bool(), False)}), {"b": True}, "unknown key 'b'"),
        (Rules(), [{"from_port": 1}], "needs a protocol"),
        (Rules(), [{"protocol": "tcp", "from_port": 1, "to_port": 1}], "needs at least one source"),
        (Rules(), [{"protocol": "tcp", "cidr": ["x"]}], "unknown key"),
    ],
)
def test_checks_name_the_problem(kind, value, problem) -> None:
    assert problem in (kind.check(value) or "")


def test_valid_values_pass_checks() -> None:
    assert Str(empty_is_null=True).check(None) is None
    assert Rules().check([{"protocol": "-1", "self": True}]) is None
    assert Policy().check('{"Statement": []}') is None


def test_null_tag_value_is_the_empty_string() -> None:
    assert canon(Tags(), {"Owner": None}) == canon(Tags(), [{"Key": "Owner", "Value": ""}])


@pytest.mark.parametrize(
    "rule,problem",
    [
        (
            {"protocol": "tcp", "from_port": "22", "to_port": 22, "cidr_blocks": ["x"]},
            "needs an integer from_port",
        ),
        ({"protocol": "udp", "cidr_blocks": ["x"]}, "needs an integer from_port"),
    ],
)
def test_rule_ports_are_integers_unless_all_traffic(rule, problem) -> None:
    assert problem in Rules().check([rule])
    assert Rules().check([{"protocol": "-1", "cidr_blocks": ["x"]}]) is None


@pytest.mark.parametrize(
    "declared,live",
    [
        ("esp", "50"),
        ("AH", "51"),
        ("gre", "47"),
        (47, "47"),
        ("6", "tcp"),
        ("17", "udp"),
        ("1", "icmp"),
        ("58", "icmpv6"),
        ("ipv6-icmp", "icmpv6"),
        ("all", "-1"),
    ],
)
def test_protocol_names_and_numbers_are_one_protocol(declared, live) -> None:
    assert canonical_protocol(declared) == canonical_protocol(live)


def test_portless_protocols_ignore_ports_on_both_sides() -> None:
    aws_side = [{"protocol": "50", "from_port": None, "to_port": None, "cidr_blocks": ["x"]}]
    for declared in (
        [{"protocol": "esp", "cidr_blocks": ["x"]}],
        [{"protocol": "50", "from_port": 0, "to_port": 0, "cidr_blocks": ["x"]}],
    ):
        assert Rules().check(declared) is None
        assert canon(Rules(), declared) == canon(Rules(), aws_side)
    assert list(canon(Rules(), aws_side)) == ["50 0-0 x"]
    # A port-carrying protocol keeps its ports: ESP is not TCP.
    tcp = [{"protocol": "tcp", "from_port": 0, "to_port": 0, "cidr_blocks": ["x"]}]
    assert canon(Rules(), tcp) != canon(Rules(), aws_side)


@pytest.mark.parametrize(
    "rule,problem",
    [
        ({"protocol": "tpc", "from_port": 1, "to_port": 1}, 'unknown protocol "tpc"'),
        ({"protocol": "256", "cidr_blocks": ["x"]}, "unknown protocol"),
        ({"protocol": True, "cidr_blocks": ["x"]}, "unknown protocol"),
        ({"protocol": "esp", "from_port": "any", "cidr_blocks": ["x"]}, "integer or left out"),
        ({"protocol": "tcp", "cidr_blocks": ["x"], "description": 3}, "description must be"),
    ],
)
def test_rule_protocol_and_port_problems(rule, problem) -> None:
    assert problem in (Rules().check([rule]) or "")


def test_rules_differing_only_by_description_are_an_error() -> None:
    rules = [
        {"protocol": "tcp", "from_port": 22, "to_port": 22, "cidr_blocks": ["a", "b"]},
        {"protocol": "udp", "from_port": 22, "to_port": 22, "cidr_blocks": ["b"]},
        {"protocol": "6", "from_port": 22, "to_port": 22, "cidr_blocks": ["b"], "description": "x"},
    ]
    problem = Rules().check(rules) or ""
    assert "rules 0 and 2 both declare 'tcp 22-22 b' with different descriptions" in problem
    # The same rule twice says the same thing twice: harmless, accepted.
    assert Rules().check([rules[0], rules[0]]) is None
    # Empty and absent descriptions are equal.
    assert Rules().check([rules[1], {**rules[1], "description": ""}]) is None


def test_reserved_aws_tags_are_dropped_and_cannot_be_declared() -> None:
    live = [
        {"Key": "team", "Value": "x"},
        {"Key": "aws:cloudformation:stack-name", "Value": "orders"},
        {"Key": "aws:autoscaling:groupName", "Value": "asg"},
    ]
    assert canon(Tags(), live) == {"team": "x"} == canon(Tags(), {"team": "x"})
    assert canon(Tags(), {"AWS:Foo": "1", "n": 1}) == {"n": "1"}
    # Look-alikes are user tags: only the `aws:` prefix is reserved.
    assert canon(Tags(), {"aws-team": "x", "awsome:y": "z"}) == {"aws-team": "x", "awsome:y": "z"}
    for key in ("aws:cloudformation:stack-name", "AWS:createdBy"):
        assert "reserved prefix 'aws:'" in (Tags().check({"team": "x", key: "y"}) or "")
    assert Tags().check({"aws-team": "x"}) is None


@pytest.mark.parametrize(
    "doc,problem",
    [
        ({"Statement": "allow all"}, "Statement must be a mapping or a list of mappings"),
        ({"Statement": [{"Effect": "Allow"}, ["s3:*"]]}, "Statement must be a mapping or a list"),
        (
            {"Statement": [{"Effect": "Allow", "Action": [["s3:GetObject"]], "Resource": "*"}]},
            'Statement 0 Action must be a string or a list of strings, got [["s3:GetObject"]]',
        ),
        (
            {"Statement": {"Effect": "Allow", "Action": "s3:*", "Resource": {"arn": "x"}}},
            "Statement 0 Resource must be a string or a list of strings",
        ),
        ({"Statement": [{"Effect": "Deny", "NotAction": [1]}]}, "Statement 0 NotAction"),
        ({"Statement": [{"Effect": "Allow", "NotResource": None}]}, "Statement 0 NotResource"),
        ({"Statement": [{"Effect": True, "Action": "s3:*"}]}, 'Effect must be "Allow" or "Deny"'),
        ({"Statement": [{"Effect": "allow", "Action": "s3:*"}]}, 'Effect must be "Allow" or'),
        (
            {"Statement": [{"Sid": "A", "Effect": "Allow"}, {"Sid": "B", "Effect": ["Deny"]}]},
            "Statement 1 (Sid 'B') Effect must be",
        ),
        (
            {"Statement": [{"Effect": "Allow", "Principal": {"AWS": [["arn:aws:iam::1:root"]]}}]},
            "Statement 0 Principal must be",
        ),
        ({"Statement": [{"Effect": "Allow", "Principal": ["*"]}]}, "Statement 0 Principal"),
        (
            {"Statement": [{"Effect": "Allow", "Condition": {"Bool": {"k": {"x": 1}}}}]},
            "Statement 0 Condition must be",
        ),
        ('{"Statement": [{"Effect": "Allow", "Action": [["a"]]}]}', "Statement 0 Action"),
    ],
)
def test_policy_element_types_are_checked(doc, problem) -> None:
    assert problem in (Policy().check(doc) or ""), Policy().check(doc)
    assert problem in (PolicyMap().check({"p": doc}) or "")


def test_valid_policy_element_types_pass() -> None:
    doc = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": "*",
                "Action": "s3:GetObject",
                "Resource": ["arn:aws:s3:::b/*"],
                "Condition": {"Bool": {"aws:SecureTransport": False}, "NumericLessThan": {"n": 3}},
            },
            {"Effect": "Deny", "NotPrincipal": {"AWS": ["1"], "Service": "s.amazonaws.com"}},
        ],
    }
    assert Policy().check(doc) is None
    assert Policy().check({"Statement": {"Effect": "Allow", "NotAction": []}}) is None
    assert Policy().check({"Version": "2012-10-17"}) is None
