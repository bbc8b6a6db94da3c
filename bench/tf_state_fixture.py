"""A synthetic Terraform state (format v4) in the shapes Terraform 1.x and hashicorp/aws 5.x record.

Written as Terraform writes it (2-space indented JSON), resource by resource, so a 250 MB
state never sits whole in memory. The mix, by weight: EC2 instances (the largest
instances, with block devices and metadata blocks), buckets with their provider-4 split
children, security groups with inline rules and standalone rule resources, IAM roles
with policy attachments and inline policies, Lambda functions, SQS queues, log groups,
plus what driftwatch must skip cheaply: Route 53 records and IAM policy documents (data
sources), another provider's resources, and module instances keyed by `for_each`.
Deterministic for a given resource count.
"""

from __future__ import annotations

import io
import json
import random
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

AWS = 'provider["registry.terraform.io/hashicorp/aws"]'
RANDOM = 'provider["registry.terraform.io/hashicorp/random"]'
ACCOUNT = "123456789012"
REGIONS = ("us-east-1", "eu-west-1", "ap-southeast-2")
Attrs = dict[str, Any]


def _tags(rng: random.Random, i: int) -> dict[str, str]:
    return {
        "team": f"team-{i % 17}",
        "service": f"svc-{i % 211}",
        "env": ("prod", "staging", "dev")[i % 3],
        "cost-center": f"cc-{rng.randrange(1000, 9999)}",
        "owner": f"owner{i % 97}@example.com",
    }


def _policy(rng: random.Random, statements: int, resource: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": f"S{n}",
                    "Effect": "Allow",
                    "Action": [f"s3:{a}" for a in ("GetObject", "PutObject", "ListBucket")][
                        : 1 + rng.randrange(3)
                    ],
                    "Resource": [resource, f"{resource}/*"],
                    "Condition": {"StringEquals": {"aws:PrincipalOrgID": "o-abcdef1234"}},
                }
                for n in range(statements)
            ],
        }
    )


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


def _instance(attrs: Attrs, index_key: Any = None, deps: tuple[str, ...] = ()) -> Attrs:
    inst: Attrs = {"schema_version": 1}
    if index_key is not None:
        inst["index_key"] = index_key
    inst["attributes"] = attrs
    inst["sensitive_attributes"] = []
    inst["private"] = "eyJlMmJmYjczMC1lY2FhLTExZTYtOGY4OC0zNDM2M2JjN2M0YzAiOnt9fQ=="
    if deps:
        inst["dependencies"] = list(deps)
    return inst


def _resource(
    rtype: str,
    name: str,
    attrs: Attrs,
    *,
    module: str = "",
    key: Any = None,
    mode: str = "managed",
    provider: str = AWS,
    deps: tuple[str, ...] = (),
) -> Attrs:
    r: Attrs = {}
    if module:
        r["module"] = module
    r.update(mode=mode, type=rtype, name=name, provider=provider)
    r["instances"] = [_instance(attrs, key, deps)]
    return r


def _ebs(rng: random.Random, device: str) -> Attrs:
    return {
        "delete_on_termination": True,
        "device_name": device,
        "encrypted": True,
        "iops": 3000,
        "kms_key_id": f"arn:aws:kms:us-east-1:{ACCOUNT}:key/{rng.getrandbits(128):032x}",
        "snapshot_id": "",
        "tags": {},
        "tags_all": {},
        "throughput": 125,
        "volume_id": f"vol-{rng.getrandbits(64):016x}",
        "volume_size": 8 * (1 + rng.randrange(8)),
        "volume_type": "gp3",
    }


