"""The `.tf` root of a [[terraform]] source (`config = "git:DIR"`): which arguments each
resource block sets, and where.

Only evidence is taken from the configuration: the names of the arguments and blocks a
resource block writes (any expression; `dynamic "ingress"` counts as `ingress`), the
block's file:line, and the root's provider `ignore_tags`. Values always come from the
state, so nothing is evaluated: `count` and `for_each` instances map to their block by
dropping the instance keys of an address. Local modules (`source = "./…"`) are followed;
others (registry, Git) are not, and their resources have no evidence.

`.tf.json` files (Terraform's JSON syntax) give the same summary. Each file is parsed
(python-hcl2's Lark grammar, or a line-tracking JSON decoder) once per blob digest: the summary
(names, lines and `ignore_tags` keys, never argument values) is cached in a 0600 JSON
file in the data directory.
"""

from __future__ import annotations

import bisect
import json
import json.decoder
import json.scanner
import posixpath
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import hcl2
from lark import Token, Tree
from lark.exceptions import LarkError, UnexpectedInput

from driftwatch.errors import DriftwatchError
from driftwatch.filemodes import make_private_dirs, write_private

SUFFIXES = (".tf", ".tf.json")  # the files of a root: native and JSON syntax
JSON_SUFFIX = ".tf.json"
LOCAL = ("./", "../")  # a local module's source; others (registry, Git, …) are not followed
MAX_MODULE_DEPTH = 16  # local modules nest a few deep; far deeper is a cycle or hostile
_INDEX = re.compile(r'\[(?:"(?:[^"\\]|\\.)*"|-?\d+)\]')


class ConfigRootError(DriftwatchError):
    """A `.tf` root that cannot be read: missing, not HCL, a module that is not there."""


@dataclass(frozen=True)
class Block:
    """A resource block: where it is, and the arguments and blocks it writes."""

    file: str
    line: int
    args: frozenset[str]


@dataclass
class Evidence:
    """What a configuration root says about the resources of its state."""

    root: str
    blocks: dict[str, Block] = field(default_factory=dict)  # config address → block
    ignore_keys: frozenset[str] = frozenset()
    ignore_prefixes: tuple[str, ...] = ()

    def block(self, address: str) -> Block | None:
        """The block of a state address (`module.a["x"].aws_s3_bucket.b[0]`), if configured."""
        return self.blocks.get(config_address(address))

    def ignores_tag(self, key: str) -> bool:
        return key in self.ignore_keys or key.startswith(self.ignore_prefixes)


def config_address(address: str) -> str:
    """A state address without its instance keys: the address of its block."""
    return _INDEX.sub("", address)


# --- one file -----------------------------------------------------------------------


def summarize(text: str, path: str) -> dict[str, Any]:
    """A `.tf` file → {resources: [[type, name, line, [args]]], local modules, ignore_tags}."""
    try:
        tree = hcl2.parses_to_tree(text)
    except UnexpectedInput as exc:
        raise ConfigRootError(f"{path}:{exc.line}: not valid HCL (python-hcl2)") from None
    except LarkError:
        raise ConfigRootError(f"{path}: not valid HCL (python-hcl2)") from None
    out: dict[str, Any] = {"resources": [], "modules": [], "ignore_keys": [], "ignore_prefixes": []}
    for block in _blocks(_body(tree)):
        kind, labels = _head(block)
        if kind == "resource" and len(labels) == 2:
            out["resources"].append([labels[0], labels[1], block.meta.line, _args(block)])
        elif kind == "module" and len(labels) == 1:
            source = _literal(_attribute(block, "source"))
            if source and source.startswith(LOCAL):
                # Only local sources are kept: a remote one can carry a token (git::https://…).
                out["modules"].append([labels[0], source, block.meta.line])
        elif kind == "provider" and labels == ["aws"]:
            for inner in _blocks(_inner(block)):
                if _head(inner)[0] == "ignore_tags":
                    out["ignore_keys"] += _literals(_attribute(inner, "keys"))
                    out["ignore_prefixes"] += _literals(_attribute(inner, "key_prefixes"))
    return out


# --- one .tf.json file (Terraform's JSON configuration syntax) -------------------------


class _Obj(dict[str, Any]):
    """A JSON object that knows the line its `{` is on."""

    line = 0


def summarize_json(text: str, path: str) -> dict[str, Any]:
    """A `.tf.json` file → the same summary as `summarize` (JSON syntax: a block type maps
    labels to bodies, each level an object or an array of objects; `"//"` is a comment)."""
    try:
        doc = _positioned_decoder(text).decode(text)
    except json.JSONDecodeError as exc:
        raise ConfigRootError(f"{path}:{exc.lineno}: not valid JSON") from None
    if not isinstance(doc, dict):
        raise ConfigRootError(f"{path}:1: not a Terraform JSON configuration (not an object)")
    out: dict[str, Any] = {"resources": [], "modules": [], "ignore_keys": [], "ignore_prefixes": []}
    for rtype, by_name in _labelled(doc.get("resource")):
        for rname, body in _blocks_of(by_name):
            out["resources"].append([rtype, rname, body.line, _json_args(body)])
    for mname, body in _blocks_of(doc.get("module")):
        source = _json_literal(body.get("source"))
        if source and source.startswith(LOCAL):
            out["modules"].append([mname, source, body.line])
    for pname, body in _blocks_of(doc.get("provider")):
        if pname != "aws":
            continue
        for inner in _bodies(body.get("ignore_tags")):
            out["ignore_keys"] += _json_literals(inner.get("keys"))
            out["ignore_prefixes"] += _json_literals(inner.get("key_prefixes"))
    return out


