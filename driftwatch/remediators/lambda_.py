"""Reverts for Lambda functions: configuration in one UpdateFunctionConfiguration, tags.

Environment values are secrets: they come from Git (the declared spec) and travel only
in the call's `Environment` parameter, which is marked secret, so the plan is shown and
stored redacted and the values are never logged.
"""

from __future__ import annotations

from typing import Any

from driftwatch.init import SECRET_PLACEHOLDER
from driftwatch.remediators.base import Call, Remediator, RevertPlan, Target, register
from driftwatch.remediators.tagging import key_paths, tag_delta
from driftwatch.schema import Digested

# Declared attribute → UpdateFunctionConfiguration parameter.
_CONFIG = {
    "runtime": "Runtime",
    "handler": "Handler",
    "role": "Role",
    "memory_size": "MemorySize",
    "timeout": "Timeout",
    "layers": "Layers",
    "environment": "Environment",
}


@register
class LambdaFunctionRemediator(Remediator):
    """A Lambda function's configuration and tags can be put back; its package type cannot.

    One UpdateFunctionConfiguration sets every drifted configuration attribute, so the
    function goes through one update (Lambda refuses a second while one is in progress).
    """

    type = "aws_lambda_function"

    def plan_attr(
        self, attr: str, target: Target, options: frozenset[str], out: RevertPlan
    ) -> None:
        if attr in _CONFIG:
            drifted = [a for a in _CONFIG if a in target.drifted]
            if attr == drifted[0]:  # one call sets every drifted configuration attribute
                _configure(drifted, target, out)
        elif attr == "tags":
            _tags(target.live.listed["arn"], target, out)
        else:
            super().plan_attr(attr, target, options, out)


def _configure(drifted: list[str], target: Target, out: RevertPlan) -> None:
    params: dict[str, Any] = {"FunctionName": target.live.id}
    fixes: list[str] = []
    for attr in drifted:
        why = _refusal(attr, target)
        if why:
            out.refuse(attr, why)
            continue
        params[_CONFIG[attr]] = _value(attr, target)
        fixes += target.paths(attr)
    if not fixes:
        return
    secret = ("Environment",) if "Environment" in params else ()
    note = (
        "replaces the whole environment with the declared variables; undeclared "
        "variables are removed"
        if secret
        else ""
    )
    out.add(
        Call(
            "lambda",
            "update_function_configuration",
            params,
            tuple(fixes),
            note=note,
            secret_params=secret,
        )
    )


def _refusal(attr: str, target: Target) -> str | None:
    """Why one configuration attribute cannot be written, or None."""
    if attr in ("runtime", "handler") and _is_image(target.want, attr) != _is_image(
        target.have, attr
    ):
        return (
            f"{attr} is null exactly for container-image functions, and a function's "
            "package type (zip or image) cannot change in place: re-create the function "
            "(pipeline mode)"
        )
    placeholders = _placeholders(target) if attr == "environment" else []
    if placeholders:
        return (
            f"{', '.join(placeholders)} are declared with the placeholder `driftwatch init` "
            "writes instead of a secret, so reverting would overwrite the real values: "
            "declare each value (or a Secrets Manager reference) in Git and drop its "
            "`ignore` entry first"
        )
    digested = _digested(target) if attr == "environment" else []
    if digested:
        return (
            f"the declared values of {', '.join(digested)} are known only by digest "
            "(declared in Terraform state as secrets), so they cannot be written back: "
            "apply the Terraform configuration instead"
        )
    return None


def _is_image(attrs: dict[str, Any], attr: str) -> bool:
    return attrs.get(attr) is None


def _digested(target: Target) -> list[str]:
    """Declared variables whose value is only a digest (Terraform-declared secrets)."""
    declared = target.declared.spec.get("environment") or {}
    return sorted(k for k, v in declared.items() if isinstance(v, Digested))


def _placeholders(target: Target) -> list[str]:
    """Declared variables `driftwatch init --from-live` left as placeholders (never values)."""
    declared = target.declared.spec.get("environment") or {}
    return sorted(k for k, v in declared.items() if v == SECRET_PLACEHOLDER)


def _value(attr: str, target: Target) -> Any:
    if attr == "environment":
        # The raw values from Git: the canonical form holds only their digests.
        declared = target.declared.spec.get("environment") or {}
        return {"Variables": {str(k): _env_text(v) for k, v in declared.items()}}
    return target.want.get(attr)


def _env_text(value: Any) -> str:
    """An environment value as Lambda stores it (a YAML `8080` or `true` is a string there)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _tags(arn: str, target: Target, out: RevertPlan) -> None:
    delta = tag_delta(target)
    if delta.remove:
        removed = {"Resource": arn, "TagKeys": delta.remove}
        out.add(Call("lambda", "untag_resource", removed, key_paths(target, delta.remove)))
    if delta.put:
        put = {"Resource": arn, "Tags": delta.put}
        out.add(Call("lambda", "tag_resource", put, key_paths(target, delta.put)))
