"""The `.tf` root of a [[terraform]] source (`config = "git:DIR"`): which arguments each
resource block sets, and where.

Only evidence is taken from the configuration: the names of the arguments and blocks a
resource block writes (any expression; `dynamic "ingress"` counts as `ingress`), the
block's file:line, and the root's provider `ignore_tags`. Values always come from the
state, so nothing is evaluated: `count` and `for_each` instances map to their block by
dropping the instance keys of an address. Local modules (`source = "./…"`) are followed;
others (registry, Git) are not, and their resources have no evidence.

Each `.tf` file is parsed (python-hcl2's Lark grammar) once per blob digest: the summary
(names, lines and `ignore_tags` keys, never argument values) is cached in a 0600 JSON
file in the data directory.
"""

from __future__ import annotations

import json
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


# (name, digest) of the .tf files directly in a folder; a file's bytes by path.
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
        summary = cache.get(digest, _parser(path, read))
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
    return lambda: summarize(_text(read(path), path), path)


def _text(data: bytes, path: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigRootError(f"{path}: not UTF-8 text") from None
