"""Lambda collectors."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import botocore.exceptions as bex

from driftwatch.collectors.base import LISTED, Collector, paginate, register
from driftwatch.models import LiveResource, Scope
from driftwatch.schema import Attr, AttrKind, Ctx, Int, SecretMap, Str, StrSet, Tags


@dataclass(frozen=True)
class StrList(AttrKind):
    """An ordered list of strings; order and repetitions matter."""

    label = "list of strings (order matters)"

    def check(self, value: Any) -> str | None:
        return StrSet().check(value)

    def canonical(self, value: Any, ctx: Ctx) -> Any:
        return list(value or ())


@register
class LambdaFunction(Collector):
    """A Lambda function, identified by its name; only `$LATEST` is read.

    Everything but tags comes from ListFunctions. Environment values are secrets:
    compared by digest, never stored or shown. Functions that AWS services create
    in the account are customer resources, so nothing is excluded from unmanaged.
    """

    type = "aws_lambda_function"
    service = "lambda"
    identity = "function name"
    not_found_codes = ("ResourceNotFoundException",)
    attributes = {
        # Container images have neither: Lambda omits them, Terraform reads them as "".
        "runtime": Attr(
            Str(empty_is_null=True),
            LISTED,
            'Runtime, e.g. `python3.12`; null (or `""`) for container images.',
        ),
        "handler": Attr(
            Str(empty_is_null=True), LISTED, 'Handler; null (or `""`) for container images.'
        ),
        "role": Attr(Str(), LISTED, "ARN of the execution role."),
        "memory_size": Attr(Int(), LISTED, "Memory in MB; AWS default 128."),
        "timeout": Attr(Int(), LISTED, "Timeout in seconds; AWS default 3."),
        "environment": Attr(
            SecretMap(),
            "environment",
            "Environment variables as a mapping; values compared by digest, never shown. "
            "`{}` = none.",
        ),
        "layers": Attr(
            StrList(), LISTED, "Layer version ARNs, in order (later layers override earlier)."
        ),
        "tags": Attr(Tags(), "tags", "Tags as a mapping; the whole mapping is compared."),
    }

    def list_resources(self, client: Any, scope: Scope) -> list[LiveResource]:
        return [
            LiveResource(
                self.type,
                f["FunctionName"],
                scope.account,
                scope.region,
                listed={"arn": f["FunctionArn"], "environment": f.get("Environment") or {}},
                attrs={
                    "runtime": f.get("Runtime"),
                    "handler": f.get("Handler"),
                    "role": f.get("Role"),
                    "memory_size": f.get("MemorySize", 128),
                    "timeout": f.get("Timeout", 3),
                    "layers": [layer["Arn"] for layer in f.get("Layers") or ()],
                },
            )
            for f in paginate(client, "list_functions", "Functions")
        ]

    def read_environment(self, client: Any, live: LiveResource) -> dict[str, Any]:
        """Environment from the listing (no call); a reported error makes it not checked."""
        env = live.listed["environment"]
        # Lambda returns Error instead of Variables when it cannot decrypt them (e.g. a
        # disabled KMS key); reading that as "no variables" would invent drift.
        if env.get("Error"):
            err = env["Error"]
            raise bex.ClientError(
                {
                    "Error": {
                        "Code": err.get("ErrorCode") or "EnvironmentError",
                        "Message": err.get("Message") or "environment variables unreadable",
                    }
                },
                "ListFunctions",
            )
        return {"environment": env.get("Variables") or {}}

    def read_tags(self, client: Any, live: LiveResource) -> dict[str, Any]:
        return {"tags": client.list_tags(Resource=live.listed["arn"]).get("Tags") or {}}
