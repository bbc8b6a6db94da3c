"""aws_lambda_function collector, in-process with moto's mock_aws: listing, defaults, sources."""

from __future__ import annotations

import io
import json
import zipfile

import boto3
import botocore.exceptions as bex
import pytest

from driftwatch.collectors.base import is_code
from driftwatch.collectors.lambda_ import LambdaFunction, StrList
from driftwatch.models import LiveResource, Scope
from driftwatch.schema import SECRET_KEY

SCOPE = Scope("a", "us-east-1", "aws_lambda_function")


def _zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("app.py", "def handler(e, c):\n    return 1\n")
    return buf.getvalue()


@pytest.fixture
def lam(mock_aws_env: None):
    role = boto3.client("iam", region_name="us-east-1").create_role(
        RoleName="exec", AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17"})
    )["Role"]["Arn"]
    client = boto3.client("lambda", region_name="us-east-1")
    client.role_arn = role
    yield client


def _create(client, name: str, **kw) -> None:
    client.create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role=client.role_arn,
        Handler="app.handler",
        Code={"ZipFile": _zip()},
        **kw,
    )


def test_lists_only_the_scope_region(lam) -> None:
    _create(lam, "east")
    west = boto3.client("lambda", region_name="eu-west-1")
    west.create_function(
        FunctionName="west",
        Runtime="python3.12",
        Role=lam.role_arn,
        Handler="app.handler",
        Code={"ZipFile": _zip()},
    )
    got = LambdaFunction().list_resources(lam, SCOPE)
    assert [f.id for f in got] == ["east"]
    assert got[0].listed["arn"].endswith(":function:east")


def test_unconfigured_function_reads_as_defaults(lam) -> None:
    _create(lam, "bare")
    c = LambdaFunction()
    [live] = c.list_resources(lam, SCOPE)
    for source in c.sources_for(list(c.attributes)):
        live.attrs.update(c.read(source, lam, live))
    assert live.attrs == {
        "runtime": "python3.12",
        "handler": "app.handler",
        "role": lam.role_arn,
        "memory_size": 128,
        "timeout": 3,
        "environment": {},
        "layers": [],
        "tags": {},
    }
    assert not c.aws_managed(live)


def test_listing_reads_layers_in_order_and_environment(lam) -> None:
    arns = [
        lam.publish_layer_version(LayerName=n, Content={"ZipFile": _zip()})["LayerVersionArn"]
        for n in ("b", "a")
    ]
    _create(lam, "fn", Layers=arns, Environment={"Variables": {"K": "v"}})
    c = LambdaFunction()
    [live] = c.list_resources(lam, SCOPE)
    assert live.attrs["layers"] == arns
    assert c.read("environment", lam, live) == {"environment": {"K": "v"}}


def test_environment_error_is_not_read_as_no_variables() -> None:
    live = LiveResource(
        "aws_lambda_function",
        "fn",
        "a",
        "us-east-1",
        listed={
            "arn": "arn:aws:lambda:us-east-1:123456789012:function:fn",
            "environment": {
                "Error": {"ErrorCode": "KMSDisabledException", "Message": "key is disabled"}
            },
        },
    )
    with pytest.raises(bex.ClientError) as exc:
        LambdaFunction().read("environment", None, live)
    assert is_code(exc.value, "KMSDisabledException")


def test_tags_of_a_deleted_function_are_not_found(lam) -> None:
    _create(lam, "gone")
    c = LambdaFunction()
    [live] = c.list_resources(lam, SCOPE)
    lam.delete_function(FunctionName="gone")
    with pytest.raises(bex.ClientError) as exc:
        c.read("tags", lam, live)
    assert is_code(exc.value, *c.not_found_codes)


def test_sources() -> None:
    c = LambdaFunction()
    assert c.sources_for(["tags"]) == ["tags"]
    assert c.sources_for(["runtime", "handler", "role", "memory_size", "timeout", "layers"]) == []
    # Read from the listing without a call; a source only to report Lambda's errors.
    assert c.sources_for(["environment", "tags"]) == ["environment", "tags"]


def test_layers_are_an_ordered_list_and_environment_is_secret() -> None:
    c = LambdaFunction()
    assert StrList().canonical(["b", "a"], {}) == ["b", "a"]
    assert StrList().canonical(None, {}) == []
    assert StrList().check("arn") is not None
    ctx = {SECRET_KEY: bytes(32)}
    env = c.canonical({"environment": {"K": "hunter2", "N": 1}}, ctx)["environment"]
    assert set(env) == {"K", "N"} and "hunter2" not in json.dumps(env)
    assert env["N"] == c.canonical({"environment": {"N": "1"}}, ctx)["environment"]["N"]
    other_key = c.canonical({"environment": {"N": "1"}}, {SECRET_KEY: b"k" * 32})
    assert other_key["environment"]["N"] != env["N"]  # digests depend on the key passed
    with pytest.raises(ValueError, match="secret key"):
        c.canonical({"environment": {"N": "1"}}, {})
