"""The IAM permission lists match the code: every boto3 call a collector makes is listed."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import botocore.session
import pytest
from botocore import xform_name

import driftwatch.collectors  # noqa: F401
from driftwatch import iam
from driftwatch.registry import collectors

ROOT = Path(__file__).parent.parent
COLLECTORS = ROOT / "driftwatch" / "collectors"
# Client methods that are botocore machinery, not API operations.
NOT_OPERATIONS = {"can_paginate", "get_paginator"}


def _type_of(cls: ast.ClassDef) -> str | None:
    for node in cls.body:
        if (
            isinstance(node, ast.Assign)
            and any(isinstance(t, ast.Name) and t.id == "type" for t in node.targets)
            and isinstance(node.value, ast.Constant)
        ):
            return str(node.value.value)
    return None


def _operations(tree: ast.AST) -> set[str]:
    """`client.<op>(...)` calls and `paginate(client, "<op>", ...)` operation names."""
    ops = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        fn = node.func
        if (
            isinstance(fn, ast.Attribute)
            and isinstance(fn.value, ast.Name)
            and fn.value.id == "client"
            and fn.attr not in NOT_OPERATIONS
        ):
            ops.add(fn.attr)
        if isinstance(fn, ast.Name) and fn.id == "paginate" and len(node.args) > 1:
            arg = node.args[1]
            assert isinstance(arg, ast.Constant), ast.dump(node)
            ops.add(str(arg.value))
    return ops


def called_by_collector() -> dict[str, set[str]]:
    """Resource type → boto3 operations its collector class calls (from the source)."""
    out: dict[str, set[str]] = {}
    for path in sorted(COLLECTORS.glob("*.py")):
        if path.name in ("__init__.py", "base.py"):
            continue
        module = ast.parse(path.read_text())
        for cls in (n for n in module.body if isinstance(n, ast.ClassDef)):
            rtype = _type_of(cls)
            if rtype:
                out[rtype] = _operations(cls)
        helpers = [n for n in module.body if isinstance(n, ast.FunctionDef)]
        assert not any(_operations(h) for h in helpers), f"{path.name}: client call outside a class"
    return out


def test_every_collector_call_is_in_the_read_list() -> None:
    called = called_by_collector()
    assert set(called) == set(collectors.names()) == set(iam.READS)
    for rtype, ops in called.items():
        assert ops, rtype
        listed = set(iam.READS[rtype]) | set(iam.REMEDIATION_READS.get(rtype, {}))
        assert ops == listed, f"{rtype}: called but not listed {ops - listed}, " + (
            f"listed but never called {listed - ops}"
        )


def test_read_actions_name_the_collector_service() -> None:
    for rtype, cls in collectors:
        prefixes = {a.split(":")[0] for a in iam.READS[rtype].values()}
        assert prefixes == {cls.service}, rtype


@pytest.mark.parametrize("rtype", collectors.names())
def test_every_attribute_is_revertible_or_says_why_not(rtype: str) -> None:
    attrs = set(collectors.get(rtype).attributes)
    writes = set(iam.WRITES.get(rtype, {}))
    fixed = set(iam.NOT_REVERTIBLE.get(rtype, {}))
    assert not writes & fixed, rtype
    assert writes | fixed == attrs, f"{rtype}: unaccounted {attrs - writes - fixed}"
    assert iam.write_actions(rtype)
    assert not set(iam.write_actions(rtype)) & set(iam.read_actions([rtype])), rtype


def test_s3_encryption_revert_is_one_action_and_deletes_are_covered() -> None:
    calls = iam.WRITES["aws_s3_bucket"]["server_side_encryption"]
    assert {c.operation for c in calls} == {"PutBucketEncryption", "DeleteBucketEncryption"}
    assert iam.write_actions("aws_s3_bucket") == [
        "s3:DeleteBucketPolicy",
        "s3:PutBucketPolicy",
        "s3:PutBucketPublicAccessBlock",
        "s3:PutBucketTagging",
        "s3:PutBucketVersioning",
        "s3:PutEncryptionConfiguration",
    ]


def test_read_policy_has_one_statement_per_service_and_only_the_types_asked() -> None:
    doc = iam.read_policy(["aws_s3_bucket", "aws_security_group", "aws_instance"])
    assert [s["Sid"] for s in doc["Statement"]] == ["DriftwatchReadEC2", "DriftwatchReadS3"]
    actions = [a for s in doc["Statement"] for a in s["Action"]]
    assert "ec2:DescribeInstances" in actions and "s3:GetBucketPolicy" in actions
    assert not [a for a in actions if a.startswith(("iam:", "kms:"))]


def test_docs_iam_md_matches_the_code() -> None:
    doc = (ROOT / "docs" / "iam.md").read_text()
    assert doc == iam.markdown(iam.READS), "regenerate: python -m driftwatch.iam > docs/iam.md"


REMEDIATORS = ROOT / "driftwatch" / "remediators"


def _service_ops(service: str) -> dict[str, str]:
    """boto3 method name → API name, for every operation of the service (botocore's model)."""
    model = botocore.session.get_session().get_service_model(service)
    return {xform_name(name): name for name in model.operation_names}


_SNAKE_PREFIX = re.compile(r"[a-z]+(_[a-z]+)*_")


def planned_operations(module: ast.Module) -> set[tuple[str, str]]:
    """(service, API name) of every operation a remediator module names.

    The services are those of its `Call("svc", ...)`s. Any string in the module that is an
    operation of one of them counts (a literal, a tuple entry, an operation passed to a
    helper), and so does an f-string such as `f"revoke_security_group_{attr}"`, as every
    operation it can spell. Over-counting can only demand a permission, never hide one.
    """
    services = {
        str(node.args[0].value)
        for node in ast.walk(module)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == "Call"
        and node.args
        and isinstance(node.args[0], ast.Constant)
    }
    ops = {svc: _service_ops(svc) for svc in services}
    out = set()
    for node in ast.walk(module):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            out |= {(svc, names[node.value]) for svc, names in ops.items() if node.value in names}
        elif isinstance(node, ast.JoinedStr) and _spelled(node):
            pattern = "".join(
                re.escape(str(v.value)) if isinstance(v, ast.Constant) else r"\w+"
                for v in node.values
            )
            out |= {
                (svc, name)
                for svc, names in ops.items()
                for snake, name in names.items()
                if re.fullmatch(pattern, snake)
            }
    return out


def _spelled(node: ast.JoinedStr) -> bool:
    """An f-string that starts like an operation name (`authorize_security_group_…`)."""
    first = node.values[0] if node.values else None
    return isinstance(first, ast.Constant) and bool(_SNAKE_PREFIX.fullmatch(str(first.value)))


def test_every_call_a_remediator_plans_is_in_the_write_list() -> None:
    """The write policy per type covers every operation the registered remediators name."""
    checked = 0
    for path in sorted(REMEDIATORS.glob("*.py")):
        if path.name in ("__init__.py", "base.py"):
            continue
        module = ast.parse(path.read_text())
        types = [t for c in module.body if isinstance(c, ast.ClassDef) if (t := _type_of(c))]
        calls = [c for t in types for cs in iam.WRITES[t].values() for c in cs]
        calls += [c for t in types for c in iam.DELETES.get(t, ())]
        allowed = {(c.action.split(":")[0], c.operation) for c in calls}
        for t in types:
            reads = {**iam.READS[t], **iam.REMEDIATION_READS.get(t, {})}
            allowed |= {(a.split(":")[0], iam.api_name(op)) for op, a in reads.items()}
        for service, op in planned_operations(module):
            assert (service, op) in allowed, f"{path.name}: {service} {op} is not in iam.WRITES"
            checked += 1
    assert checked >= 60  # ten remediators at least


def test_the_configuration_page_lists_the_same_read_actions() -> None:
    text = (ROOT / "docs" / "configuration.md").read_text()
    section = text[text.index("## Minimal IAM policy") :]
    block = section[section.index("```json") : section.index("```\n", section.index("```json"))]
    actions = set(re.findall(r'"(\w+:\w+)"', block))
    assert actions == set(iam.read_actions(iam.READS)), "docs/configuration.md policy is stale"
