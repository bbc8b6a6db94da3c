"""AWS sessions and error text, without a network."""

from __future__ import annotations

from botocore.exceptions import ClientError

from driftwatch.aws import describe_error


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
