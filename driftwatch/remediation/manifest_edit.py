"""Editing one manifest file in place: write canonical live values back in the manifest's shapes.

YAML goes through ruamel.yaml's round-trip mode (comments, key order, quoting, flow
style and indentation kept); JSON is rewritten with the indentation it had. Every
written attribute is checked: valid for its kind, and equal to the live value at each
drifted path once canonicalised, or it is refused (`Unwritable`) and left as it was.
"""

from __future__ import annotations

import difflib
import io
import itertools
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import CommentMark, YAMLError
from ruamel.yaml.nodes import ScalarNode
from ruamel.yaml.resolver import VersionedResolver
from ruamel.yaml.scalarstring import DoubleQuotedScalarString, LiteralScalarString
from ruamel.yaml.tokens import CommentToken

from driftwatch.collectors.base import Collector
from driftwatch.declared.manifests import plain
from driftwatch.models import DeclaredResource
from driftwatch.paths import split_path
from driftwatch.registry import collectors
from driftwatch.remediation.subject import RemediationError
from driftwatch.schema import AttrKind, Rules, StrSet, rule_entries

_SOURCES = ("cidr_blocks", "ipv6_cidr_blocks", "security_groups", "prefix_list_ids")
_ABSENT = object()
# YAML 1.2 (ruamel, driftwatch) and 1.1 (PyYAML, many tools: `yes`, `on` are booleans there).
_RESOLVERS = (VersionedResolver(), VersionedResolver(version=(1, 1)))
_STR = "tag:yaml.org,2002:str"


class Unwritable(Exception):
    """A drifted path the manifest cannot take as is; the message says why."""


def unified_diff(
    path: str, old: str | None, new: str | None, secrets: Iterable[tuple[str, str]] = ()
) -> str:
    """A `git diff`-style unified diff of one file (None: absent), secret values masked."""
    a, b = (old or "").splitlines(keepends=True), (new or "").splitlines(keepends=True)
    lines = []
    for group in _groups(a, b):
        (_, i1, _, j1, _), (_, _, i2, _, j2) = group[0], group[-1]
        lines.append(f"@@ -{_range(i1, i2)} +{_range(j1, j2)} @@\n")
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                lines += [" " + ln for ln in a[i1:i2]]
                continue
            lines += ["-" + ln for ln in a[i1:i2]] + ["+" + ln for ln in b[j1:j2]]
    if lines:
        head = "/dev/null" if old is None else f"a/{path}"
        lines[:0] = [f"--- {head}\n", "+++ " + ("/dev/null" if new is None else f"b/{path}\n")]
    masks = [_mask(key, value) for key, value in secrets]
    if masks:
        lines = [ln[:1] + _masked(ln[1:], masks) if ln[:1] in "+- " else ln for ln in lines]
    return "".join(
        ln if ln.endswith("\n") else ln + "\n\\ No newline at end of file\n" for ln in lines
    )


SECRET_SHOWN = '"(secret: not shown)"'
_FRAGMENT = 4  # a secret's line or form at least this long is masked wherever it appears


@dataclass(frozen=True)
class _Mask:
    """One secret value as a file can hold it: after its key on one line (`after_key`),
    as it is or JSON/YAML-escaped inside a quoted string (`forms`, longest first), or one
    line of a block scalar per diff line (`lines`)."""

    after_key: re.Pattern[str]
    forms: tuple[str, ...]
    lines: frozenset[str]


def _mask(key: str, value: str) -> _Mask:
    quoted = rf"([\"']?){re.escape(value)}\2"
    after_key = re.compile(rf"((?<![\w-]){re.escape(key)}[\"']?\s*:\s*){quoted}")
    parts = [ln.strip() for ln in value.splitlines()]
    escaped = {json.dumps(value, ensure_ascii=only)[1:-1] for only in (False, True)}
    forms = {f for f in {value, *escaped, *parts} if len(f) >= _FRAGMENT and "\n" not in f}
    lines = frozenset(parts) - {""} if len(parts) > 1 else frozenset()
    return _Mask(after_key, tuple(sorted(forms, key=len, reverse=True)), lines)


