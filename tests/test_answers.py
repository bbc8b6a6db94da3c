"""A cut or unreadable AWS answer is a failure, never a short result (no network)."""

from __future__ import annotations

from typing import Any

import botocore.session
import pytest

from driftwatch.answers import UnreadableAnswer, is_cut, refuse_unreadable_json
from driftwatch.aws import describe_error


def test_a_body_shorter_than_its_content_length_is_cut() -> None:
    assert is_cut("GET", 200, "100", 50)
    assert not is_cut("GET", 200, "100", 100)
    assert not is_cut("HEAD", 200, "100", 0)  # HEAD announces a length it never sends
    assert not is_cut("GET", 204, "10", 0)
    assert not is_cut("GET", 200, None, 3)  # chunked: urllib3 checks the chunks itself


def _operation(service: str, name: str) -> Any:
    model = botocore.session.get_session().get_service_model(service)
    return model.operation_model(name)


def test_an_unreadable_json_answer_fails_instead_of_reading_as_empty() -> None:
    op = _operation("dynamodb", "ListTables")
    whole = {"status_code": 200, "body": b'{"TableNames": ["orders"]}'}
    refuse_unreadable_json(op, whole)  # readable: nothing raised
    cut = {"status_code": 200, "body": b'{"TableNames": ["ord'}
    with pytest.raises(UnreadableAnswer) as err:
        refuse_unreadable_json(op, cut)
    assert describe_error(err.value) == (
        "UnreadableAnswer: ListTables answered 20 bytes that are not JSON"
    )
    refuse_unreadable_json(op, {"status_code": 400, "body": b"<html>"})  # errors: botocore's
    refuse_unreadable_json(_operation("sqs", "ListQueues"), {"status_code": 200, "body": b""})


def test_clients_still_answer_from_moto_in_process(mock_aws_env: None) -> None:
    """moto's in-process mock answers on before-send; the length check must not send."""
    from driftwatch.aws import AwsSessions
    from driftwatch.config import AccountConfig, AwsConfig

    account = AccountConfig("default", ("us-east-1",))
    cfg = AwsConfig(regions=("us-east-1",), accounts=(account,), connect_timeout=1, max_attempts=1)
    s3 = AwsSessions(cfg).client(account, "us-east-1", "s3")
    s3.create_bucket(Bucket="in-process")
    assert [b["Name"] for b in s3.list_buckets()["Buckets"]] == ["in-process"]
