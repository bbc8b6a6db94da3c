"""AWS sessions and error text, without a network."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from botocore.exceptions import ClientError
from botocore.loaders import JSONFileLoader
from botocore.session import Session as BotocoreSession

from driftwatch.aws import AwsSessions, describe_error
from driftwatch.config import AccountConfig, AwsConfig


def test_error_reasons_are_one_line_of_plain_text() -> None:
    page = "<html><title>502 Bad Gateway</title>\n<body><h1>Bad\n  Gateway</h1></body></html>"
    exc = ClientError({"Error": {"Code": "502", "Message": page}}, "ListTables")
    assert describe_error(exc) == "502: 502 Bad Gateway Bad Gateway"
    quoted = "Value '<none>' at 'name' failed\n to satisfy constraint"
    exc = ClientError({"Error": {"Code": "ValidationException", "Message": quoted}}, "X")
    assert (
        describe_error(exc)
        == "ValidationException: Value '<none>' at 'name' failed to satisfy constraint"
    )
    long = ClientError({"Error": {"Code": "E", "Message": "x" * 5000}}, "X")
    assert len(describe_error(long)) == 300


ENDPOINT = "http://127.0.0.1:9"  # never contacted: creating clients is local


def _accounts(n: int) -> tuple[AccountConfig, ...]:
    return tuple(
        AccountConfig(f"a{i}", ("us-east-1",), role_arn=f"arn:aws:iam::{100000000000 + i}:role/r")
        for i in range(n)
    )


def _config(accounts: tuple[AccountConfig, ...]) -> AwsConfig:
    return AwsConfig(regions=("us-east-1",), accounts=accounts, endpoint_url=ENDPOINT)


def test_one_slow_client_creation_holds_up_no_other_account(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    first, second = _accounts(2)
    sessions = AwsSessions(_config((first, second)))
    made = sessions.client(first, "us-east-1", "sqs")
    gate, started = threading.Event(), threading.Event()
    create = BotocoreSession.create_client

    def slow_in_one_region(self: BotocoreSession, service: str, *a: Any, **kw: Any) -> Any:
        if kw.get("region_name") == "eu-slow-1":  # e.g. credentials resolving over a network
            started.set()
            gate.wait(10)
        return create(self, service, *a, **kw)

    monkeypatch.setattr(BotocoreSession, "create_client", slow_in_one_region)
    slow = threading.Thread(target=sessions.client, args=(first, "eu-slow-1", "sqs"))
    slow.start()
    try:
        assert started.wait(10)
        t0 = time.monotonic()
        assert sessions.client(first, "us-east-1", "sqs") is made  # already made: no wait
        sessions.client(second, "us-east-1", "sqs")  # another account: no wait
        waited = time.monotonic() - t0
    finally:
        gate.set()
        slow.join()
    assert waited < 5, waited


def test_service_models_are_read_once_whatever_the_number_of_accounts(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    reads: list[str] = []
    load = JSONFileLoader.load_file

    def counting(self: JSONFileLoader, file_path: str) -> Any:
        reads.append(str(file_path))
        return load(self, file_path)

    monkeypatch.setattr(JSONFileLoader, "load_file", counting)
    accounts = _accounts(5)
    sessions = AwsSessions(_config(accounts))
    for account in accounts:
        sessions.client(account, "us-east-1", "ec2")
    ec2_models = [r for r in reads if "/ec2/" in r and r.endswith("service-2")]
    assert len(ec2_models) == 1, ec2_models


def test_clients_are_per_account_region_and_service() -> None:
    first, second = _accounts(2)
    sessions = AwsSessions(_config((first, second)))
    a = sessions.client(first, "us-east-1", "sqs")
    assert sessions.client(first, "us-east-1", "sqs") is a
    assert sessions.client(first, "eu-west-1", "sqs") is not a
    assert sessions.client(second, "us-east-1", "sqs") is not a
    assert a.meta.region_name == "us-east-1" and a.meta.endpoint_url == ENDPOINT
