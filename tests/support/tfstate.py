"""Terraform state documents for tests.

Hand-written, not produced by Terraform: each follows the shape that Terraform 1.x
(statefile/version4.go) and the hashicorp/aws provider 5.x record, key for key
where driftwatch reads them (nested blocks as lists, policies as JSON strings,
`tags` beside `tags_all`, `sensitive_attributes` as get_attr/index steps).
"""

from __future__ import annotations

import json
from typing import Any

AWS = 'provider["registry.terraform.io/hashicorp/aws"]'
TOFU_AWS = 'provider["registry.opentofu.org/hashicorp/aws"]'


def state(*resources: dict[str, Any], serial: int = 7, outputs: Any = None) -> dict[str, Any]:
    return {
        "version": 4,
        "terraform_version": "1.9.8",
        "serial": serial,
        "lineage": "3f1c7a52-5a2e-4b1e-9c0a-1d2e3f4a5b6c",
        "outputs": outputs or {},
        "resources": list(resources),
        "check_results": None,
    }


def resource(
    rtype: str,
    name: str,
    *instances: dict[str, Any],
    module: str | None = None,
    provider: str = AWS,
    mode: str = "managed",
) -> dict[str, Any]:
    r: dict[str, Any] = {"mode": mode, "type": rtype, "name": name, "provider": provider}
    if module:
        r = {"module": module, **r}
    r["instances"] = list(instances)
    return r


def instance(
    attributes: dict[str, Any], index_key: Any = None, sensitive: list[list[Any]] | None = None
) -> dict[str, Any]:
    inst: dict[str, Any] = {"schema_version": 0}
    if index_key is not None:
        inst["index_key"] = index_key
    inst["attributes"] = attributes
    inst["sensitive_attributes"] = sensitive or []
    inst["private"] = "bnVsbA=="
    return inst


def get_attr(name: str) -> dict[str, Any]:
    return {"type": "get_attr", "value": name}


def policy(*actions: str, resource: str = "*") -> str:
    """A policy document as the provider records it: a JSON string."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": list(actions), "Resource": resource}],
        }
    )


def bucket(
    name: str, region: str = "us-east-1", tags: dict[str, str] | None = None, **extra: Any
) -> dict[str, Any]:
    """aws_s3_bucket attributes (provider 5): the deprecated inline blocks recorded as read."""
    attrs = {
        "id": name,
        "arn": f"arn:aws:s3:::{name}",
        "bucket": name,
        "bucket_prefix": "",
        "force_destroy": False,
        "object_lock_enabled": False,
        "policy": "",
        "region": region,
        "server_side_encryption_configuration": [
            {
                "rule": [
                    {
                        "apply_server_side_encryption_by_default": [
                            {"kms_master_key_id": "", "sse_algorithm": "AES256"}
                        ],
                        "bucket_key_enabled": False,
                    }
                ]
            }
        ],
        "tags": tags or {},
        "tags_all": tags or {},
        "versioning": [{"enabled": False, "mfa_delete": False}],
    }
    attrs.update(extra)
    return attrs


def security_group(
    sg_id: str, name: str, vpc_id: str, ingress: list[dict[str, Any]] | None = None, **extra: Any
) -> dict[str, Any]:
    attrs = {
        "arn": f"arn:aws:ec2:us-east-1:123456789012:security-group/{sg_id}",
        "description": "Managed by Terraform",
        "egress": [],
        "id": sg_id,
        "ingress": ingress or [],
        "name": name,
        "name_prefix": "",
        "owner_id": "123456789012",
        "revoke_rules_on_delete": False,
        "tags": {},
        "tags_all": {},
        "timeouts": None,
        "vpc_id": vpc_id,
    }
    attrs.update(extra)
    return attrs


def ingress_rule(
    sg_id: str, port: int, cidr: str, rule_id: str = "sgr-0a1b2c3d4e5f60718"
) -> dict[str, Any]:
    """aws_vpc_security_group_ingress_rule attributes."""
    return {
        "arn": f"arn:aws:ec2:us-east-1:123456789012:security-group-rule/{rule_id}",
        "cidr_ipv4": cidr,
        "cidr_ipv6": None,
        "description": None,
        "from_port": port,
        "id": rule_id,
        "ip_protocol": "tcp",
        "prefix_list_id": None,
        "referenced_security_group_id": None,
        "security_group_id": sg_id,
        "security_group_rule_id": rule_id,
        "tags": None,
        "tags_all": {},
        "to_port": port,
    }


def role(name: str, trust: str, **extra: Any) -> dict[str, Any]:
    attrs = {
        "arn": f"arn:aws:iam::123456789012:role/{name}",
        "assume_role_policy": trust,
        "create_date": "2024-05-01T10:00:00Z",
        "description": "",
        "force_detach_policies": False,
        "id": name,
        "inline_policy": [],
        "managed_policy_arns": [],
        "max_session_duration": 3600,
        "name": name,
        "name_prefix": "",
        "path": "/",
        "permissions_boundary": "",
        "tags": {},
        "tags_all": {},
        "unique_id": "AROAEXAMPLEEXAMPLE01",
    }
    attrs.update(extra)
    return attrs


TRUST = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "lambda.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
)


def dumps(doc: dict[str, Any]) -> bytes:
    return json.dumps(doc, indent=2).encode()
