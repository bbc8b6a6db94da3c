"""What Terraform owns, per type: state attributes → driftwatch attributes.

Each compared type has a `TypeMap`: how its state instance names the resource, and
for every driftwatch attribute the state key(s) it comes from and whether Terraform
owns it outright (*owned*: Required, Optional or defaulted arguments, whose state value
is what the configuration set) or only when the configuration sets it (*owned-if-
configured*: Optional+Computed arguments, which Terraform ignores when unset; without
evidence their recorded value is what the provider last read, not a declaration).
Values that are computed only (ids, ARNs, …) are never mapped, so never compared.

Split resources (the provider-4 S3 split, standalone security-group rules, policy
attachments) are `Split`s: each contributes one value to an attribute of its parent,
found by value (bucket name, group id, role name).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

Attrs = dict[str, Any]
Reader = Callable[[Attrs], Any]
ONE, SET, MAP = "one", "set", "map"  # how split children combine


class Skip(Exception):
    """A recorded value that cannot stand for a declaration (the reason says why)."""


@dataclass(frozen=True)
class Field:
    """One driftwatch attribute: the state keys it is read from, and how."""

    attr: str
    keys: tuple[str, ...]
    read: Reader
    owned: bool = True  # False: Optional+Computed, owned only with evidence


@dataclass(frozen=True)
class TypeMap:
    """A compared type: how its instances are named, and what of them Terraform owns."""

    type: str
    ident: Reader
    fields: tuple[Field, ...]


@dataclass(frozen=True)
class Split:
    """A split resource: it sets `attr` of the parent it names (merged by `merge`).

    With `fan_out`, `parent_id` reads a list: the child sets `attr` of each parent named
    (aws_iam_group_membership: one group, the users it holds).
    """

    type: str
    parent: str
    parent_id: Reader
    attr: str
    value: Reader
    merge: str
    keys: tuple[str, ...]
    fan_out: bool = False


def key(name: str) -> Reader:
    return lambda a: a.get(name)


def text(name: str) -> Reader:
    """A string where Terraform records "" for unset: "" → None."""
    return lambda a: a.get(name) or None


def _listed(name: str) -> Reader:
    """A list of strings (None when it is not one: the child then names no parent)."""

    def read(a: Attrs) -> list[str] | None:
        items = a.get(name)
        if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
            return None
        return items

    return read


def _first(a: Attrs, block: str) -> Attrs | None:
    items = a.get(block)
    return items[0] if isinstance(items, list) and items and isinstance(items[0], dict) else None


def tags(a: Attrs) -> Any:
    """`tags_all` (tags + provider `default_tags`), what the resource really carries."""
    value = a.get("tags_all")
    return value if value is not None else (a.get("tags") or {})


def _tags_field() -> Field:
    return Field("tags", ("tags_all", "tags"), tags)


def _name_after(sep: str, source: str) -> Reader:
    """The last `sep`-separated part of an ARN or URL (a topic's or queue's name)."""
    return lambda a: str(a.get(source) or "").rstrip("/").rsplit(sep, 1)[-1] or None


# --- S3 ---------------------------------------------------------------------------


def _bucket_versioning(a: Attrs) -> Any:
    block = _first(a, "versioning")
    if block is None:
        raise Skip("no versioning block recorded")
    if block.get("enabled"):
        return "Enabled"
    raise Skip("versioning.enabled = false cannot tell Suspended from never enabled")


def _sse(block: Attrs | None) -> Any:
    rule = _first(block or {}, "rule")
    default = _first(rule or {}, "apply_server_side_encryption_by_default")
    if default is None:
        return None
    return {
        "sse_algorithm": default.get("sse_algorithm"),
        "kms_master_key_id": default.get("kms_master_key_id") or None,
    }


_PAB = ("block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets")


def _versioning_child(a: Attrs) -> Any:
    conf = _first(a, "versioning_configuration")
    if conf is None or not conf.get("status"):
        raise Skip("no versioning_configuration.status recorded")
    return conf["status"]


# --- security-group rules ---------------------------------------------------------


def _vpc_rule(a: Attrs) -> Attrs:
    """aws_vpc_security_group_{ingress,egress}_rule → one rule in the group's shape."""
    rule: Attrs = {
        "protocol": a.get("ip_protocol"),
        "from_port": a.get("from_port"),
        "to_port": a.get("to_port"),
        "description": a.get("description") or None,
    }
    for state_key, rule_key in (
        ("cidr_ipv4", "cidr_blocks"),
        ("cidr_ipv6", "ipv6_cidr_blocks"),
        ("referenced_security_group_id", "security_groups"),
        ("prefix_list_id", "prefix_list_ids"),
    ):
        if a.get(state_key):
            rule[rule_key] = [a[state_key]]
    return rule


