"""Accept into Git: write the live values of the drifted paths into the manifest, on a branch.

`plan_accept()` and `plan_new_manifest()` are pure: manifest text in, new text and
a unified diff out. `execute_accept()` commits the planned file on a new branch of
driftwatch's own clone of the [git] repository (the bare cache the scans fetch
into; plumbing only, no checkout, never a user's working copy) and pushes the
branch when `[remediation.git] push = true`. The drift resolves when a scan sees
the accepted state on the watched branch, after someone merges it.
"""

from __future__ import annotations

import difflib
import io
import itertools
import json
import re
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import git
from botocore.exceptions import BotoCoreError, ClientError
from gitdb.base import IStream
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import CommentMark, YAMLError
from ruamel.yaml.nodes import ScalarNode
from ruamel.yaml.resolver import VersionedResolver
from ruamel.yaml.scalarstring import DoubleQuotedScalarString, LiteralScalarString
from ruamel.yaml.tokens import CommentToken

from driftwatch.aws import GLOBAL_API_REGION, AwsSessions, describe_error
from driftwatch.collectors.base import Collector, NotComparable
from driftwatch.config import Config, GitConfig
from driftwatch.declared.git import GitSource, Remote, fatal_detail, read_blob, redact
from driftwatch.declared.manifests import plain
from driftwatch.errors import GitSourceError
from driftwatch.models import GLOBAL_REGION, Change, DeclaredResource, LiveResource, ResourceKey
from driftwatch.paths import split_path
from driftwatch.registry import collectors
from driftwatch.remediation.model import FAILED, SUCCEEDED, Outcome, Prepared
from driftwatch.remediation.subject import (
    RemediationError,
    Subject,
    account_of,
    keyed_hash,
    list_live,
)
from driftwatch.schema import AttrKind, Policy, PolicyMap, Rules, StrSet, rule_entries

SECRET_WHY = (
    "secret values are never written into Git: keep the value where the secret is "
    "managed (e.g. a secrets store feeding the deployment)"
)
_SOURCES = ("cidr_blocks", "ipv6_cidr_blocks", "security_groups", "prefix_list_ids")
_ABSENT = object()
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
# YAML 1.2 (ruamel, driftwatch) and 1.1 (PyYAML, many tools: `yes`, `on` are booleans there).
_RESOLVERS = (VersionedResolver(), VersionedResolver(version=(1, 1)))
_STR = "tag:yaml.org,2002:str"


@dataclass(frozen=True)
class LeftOut:
    """A drifted path the plan does not write, and why."""

    path: str
    why: str

    def to_dict(self) -> dict[str, str]:
        return {"path": self.path, "why": self.why}


@dataclass(frozen=True)
class AcceptPlan:
    """One manifest file's new text, the paths written into it, and those left out.

    `diff` is safe to store and show (secret values declared in the file are
    masked); `old_text`/`new_text` are not (the file may declare secrets):
    keep them in memory only, and store `to_dict()`.
    """

    resource: str
    path: str
    old_text: str | None  # None: a new file
    new_text: str
    written: tuple[str, ...]
    left_out: tuple[LeftOut, ...]
    diff: str
    note: str = ""

    @property
    def new_file(self) -> bool:
        return self.old_text is None

    def to_dict(self) -> dict[str, Any]:
        """The plan as shown and stored: no file text, the diff with secrets masked."""
        return {
            "resource": self.resource,
            "path": self.path,
            "new_file": self.new_file,
            "written": list(self.written),
            "left_out": [x.to_dict() for x in self.left_out],
            "diff": self.diff,
            "note": self.note,
        }


@dataclass(frozen=True)
class AcceptResult:
    """The branch and commit holding an accepted plan; `pushed` when the remote has it."""

    branch: str
    commit: str
    base_commit: str
    path: str
    pushed: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "branch": self.branch,
            "commit": self.commit,
            "base_commit": self.base_commit,
            "path": self.path,
            "pushed": self.pushed,
        }


class _Unwritable(Exception):
    """A drifted path the manifest cannot take as is; the message says why."""


# ---------------------------------------------------------------------------- planning