def _masked(line: str, masks: list[_Mask]) -> str:
    """One diff line (without its +/-/space) with every secret it carries replaced."""
    body, end = line.rstrip("\n"), line[len(line.rstrip("\n")) :]
    for mask in masks:
        if body.strip() in mask.lines:  # a block scalar's line: all of it goes
            return body[: len(body) - len(body.lstrip())] + SECRET_SHOWN + end
        body = mask.after_key.sub(rf"\1{SECRET_SHOWN}", body)
        for form in mask.forms:
            body = body.replace(form, SECRET_SHOWN)
    return body + end


Opcode = tuple[str, int, int, int, int]


def _groups(a: list[str], b: list[str]) -> list[list[Opcode]]:
    """difflib's hunks with 3 lines of context, exact on large manifests.

    difflib's own heuristic ("autojunk") treats lines repeated all over a big manifest
    (`tags:`, `spec:`) as junk and shows them as changed; without it, matching the
    whole file is slow. So the common head and tail are cut first, and only the
    middle is matched exactly.
    """
    head = 0
    while head < min(len(a), len(b)) and a[head] == b[head]:
        head += 1
    tail = 0
    while tail < min(len(a), len(b)) - head and a[-1 - tail] == b[-1 - tail]:
        tail += 1
    middle = difflib.SequenceMatcher(
        None, a[head : len(a) - tail], b[head : len(b) - tail], autojunk=False
    )
    codes = [("equal", 0, head, 0, head)]
    codes += [
        (t, i1 + head, i2 + head, j1 + head, j2 + head)
        for t, i1, i2, j1, j2 in middle.get_opcodes()
    ]
    codes.append(("equal", len(a) - tail, len(a), len(b) - tail, len(b)))
    merged: list[Opcode] = []
    for code in codes:
        if code[1] == code[2] and code[3] == code[4]:
            continue
        if merged and merged[-1][0] == code[0] == "equal":
            merged[-1] = ("equal", merged[-1][1], code[2], merged[-1][3], code[4])
        else:
            merged.append(code)
    return _grouped(merged) if any(tag != "equal" for tag, *_ in merged) else []


def _grouped(codes: list[Opcode], n: int = 3) -> list[list[Opcode]]:
    """difflib's get_grouped_opcodes(), on opcodes computed above."""
    tag, i1, i2, j1, j2 = codes[0]
    if tag == "equal":
        codes[0] = tag, max(i1, i2 - n), i2, max(j1, j2 - n), j2
    tag, i1, i2, j1, j2 = codes[-1]
    if tag == "equal":
        codes[-1] = tag, i1, min(i2, i1 + n), j1, min(j2, j1 + n)
    groups: list[list[Opcode]] = []
    group: list[Opcode] = []
    for tag, i1, i2, j1, j2 in codes:
        if tag == "equal" and i2 - i1 > 2 * n:  # a long unchanged run ends a hunk
            group.append((tag, i1, min(i2, i1 + n), j1, min(j2, j1 + n)))
            groups.append(group)
            group = []
            i1, j1 = max(i1, i2 - n), max(j1, j2 - n)
        group.append((tag, i1, i2, j1, j2))
    if group and not (len(group) == 1 and group[0][0] == "equal"):
        groups.append(group)
    return groups


def _range(start: int, stop: int) -> str:
    """A hunk's `start,length` as unified diffs write it (difflib's rule)."""
    length = stop - start
    if length == 1:
        return str(start + 1)
    return f"{start if not length else start + 1},{length}"


def secret_pairs(doc: Any, secret_attrs: set[str]) -> list[tuple[str, str]]:
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
class ManifestFile:
    """How one manifest file is loaded and written back: YAML round-trip, or stable JSON."""

    path: str
    text: str
    json: bool
    indent: int | str | None = 2
    seq_indent: int = 2
    seq_offset: int = 0
    ascii: bool = False

    @classmethod
    def for_file(cls, path: str, text: str) -> ManifestFile:
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
        if self.text and not self.text.endswith("\n"):
            out = out.rstrip("\n")
        return out.replace("\n", "\r\n") if "\r\n" in self.text else out

    def entry(self, doc: Any, declared: DeclaredResource) -> dict[str, Any]:
        """The mapping that declares this resource; its `spec` is a mapping."""
        entry = _entry(doc, declared, self.json)
        if not isinstance(entry.get("spec"), dict):
            raise RemediationError(f"{declared.where}: the resource has no `spec` mapping")
        return entry


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


