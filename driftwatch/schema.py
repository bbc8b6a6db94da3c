"""Attribute kinds: how a declared value is validated and how both sides are canonicalised.

Canonical forms make equal things compare equal: tags are mappings of strings,
sets are sorted lists, policy documents are normalised, security-group rules are
exploded into one entry per source and keyed.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

Ctx = dict[str, Any]


class AttrKind:
    """Base attribute kind. `check` returns an error message or None."""

    label = "value"
    secret = False  # values are compared by digest and never stored or shown

    def check(self, value: Any) -> str | None:
        return None

    def canonical(self, value: Any, ctx: Ctx) -> Any:
        return value

    def declared(self, value: Any) -> Any:
        """A canonical value as a manifest writes it (accept into Git); most kinds: as is."""
        return value


@dataclass(frozen=True)
class Str(AttrKind):
    choices: tuple[str, ...] = ()
    nullable: bool = False
    empty_is_null: bool = False

    @property
    def label(self) -> str:  # type: ignore[override]
        return " | ".join(repr(c) for c in self.choices) if self.choices else "string"

    def check(self, value: Any) -> str | None:
        if value is None and (self.nullable or self.empty_is_null):
            return None
        if not isinstance(value, str):
            return f"must be a {self.label}, got {_show(value)}"
        if self.choices and value not in self.choices:
            return f"must be one of {', '.join(self.choices)}; got {value!r}"
        return None

    def canonical(self, value: Any, ctx: Ctx) -> Any:
        if self.empty_is_null and value == "":
            return None
        return value


@dataclass(frozen=True)
class Int(AttrKind):
    label = "integer"
    nullable: bool = False

    def check(self, value: Any) -> str | None:
        if value is None and self.nullable:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            return f"must be an integer, got {_show(value)}"
        return None


@dataclass(frozen=True)
class Bool(AttrKind):
    label = "boolean"

    def check(self, value: Any) -> str | None:
        return None if isinstance(value, bool) else f"must be true or false, got {_show(value)}"


@dataclass(frozen=True)
class Tags(AttrKind):
    """A mapping of tag key to value; values compared as strings (YAML `1` equals AWS "1").

    `aws:` tags are AWS's own (CloudFormation, Auto Scaling, launch templates): nobody can
    set or remove them, so they are dropped (as the Terraform provider does on read) and
    declaring one is an error.
    """

    label = "mapping of tag key to value"

    def check(self, value: Any) -> str | None:
        problem = _scalar_map_problem(value, "tag key to value", "tag")
        if problem or not value:
            return problem
        reserved = [k for k in value if _reserved_tag(k)]
        if reserved:
            return (
                f"tag {reserved[0]!r} uses the reserved prefix 'aws:': only AWS sets such "
                "tags (CloudFormation, Auto Scaling, ...), they cannot be declared and "
                "driftwatch ignores them on live resources; remove it"
            )
        return None

    def canonical(self, value: Any, ctx: Ctx) -> Any:
        if not value:
            return {}
        if isinstance(value, list):  # AWS TagSet / Tags: [{Key, Value}]
            value = {t["Key"]: t.get("Value", "") for t in value}
        if any(_reserved_tag(k) for k in value):
            value = {k: v for k, v in value.items() if not _reserved_tag(k)}
        if all(type(v) is str for v in value.values()):
            return value
        return {str(k): _scalar_str(v) for k, v in value.items()}


def _reserved_tag(key: Any) -> bool:
    """AWS reserves the `aws:` prefix, in any letter case, for its own tags."""
    return str(key)[:4].lower() == "aws:"


def _scalar_map_problem(value: Any, what: str, entry: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        return f"must be a mapping of {what}, got {_show(value)}"
    bad = [k for k, v in value.items() if isinstance(v, dict | list)]
    return f"{entry} {bad[0]!r} must have a scalar value" if bad else None


@dataclass(frozen=True)
class StrSet(AttrKind):
    """A set of strings; order and duplicates never matter."""

    label = "list of strings (order ignored)"

    def check(self, value: Any) -> str | None:
        if value is None:
            return None
        if not isinstance(value, list) or not all(isinstance(x, str) for x in value):
            return f"must be a list of strings, got {_show(value)}"
        return None

    def canonical(self, value: Any, ctx: Ctx) -> Any:
        return sorted(set(value or ()))


@dataclass(frozen=True)
class Policy(AttrKind):
    """An IAM-style policy document (JSON string or mapping), compared semantically."""

    label = "policy document (JSON string or mapping)"

    def check(self, value: Any) -> str | None:
        doc = value
        if isinstance(value, str):
            try:
                doc = json.loads(value)
            except ValueError as exc:
                return f"is not valid JSON: {exc}"
            if not isinstance(doc, dict):
                return "must be a JSON object"
        elif value is not None and not isinstance(value, dict):
            return f"must be a policy document, got {_show(value)}"
        return None if doc is None else _document_problem(doc)

    def canonical(self, value: Any, ctx: Ctx) -> Any:
        return canonical_policy(value)


@dataclass(frozen=True)
class PolicyMap(AttrKind):
    """A mapping of policy name to policy document (inline policies)."""

    label = "mapping of policy name to policy document"

    def check(self, value: Any) -> str | None:
        if value is None:
            return None
        if not isinstance(value, dict):
            return f"must be a mapping of name to policy document, got {_show(value)}"
        for name, doc in value.items():
            problem = Policy().check(doc)
            if problem:
                return f"policy {name!r} {problem}"
        return None

    def canonical(self, value: Any, ctx: Ctx) -> Any:
        return {str(k): canonical_policy(v) for k, v in (value or {}).items()}


@dataclass(frozen=True)
class Struct(AttrKind):
    """A mapping with known fields; undeclared fields take their documented default."""

    fields: dict[str, tuple[AttrKind, Any]] = field(default_factory=dict)
    nullable: bool = False

    @property
    def label(self) -> str:  # type: ignore[override]
        return "mapping with keys " + ", ".join(self.fields)

    def check(self, value: Any) -> str | None:
        if value is None:
            return None if self.nullable else f"must be a {self.label}, got null"
        if not isinstance(value, dict):
            return f"must be a {self.label}, got {_show(value)}"
        for k, v in value.items():
            if k not in self.fields:
                return f"has unknown key {k!r}; expected {', '.join(self.fields)}"
            problem = self.fields[k][0].check(v)
            if problem:
                return f"key {k!r} {problem}"
        return None

    def canonical(self, value: Any, ctx: Ctx) -> Any:
        if value is None:
            return None
        return {
            k: kind.canonical(value.get(k, default), ctx)
            for k, (kind, default) in self.fields.items()
        }


@dataclass(frozen=True)
class SecretMap(AttrKind):
    """A mapping whose values are secrets (e.g. Lambda environment): compared by digest only.

    The canonical form replaces every value by a SHA-256 digest, so snapshots and
    changes never hold a value; reports say a key was added, removed or changed.
    """

    label = "mapping of name to value (values never stored or shown)"
    secret = True

    def check(self, value: Any) -> str | None:
        return _scalar_map_problem(value, "name to value", "variable")

    def canonical(self, value: Any, ctx: Ctx) -> Any:
        key = ctx.get(SECRET_KEY)
        if not isinstance(key, bytes):  # a missing key would digest with a guessable one
            raise ValueError("SecretMap.canonical needs the installation's secret key in ctx")
        return {
            str(k): v if isinstance(v, Digested) else secret_digest(key, _scalar_str(v))
            for k, v in (value or {}).items()
        }


class Digested(str):
    """A secret value already replaced by its keyed digest (Terraform state, at projection)."""

    __slots__ = ()


SECRET_KEY = "secret_key"  # the ctx entry holding the installation's key (secretkey.py)


def secret_digest(key: bytes, value: str) -> str:
    """A keyed digest: without the key file, stored digests cannot be brute-forced."""
    return "hmac-sha256:" + hmac.new(key, value.encode(), hashlib.sha256).hexdigest()


# Protocols whose rules have ports (ICMP: type and code); AWS returns them by name.
_PORTED = {6: "tcp", 17: "udp", 1: "icmp", 58: "icmpv6"}
_PORTED_NAMES = frozenset(_PORTED.values())
PORTED_PROTOCOLS = _PORTED_NAMES  # the canonical protocols whose rules carry ports
# Names accepted for a protocol: those four, and the IANA keywords of protocols commonly
# allowed through a security group. AWS returns every other protocol by its number and
# without ports: it ignores them (Terraform reads them as 0/0).
_PROTOCOL_NUMBERS = {
    "tcp": 6, "udp": 17, "icmp": 1, "icmpv6": 58, "ipv6-icmp": 58,
    "hopopt": 0, "igmp": 2, "ipv4": 4, "egp": 8, "igp": 9, "rdp": 27, "ipv6": 41,
    "ipv6-route": 43, "ipv6-frag": 44, "rsvp": 46, "gre": 47, "esp": 50, "ah": 51,
    "ipv6-nonxt": 59, "ipv6-opts": 60, "eigrp": 88, "ospfigp": 89, "pim": 103,
    "vrrp": 112, "l2tp": 115, "sctp": 132,
}  # fmt: skip
_ALL_TRAFFIC = ("-1", "all")
_SOURCES = ("cidr_blocks", "ipv6_cidr_blocks", "security_groups", "prefix_list_ids")
_RULE_KEYS = {"protocol", "from_port", "to_port", "description", "self", *_SOURCES}


def canonical_protocol(value: Any) -> str | None:
    """`-1` for all traffic, tcp/udp/icmp/icmpv6 by name, any other protocol by number.

    None for a value that names no protocol (a typo, a number above 255).
    """
    text = str(value).strip().lower()
    if text in _ALL_TRAFFIC:
        return "-1"
    number = _PROTOCOL_NUMBERS.get(text)
    if number is None and text.isascii() and text.isdigit() and int(text) <= 255:
        number = int(text)
    if number is None:
        return None
    return _PORTED.get(number, str(number))


@dataclass(frozen=True)
class Rules(AttrKind):
    """Security-group rules as a set: one entry per (protocol, ports, source), keyed.

    One rule with two CIDRs equals two rules with one CIDR each; order never matters.
    Both sides must be in Terraform's shape (collectors convert AWS IpPermissions).
    Protocols without ports (all traffic, ESP, GRE, …) get ports 0-0 on both sides.
    """

    label = "list of rules {protocol, from_port, to_port, cidr_blocks, ...}"

    def check(self, value: Any) -> str | None:
        if value is None:
            return None
        if not isinstance(value, list):
            return f"must be a list of rules, got {_show(value)}"
        for i, rule in enumerate(value):
            problem = _rule_problem(rule)
            if problem:
                return f"rule {i} {problem}"
        return _description_clash(value)

    def canonical(self, value: Any, ctx: Ctx) -> Any:
        out = {key: entry for _, key, entry in _entries(value or (), ctx.get("self_id"))}
        return dict(sorted(out.items()))

    def declared(self, value: Any) -> Any:
        """One rule per source, without the null descriptions of the canonical entries."""
        return [{k: v for k, v in e.items() if v is not None} for e in (value or {}).values()]


def _rule_problem(rule: Any) -> str | None:
    if not isinstance(rule, dict):
        return f"must be a mapping, got {_show(rule)}"
    unknown = set(rule) - _RULE_KEYS
    if unknown:
        return f"has unknown key(s) {sorted(unknown)}; expected {sorted(_RULE_KEYS)}"
    if "protocol" not in rule:
        return "needs a protocol"
    if canonical_protocol(rule["protocol"]) is None:
        return (
            f"has unknown protocol {_show(rule['protocol'])}; expected tcp, udp, icmp, "
            "icmpv6, -1 (all), a protocol number from 0 to 255, or its IANA name "
            "(esp, ah, gre, ...)"
        )
    for k in _SOURCES:
        if StrSet().check(rule.get(k)):
            return f"key {k!r} must be a list of strings"
    if not isinstance(rule.get("description"), str | None):
        return f"description must be a string, got {_show(rule['description'])}"
    if not any(rule.get(k) for k in _SOURCES) and not rule.get("self"):
        return f"needs at least one source ({', '.join(_SOURCES)} or self)"
    return _ports_problem(rule)


def _ports_problem(rule: dict[str, Any]) -> str | None:
    protocol = canonical_protocol(rule["protocol"])
    for key in ("from_port", "to_port"):
        value = rule.get(key)
        is_int = isinstance(value, int) and not isinstance(value, bool)
        if protocol not in _PORTED_NAMES:
            if value is not None and not is_int:  # ignored, as AWS does, but not garbage
                return f"{key} must be an integer or left out, got {_show(value)}"
        elif not is_int:
            return f"needs an integer {key} (protocol {rule['protocol']!r}), got {_show(value)}"
    return None


def _description_clash(rules: list[dict[str, Any]]) -> str | None:
    """Two rules that differ only by description: AWS keeps one, the other is always drift."""
    seen: dict[str, tuple[int, Any]] = {}
    for i, key, entry in _entries(rules, None):
        first, desc = seen.setdefault(key, (i, entry["description"]))
        if desc != entry["description"]:
            return (
                f"rules {first} and {i} both declare {key!r} with different descriptions "
                f"({_text(desc)} and {_text(entry['description'])}); AWS keeps one description per "
                "protocol, ports and source: declare it once"
            )
    return None


def _text(description: str | None) -> str:
    return "none" if description is None else repr(description)


def rule_entries(rules: Any, self_id: Any) -> Iterator[tuple[int, str, dict[str, Any]]]:
    """(rule index, canonical key, atomic rule) for every source of every declared rule."""
    return _entries(rules, self_id)


def _entries(rules: Any, self_id: Any) -> Iterator[tuple[int, str, dict[str, Any]]]:
    """(rule index, key, atomic rule) for every source of every rule."""
    for i, rule in enumerate(rules):
        proto = canonical_protocol(rule["protocol"]) or str(rule["protocol"]).lower()
        lo, hi = (rule.get("from_port"), rule.get("to_port")) if proto in _PORTED_NAMES else (0, 0)
        desc = rule.get("description") or None
        for src_key in _SOURCES:
            for src in rule.get(src_key) or ():
                key = src_key
                if src_key == "security_groups" and src == self_id:
                    key, src = "self", "self"
                yield i, f"{proto} {lo}-{hi} {src}", _atomic(proto, lo, hi, key, src, desc)
        if rule.get("self"):
            yield i, f"{proto} {lo}-{hi} self", _atomic(proto, lo, hi, "self", "self", desc)


def _atomic(proto: str, lo: Any, hi: Any, src_key: str, src: str, desc: Any) -> dict[str, Any]:
    rule: dict[str, Any] = {"protocol": proto, "from_port": lo, "to_port": hi}
    rule[src_key] = True if src_key == "self" else [src]
    rule["description"] = desc
    return rule


_ACCOUNT_ID = re.compile(r"^\d{12}$")
_LIST_KEYS = ("Action", "NotAction", "Resource", "NotResource")


_EFFECTS = ("Allow", "Deny")


def _document_problem(doc: dict[str, Any]) -> str | None:
    """Element types AWS requires, which the canonical form would otherwise coerce."""
    if "Statement" not in doc:
        return None
    stmts = doc["Statement"]
    items = [stmts] if isinstance(stmts, dict) else stmts
    if not isinstance(items, list) or not all(isinstance(s, dict) for s in items):
        return f"Statement must be a mapping or a list of mappings, got {_show(stmts)}"
    for i, stmt in enumerate(items):
        problem = _statement_problem(stmt)
        if problem:
            sid = f" (Sid {stmt['Sid']!r})" if isinstance(stmt.get("Sid"), str) else ""
            return f"Statement {i}{sid} {problem}"
    return None


def _statement_problem(stmt: dict[str, Any]) -> str | None:
    if "Effect" in stmt and stmt["Effect"] not in _EFFECTS:
        return f'Effect must be "Allow" or "Deny", got {_show(stmt["Effect"])}'
    for key in _LIST_KEYS:
        if key in stmt and not _is_strings(stmt[key]):
            return f"{key} must be a string or a list of strings, got {_show(stmt[key])}"
    for key in ("Principal", "NotPrincipal"):
        if key in stmt and not _is_principal(stmt[key]):
            return (
                f'{key} must be "*" or a mapping of principal type to a string or a list '
                f"of strings (quote account ids), got {_show(stmt[key])}"
            )
    if "Condition" in stmt and not _is_condition(stmt["Condition"]):
        return (
            "Condition must be a mapping of operator to a mapping of condition key to a "
            f"value or a list of values, got {_show(stmt['Condition'])}"
        )
    return None


def _is_strings(value: Any) -> bool:
    return isinstance(value, str) or (
        isinstance(value, list) and all(isinstance(x, str) for x in value)
    )


def _is_principal(value: Any) -> bool:
    if not isinstance(value, dict):
        return value == "*"
    return all(isinstance(k, str) and _is_strings(v) for k, v in value.items())


def _is_condition(value: Any) -> bool:
    return isinstance(value, dict) and all(
        isinstance(body, dict) and all(_is_condition_value(v) for v in body.values())
        for body in value.values()
    )


def _is_condition_value(value: Any) -> bool:
    """A scalar or a list of scalars (YAML `false` stands for the string "false")."""
    items = value if isinstance(value, list) else [value]
    return all(isinstance(x, str | int | float | bool) for x in items)


def canonical_policy(doc: Any) -> Any:
    """Normalise a policy document: statement order, string vs one-element list, key order.

    Canonical forms are shared and must be treated as read-only: documents that
    arrive as JSON text (the live side) are memoised, since accounts repeat them.
    """
    if doc is None or doc == "":
        return None
    if isinstance(doc, str):
        return _policy_text(doc)
    return _canonical_doc(doc)


@functools.lru_cache(maxsize=16384)
def _policy_text(text: str) -> Any:
    return _canonical_doc(json.loads(text))


def _canonical_doc(doc: dict[str, Any]) -> dict[str, Any]:
    out = dict(doc)  # dict equality ignores key order: no need to sort keys
    stmts = out.get("Statement")
    if isinstance(stmts, dict):
        out["Statement"] = [_statement(stmts)]
    elif isinstance(stmts, list):
        norm = [_statement(x) for x in stmts]
        out["Statement"] = norm if len(norm) < 2 else sorted(norm, key=_statement_key)
    return out


def _statement_key(stmt: dict[str, Any]) -> str:
    return json.dumps(stmt, sort_keys=True, default=str)


def _statement(stmt: dict[str, Any]) -> dict[str, Any]:
    s = dict(stmt)
    for key in _LIST_KEYS:
        if key in s:
            s[key] = _str_set(s[key])
    for key in ("Principal", "NotPrincipal"):
        if key in s:
            s[key] = _principal(s[key])
    if "Condition" in s and isinstance(s["Condition"], dict):
        s["Condition"] = {
            op: {k: _str_set(v) for k, v in (body or {}).items()}
            for op, body in s["Condition"].items()
        }
    return s


def _principal(p: Any) -> Any:
    if not isinstance(p, dict):
        return p
    out = {}
    for k, v in p.items():
        vals = _str_set(v)
        if k == "AWS":
            # IAM stores a bare account id as its root ARN; {"AWS": "*"} means "*".
            vals = sorted({f"arn:aws:iam::{x}:root" if _ACCOUNT_ID.match(x) else x for x in vals})
        out[k] = vals
    return "*" if out == {"AWS": ["*"]} else out


def _str_set(v: Any) -> list[str]:
    if isinstance(v, str):
        return [v]
    items = v if isinstance(v, list) else [v]
    if all(isinstance(x, str) for x in items):
        return sorted(set(items))
    return sorted({_scalar_str(x) for x in items})


def _scalar_str(v: Any) -> str:
    if v is None:  # `Owner:` in YAML is null; AWS stores an empty tag value
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


def _show(value: Any) -> str:
    text = json.dumps(value, default=str)
    return text if len(text) <= 60 else text[:57] + "..."


@dataclass(frozen=True)
class Attr:
    """One declared attribute of a resource type: its kind, where it is read, and its doc."""

    kind: AttrKind
    source: str
    doc: str
