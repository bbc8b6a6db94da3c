"""Manifest files → validated DeclaredResources; every problem is reported with file:line."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import ruamel.yaml
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.composer import Composer, ComposerError, MaxDepthExceededError
from ruamel.yaml.constructor import ConstructorError, RoundTripConstructor
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.events import AliasEvent, ScalarEvent

from driftwatch.config import AccountConfig, Config
from driftwatch.errors import ManifestError
from driftwatch.filemodes import make_private_dirs, write_private
from driftwatch.models import GLOBAL_REGION, DeclaredResource
from driftwatch.registry import collectors
from driftwatch.schema import AttrKind

SUFFIXES = (".yaml", ".yml", ".json")
_RESOURCE_KEYS = {"type", "id", "region", "account", "spec", "ignore"}


def parse_manifests(
    files: Iterable[tuple[str, bytes]], cfg: Config, cache: ParseCache | None = None
) -> list[DeclaredResource]:
    """Parse every file; raise ManifestError listing all problems, or return the resources."""
    problems: list[str] = []
    resources: list[DeclaredResource] = []
    nfiles = 0
    for path, data in files:
        nfiles += 1
        resources += _parse_file(path, data, cfg, cache, problems)
    if nfiles == 0 and not cfg.terraform:  # with Terraform sources, manifests are optional
        path = cfg.git.path if cfg.git else ""
        where = f"under {path!r}" if path else "in the repository"
        problems.append(
            f"no manifest files (*.yaml, *.yml, *.json) {where}; check [git] path and branch"
        )
    problems += duplicates(resources)
    if cache is not None:
        cache.save()
    if problems:
        raise ManifestError(problems)
    return resources


def _parse_file(
    path: str, data: bytes, cfg: Config, cache: ParseCache | None, problems: list[str]
) -> list[DeclaredResource]:
    """One file's resources; a cached parse is used unless it has problems to locate."""
    digest = hashlib.sha256(data).hexdigest()
    cached = cache.get(digest) if cache is not None else None
    if cached is not None:
        found: list[str] = []
        out = [r for item, line in cached if (r := _resource(item, path, line, cfg, found))]
        if not found:
            return out
    # Parse with ruamel's round-trip loader: slower, but it knows every key's line.
    found = []
    entries = _entries(path, data, found)
    out = [r for item, line in entries if (r := _resource(item, path, line, cfg, found))]
    # Only files that were entirely valid, and without secret values (kept out of the cache).
    if cache is not None and not found and not _declares_secret(out):
        cache.put(digest, [(plain(item), line) for item, line in entries])
    problems += found
    return out


def _declares_secret(resources: list[DeclaredResource]) -> bool:
    """True when a resource declares an attribute whose values are secrets (SecretMap)."""
    return any(
        collectors.get(r.type).attributes[key].kind.secret for r in resources for key in r.spec
    )


class ParseCache:
    """Parsed manifest entries by content digest, in a 0600 JSON file in the data directory.

    Files that declare secret attribute values (Lambda `environment`) are never
    cached: the file would hold those values in plain text.

    The round-trip YAML parse that gives file:line costs ~1.5 ms a resource and most
    files are unchanged between scans; validation always runs again on cached entries.
    """

    VERSION = f"2/{ruamel.yaml.__version__}"  # 2: no file declaring a secret is cached
    MAX_FILES = 20_000

    def __init__(self, path: Path) -> None:
        self.path = path
        self._old: dict[str, Any] = {}
        self._new: dict[str, Any] = {}
        try:
            doc = json.loads(path.read_text())
            if doc.get("version") == self.VERSION:
                self._old = doc["entries"]
        except (OSError, ValueError, KeyError, AttributeError):
            pass  # no cache, or an unreadable one: parse everything

    def get(self, digest: str) -> list[tuple[Any, int]] | None:
        entries = self._old.get(digest) or self._new.get(digest)
        if entries is None:
            return None
        self._new[digest] = entries
        return [(item, line) for item, line in entries]

    def put(self, digest: str, entries: list[tuple[Any, int]]) -> None:
        self._new[digest] = [[item, line] for item, line in entries]

    def save(self) -> None:
        """Write atomically: this run's entries, then older ones up to MAX_FILES in all.

        Older entries are kept (not only this run's) so that configs sharing a data
        directory with different `git.path`s do not evict each other.
        """
        room = max(0, self.MAX_FILES - len(self._new))
        older = [(k, v) for k, v in self._old.items() if k not in self._new]
        merged = dict(older[len(older) - room :] if room else [])
        merged.update(self._new)
        try:
            make_private_dirs(self.path.parent)
            doc = {"version": self.VERSION, "entries": merged}
            write_private(self.path, json.dumps(doc).encode())
        except OSError:
            pass  # a cache that cannot be written only costs time on the next scan