def _positioned_decoder(text: str) -> json.JSONDecoder:
    """The pure-Python JSON scanner with every object marked with its line."""
    newlines = [i for i, c in enumerate(text) if c == "\n"]
    decoder = json.JSONDecoder(object_pairs_hook=_Obj)

    def parse(s_and_end: tuple[str, int], *rest: Any) -> tuple[Any, int]:
        obj, end = json.decoder.JSONObject(s_and_end, *rest)  # type: ignore[attr-defined]
        obj.line = bisect.bisect_left(newlines, s_and_end[1]) + 1
        return obj, end

    # py_make_scanner calls the decoder's parse_object for every `{`; the C scanner does not.
    decoder.parse_object = parse  # type: ignore[attr-defined]
    decoder.scan_once = json.scanner.py_make_scanner(decoder)  # type: ignore[attr-defined]
    return decoder


def _bodies(value: Any) -> list[_Obj]:
    """A block body, or an array of them."""
    items = value if isinstance(value, list) else [value]
    return [v for v in items if isinstance(v, _Obj)]


def _labelled(value: Any) -> list[tuple[str, Any]]:
    """(label, what is under it) of an object (or array of objects) keyed by a label."""
    return [(k, v) for body in _bodies(value) for k, v in body.items() if k != "//"]


def _blocks_of(value: Any) -> list[tuple[str, _Obj]]:
    """(last label, body) of every block under a label level."""
    return [(label, body) for label, under in _labelled(value) for body in _bodies(under)]


def _json_args(body: _Obj) -> list[str]:
    """Names a resource body writes; `"dynamic": {"ingress": …}` writes `ingress`."""
    names = [k for k in body if k not in ("//", "dynamic")]
    names += [k for k, _ in _labelled(body.get("dynamic"))]
    return sorted(set(names))


def _json_literal(value: Any) -> str | None:
    """A string with no template sequence (`${…}`, `%{…}`); None for anything else."""
    if not isinstance(value, str) or "${" in value or "%{" in value:
        return None
    return value


def _json_literals(value: Any) -> list[str]:
    found = (_json_literal(v) for v in value) if isinstance(value, list) else ()
    return [s for s in found if s is not None]


def _body(tree: Tree) -> Tree:
    """`start` → its `body`."""
    body = next((c for c in tree.children if isinstance(c, Tree) and c.data == "body"), None)
    return body if body is not None else tree


def _inner(block: Tree) -> Tree:
    return next(c for c in block.children if isinstance(c, Tree) and c.data == "body")


def _blocks(body: Tree) -> list[Tree]:
    return [c for c in body.children if isinstance(c, Tree) and c.data == "block"]


def _name(node: Tree) -> str:
    """An identifier's (or keyword's) text."""
    token = next(c for c in node.children if isinstance(c, Token))
    return str(token.value)


def _head(block: Tree) -> tuple[str, list[str]]:
    """A block's type and its labels (`resource "aws_s3_bucket" "logs"`)."""
    kind, labels = "", []
    for child in block.children:
        if isinstance(child, Token):
            break  # the `{`
        if child.data in ("identifier", "keyword"):
            if not kind:
                kind = _name(child)
            else:
                labels.append(_name(child))
        elif child.data == "string":
            labels.append(_literal(child) or "")
    return kind, labels


def _args(block: Tree) -> list[str]:
    """Names of the arguments and blocks a block writes; `dynamic "x"` writes `x`."""
    names: list[str] = []
    for child in _inner(block).children:
        if not isinstance(child, Tree):
            continue
        if child.data == "attribute":
            names.append(_name(child.children[0]))
        elif child.data == "block":
            kind, labels = _head(child)
            names.append(labels[0] if kind == "dynamic" and labels else kind)
    return sorted(set(names))


def _attribute(block: Tree, name: str) -> Tree | None:
    """The expression of a block's attribute `name`."""
    for child in _inner(block).children:
        if (
            isinstance(child, Tree)
            and child.data == "attribute"
            and _name(child.children[0]) == name
        ):
            return child.children[-1] if isinstance(child.children[-1], Tree) else None
    return None


def _unwrap(expr: Tree | None) -> Tree | None:
    while expr is not None and expr.data == "expr_term" and len(expr.children) == 1:
        inner = expr.children[0]
        if not isinstance(inner, Tree):
            return None
        expr = inner
    return expr