def plan_accept(
    declared: DeclaredResource,
    have: dict[str, Any],
    changes: Iterable[Change],
    source_text: str,
    secret_attrs: set[str],
) -> AcceptPlan:
    """Write the canonical live values (`have`) of exactly the drifted paths into the manifest.

    `source_text` is the file `declared.source` at the commit the plan is made
    against. A path that cannot be written (a secret, a shape the manifest does not
    hold) is left out with why; a Terraform-declared resource is refused whole.
    """
    what = describe(declared.type, declared.id, declared.account, declared.region)
    if declared.declared_by:
        raise RemediationError(
            f"{what} is declared by Terraform state ({_tf_where(declared.declared_by)}), "
            "not by a manifest: change the .tf config; use pipeline mode",
            status=400,
        )
    collector = collectors.get(declared.type)
    fmt = _Format.for_file(declared.source, source_text)
    by_attr: dict[str, list[str]] = {}
    for change in changes:
        by_attr.setdefault(split_path(change.path)[0], []).append(change.path)
    writable: dict[str, list[str]] = {}
    left: list[LeftOut] = []
    for attr, paths in by_attr.items():
        why = _why_not(collector, attr, secret_attrs)
        if why is None:
            try:  # on a fresh copy: a refused attribute leaves no trace in the text
                _write_attr(fmt.entry_spec(fmt.load(), declared), attr, collector, have, paths)
                writable[attr] = paths
                continue
            except _Unwritable as exc:
                why = str(exc)
        left += [LeftOut(p, why) for p in paths]
    doc = fmt.load()
    for attr, paths in writable.items():
        _write_attr(fmt.entry_spec(doc, declared), attr, collector, have, paths)
    new_text = fmt.dump(doc) if writable else source_text
    secrets = _secret_pairs(fmt.load(), secret_attrs)
    return AcceptPlan(
        resource=what,
        path=declared.source,
        old_text=source_text,
        new_text=new_text,
        written=tuple(p for paths in writable.values() for p in paths),
        left_out=tuple(left),
        diff=unified_diff(declared.source, source_text, new_text, secrets),
    )


def _why_not(collector: Collector, attr: str, secret_attrs: set[str]) -> str | None:
    spec = collector.attributes.get(attr)
    if spec is None:
        return f"{collector.type} has no attribute {attr!r}"
    if attr in secret_attrs or spec.kind.secret:
        return SECRET_WHY
    return None


def _tf_where(declared_by: dict[str, Any]) -> str:
    state, address = declared_by.get("state"), declared_by.get("address")
    return ", ".join(str(x) for x in (state, address) if x) or "state"


def describe(rtype: str, rid: str, account: str, region: str) -> str:
    """`aws_s3_bucket acme-logs (prod/us-east-1)`: a resource, as messages name it."""
    return f"{rtype} {rid} ({account}/{region})"


def unified_diff(
    path: str, old: str | None, new: str, secrets: Iterable[tuple[str, str]] = ()
) -> str:
    """A `git diff`-style unified diff of one file, with the given secret values masked."""
    lines = difflib.unified_diff(
        (old or "").splitlines(keepends=True),
        new.splitlines(keepends=True),
        fromfile="/dev/null" if old is None else f"a/{path}",
        tofile=f"b/{path}",
    )
    text = "".join(
        ln if ln.endswith("\n") else ln + "\n\\ No newline at end of file\n" for ln in lines
    )
    for key, value in secrets:
        pattern = rf"((?<![\w-]){re.escape(key)}[\"']?\s*:\s*)([\"']?){re.escape(value)}\2"
        text = re.sub(pattern, r'\1"(secret: not shown)"', text)
    return text


def _secret_pairs(doc: Any, secret_attrs: set[str]) -> list[tuple[str, str]]:
    """(name, value) of every secret-valued entry any resource of the file declares."""
    items = doc.get("resources") if isinstance(doc, dict) and "resources" in doc else [doc]
    pairs = []
    for item in items or ():
        spec = item.get("spec") if isinstance(item, dict) else None
        collector = collectors.get(item["type"]) if item.get("type") in collectors else None
        for attr, value in (spec or {}).items() if isinstance(spec, dict) else ():
            kind = collector.attributes.get(attr) if collector else None
            secret = attr in secret_attrs or (kind is not None and kind.kind.secret)
            if secret and isinstance(value, dict):
                pairs += [(str(k), str(v)) for k, v in value.items() if str(v)]
    return sorted(set(pairs), key=lambda kv: -len(kv[1]))  # longest first


# ---------------------------------------------------------------------------- file formats