MAX_DEPTH = 64  # manifests nest about 12 deep; far deeper is hostile or broken input


class _RejectedNode(ComposerError):
    """A node refused while composing: an anchor or alias (expanding aliases lets a few
    hundred bytes become gigabytes), or a key that is not a scalar."""


class _NoAliasComposer(Composer):
    """ruamel's composer, refusing anchors (`&name`) and aliases (`*name`) as it meets them,
    and keys that are mappings or lists (unhashable, or turned into nonsense strings)."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        event = self.parser.peek_event()
        # A mapping's keys are composed with index None (its values with their key).
        if index is None and parent is not None and not isinstance(event, ScalarEvent):
            raise _RejectedNode(
                None,
                None,
                "a mapping or list used as a key (`? ...`); keys must be plain strings",
                event.start_mark,
            )
        if isinstance(event, AliasEvent) or getattr(event, "anchor", None) is not None:
            mark = "*" if isinstance(event, AliasEvent) else "&"
            raise _RejectedNode(
                None,
                None,
                f"YAML anchor or alias '{mark}{event.anchor}' found; anchors and aliases "
                "are not supported in manifests (they can expand without bound): "
                "write the value out in full",
                event.start_mark,
            )
        return super().compose_node(parent, index)


# What ruamel's constructors raise, unmarked, on a tagged or malformed scalar: ValueError
# (2024-02-30, !!int x, 4300+ digits), OverflowError, IndexError (`!!float` with no
# value), AttributeError (`!!set` with no value), KeyError (`!!bool x`). Nothing of
# driftwatch runs in there.
_UNBUILDABLE = (ValueError, OverflowError, IndexError, AttributeError, TypeError, KeyError)


class _CheckedConstructor(RoundTripConstructor):
    """ruamel's constructor, with a value it cannot build reported at its line: a date
    that does not exist (`2024-02-30`), an integer of more than 4300 digits (Python's
    limit), `!!int x`. ruamel raises a bare ValueError for those. An integer past 64
    bits is refused too: nothing in AWS holds one, and neither JSON storage nor str()
    (past 4300 digits, e.g. from hex) takes every such value."""

    def construct_object(self, node: Any, deep: bool = False) -> Any:
        try:
            value = super().construct_object(node, deep)
        except _UNBUILDABLE as exc:
            why = str(exc) if type(exc) is ValueError else f"{type(exc).__name__}: {exc}"
            raise self._unreadable(node, why) from None
        if isinstance(value, int) and not isinstance(value, bool) and not _int64(value):
            raise self._unreadable(node, "an integer of more than 64 bits")
        return value

    @staticmethod
    def _unreadable(node: Any, why: str) -> ConstructorError:
        text = str(node.value) if isinstance(node.value, str) else ""
        shown = repr(text[:40] + "…" if len(text) > 40 else text)
        return ConstructorError(
            None,
            None,
            f"cannot read the value {shown} ({node.tag}): {why}; quote it to keep it as "
            "a string",
            node.start_mark,
        )


def _int64(n: int) -> bool:
    return -(2**63) <= n < 2**63


def _yaml() -> YAML:
    yaml = YAML(typ="rt")
    yaml.Composer = _NoAliasComposer
    yaml.Constructor = _CheckedConstructor
    yaml.max_depth = MAX_DEPTH
    return yaml


def _entries(path: str, data: bytes, problems: list[str]) -> list[tuple[Any, int]]:
    try:
        doc = _yaml().load(data.decode("utf-8"))
    except UnicodeDecodeError:
        problems.append(f"{path}: not UTF-8 text")
        return []
    except _RejectedNode as exc:
        problems.append(f"{path}:{exc.problem_mark.line + 1}: {exc.problem}")
        return []
    except MaxDepthExceededError as exc:
        problems.append(
            f"{path}:{exc.problem_mark.line + 1}: nested more than {MAX_DEPTH} levels deep; "
            "a manifest never needs that many: check the brackets and indentation"
        )
        return []
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = f":{mark.line + 1}" if mark else ""
        problems.append(f"{path}{line}: cannot parse: {exc.problem or exc.context}")
        return []
    except YAMLError as exc:
        problems.append(f"{path}: cannot parse: {exc}")
        return []
    if doc is None:
        return []
    if isinstance(doc, dict) and "resources" in doc:
        extra = set(doc) - {"resources"}
        if extra:
            problems.append(
                f"{path}:{_line(doc, sorted(extra)[0])}: unknown top-level key(s) "
                f"{sorted(extra)}; a file holds `resources: [...]` or one resource"
            )
        items = doc["resources"]
        if items is None:
            return []
        if not isinstance(items, list):
            problems.append(f"{path}:{_line(doc, 'resources')}: `resources` must be a list")
            return []
        return [(item, _item_line(items, i)) for i, item in enumerate(items)]
    if isinstance(doc, dict) and "type" in doc:
        return [(doc, _line(doc))]
    problems.append(
        f"{path}:1: not a manifest: expected `resources: [...]` or a mapping with "
        "`type`, `id` and `spec`"
    )
    return []


def _resource(
    item: Any, path: str, line: int, cfg: Config, problems: list[str]
) -> DeclaredResource | None:
    where = f"{path}:{line}"
    if not isinstance(item, dict):
        problems.append(f"{where}: a resource must be a mapping, got {_kind_name(item)}")
        return None
    before = len(problems)
    for key in item:
        if key not in _RESOURCE_KEYS:
            problems.append(
                f"{path}:{_line(item, key)}: unknown key {key!r}; "
                f"expected {', '.join(sorted(_RESOURCE_KEYS))}"
            )
    rtype, rid = item.get("type"), item.get("id")
    if not isinstance(rtype, str) or rtype not in collectors:
        problems.append(f"{where}: unknown type {rtype!r}; known: {', '.join(collectors.names())}")
        return None
    if not isinstance(rid, str | int) or isinstance(rid, bool) or not str(rid).strip():
        problems.append(f"{where}: `id` must be a non-empty string")
    collector = collectors.get(rtype)
    account = _account(item, path, cfg, problems)
    region = _region(item, path, collector.is_global, cfg.aws.account(account), problems)
    spec = item.get("spec", {})
    if not isinstance(spec, dict):
        problems.append(f"{path}:{_line(item, 'spec')}: `spec` must be a mapping")
        spec = {}
    for key, value in spec.items():
        attr = collector.attributes.get(key)
        if attr is None:
            problems.append(
                f"{path}:{_line(spec, key)}: {rtype} has no attribute {key!r}; "
                f"known: {', '.join(collector.attributes)}"
            )
            continue
        problem = attr.kind.check(plain(value))
        if problem:
            line = _bad_item_line(attr.kind, value, _line(spec, key))
            problems.append(f"{path}:{line}: {rtype}.{key} {problem}")
    ignore = item.get("ignore", [])
    if not isinstance(ignore, list) or not all(isinstance(g, str) for g in ignore):
        problems.append(f"{path}:{_line(item, 'ignore')}: `ignore` must be a list of path globs")
        ignore = []
    values = plain([rid, spec, ignore])
    if _lone_surrogate(values):
        problems.append(
            f"{where}: a string holds half of a UTF-16 surrogate pair escape (e.g. \\ud83d "
            "alone); write the character itself, or both halves of the pair"
        )
    if len(problems) > before:
        return None
    return DeclaredResource(
        type=rtype,
        id=str(values[0]),
        account=account,
        region=region,
        spec=values[1],
        source=path,
        line=line,
        ignore=values[2],
    )


def _lone_surrogate(value: Any) -> bool:
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _account(item: dict[str, Any], path: str, cfg: Config, problems: list[str]) -> str:
    account = item.get("account", cfg.default_account)
    if cfg.aws.account(str(account)) is None:
        known = ", ".join(a.name for a in cfg.aws.accounts)
        problems.append(
            f"{path}:{_line(item, 'account')}: unknown account {account!r}; "
            f"[[aws.accounts]] names: {known}"
        )
    return str(account)


def _region(
    item: dict[str, Any],
    path: str,
    is_global: bool,
    account: AccountConfig | None,
    problems: list[str],
) -> str:
    """The declared region, or the account's first; it must be one the account watches."""
    region = item.get("region")
    where = f"{path}:{_line(item, 'region')}"
    if is_global:
        if region not in (None, GLOBAL_REGION):
            problems.append(
                f"{where}: {item['type']} is global; remove `region` (or set it to "
                f"{GLOBAL_REGION!r})"
            )
        return GLOBAL_REGION
    if account is None:  # reported by _account(); nothing to check the region against
        return "" if region is None else str(region)
    if region is None:
        return account.regions[0]
    if not isinstance(region, str) or not region:
        problems.append(f"{where}: `region` must be a region name, e.g. {account.regions[0]!r}")
        return ""
    if region == GLOBAL_REGION:
        problems.append(
            f"{where}: {item['type']} is regional; {GLOBAL_REGION!r} is only for global types "
            f"(IAM); set one of account {account.name!r}'s regions: {', '.join(account.regions)}"
        )
    elif region not in account.regions:
        problems.append(
            f"{where}: region {region!r} is not watched by account {account.name!r} "
            f"(regions: {', '.join(account.regions)}); add it to that account's `regions` "
            "in the config, or fix `region`"
        )
    return region