def _literal(expr: Tree | None) -> str | None:
    """A plain string literal's text; None for anything with interpolation or escapes."""
    node = _unwrap(expr)
    if node is None or node.data != "string":
        return None
    text = []
    for part in node.children:
        if isinstance(part, Token):
            continue  # the quotes
        if part.data != "string_part" or not all(
            isinstance(t, Token) and t.type == "STRING_CHARS" for t in part.children
        ):
            return None
        text += [str(t) for t in part.children]
    return "".join(text)


def _literals(expr: Tree | None) -> list[str]:
    """The literal strings of a tuple (`["a", "b"]`); expressions in it are left out."""
    node = _unwrap(expr)
    if node is None or node.data != "tuple":
        return []
    found = (_literal(c) for c in node.children if isinstance(c, Tree))
    return [s for s in found if s is not None]


# --- the root and its local modules -------------------------------------------------


class SummaryCache:
    """File summaries by blob digest, in a 0600 JSON file in the data directory."""

    VERSION = f"1/{getattr(hcl2, '__version__', '?')}"
    MAX_FILES = 20_000

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.old: dict[str, Any] = {}
        self.new: dict[str, Any] = {}
        if path is None:
            return
        try:
            doc = json.loads(path.read_text())
            if doc.get("version") == self.VERSION:
                self.old = dict(doc["files"])
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            pass  # no cache, or an unreadable one: parse everything

    def get(self, digest: str, parse: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        found = self.new.get(digest) or self.old.get(digest)
        if found is None:
            found = parse()
        self.new[digest] = found
        return dict(found)

    def save(self) -> None:
        if self.path is None or not self.new:
            return
        older = [(k, v) for k, v in self.old.items() if k not in self.new]
        room = max(0, self.MAX_FILES - len(self.new))
        files = dict(older[len(older) - room :] if room else [])
        files.update(self.new)
        try:
            make_private_dirs(self.path.parent)
            write_private(self.path, json.dumps({"version": self.VERSION, "files": files}).encode())
        except OSError:
            pass  # a cache that cannot be written only costs time on the next scan


# (name, digest) of the .tf and .tf.json files directly in a folder; a file's bytes by path.
Listing = Callable[[str], list[tuple[str, str]] | None]
Reader = Callable[[str], bytes]


def load_root(root: str, listing: Listing, read: Reader, cache: SummaryCache) -> Evidence:
    """Every resource block of `root` and of the local modules it calls, by config address."""
    evidence = Evidence(root)
    keys: list[str] = []
    prefixes: list[str] = []
    _module(root, "", listing, read, cache, evidence, (keys, prefixes), depth=0)
    evidence.ignore_keys = frozenset(keys)
    evidence.ignore_prefixes = tuple(dict.fromkeys(prefixes))
    return evidence


def _module(
    folder: str,
    prefix: str,
    listing: Listing,
    read: Reader,
    cache: SummaryCache,
    evidence: Evidence,
    ignore: tuple[list[str], list[str]],
    depth: int,
) -> None:
    files = listing(folder)
    if files is None:
        raise ConfigRootError(f"{folder or '.'}: no such folder in the repository")
    for name, digest in files:
        path = posixpath.join(folder, name) if folder else name
        # A .tf and a .tf.json of the same bytes (an empty file) have one digest.
        summary = cache.get(
            f"json:{digest}" if name.endswith(JSON_SUFFIX) else digest, _parser(path, read)
        )
        for rtype, rname, line, args in summary["resources"]:
            address = f"{prefix}{rtype}.{rname}"
            seen = evidence.blocks.get(address)
            merged = frozenset(args) | (seen.args if seen else frozenset())
            # An override file adds arguments to the block; the block stays where it was.
            evidence.blocks[address] = Block(
                seen.file if seen else path, seen.line if seen else line, merged
            )
        if depth == 0:  # provider configuration belongs to the root module
            ignore[0].extend(summary["ignore_keys"])
            ignore[1].extend(summary["ignore_prefixes"])
        for mname, source, line in summary["modules"]:
            if depth + 1 > MAX_MODULE_DEPTH:
                raise ConfigRootError(
                    f"{path}:{line}: module {mname!r} nests more than {MAX_MODULE_DEPTH} local "
                    "modules deep (a cycle?)"
                )
            child = posixpath.normpath(posixpath.join(folder, source))
            if child.startswith("../") or child == "..":
                raise ConfigRootError(f"{path}:{line}: module {mname!r} leaves the repository")
            _module(
                "" if child == "." else child,
                f"{prefix}module.{mname}.",
                listing,
                read,
                cache,
                evidence,
                ignore,
                depth + 1,
            )


def _parser(path: str, read: Reader) -> Callable[[], dict[str, Any]]:
    parse = summarize_json if path.endswith(JSON_SUFFIX) else summarize
    return lambda: parse(_text(read(path), path), path)


def _text(data: bytes, path: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigRootError(f"{path}: not UTF-8 text") from None