def _sg_rule(a: Attrs) -> Attrs:
    """aws_security_group_rule → one rule in the group's shape."""
    rule: Attrs = {
        "protocol": a.get("protocol"),
        "from_port": a.get("from_port"),
        "to_port": a.get("to_port"),
        "description": a.get("description") or None,
        "self": bool(a.get("self")),
    }
    for k in ("cidr_blocks", "ipv6_cidr_blocks", "prefix_list_ids"):
        if a.get(k):
            rule[k] = list(a[k])
    if a.get("source_security_group_id"):
        rule["security_groups"] = [a["source_security_group_id"]]
    return rule


def _sg_rule_attr(direction: str) -> Reader:
    def read(a: Attrs) -> Any:
        if a.get("type") != direction:
            raise Skip(f"a {a.get('type')} rule")
        return [_sg_rule(a)]

    return read


def _group_rules(name: str) -> Reader:
    def read(a: Attrs) -> Any:
        return [
            {k: v for k, v in rule.items() if v not in (None, [], "") or k == "self"}
            for rule in a.get(name) or ()
        ]

    return read


# --- IAM ---------------------------------------------------------------------------


def _inline_policies(a: Attrs) -> Any:
    # The provider records one empty placeholder block when the role has none.
    return {p["name"]: p.get("policy") for p in a.get("inline_policy") or () if p.get("name")}


# --- the tables ---------------------------------------------------------------------

_POLICY_KEYS = ("policy",)