def ec2_instance(rng: random.Random, i: int, region: str) -> Iterator[Attrs]:
    iid = f"i-{rng.getrandbits(64):017x}"[:19]
    attrs = {
        "ami": f"ami-{rng.getrandbits(64):017x}"[:21],
        "arn": f"arn:aws:ec2:{region}:{ACCOUNT}:instance/{iid}",
        "associate_public_ip_address": False,
        "availability_zone": f"{region}a",
        "capacity_reservation_specification": [
            {"capacity_reservation_preference": "open", "capacity_reservation_target": []}
        ],
        "cpu_core_count": 1,
        "cpu_options": [{"amd_sev_snp": "", "core_count": 1, "threads_per_core": 2}],
        "cpu_threads_per_core": 2,
        "credit_specification": [{"cpu_credits": "unlimited"}],
        "disable_api_stop": False,
        "disable_api_termination": False,
        "ebs_block_device": [_ebs(rng, f"/dev/sd{c}") for c in "fg"[: 1 + i % 2]],
        "ebs_optimized": False,
        "enclave_options": [{"enabled": False}],
        "ephemeral_block_device": [],
        "get_password_data": False,
        "hibernation": False,
        "host_id": "",
        "iam_instance_profile": f"app-{i % 50}",
        "id": iid,
        "instance_initiated_shutdown_behavior": "stop",
        "instance_lifecycle": "",
        "instance_market_options": [],
        "instance_state": "running",
        "instance_type": ("t3.micro", "t3.small", "m6i.large")[i % 3],
        "ipv6_address_count": 0,
        "ipv6_addresses": [],
        "key_name": "ops",
        "launch_template": [],
        "maintenance_options": [{"auto_recovery": "default"}],
        "metadata_options": [
            {
                "http_endpoint": "enabled",
                "http_protocol_ipv6": "disabled",
                "http_put_response_hop_limit": 2,
                "http_tokens": "required",
                "instance_metadata_tags": "disabled",
            }
        ],
        "monitoring": i % 4 == 0,
        "network_interface": [],
        "outpost_arn": "",
        "password_data": "",
        "placement_group": "",
        "placement_partition_number": 0,
        "primary_network_interface_id": f"eni-{rng.getrandbits(64):017x}"[:21],
        "private_dns": f"ip-10-0-{i % 256}-{rng.randrange(256)}.ec2.internal",
        "private_dns_name_options": [
            {
                "enable_resource_name_dns_a_record": False,
                "enable_resource_name_dns_aaaa_record": False,
                "hostname_type": "ip-name",
            }
        ],
        "private_ip": f"10.0.{i % 256}.{rng.randrange(256)}",
        "public_dns": "",
        "public_ip": "",
        "root_block_device": [_ebs(rng, "/dev/xvda")],
        "secondary_private_ips": [],
        "security_groups": [],
        "source_dest_check": True,
        "spot_instance_request_id": "",
        "subnet_id": f"subnet-{rng.getrandbits(64):017x}"[:24],
        "tags": _tags(rng, i),
        "tags_all": {**_tags(rng, i), "managed-by": "terraform"},
        "tenancy": "default",
        "timeouts": None,
        "user_data": f"{rng.getrandbits(160):040x}",
        "user_data_base64": None,
        "user_data_replace_on_change": False,
        "volume_tags": None,
        "vpc_security_group_ids": [f"sg-{rng.getrandbits(64):017x}"[:20]],
    }
    yield _resource("aws_instance", f"app_{i}", attrs)


