"""aws_lambda_function reverts: one configuration update, secret environment, tags."""

from __future__ import annotations

import json

from support import seed_lambda
from support.env import Aws
from support.revert import drifted_paths, plan, pure_target, read_target, revert

from driftwatch.remediators.base import REDACTED
from driftwatch.schema import Digested

T = "aws_lambda_function"
ARN = "arn:aws:lambda:us-east-1:123456789012:function:api"
ROLE = "arn:aws:iam::123456789012:role/api-exec"


def _pure(spec: dict, live: dict, environment: dict | None = None):
    listed = {"arn": ARN, "environment": {"Variables": environment or {}}}
    attrs = {**live, "environment": environment or {}} if "environment" in spec else live
    return plan(pure_target(T, spec, attrs, rid="api", listed=listed))


def test_every_drifted_setting_goes_in_one_update_function_configuration() -> None:
    got = _pure(
        {"runtime": "python3.12", "handler": "app.handler", "role": ROLE, "memory_size": 256,
         "timeout": 30, "layers": ["l:2", "l:1"]},
        {"runtime": "python3.11", "handler": "app.handler", "role": "r", "memory_size": 512,
         "timeout": 3, "layers": ["l:1", "l:2"]},
    )  # fmt: skip
    assert [c.shown() for c in got.calls] == [
        {
            "service": "lambda",
            "operation": "update_function_configuration",
            "params": {
                "FunctionName": "api",
                "Runtime": "python3.12",
                "Role": ROLE,
                "MemorySize": 256,
                "Timeout": 30,
                "Layers": ["l:2", "l:1"],
            },
            "fixes": ["runtime", "role", "memory_size", "timeout", "layers"],
            "note": "",
        }
    ]
    assert not got.not_revertible


def test_environment_is_the_whole_declared_mapping_sent_secret_and_shown_redacted() -> None:
    got = _pure(
        {"environment": {"DB_PASSWORD": seed_lambda.SECRET, "PORT": 8080, "DEBUG": False}},
        {},
        environment={"DB_PASSWORD": seed_lambda.OTHER_SECRET, "PORT": "8080", "EXTRA": "1"},
    )
    [call] = got.calls
    assert call.params["Environment"] == {
        "Variables": {"DB_PASSWORD": seed_lambda.SECRET, "PORT": "8080", "DEBUG": "false"}
    }
    assert call.secret_params == ("Environment",)
    assert "undeclared variables are removed" in call.note
    shown = json.dumps(call.shown())
    assert seed_lambda.SECRET not in shown and seed_lambda.OTHER_SECRET not in shown
    assert call.shown()["params"]["Environment"] == {
        "Variables": {"DB_PASSWORD": REDACTED, "PORT": REDACTED, "DEBUG": REDACTED}
    }
    assert set(call.fixes) == {
        "environment.DB_PASSWORD",
        "environment.DEBUG",
        "environment.EXTRA",
    }


def test_a_terraform_digested_secret_cannot_be_written_but_the_rest_is() -> None:
    spec = {"environment": {"TOKEN": Digested("hmac-sha256:ab12")}, "timeout": 9}
    got = _pure(spec, {"timeout": 3}, environment={"TOKEN": "live"})
    assert [(c.params, c.secret_params) for c in got.calls] == [
        ({"FunctionName": "api", "Timeout": 9}, ())
    ]
    [refused] = got.not_revertible
    assert refused.path == "environment" and "TOKEN" in refused.why and "digest" in refused.why
    assert "live" not in refused.why


def test_package_type_is_refused_runtime_of_an_image_function() -> None:
    got = _pure(
        {"runtime": "python3.12", "handler": None, "memory_size": 128},
        {"runtime": None, "handler": "app.handler", "memory_size": 256},
    )
    assert [c.fixes for c in got.calls] == [("memory_size",)]
    assert {r.path for r in got.not_revertible} == {"runtime", "handler"}
    assert all("package type" in r.why for r in got.not_revertible)


def test_tags_untag_removed_keys_and_tag_the_rest() -> None:
    got = _pure({"tags": {"team": "api", "cost": 42}}, {"tags": {"team": "x", "old": "1"}})
    assert [(c.operation, c.params, c.fixes) for c in got.calls] == [
        ("untag_resource", {"Resource": ARN, "TagKeys": ["old"]}, ("tags.old",)),
        (
            "tag_resource",
            {"Resource": ARN, "Tags": {"cost": "42", "team": "api"}},
            ("tags.cost", "tags.team"),
        ),
    ]


def test_round_trip_puts_configuration_environment_and_tags_back(aws: Aws) -> None:
    spec, drifted = seed_lambda.function(aws, "api")
    seed_lambda.execution_role(aws, "other-exec")
    lam = aws.client("lambda")
    lam.update_function_configuration(
        FunctionName="api",
        Runtime=drifted["runtime"],
        Handler=drifted["handler"],
        Role=drifted["role"],
        MemorySize=drifted["memory_size"],
        Timeout=drifted["timeout"],
        Layers=drifted["layers"],
        Environment={"Variables": {**drifted["environment"], "EXTRA": "1"}},
    )
    arn = lam.get_function(FunctionName="api")["Configuration"]["FunctionArn"]
    lam.untag_resource(Resource=arn, TagKeys=["cost"])
    lam.tag_resource(Resource=arn, Tags={"team": "data", "new": "1"})
    assert {p.split(".")[0] for p in drifted_paths(aws, T, "api", spec)} == set(spec)
    done = revert(aws, T, "api", spec)
    assert [c.operation for c in done.calls] == [
        "update_function_configuration",
        "untag_resource",
        "tag_resource",
    ]
    assert seed_lambda.SECRET not in json.dumps([c.shown() for c in done.calls])
    assert drifted_paths(aws, T, "api", spec) == []
    env = lam.get_function_configuration(FunctionName="api")["Environment"]["Variables"]
    assert env == {"DB_PASSWORD": seed_lambda.SECRET, "PORT": "8080", "STAGE": seed_lambda.STAGE}


def test_round_trip_of_one_setting_leaves_the_environment_alone(aws: Aws) -> None:
    spec, _ = seed_lambda.function(aws, "api")
    aws.client("lambda").update_function_configuration(FunctionName="api", Timeout=99)
    assert read_target(aws, T, "api", spec).drifted == ["timeout"]
    done = revert(aws, T, "api", spec)
    assert [c.params for c in done.calls] == [{"FunctionName": "api", "Timeout": 30}]
    assert drifted_paths(aws, T, "api", spec) == []