@dataclass
class _Format:
    """How one manifest file is loaded and written back: YAML round-trip, or stable JSON."""

    path: str
    text: str
    json: bool
    indent: int | str | None = 2
    seq_indent: int = 2
    seq_offset: int = 0
    ascii: bool = False

    @classmethod
    def for_file(cls, path: str, text: str) -> _Format:
        if path.endswith(".json"):
            return cls(path, text, True, _json_indent(text), ascii="\\u" in text)
        mapping, sequence, offset = _yaml_indents(text)
        return cls(path, text, False, mapping, sequence, offset)

    def _yaml(self) -> YAML:
        yaml = YAML(typ="rt")
        yaml.preserve_quotes = True
        yaml.width = 4096  # never re-wrap long lines: the diff shows only what changed
        assert isinstance(self.indent, int)
        yaml.indent(mapping=self.indent, sequence=self.seq_indent, offset=self.seq_offset)
        null = _null_style(self.text)
        yaml.representer.add_representer(
            type(None), lambda r, _: r.represent_scalar("tag:yaml.org,2002:null", null)
        )
        return yaml

    def load(self) -> Any:
        try:
            if self.json:
                return json.loads(self.text)
            return self._yaml().load(self.text)
        except (ValueError, YAMLError) as exc:
            raise RemediationError(f"{self.path}: cannot parse: {exc}") from None

    def dump(self, doc: Any) -> str:
        """The document as text, with the file's line ends and final newline (or none)."""
        if self.json:
            out = json.dumps(plain(doc), indent=self.indent, ensure_ascii=self.ascii) + "\n"
        else:
            stream = io.StringIO()
            self._yaml().dump(doc, stream)
            out = _document_head(self.text) + stream.getvalue()
        if not self.text.endswith("\n"):
            out = out.rstrip("\n")
        return out.replace("\n", "\r\n") if "\r\n" in self.text else out

    def entry_spec(self, doc: Any, declared: DeclaredResource) -> dict[str, Any]:
        """The `spec` mapping of the entry declaring this resource."""
        spec = _entry(doc, declared, self.json).get("spec")
        if not isinstance(spec, dict):
            raise RemediationError(f"{declared.where}: the resource has no `spec` mapping")
        return spec


_NULL_WORD = re.compile(r"(?::|^\s*-)[ \t]+(null|Null|NULL|~)[ \t]*(?:#[^\n]*)?\r?$", re.M)


def _null_style(text: str) -> str:
    """How the file writes null: `key: null` (or `~`) when it does, else `key:` (ruamel's)."""
    found = _NULL_WORD.search(text)
    return found.group(1) if found else ""


_DOC_START = re.compile(r"\A((?:[ \t]*(?:#[^\n]*)?\r?\n)*---[ \t]*(?:#[^\n]*)?\r?\n)")


def _document_head(text: str) -> str:
    """Comments and an explicit `---` before the document: ruamel would drop them."""
    found = _DOC_START.match(text)
    return found.group(1).replace("\r\n", "\n") if found else ""


_KEY_ONLY = re.compile(r"^( *)(?:- +)?[^#\s][^#]*:\s*(?:#.*)?$")