TYPES: dict[str, TypeMap] = {
    t.type: t
    for t in (
        TypeMap(
            "aws_s3_bucket",
            key("bucket"),
            (
                Field("versioning", ("versioning",), _bucket_versioning, owned=False),
                Field(
                    "server_side_encryption",
                    ("server_side_encryption_configuration",),
                    lambda a: _sse(_first(a, "server_side_encryption_configuration")),
                    owned=False,
                ),
                Field("policy", _POLICY_KEYS, text("policy"), owned=False),
                _tags_field(),
            ),
        ),
        TypeMap(
            "aws_security_group",
            key("id"),
            (
                Field("description", ("description",), key("description")),
                Field("vpc_id", ("vpc_id",), key("vpc_id"), owned=False),
                Field("ingress", ("ingress",), _group_rules("ingress"), owned=False),
                Field("egress", ("egress",), _group_rules("egress"), owned=False),
                _tags_field(),
            ),
        ),
        TypeMap(
            "aws_instance",
            key("id"),
            (
                Field("instance_type", ("instance_type",), key("instance_type")),
                Field("ami", ("ami",), key("ami")),
                Field("subnet_id", ("subnet_id",), key("subnet_id"), owned=False),
                Field(
                    "vpc_security_group_ids",
                    ("vpc_security_group_ids",),
                    key("vpc_security_group_ids"),
                    owned=False,
                ),
                Field("monitoring", ("monitoring",), lambda a: bool(a.get("monitoring"))),
                _tags_field(),
            ),
        ),
        TypeMap(
            "aws_iam_role",
            key("name"),
            (
                Field("assume_role_policy", ("assume_role_policy",), key("assume_role_policy")),
                Field("description", ("description",), text("description")),
                Field("path", ("path",), key("path")),
                Field(
                    "max_session_duration", ("max_session_duration",), key("max_session_duration")
                ),
                Field(
                    "managed_policy_arns",
                    ("managed_policy_arns",),
                    lambda a: list(a.get("managed_policy_arns") or ()),
                    owned=False,
                ),
                Field("inline_policies", ("inline_policy",), _inline_policies, owned=False),
                _tags_field(),
            ),
        ),
        TypeMap(
            "aws_iam_policy",
            key("name"),
            (
                Field("policy", _POLICY_KEYS, key("policy")),
                Field("description", ("description",), text("description")),
                Field("path", ("path",), key("path")),
                _tags_field(),
            ),
        ),
        TypeMap(
            "aws_iam_user",
            key("name"),
            (Field("path", ("path",), key("path")), _tags_field()),
        ),
        TypeMap(
            "aws_dynamodb_table",
            key("name"),
            (
                Field("billing_mode", ("billing_mode",), key("billing_mode")),
                Field("hash_key", ("hash_key",), key("hash_key")),
                Field("range_key", ("range_key",), text("range_key")),
                Field(
                    "attribute",
                    ("attribute",),
                    lambda a: [
                        {"name": x["name"], "type": x["type"]} for x in a.get("attribute") or ()
                    ],
                ),
                Field("read_capacity", ("read_capacity",), key("read_capacity"), owned=False),
                Field("write_capacity", ("write_capacity",), key("write_capacity"), owned=False),
                Field(
                    "stream_enabled", ("stream_enabled",), lambda a: bool(a.get("stream_enabled"))
                ),
                Field(
                    "point_in_time_recovery",
                    ("point_in_time_recovery",),
                    lambda a: bool((_first(a, "point_in_time_recovery") or {}).get("enabled")),
                    owned=False,
                ),
                _tags_field(),
            ),
        ),
        TypeMap(
            "aws_kms_key",
            key("key_id"),
            (
                Field("description", ("description",), key("description"), owned=False),
                Field("key_usage", ("key_usage",), key("key_usage")),
                Field(
                    "deletion_window_in_days",
                    ("deletion_window_in_days",),
                    key("deletion_window_in_days"),
                ),
                Field(
                    "enable_key_rotation",
                    ("enable_key_rotation",),
                    lambda a: bool(a.get("enable_key_rotation")),
                ),
                Field("policy", _POLICY_KEYS, text("policy"), owned=False),
                _tags_field(),
            ),
        ),
        TypeMap(
            "aws_lambda_function",
            key("function_name"),
            (
                Field("runtime", ("runtime",), text("runtime")),
                Field("handler", ("handler",), text("handler")),
                Field("role", ("role",), key("role")),
                Field("memory_size", ("memory_size",), key("memory_size")),
                Field("timeout", ("timeout",), key("timeout")),
                # Digested at projection (a secret attribute): never kept in plain text.
                Field(
                    "environment",
                    ("environment",),
                    lambda a: dict((_first(a, "environment") or {}).get("variables") or {}),
                ),
                Field("layers", ("layers",), lambda a: list(a.get("layers") or ())),
                _tags_field(),
            ),
        ),
        TypeMap(
            "aws_cloudwatch_log_group",
            key("name"),
            (
                Field("retention_in_days", ("retention_in_days",), key("retention_in_days")),
                Field("kms_key_id", ("kms_key_id",), text("kms_key_id")),
                _tags_field(),
            ),
        ),
        TypeMap(
            "aws_db_instance",
            key("identifier"),
            (
                Field("engine", ("engine",), key("engine"), owned=False),
                Field("engine_version", ("engine_version",), key("engine_version"), owned=False),
                Field("instance_class", ("instance_class",), key("instance_class")),
                Field(
                    "allocated_storage",
                    ("allocated_storage",),
                    key("allocated_storage"),
                    owned=False,
                ),
                Field("multi_az", ("multi_az",), key("multi_az"), owned=False),
                Field("publicly_accessible", ("publicly_accessible",), key("publicly_accessible")),
                Field(
                    "storage_encrypted",
                    ("storage_encrypted",),
                    key("storage_encrypted"),
                    owned=False,
                ),
                Field(
                    "backup_retention_period",
                    ("backup_retention_period",),
                    key("backup_retention_period"),
                    owned=False,
                ),
                Field("deletion_protection", ("deletion_protection",), key("deletion_protection")),
                _tags_field(),
            ),
        ),
        TypeMap(
            "aws_sns_topic",
            key("name"),
            (
                Field("display_name", ("display_name",), text("display_name")),
                Field("kms_master_key_id", ("kms_master_key_id",), text("kms_master_key_id")),
                Field("policy", _POLICY_KEYS, text("policy"), owned=False),
                _tags_field(),
            ),
        ),
        TypeMap(
            "aws_sqs_queue",
            key("name"),
            (
                Field(
                    "visibility_timeout_seconds",
                    ("visibility_timeout_seconds",),
                    key("visibility_timeout_seconds"),
                ),
                Field(
                    "message_retention_seconds",
                    ("message_retention_seconds",),
                    key("message_retention_seconds"),
                ),
                Field("delay_seconds", ("delay_seconds",), key("delay_seconds")),
                Field("max_message_size", ("max_message_size",), key("max_message_size")),
                Field("fifo_queue", ("fifo_queue",), lambda a: bool(a.get("fifo_queue"))),
                Field("kms_master_key_id", ("kms_master_key_id",), text("kms_master_key_id")),
                Field("policy", _POLICY_KEYS, text("policy"), owned=False),
                Field("redrive_policy", ("redrive_policy",), text("redrive_policy"), owned=False),
                _tags_field(),
            ),
        ),
    )
}