def bucket(rng: random.Random, i: int, region: str) -> Iterator[Attrs]:
    name = f"acme-data-{i:06d}"
    module, key = (f'module.data["{region}"]', f"b{i}") if i % 2 else ("", None)
    yield _resource(
        "aws_s3_bucket",
        "this",
        {
            "acceleration_status": "",
            "acl": None,
            "arn": f"arn:aws:s3:::{name}",
            "bucket": name,
            "bucket_domain_name": f"{name}.s3.amazonaws.com",
            "bucket_prefix": "",
            "bucket_regional_domain_name": f"{name}.s3.{region}.amazonaws.com",
            "cors_rule": [],
            "force_destroy": False,
            "grant": [
                {
                    "id": f"{rng.getrandbits(256):064x}",
                    "permissions": ["FULL_CONTROL"],
                    "type": "CanonicalUser",
                    "uri": "",
                }
            ],
            "hosted_zone_id": "Z3AQBSTGFYJSTF",
            "id": name,
            "lifecycle_rule": [],
            "logging": [],
            "object_lock_configuration": [],
            "object_lock_enabled": False,
            "policy": _policy(rng, 2, f"arn:aws:s3:::{name}"),
            "region": region,
            "replication_configuration": [],
            "request_payer": "BucketOwner",
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
            "tags": _tags(rng, i),
            "tags_all": _tags(rng, i),
            "timeouts": None,
            "versioning": [{"enabled": False, "mfa_delete": False}],
            "website": [],
            "website_domain": None,
            "website_endpoint": None,
        },
        module=module,
        key=key,
    )
    yield _resource(
        "aws_s3_bucket_versioning",
        "this",
        {
            "bucket": name,
            "expected_bucket_owner": "",
            "id": name,
            "mfa": None,
            "versioning_configuration": [{"mfa_delete": "", "status": "Enabled"}],
        },
        module=module,
        key=key,
        deps=(f"{module + '.' if module else ''}aws_s3_bucket.this",),
    )
    yield _resource(
        "aws_s3_bucket_public_access_block",
        "this",
        {
            "block_public_acls": True,
            "block_public_policy": True,
            "bucket": name,
            "id": name,
            "ignore_public_acls": True,
            "restrict_public_buckets": True,
        },
        module=module,
        key=key,
    )


def _rule(rng: random.Random, port: int) -> Attrs:
    return {
        "cidr_blocks": [f"10.{rng.randrange(256)}.0.0/16"],
        "description": f"port {port}",
        "from_port": port,
        "ipv6_cidr_blocks": [],
        "prefix_list_ids": [],
        "protocol": "tcp",
        "security_groups": [],
        "self": False,
        "to_port": port,
    }


def security_group(rng: random.Random, i: int, region: str) -> Iterator[Attrs]:
    sg = f"sg-{rng.getrandbits(64):017x}"[:20]
    yield _resource(
        "aws_security_group",
        f"web_{i}",
        {
            "arn": f"arn:aws:ec2:{region}:{ACCOUNT}:security-group/{sg}",
            "description": f"web tier {i}",
            "egress": [
                {**_rule(rng, 0), "cidr_blocks": ["0.0.0.0/0"], "protocol": "-1", "to_port": 0}
            ],
            "id": sg,
            "ingress": [_rule(rng, p) for p in (80, 443, 8080)],
            "name": f"web-{i}",
            "name_prefix": "",
            "owner_id": ACCOUNT,
            "revoke_rules_on_delete": False,
            "tags": _tags(rng, i),
            "tags_all": _tags(rng, i),
            "timeouts": None,
            "vpc_id": f"vpc-{rng.getrandbits(64):017x}"[:21],
        },
    )
    rid = f"sgr-{rng.getrandbits(64):017x}"[:21]
    yield _resource(
        "aws_vpc_security_group_ingress_rule",
        f"https_{i}",
        {
            "arn": f"arn:aws:ec2:{region}:{ACCOUNT}:security-group-rule/{rid}",
            "cidr_ipv4": "0.0.0.0/0",
            "cidr_ipv6": None,
            "description": None,
            "from_port": 443,
            "id": rid,
            "ip_protocol": "tcp",
            "prefix_list_id": None,
            "referenced_security_group_id": None,
            "security_group_id": sg,
            "security_group_rule_id": rid,
            "tags": None,
            "tags_all": {},
            "to_port": 443,
        },
    )


def role(rng: random.Random, i: int, region: str) -> Iterator[Attrs]:
    name = f"app-role-{i}"
    yield _resource(
        "aws_iam_role",
        f"app_{i}",
        {
            "arn": f"arn:aws:iam::{ACCOUNT}:role/{name}",
            "assume_role_policy": TRUST,
            "create_date": "2024-05-01T10:00:00Z",
            "description": "",
            "force_detach_policies": False,
            "id": name,
            "inline_policy": [
                {"name": "data", "policy": _policy(rng, 3, f"arn:aws:s3:::acme-data-{i:06d}")}
            ],
            "managed_policy_arns": ["arn:aws:iam::aws:policy/ReadOnlyAccess"],
            "max_session_duration": 3600,
            "name": name,
            "name_prefix": "",
            "path": "/",
            "permissions_boundary": "",
            "tags": _tags(rng, i),
            "tags_all": _tags(rng, i),
            "unique_id": f"AROA{rng.getrandbits(64):016X}",
        },
    )
    yield _resource(
        "aws_iam_role_policy_attachment",
        f"ro_{i}",
        {
            "id": f"{name}-{rng.getrandbits(64):016x}",
            "policy_arn": "arn:aws:iam::aws:policy/ReadOnlyAccess",
            "role": name,
        },
    )