def _yaml_indents(text: str) -> tuple[int, int, int]:
    """(mapping indent, sequence indent, dash offset) as the file is written (ruamel's terms).

    ruamel writes one indent per kind, so take the first nested mapping and the first
    block sequence under a key; a file with neither gets ruamel's defaults.
    """
    mapping = sequence = offset = None
    lines = [ln for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    for line, nxt in itertools.pairwise(lines):
        head = _KEY_ONLY.match(line)
        if not head:
            continue
        base = len(head.group(1)) + (len(line) - len(line.lstrip(" -")) - len(head.group(1)))
        depth = len(nxt) - len(nxt.lstrip(" "))
        if nxt.lstrip(" ").startswith("- ") and sequence is None and depth >= base:
            dash = nxt.lstrip(" ")
            offset = depth - base
            sequence = offset + len(dash) - len(dash[1:].lstrip(" "))
        elif not nxt.lstrip(" ").startswith("- ") and mapping is None and depth > base:
            mapping = depth - base
    return mapping or 2, sequence or 2, offset or 0


def _json_indent(text: str) -> int | str | None:
    """The indentation of the first indented line; None for a one-line document."""
    for line in text.splitlines()[1:]:
        lead = line[: len(line) - len(line.lstrip())]
        if lead:
            return "\t" if lead.startswith("\t") else len(lead)
    return None


def _entry(doc: Any, declared: DeclaredResource, is_json: bool) -> dict[str, Any]:
    """The mapping that declares the resource: by line (YAML), else by type, id and place."""
    items = doc["resources"] if isinstance(doc, dict) and "resources" in doc else [doc]
    found = [
        item
        for item in items or ()
        if isinstance(item, dict)
        and item.get("type") == declared.type
        and str(item.get("id")) == declared.id
    ]
    if len(found) > 1 and not is_json:
        found = [i for i in found if _line(i) == declared.line] or found
    if len(found) > 1:
        found = [i for i in found if _same_place(i, declared)]
    if len(found) != 1:
        state = "not found" if not found else "declared more than once"
        raise RemediationError(
            f"{declared.where}: {declared.type} {declared.id!r} is {state} in the file "
            "at this commit: scan again and plan from the new commit"
        )
    return found[0]


def _line(node: Any) -> int | None:
    try:
        return int(node.lc.line) + 1
    except AttributeError:
        return None


def _same_place(item: dict[str, Any], declared: DeclaredResource) -> bool:
    region = item.get("region", declared.region)
    return item.get("account", declared.account) == declared.account and region in (
        declared.region,
        GLOBAL_REGION if declared.region == GLOBAL_REGION else declared.region,
    )


# ---------------------------------------------------------------------------- writing values


def _write_attr(
    spec: dict[str, Any], attr: str, collector: Collector, have: dict[str, Any], paths: list[str]
) -> None:
    """Write the live value of each drifted path under one attribute, then check it compares."""
    kind = collector.attributes[attr].kind
    live = have.get(attr)
    trailing = _take_trailing(spec)
    if isinstance(kind, Rules):
        _write_rules(spec, attr, live or {}, paths)
    elif isinstance(kind, StrSet):
        _write_set(spec, attr, live or [])
    else:
        for path in paths:
            _write_path(spec, split_path(path), have, kind)
    _give_trailing(spec, trailing)
    _verify(kind, spec.get(attr), live, [split_path(p)[1:] for p in paths])


def _last_holder(node: Any) -> tuple[Any, Any, int] | None:
    """(container, key, slot) of the comment token that ends a block node's text.

    ruamel attaches the comment lines that follow a mapping (e.g. one above the next
    resource) to its last scalar entry: they must move when that entry is removed
    or when an entry is appended after it.
    """
    while isinstance(node, CommentedMap | CommentedSeq) and len(node) and not node.fa.flow_style():
        key, slot = (list(node)[-1], 2) if isinstance(node, CommentedMap) else (len(node) - 1, 0)
        value = node[key]
        if not isinstance(value, CommentedMap | CommentedSeq) or not len(value):
            return node, key, slot
        if value.fa.flow_style():
            return node, key, slot
        node = value
    return None


def _take_trailing(node: Any) -> str:
    """Detach the comment lines after a node's last line (its own end-of-line comment stays)."""
    holder = _last_holder(node)
    token = _token(*holder) if holder else None
    if token is None:
        return ""
    eol, _, rest = token.value.partition("\n")
    if rest:
        token.value = eol + "\n"
    return rest


def _give_trailing(node: Any, rest: str) -> None:
    """Attach detached comment lines after the node's (new) last line."""
    holder = _last_holder(node) if rest else None
    if holder is None:
        return
    container, key, slot = holder
    token = _token(container, key, slot)
    if token is None:
        entry = container.ca.items.setdefault(key, [None] * (4 if slot == 2 else 2))
        entry[slot] = CommentToken("\n", CommentMark(0), None)
        token = entry[slot]
    token.value = token.value.rstrip("\n") + "\n" + rest


def _token(container: Any, key: Any, slot: int) -> Any:
    entry = container.ca.items.get(key)
    return entry[slot] if entry and len(entry) > slot else None


def _verify(kind: AttrKind, written: Any, live: Any, subpaths: list[list[str]]) -> None:
    """The written value must be valid and compare equal to the live one at every path."""
    value = plain(written)
    problem = kind.check(value)
    if problem:
        raise _Unwritable(f"the live value cannot be declared as written: it {problem}")
    canon = kind.canonical(value, {})
    for parts in subpaths:
        if _lookup(canon, parts) != _lookup(live, parts):
            raise _Unwritable(
                "the manifest's shape here cannot hold the live value so that it compares "
                "equal (e.g. a list declared in another shape): edit the manifest by hand"
            )


def _lookup(value: Any, parts: list[str]) -> Any:
    """The value at a path of canonical dicts, or _ABSENT."""
    for key in parts:
        if not isinstance(value, dict) or key not in value:
            return _ABSENT
        value = value[key]
    return value


def _key(node: dict[str, Any], name: str) -> Any:
    """The key as written in the manifest (YAML reads `42:` as an int) for a path component."""
    return next((k for k in node if str(k) == name), _ABSENT)


def _write_path(
    spec: dict[str, Any], parts: list[str], have: dict[str, Any], kind: AttrKind
) -> None:
    """Set (or delete, when absent live) the value at one path, creating mappings on the way."""
    node: Any = spec
    for depth, name in enumerate(parts):
        key = _key(node, name)
        here = _lookup(have, parts[: depth + 1])
        current = node[key] if key is not _ABSENT else _ABSENT
        if (
            isinstance(current, str)
            and isinstance(kind, Policy | PolicyMap)
            and isinstance(here, dict)
        ):
            node[key] = _json_text(here, current)  # a policy declared as JSON text: whole
            return
        if depth == len(parts) - 1:
            if here is _ABSENT:
                if key is not _ABSENT:
                    del node[key]
            else:
                node[name if key is _ABSENT else key] = _manifest_value(here)
            return
        if current is _ABSENT or current is None:
            if here is _ABSENT:
                return  # nothing declared to remove
            node[name if key is _ABSENT else key] = CommentedMap()
            current = node[name if key is _ABSENT else key]
        if not isinstance(current, dict):
            raise _Unwritable(
                f"the manifest holds {type(current).__name__} at {'.'.join(parts[: depth + 1])}, "
                "not a mapping"
            )
        node = current


def _json_text(value: Any, old: str) -> str:
    """A policy as JSON text, multi-line or compact as the declared text was."""
    if "\n" in old.strip():
        return LiteralScalarString(json.dumps(value, indent=2) + "\n")
    tight = ", " not in old and ": " not in old
    return json.dumps(value, separators=(",", ":") if tight else None)


def _manifest_value(value: Any) -> Any:
    """A canonical value as written in a manifest (a copy: canonical forms are shared).

    A string YAML 1.2 or 1.1 would read as another type ("42", "true", "yes") is double-quoted.
    """
    if isinstance(value, dict):
        return {str(k): _manifest_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_manifest_value(v) for v in value]
    if isinstance(value, str) and any(
        r.resolve(ScalarNode, value, (True, False)) != _STR for r in _RESOLVERS
    ):
        return DoubleQuotedScalarString(value)
    return value


def _write_set(spec: dict[str, Any], attr: str, live: list[str]) -> None:
    """Keep the declared order and comments of items still live; append the new ones."""
    node = spec.get(attr)
    if not isinstance(node, list):
        spec[attr] = list(live)
        return
    keep = set(live)
    for i in reversed(range(len(node))):
        if str(node[i]) not in keep:
            del node[i]
    declared = {str(x) for x in node}
    node.extend(x for x in live if x not in declared)


def _write_rules(spec: dict[str, Any], attr: str, live: dict[str, Any], paths: list[str]) -> None:
    """Security-group rules: remove sources no longer live, add live ones, fix descriptions."""
    rules = spec.get(attr)
    if rules is None:
        spec[attr] = rules = CommentedSeq()
    if not isinstance(rules, list):
        raise _Unwritable(f"{attr} is not a list of rules in the manifest")
    entries = list(rule_entries(plain(rules), None))
    keys = [split_path(p)[1] for p in paths if len(split_path(p)) > 1]
    if len(keys) < len(paths):  # the whole attribute: every declared and live entry
        keys = [k for _, k, _ in entries] + list(live)
    flow = any(isinstance(r, CommentedMap) and r.fa.flow_style() for r in rules)
    for key in dict.fromkeys(keys):
        hits = [(i, atom) for i, k, atom in entries if k == key]
        entry = live.get(key)
        if not hits and entry is None:
            raise _Unwritable(
                f"rule {key!r} is declared through the group's own id, not `self: true`: "
                "edit the manifest by hand"
            )
        if entry is not None and len(hits) == 1 and _count_sources(rules[hits[0][0]]) == 1:
            _set_description(rules[hits[0][0]], entry.get("description"))
            continue
        for i, atom in hits:
            _remove_source(rules[i], atom)
        if entry is not None:
            rules.append(_rule_node(entry, flow))
    for i in reversed(range(len(rules))):
        if _count_sources(rules[i]) == 0:
            del rules[i]


def _count_sources(rule: dict[str, Any]) -> int:
    return sum(len(rule.get(k) or ()) for k in _SOURCES) + (1 if rule.get("self") else 0)


def _set_description(rule: dict[str, Any], description: str | None) -> None:
    if description:
        rule["description"] = description
    else:
        rule.pop("description", None)


def _remove_source(rule: dict[str, Any], atom: dict[str, Any]) -> None:
    if atom.get("self") is True and "self" in rule:
        rule.pop("self")
        return
    src_key = next(k for k in _SOURCES if k in atom)
    values = rule.get(src_key) or []
    for i in reversed(range(len(values))):
        if str(values[i]) == atom[src_key][0]:
            del values[i]
    if not values:
        rule.pop(src_key, None)


def _rule_node(entry: dict[str, Any], flow: bool) -> CommentedMap:
    """One live rule in the manifest's shape, in flow style when the siblings are."""
    node = CommentedMap()
    for key in ("protocol", "from_port", "to_port", *_SOURCES, "self", "description"):
        value = entry.get(key)
        if value is None or value is False:
            continue
        if isinstance(value, list):
            value = CommentedSeq(value)
            if flow:
                value.fa.set_flow_style()
        node[key] = value
    if flow:
        node.fa.set_flow_style()
    return node


# ---------------------------------------------------------------------------- unmanaged


def new_manifest_path(folder: str, rtype: str, account: str, region: str, rid: str) -> str:
    """Where an accepted unmanaged resource goes: FOLDER/accepted/ACCOUNT/REGION/TYPE/ID.yaml."""
    parts = [_UNSAFE.sub("_", p).lstrip(".") or "_" for p in (account, region, rtype, rid)]
    head = f"{folder.strip('/')}/" if folder.strip("/") else ""
    return f"{head}accepted/{'/'.join(parts[:3])}/{parts[3]}.yaml"


def plan_new_manifest(
    rtype: str,
    rid: str,
    account: str,
    region: str,
    attrs: dict[str, Any],
    *,
    folder: str,
    exists: bool = False,
    known_from: str = "its listing",
) -> AcceptPlan:
    """A new manifest file declaring an unmanaged resource with the attributes known of it.

    `attrs` holds canonical live values (a snapshot, or `live_attributes()`); only
    declarable, non-secret attributes whose value can be written are declared,
    the others are listed as left out.
    """
    what = describe(rtype, rid, account, region)
    path = new_manifest_path(folder, rtype, account, region, rid)
    if exists:
        raise RemediationError(
            f"{path} already exists: accept would overwrite it; declare {what} by hand"
        )
    collector = collectors.get(rtype)
    spec: dict[str, Any] = CommentedMap()
    left: list[LeftOut] = []
    for attr, value in attrs.items():
        if attr not in collector.attributes or value is None:
            continue
        why = _why_not(collector, attr, set())
        try:
            if why is not None:
                raise _Unwritable(why)
            spec[attr] = _declared_form(collector.attributes[attr].kind, value)
            _verify(collector.attributes[attr].kind, spec[attr], value, [[]])
        except _Unwritable as exc:
            spec.pop(attr, None)
            left.append(LeftOut(attr, str(exc)))
    doc = CommentedMap(type=rtype, id=rid, account=account)
    if region != GLOBAL_REGION:
        doc["region"] = region
    doc["spec"] = spec
    doc.yaml_set_start_comment(
        f"Accepted into Git by driftwatch: {what} as found live, from {known_from}."
    )
    fmt = _Format(path, "", json=False)
    new_text = fmt.dump(doc)
    return AcceptPlan(
        resource=what,
        path=path,
        old_text=None,
        new_text=new_text,
        written=tuple(spec),
        left_out=tuple(left),
        diff=unified_diff(path, None, new_text),
        note=f"a new manifest file; attributes from {known_from}",
    )


def _declared_form(kind: AttrKind, value: Any) -> Any:
    """A canonical value in the manifest's shape (security-group rules back to a list)."""
    if isinstance(kind, Rules):
        return [_rule_node(entry, flow=False) for entry in value.values()]
    return _manifest_value(value)


def live_attributes(collector: Collector, client: Any, live: LiveResource) -> dict[str, Any]:
    """Every declarable, non-secret attribute of a live resource, read and canonicalised."""
    names = [a for a, spec in collector.attributes.items() if not spec.kind.secret]
    raw = dict(live.attrs)
    for source in collector.sources_for(names):
        raw.update(collector.read(source, client, live))
    return collector.canonical({a: raw.get(a) for a in names}, collector.context(live))


# ---------------------------------------------------------------------------- executing


def execute_accept(
    cfg: Config, plan: AcceptPlan, *, drift_id: str, actor_name: str, base_commit: str
) -> AcceptResult:
    """Commit the plan on `{branch_prefix}{drift_id}` from `base_commit`; push it if configured.

    Works in driftwatch's bare clone under the data directory, with a private
    index file: no checkout, and no user's working copy is touched.
    """
    if cfg.git is None:
        raise RemediationError("accept into Git needs a [git] repository in the config", 400)
    if not plan.written:
        raise RemediationError(
            f"nothing to accept for {plan.resource}: every drifted path was left out"
        )
    source = GitSource(cfg.git, cfg.storage.data_dir)
    repo = _repo(source.cache, base_commit)
    _check_base(source.cache, base_commit, plan)
    branch = f"{cfg.remediation.git.branch_prefix}{drift_id}"
    remote = Remote.parse(cfg.git.url)
    if cfg.remediation.git.push:
        done = _already_pushed(repo, remote, branch, cfg.git.url, base_commit, plan)
        if done is not None:  # a retry after the answer was lost: the same change is there
            return AcceptResult(branch, done, base_commit, plan.path, True)
    commit = _commit(
        repo,
        base_commit,
        plan,
        _message(plan, drift_id, actor_name),
        actor_name,
        cfg.remediation.git.author_email,
    )
    repo.git.update_ref(f"refs/heads/{branch}", commit)
    pushed = False
    if cfg.remediation.git.push:
        _push(repo, remote, branch, commit, cfg.git.url)
        pushed = True
    return AcceptResult(branch, commit, base_commit, plan.path, pushed)


def _repo(cache: Path, base_commit: str) -> git.Repo:
    try:
        repo = git.Repo(cache)
        repo.commit(base_commit)
    except (git.GitError, git.BadName, ValueError, OSError):
        raise RemediationError(
            f"commit {base_commit[:12]} is not in driftwatch's clone of the [git] repository: "
            "run a scan, then plan again"
        ) from None
    return repo


def _check_base(cache: Path, base_commit: str, plan: AcceptPlan) -> None:
    """The file at the base commit must be the one the plan was made from."""
    current = read_blob(cache, base_commit, plan.path)
    if plan.old_text is None and current is not None:
        raise RemediationError(f"{plan.path} already exists at {base_commit[:12]}: plan again")
    if plan.old_text is not None and (current is None or current.decode() != plan.old_text):
        raise RemediationError(
            f"{plan.path} at {base_commit[:12]} is not the text the plan was made from: plan again"
        )


def _message(plan: AcceptPlan, drift_id: str, actor: str) -> str:
    lines = [
        f"Accept live {plan.resource} into Git",
        "",
        f"driftwatch drift {drift_id}: the live values of",
        *(f"  {p}" for p in plan.written),
        f"written into {plan.path}" + (" (a new file)." if plan.new_file else "."),
    ]
    if plan.left_out:
        lines += ["", "Left out:", *(f"  {x.path}: {x.why}" for x in plan.left_out)]
    lines += ["", f"Accepted by {actor} with driftwatch."]
    return "\n".join(lines) + "\n"


def _commit(
    repo: git.Repo, base: str, plan: AcceptPlan, message: str, author: str, email: str
) -> str:
    """A commit of base's tree with the one file replaced, made through a private index."""
    data = plan.new_text.encode()
    blob = repo.odb.store(IStream("blob", len(data), io.BytesIO(data))).hexsha.decode()
    mode = _mode(repo, base, plan.path)
    people = {
        "GIT_AUTHOR_NAME": author,
        "GIT_AUTHOR_EMAIL": email,
        "GIT_COMMITTER_NAME": author,
        "GIT_COMMITTER_EMAIL": email,
    }
    with tempfile.TemporaryDirectory(prefix="driftwatch-accept-") as tmp:
        index = str(Path(tmp) / "index")
        with repo.git.custom_environment(GIT_INDEX_FILE=index, **people):
            repo.git.read_tree(base)
            repo.git.update_index("--add", "--cacheinfo", f"{mode},{blob},{plan.path}")
            tree = repo.git.write_tree()
            return str(repo.git.commit_tree(tree, "-p", base, "-m", message))


def _mode(repo: git.Repo, base: str, path: str) -> str:
    try:
        return f"{(repo.commit(base).tree / path).mode:o}"
    except KeyError:
        return "100644"


def _already_pushed(
    repo: git.Repo, remote: Remote, branch: str, url: str, base: str, plan: AcceptPlan
) -> str | None:
    """None when the remote has no such branch; its commit when it holds exactly this change.

    Any other commit there is someone's work (or another accept): never overwrite it.
    """
    try:
        with repo.git.custom_environment(**remote.env):
            out = str(repo.git.ls_remote(remote.url, f"refs/heads/{branch}"))
    except git.GitCommandError as exc:
        raise GitSourceError(
            f"cannot read branches of {redact(url)}: {fatal_detail(exc)}"
        ) from None
    if not out.strip():
        return None
    sha = out.split()[0]
    if _same_change(repo, sha, base, plan):
        return sha
    raise RemediationError(
        f"branch {branch!r} already exists on {redact(url)} at {sha[:12]}, a different commit: "
        "merge or delete it, then accept again"
    )


def _same_change(repo: git.Repo, sha: str, base: str, plan: AcceptPlan) -> bool:
    """True when `sha` is known here, has `base` as its only parent, and holds the planned file."""
    try:
        commit = repo.commit(sha)
        blob = commit.tree / plan.path
    except (ValueError, KeyError, git.BadName):
        return False
    parents = [p.hexsha for p in commit.parents]
    return parents == [base] and bytes(blob.data_stream.read()) == plan.new_text.encode()


def _push(repo: git.Repo, remote: Remote, branch: str, commit: str, url: str) -> None:
    try:
        with repo.git.custom_environment(**remote.env):
            repo.git.push(remote.url, f"{commit}:refs/heads/{branch}")
    except git.GitCommandError as exc:
        raise GitSourceError(
            f"committed {commit[:12]} on branch {branch!r} in driftwatch's clone, but cannot "
            f"push it to {redact(url)}: {fatal_detail(exc)}"
        ) from None


# ---------------------------------------------------------------------------- the mode


def prepare_accept(
    cfg: Config, secret_key: bytes, subject: Subject, *, fingerprint: str, actor_name: str
) -> Prepared:
    """Mode 2 for a modified drift: the manifest edit; run() commits it on the drift's branch."""
    git_cfg = _git(cfg)
    if subject.commit is None:
        raise RemediationError("the declared state was not read from Git; nothing to edit", 400)
    if not subject.changes:
        raise RemediationError(
            f"{subject.declared.type} {subject.declared.id!r} is in sync now; nothing to accept"
        )
    text = read_blob(
        GitSource(git_cfg, cfg.storage.data_dir).cache, subject.commit, subject.declared.source
    )
    if text is None:
        raise RemediationError(f"{subject.declared.source} is not in commit {subject.commit[:12]}")
    secrets = {a for a, spec in subject.collector.attributes.items() if spec.kind.secret}
    plan = plan_accept(subject.declared, subject.have, subject.changes, text.decode(), secrets)
    return _prepared(cfg, secret_key, plan, subject.have, subject.commit, fingerprint, actor_name)


def prepare_accept_unmanaged(
    cfg: Config,
    sessions: AwsSessions,
    secret_key: bytes,
    key: ResourceKey,
    *,
    fingerprint: str,
    actor_name: str,
) -> Prepared:
    """Mode 2 for an unmanaged drift: a new manifest with every declarable attribute read live."""
    git_cfg = _git(cfg)
    account, region, rtype, rid = key
    live = list_live(cfg, sessions, key)
    if live is None:
        raise RemediationError(f"{rtype} {rid!r} is not live any more; nothing to accept")
    collector = collectors.get(rtype)()
    api_region = GLOBAL_API_REGION if collector.is_global else region
    client = sessions.client(account_of(cfg, account), api_region, collector.service)
    try:
        attrs = live_attributes(collector, client, live)
    except (BotoCoreError, ClientError, NotComparable) as exc:
        raise RemediationError(f"cannot read {rtype} {rid!r} now: {describe_error(exc)}") from None
    source = GitSource(git_cfg, cfg.storage.data_dir)
    commit = source.fetch().commit
    path = new_manifest_path(git_cfg.path, rtype, account, region, rid)
    plan = plan_new_manifest(
        rtype,
        rid,
        account,
        region,
        attrs,
        folder=git_cfg.path,
        exists=read_blob(source.cache, commit, path) is not None,
        known_from="a live read of every declarable attribute",
    )
    return _prepared(cfg, secret_key, plan, attrs, commit, fingerprint, actor_name)


def _git(cfg: Config) -> GitConfig:
    if cfg.git is None:
        raise RemediationError("accept into Git needs a [git] repository in the config", 400)
    return cfg.git


def _prepared(
    cfg: Config,
    secret_key: bytes,
    plan: AcceptPlan,
    live: dict[str, Any],
    base: str,
    fingerprint: str,
    actor_name: str,
) -> Prepared:
    if not plan.written:
        raise RemediationError(
            "nothing can be accepted: " + "; ".join(f"{x.path}: {x.why}" for x in plan.left_out),
            status=400,
        )
    rem = cfg.remediation.git
    branch = f"{rem.branch_prefix}{fingerprint}"
    body = {**plan.to_dict(), "branch": branch, "push": rem.push}
    said = f"commit {', '.join(plan.written)} to {plan.path} on branch {branch}"
    said += " and push it" if rem.push else " (in driftwatch's clone; push is off)"
    if plan.left_out:
        said += f"; left out: {', '.join(x.path for x in plan.left_out)}"
    return Prepared(
        summary=said,
        body={**body, "commit": base},
        # The new text, secrets included, is only ever hashed with the installation key;
        # the base commit is not: an unrelated commit on the branch does not stale the plan.
        plan_hash=keyed_hash(secret_key, {"body": body, "text": plan.new_text}),
        live_hash=keyed_hash(secret_key, live),
        run=lambda: _run_accept(cfg, plan, base, fingerprint, actor_name),
    )


def _run_accept(
    cfg: Config, plan: AcceptPlan, base: str, fingerprint: str, actor_name: str
) -> Outcome:
    """Commit (and push); verified by reading the file back from the new commit."""
    try:
        done = execute_accept(
            cfg, plan, drift_id=fingerprint, actor_name=actor_name, base_commit=base
        )
    except (RemediationError, GitSourceError) as exc:
        return Outcome(FAILED, {"error": str(exc), "summary": f"failed: {exc}"})
    assert cfg.git is not None
    cache = GitSource(cfg.git, cfg.storage.data_dir).cache
    if read_blob(cache, done.commit, plan.path) != plan.new_text.encode():
        return Outcome(FAILED, {**done.to_dict(), "error": "the commit does not hold the plan"})
    where = "pushed to the remote" if done.pushed else "in driftwatch's clone (push is off)"
    summary = (
        f"committed {done.commit[:12]} on branch {done.branch}, {where}; the drift resolves "
        "when a scan sees the accepted values on the watched branch (merge the branch)"
    )
    return Outcome(SUCCEEDED, {**done.to_dict(), "summary": summary})