_KEY_ONLY = re.compile(r"^ *(?:- +)?[^#\s][^#]*:\s*(?:#.*)?$")  # `key:` opening a block


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
        base = len(line) - len(line.lstrip(" -"))  # the key's column, after any `- `
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


def remove_entry(doc: Any, declared: DeclaredResource, is_json: bool) -> bool:
    """Remove the entry declaring the resource; True when it is the whole file (delete it).

    A list file keeps its other entries and their comments (`resources: []` when none
    is left: an empty manifest is valid, a repository without one is not). The
    comment lines that head the next entry move with it; the removed entry's go.
    """
    entry = _entry(doc, declared, is_json)
    if not (isinstance(doc, dict) and "resources" in doc):
        return True
    seq = doc["resources"]
    index = next(i for i, item in enumerate(seq) if item is entry)
    trailing = "" if is_json else _take_trailing(entry)
    if index > 0 and not is_json:
        _take_trailing(seq[index - 1])  # the comment lines heading the removed entry
    del seq[index]
    if index > 0:
        _give_trailing(seq[index - 1], trailing)
    elif isinstance(seq, CommentedSeq):  # the first entry's comments hang on `resources:`
        tokens = [CommentToken(trailing, CommentMark(0), None)] if trailing and seq else None
        if isinstance(doc, CommentedMap) and "resources" in doc.ca.items:
            doc.ca.items["resources"][3] = tokens
        if seq.ca.comment:
            seq.ca.comment[1] = tokens
    return False


def _line(node: Any) -> int | None:
    try:
        return int(node.lc.line) + 1
    except AttributeError:
        return None


def _same_place(item: dict[str, Any], declared: DeclaredResource) -> bool:
    """The entry names the resource's account and region, or leaves them to the defaults."""
    return (
        item.get("account", declared.account) == declared.account
        and item.get("region", declared.region) == declared.region
    )


# ---------------------------------------------------------------------------- writing values


def write_attr(
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
    elif isinstance(spec.get(attr), list) and isinstance(live, dict):
        spec[attr] = declared_form(kind, live)  # a list in the manifest, keyed canonically
    else:
        for path in paths:
            _write_path(spec, split_path(path), have, kind)
    _give_trailing(spec, trailing)
    verify(kind, spec.get(attr), live, [split_path(p)[1:] for p in paths])


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


def verify(kind: AttrKind, written: Any, live: Any, subpaths: list[list[str]]) -> None:
    """The written value must be valid and compare equal to the live one at every path."""
    value = plain(written)
    problem = kind.check(value)
    if problem:
        raise Unwritable(f"the live value cannot be declared as written: it {problem}")
    canon = kind.canonical(value, {})
    for parts in subpaths:
        if _lookup(canon, parts) != _lookup(live, parts):
            raise Unwritable(
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
        if isinstance(current, str) and isinstance(here, dict):  # a document as JSON text
            node[key] = _json_text(here, current)  # written whole, as JSON text again
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
            raise Unwritable(
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
        raise Unwritable(f"{attr} is not a list of rules in the manifest")
    entries = list(rule_entries(plain(rules), None))
    keys = [split_path(p)[1] for p in paths if len(split_path(p)) > 1]
    if len(keys) < len(paths):  # the whole attribute: every declared and live entry
        keys = [k for _, k, _ in entries] + list(live)
    flow = any(isinstance(r, CommentedMap) and r.fa.flow_style() for r in rules)
    for key in dict.fromkeys(keys):
        hits = [(i, atom) for i, k, atom in entries if k == key]
        entry = live.get(key)
        if not hits and entry is None:
            raise Unwritable(
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


def declared_form(kind: AttrKind, value: Any) -> Any:
    """A canonical value in the manifest's shape (e.g. security-group rules back to a list)."""
    return _manifest_value(kind.declared(value))