def function(rng: random.Random, i: int, region: str) -> Iterator[Attrs]:
    name = f"worker-{i}"
    yield _resource(
        "aws_lambda_function",
        f"worker_{i}",
        {
            "architectures": ["x86_64"],
            "arn": f"arn:aws:lambda:{region}:{ACCOUNT}:function:{name}",
            "code_signing_config_arn": "",
            "dead_letter_config": [],
            "description": "",
            "environment": [{"variables": {"LOG_LEVEL": "info", "TABLE": f"t{i}"}}],
            "ephemeral_storage": [{"size": 512}],
            "file_system_config": [],
            "filename": "build/worker.zip",
            "function_name": name,
            "handler": "app.handler",
            "id": name,
            "image_config": [],
            "image_uri": "",
            "invoke_arn": f"arn:aws:apigateway:{region}:lambda:path/2015-03-31/functions/"
            f"arn:aws:lambda:{region}:{ACCOUNT}:function:{name}/invocations",
            "kms_key_arn": "",
            "last_modified": "2024-05-01T10:00:00.000+0000",
            "layers": [],
            "logging_config": [
                {
                    "application_log_level": "",
                    "log_format": "Text",
                    "log_group": f"/aws/lambda/{name}",
                    "system_log_level": "",
                }
            ],
            "memory_size": 128,
            "package_type": "Zip",
            "publish": False,
            "qualified_arn": f"arn:aws:lambda:{region}:{ACCOUNT}:function:{name}:$LATEST",
            "reserved_concurrent_executions": -1,
            "role": f"arn:aws:iam::{ACCOUNT}:role/app-role-{i}",
            "runtime": "python3.12",
            "source_code_hash": f"{rng.getrandbits(256):064x}",
            "source_code_size": rng.randrange(1000, 90000),
            "tags": _tags(rng, i),
            "tags_all": _tags(rng, i),
            "timeout": 30,
            "timeouts": None,
            "tracing_config": [{"mode": "PassThrough"}],
            "version": "$LATEST",
            "vpc_config": [],
        },
    )


def queue(rng: random.Random, i: int, region: str) -> Iterator[Attrs]:
    name = f"jobs-{i}"
    yield _resource(
        "aws_sqs_queue",
        f"jobs_{i}",
        {
            "arn": f"arn:aws:sqs:{region}:{ACCOUNT}:{name}",
            "content_based_deduplication": False,
            "deduplication_scope": "",
            "delay_seconds": 0,
            "fifo_queue": False,
            "fifo_throughput_limit": "",
            "id": f"https://sqs.{region}.amazonaws.com/{ACCOUNT}/{name}",
            "kms_data_key_reuse_period_seconds": 300,
            "kms_master_key_id": "",
            "max_message_size": 262144,
            "message_retention_seconds": 345600,
            "name": name,
            "name_prefix": "",
            "policy": "",
            "receive_wait_time_seconds": 0,
            "redrive_allow_policy": "",
            "redrive_policy": "",
            "sqs_managed_sse_enabled": True,
            "tags": _tags(rng, i),
            "tags_all": _tags(rng, i),
            "url": f"https://sqs.{region}.amazonaws.com/{ACCOUNT}/{name}",
            "visibility_timeout_seconds": 30,
        },
    )


