"""Recorded real-AWS response shapes (tests/fixtures/real_aws/) replayed through botocore's Stubber.

moto echoes back what it was given; real AWS drops ports, adds `aws:` tags, rewrites
principals. These fixtures hold the shapes AWS really returns, and `replay` feeds
them to a real boto3 client, so collectors read them through their normal code path
(Stubber also checks every response against botocore's output shape).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import boto3
from botocore.stub import Stubber

FIXTURES = Path(__file__).parent.parent / "fixtures" / "real_aws"


def load(name: str) -> dict[str, Any]:
    """One fixture file; every file must say where its shapes come from."""
    doc: dict[str, Any] = json.loads((FIXTURES / name).read_text())
    assert doc.get("_source"), f"{name} needs a `_source` naming its origin"
    return doc


def client(service: str, region: str = "us-east-1") -> Any:
    return boto3.client(
        service, region_name=region, aws_access_key_id="x", aws_secret_access_key="x"
    )


@contextmanager
def replay(service: str, *names: str, region: str = "us-east-1") -> Iterator[Any]:
    """A client that answers with the recorded calls of `names`, in order, and nothing else."""
    c = client(service, region)
    with Stubber(c) as stub:
        for name in names:
            for call in load(name)["calls"]:
                stub.add_response(call["operation"], call["response"], call.get("expected_params"))
        yield c
        stub.assert_no_pending_responses()