SPLITS: dict[str, tuple[Split, ...]] = {}


def _split(*splits: Split) -> None:
    for s in splits:
        SPLITS.setdefault(s.type, ())
        SPLITS[s.type] += (s,)


_split(
    Split(
        "aws_s3_bucket_versioning",
        "aws_s3_bucket",
        key("bucket"),
        "versioning",
        _versioning_child,
        ONE,
        ("versioning_configuration",),
    ),
    Split(
        "aws_s3_bucket_policy",
        "aws_s3_bucket",
        key("bucket"),
        "policy",
        key("policy"),
        ONE,
        _POLICY_KEYS,
    ),
    Split(
        "aws_s3_bucket_public_access_block",
        "aws_s3_bucket",
        key("bucket"),
        "public_access_block",
        lambda a: {f: bool(a.get(f)) for f in _PAB},
        ONE,
        _PAB,
    ),
    Split(
        "aws_s3_bucket_server_side_encryption_configuration",
        "aws_s3_bucket",
        key("bucket"),
        "server_side_encryption",
        _sse,
        ONE,
        ("rule",),
    ),
    Split(
        "aws_vpc_security_group_ingress_rule",
        "aws_security_group",
        key("security_group_id"),
        "ingress",
        lambda a: [_vpc_rule(a)],
        SET,
        ("description", "cidr_ipv4", "cidr_ipv6"),
    ),
    Split(
        "aws_vpc_security_group_egress_rule",
        "aws_security_group",
        key("security_group_id"),
        "egress",
        lambda a: [_vpc_rule(a)],
        SET,
        ("description", "cidr_ipv4", "cidr_ipv6"),
    ),
    Split(
        "aws_security_group_rule",
        "aws_security_group",
        key("security_group_id"),
        "ingress",
        _sg_rule_attr("ingress"),
        SET,
        ("description", "cidr_blocks", "ipv6_cidr_blocks"),
    ),
    Split(
        "aws_security_group_rule",
        "aws_security_group",
        key("security_group_id"),
        "egress",
        _sg_rule_attr("egress"),
        SET,
        ("description", "cidr_blocks", "ipv6_cidr_blocks"),
    ),
    Split(
        "aws_iam_role_policy_attachment",
        "aws_iam_role",
        key("role"),
        "managed_policy_arns",
        lambda a: [a.get("policy_arn")],
        SET,
        ("policy_arn",),
    ),
    Split(
        "aws_iam_role_policy",
        "aws_iam_role",
        key("role"),
        "inline_policies",
        lambda a: {a.get("name"): a.get("policy")},
        MAP,
        ("name", "policy"),
    ),
    Split(
        "aws_iam_user_policy_attachment",
        "aws_iam_user",
        key("user"),
        "managed_policy_arns",
        lambda a: [a.get("policy_arn")],
        SET,
        ("policy_arn",),
    ),
    Split(
        "aws_iam_user_group_membership",
        "aws_iam_user",
        key("user"),
        "groups",
        lambda a: list(a.get("groups") or ()),
        SET,
        ("groups",),
    ),
    # Exclusive for its group (Terraform removes other members), so every user it names
    # is declared in the group; the user's groups are the union of both membership types.
    Split(
        "aws_iam_group_membership",
        "aws_iam_user",
        _listed("users"),
        "groups",
        lambda a: [a["group"]] if a.get("group") else [],
        SET,
        ("group", "users"),
        fan_out=True,
    ),
    Split(
        "aws_sqs_queue_policy",
        "aws_sqs_queue",
        _name_after("/", "queue_url"),
        "policy",
        key("policy"),
        ONE,
        _POLICY_KEYS,
    ),
    Split(
        "aws_sns_topic_policy",
        "aws_sns_topic",
        _name_after(":", "arn"),
        "policy",
        key("policy"),
        ONE,
        _POLICY_KEYS,
    ),
)


def wanted(rtype: str) -> bool:
    """The state types read: the compared types and their split children."""
    return rtype in TYPES or rtype in SPLITS


def sensitive(keys: tuple[str, ...], paths: tuple[tuple[Any, ...], ...]) -> bool:
    """True when a value read from `keys` lies under (or holds) a sensitive path."""
    return any(p and p[0] in keys for p in paths)