def log_group(rng: random.Random, i: int, region: str) -> Iterator[Attrs]:
    name = f"/aws/lambda/worker-{i}"
    yield _resource(
        "aws_cloudwatch_log_group",
        f"worker_{i}",
        {
            "arn": f"arn:aws:logs:{region}:{ACCOUNT}:log-group:{name}",
            "id": name,
            "kms_key_id": "",
            "log_group_class": "STANDARD",
            "name": name,
            "name_prefix": "",
            "retention_in_days": 30,
            "skip_destroy": False,
            "tags": _tags(rng, i),
            "tags_all": _tags(rng, i),
        },
    )


def skipped(rng: random.Random, i: int, region: str) -> Iterator[Attrs]:
    """What driftwatch reads past: another type, a data source, another provider."""
    yield _resource(
        "aws_route53_record",
        f"www_{i}",
        {
            "alias": [],
            "allow_overwrite": None,
            "cidr_routing_policy": [],
            "failover_routing_policy": [],
            "fqdn": f"www{i}.example.com",
            "geolocation_routing_policy": [],
            "health_check_id": "",
            "id": f"Z0{rng.getrandbits(64):016X}_www{i}.example.com_A",
            "latency_routing_policy": [],
            "multivalue_answer_routing_policy": False,
            "name": f"www{i}.example.com",
            "records": [f"10.1.{i % 256}.{rng.randrange(256)}"],
            "set_identifier": "",
            "ttl": 300,
            "type": "A",
            "weighted_routing_policy": [],
            "zone_id": f"Z0{rng.getrandbits(64):016X}",
        },
    )
    doc = _policy(rng, 4, f"arn:aws:s3:::acme-data-{i:06d}")
    yield _resource(
        "aws_iam_policy_document",
        f"data_{i}",
        {"id": str(rng.getrandbits(32)), "json": doc, "minified_json": doc, "statement": []},
        mode="data",
    )
    yield _resource(
        "random_id",
        f"suffix_{i}",
        {"b64_std": "AAAA", "byte_length": 4, "hex": "00000000", "id": "AAAA"},
        provider=RANDOM,
    )


# How many entries of `resources[]` each family yields, and how often it is drawn.
FAMILIES: tuple[tuple[Callable[[random.Random, int, str], Iterator[Attrs]], int, int], ...] = (
    (ec2_instance, 1, 8),
    (bucket, 3, 3),
    (security_group, 2, 3),
    (role, 2, 3),
    (function, 1, 2),
    (queue, 1, 2),
    (log_group, 1, 2),
    (skipped, 3, 2),
)


def resources(count: int, seed: int = 12, first: int = 0) -> Iterator[Attrs]:
    """`count` entries of `resources[]`, the families interleaved by weight.

    Names are numbered from `first`: states made with ranges that do not overlap
    declare different resources.
    """
    rng = random.Random(seed)
    wheel = [(make, n) for make, n, weight in FAMILIES for _ in range(weight)]
    made, i = 0, first
    while made < count:
        make, n = wheel[i % len(wheel)]
        if made + n > count:
            make, n = log_group, 1
        yield from make(rng, i, REGIONS[i % len(REGIONS)])
        made += n
        i += 1


def write_state(path: Path, count: int) -> int:
    """Write a state of `count` resources to `path`; return its size in bytes."""
    with path.open("wb") as f:
        _write(f, count)
    return path.stat().st_size


def state_bytes(count: int, first: int) -> bytes:
    """A small state in memory: `count` resources numbered from `first`."""
    buf = io.BytesIO()
    _write(buf, count, first)
    return buf.getvalue()


def _write(f: BinaryIO, count: int, first: int = 0) -> None:
    head = {
        "version": 4,
        "terraform_version": "1.9.8",
        "serial": 4211,
        "lineage": "3f1c7a52-5a2e-4b1e-9c0a-1d2e3f4a5b6c",
        "outputs": {"vpc_id": {"value": "vpc-0a1b2c3d", "type": "string"}},
    }
    f.write(json.dumps(head, indent=2)[:-2].encode() + b',\n  "resources": [\n')
    for n, r in enumerate(resources(count, seed=12 + first, first=first)):
        text = json.dumps(r, indent=2).replace("\n", "\n    ")
        f.write((",\n    " if n else "    ").encode() + text.encode())
    f.write(b'\n  ],\n  "check_results": null\n}\n')