def duplicates(resources: list[DeclaredResource]) -> list[str]:
    """One problem per resource declared again (same account, region, type and id)."""
    seen: dict[tuple[str, str, str, str], DeclaredResource] = {}
    problems = []
    for res in resources:
        key = (res.account, res.region, res.type, res.id)
        if key in seen:
            problems.append(
                f"{res.where}: {res.type} {res.id!r} ({res.account}/{res.region}) "
                f"is already declared at {seen[key].where}"
            )
        else:
            seen[key] = res
    return problems


def _kind_name(value: Any) -> str:
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return "a string"
    return "a number" if isinstance(value, int | float) else type(value).__name__


def plain(value: Any) -> Any:
    """ruamel's commented containers and scalar subclasses → plain Python values."""
    if isinstance(value, dict):
        return {_text(str(k)): plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    return _text(str(value))


_SURROGATE = re.compile("[\ud800-\udfff]")


def _text(s: str) -> str:
    """JSON writes a character outside the BMP as a surrogate pair escape
    ("\\ud83d\\ude42"); YAML reads each half as a lone surrogate. Join the pairs
    (a half without its partner stays, and is reported by _resource)."""
    if not _SURROGATE.search(s):
        return s
    return s.encode("utf-16", "surrogatepass").decode("utf-16", "surrogatepass")


def _line(node: Any, key: Any = None) -> int:
    try:
        if key is not None and isinstance(node, CommentedMap):
            return int(node.lc.key(key)[0]) + 1
        return int(node.lc.line) + 1
    except (AttributeError, KeyError, TypeError):
        return 1


def _bad_item_line(kind: AttrKind, value: Any, default: int) -> int:
    """The line of the first list item or mapping entry that fails the check on its own."""
    if isinstance(value, CommentedSeq):
        for i, item in enumerate(value):
            if kind.check([plain(item)]):
                return _item_line(value, i)
    elif isinstance(value, CommentedMap):
        for key, item in value.items():
            if kind.check({str(key): plain(item)}):
                return _line(value, key)
    return default


def _item_line(seq: Any, index: int) -> int:
    try:
        return int(seq.lc.item(index)[0]) + 1
    except (AttributeError, KeyError, TypeError, IndexError):
        return 1
