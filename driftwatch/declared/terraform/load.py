"""Every [[terraform]] source → declared resources: read, project, fold split children.

A source that cannot be read is a `Failure` (the scan is partial and withholds
unmanaged findings in its account), never an empty declared state. Conflicts inside
what was read (a resource declared twice, split children that disagree) are errors.
"""

from __future__ import annotations

import gc
import logging
import re
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import driftwatch.collectors
import driftwatch.declared.terraform.sources  # noqa: F401  (registers the state sources)
from driftwatch.config import Config, TerraformConfig
from driftwatch.declared.git import list_files, read_blob
from driftwatch.declared.manifests import duplicates
from driftwatch.declared.terraform.encryption import decrypt_state
from driftwatch.declared.terraform.hcl import (
    SUFFIXES,
    Block,
    ConfigRootError,
    Evidence,
    SummaryCache,
    load_root,
)
from driftwatch.declared.terraform.mapping import (
    MAP,
    ONE,
    SPLITS,
    TYPES,
    Skip,
    Split,
    sensitive,
    wanted,
)
from driftwatch.declared.terraform.sources import Location, ReadContext, SourceError
from driftwatch.declared.terraform.state import Instance, Plain, StateError, read_state
from driftwatch.errors import DriftwatchError, ManifestError
from driftwatch.models import GLOBAL_REGION, DeclaredResource
from driftwatch.paths import join_path
from driftwatch.registry import collectors, sources
from driftwatch.schema import SECRET_KEY, Digested, secret_digest

log = logging.getLogger(__name__)
_ACCOUNT_ID = re.compile(r"^\d{12}$")


@dataclass(frozen=True)
class StateInfo:
    """One state read: where, which snapshot (serial, lineage), and what it held."""

    source: str
    workspace: str
    state: str
    serial: int | None
    lineage: str | None
    version: int | None
    terraform_version: str | None
    kept: int
    skipped: dict[str, int]
    encrypted: bool = False  # an OpenTofu encrypted state, decrypted here

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class Failure:
    """A source (or one workspace of it) that could not be read, and the account it holds."""

    source: str
    account: str
    error: str


@dataclass(frozen=True)
class Child:
    """A split child's contribution to its parent."""

    split: Split
    parent_key: tuple[str, str, str, str]
    value: Any
    where: str
    # False when the child records neither `region` nor an ARN (provider 5's S3 split
    # resources, aws_security_group_rule): its parent is then found by id in any region.
    region_known: bool = True


@dataclass
class TerraformDeclared:
    resources: list[DeclaredResource] = field(default_factory=list)
    states: list[StateInfo] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    orphans: list[str] = field(default_factory=list)  # children whose parent is declared nowhere


def load_terraform(cfg: Config, ctx: ReadContext, secret_key: bytes) -> TerraformDeclared:
    """Read every source; fold split children into their parents across all of them."""
    with _gc_paused():
        return _load(cfg, ctx, secret_key)


@contextmanager
def _gc_paused() -> Iterator[None]:
    """No cyclic GC while states are read: they make millions of acyclic containers, and the
    collector's passes over them were 15% of the read time (it frees nothing here)."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def _load(cfg: Config, ctx: ReadContext, secret_key: bytes) -> TerraformDeclared:
    out = TerraformDeclared()
    children: list[Child] = []
    problems: list[str] = []
    # Equal strings of every state read share one object: tag keys and values, trust
    # policies and notes repeat across thousands of resources (a third of what is held).
    memo: dict[str, str] = {}
    hcl_cache = SummaryCache(cfg.storage.data_dir / HCL_CACHE if ctx.git_cache else None)
    for src in cfg.terraform:
        reader = sources.get(src.scheme)()
        try:
            evidence = _evidence(src, ctx, hcl_cache)
            locations = reader.locate(src, ctx)
        except (SourceError, StateError, ConfigRootError) as exc:
            out.failures.append(_failure(src, str(exc)))
            continue
        read = _Read(src, reader, ctx, cfg, secret_key, evidence, memo)
        for loc in locations:
            try:
                read.state(loc, out, children, problems)
            except (SourceError, StateError) as exc:
                out.failures.append(_failure(src, str(exc)))
    hcl_cache.save()
    memo.clear()  # before the fold's indexes: the two need not be held at once
    _fold(out, children, problems, secret_key)
    problems += duplicates(out.resources)
    if problems:
        raise ManifestError(problems)
    return out


def _failure(src: TerraformConfig, error: str) -> Failure:
    return Failure(src.name, src.account, f"terraform source {src.name!r}: {error}")


HCL_CACHE = "hcl-cache.json"


def _evidence(src: TerraformConfig, ctx: ReadContext, cache: SummaryCache) -> Evidence | None:
    """The source's `.tf` root at the scan's commit (None without `config`)."""
    if src.config is None:
        return None
    if ctx.git_cache is None or ctx.commit is None:
        raise ConfigRootError("config: the [git] repository was not fetched")
    git_cache, commit = ctx.git_cache, ctx.commit

    def read(path: str) -> bytes:
        data = read_blob(git_cache, commit, path)
        if data is None:
            raise ConfigRootError(f"{path}: not a file at commit {commit[:12]}")
        return data

    try:
        return load_root(
            src.config, lambda d: list_files(git_cache, commit, d, SUFFIXES), read, cache
        )
    except ConfigRootError as exc:
        raise ConfigRootError(f"config git:{src.config} at commit {commit[:12]}: {exc}") from None


@dataclass
class _Read:
    """What reading each state of one source needs."""

    src: TerraformConfig
    reader: Any
    ctx: ReadContext
    cfg: Config
    secret_key: bytes
    evidence: Evidence | None
    memo: dict[str, str]

    def decrypt(self, loc: Location) -> Callable[[Iterable[bytes]], Plain]:
        """Decrypts the location's state if OpenTofu encrypted it (errors without a passphrase)."""
        passphrase = self.src.encryption_passphrase
        return lambda chunks: decrypt_state(chunks, loc.url, passphrase)

    def state(
        self, loc: Location, out: TerraformDeclared, children: list[Child], problems: list[str]
    ) -> None:
        """Stream one state; resources and children are added only when it was read whole."""
        got: list[DeclaredResource] = []
        kids: list[Child] = []
        found: list[str] = []
        projector = _Projector(self, loc, got, kids, found)
        header, counts = read_state(
            self.reader.open(self.src, self.ctx, loc),
            loc.url,
            wanted,
            projector.keep,
            self.decrypt(loc),
        )
        for res in got:
            assert res.declared_by is not None
            res.declared_by["serial"] = header.serial
        out.resources += got
        children += kids
        problems += found
        out.states.append(
            StateInfo(
                self.src.name,
                loc.workspace,
                loc.url,
                header.serial,
                header.lineage,
                header.version,
                header.terraform_version,
                counts.kept,
                counts.skipped,
                header.encrypted,
            )
        )


class _Projector:
    """Turns each kept instance into a DeclaredResource (a parent) or a Child."""

    def __init__(
        self,
        read: _Read,
        loc: Location,
        got: list[DeclaredResource],
        kids: list[Child],
        problems: list[str],
    ) -> None:
        self.src, self.loc, self.cfg, self.secret_key = read.src, loc, read.cfg, read.secret_key
        self.got, self.kids, self.problems = got, kids, problems
        self.memo, self.evidence = read.memo, read.evidence
        self.notes: dict[tuple[tuple[str, str], ...], dict[str, str]] = {}
        self.ignore = _ignore_paths(read.evidence)
        account = read.cfg.aws.account(read.src.account)
        assert account is not None
        self.default_region = account.regions[0]
        self.account_id = _role_account(account.role_arn)

    def keep(self, inst: Instance) -> None:
        where = f"{self.loc.url}#{inst.address}"
        try:
            if inst.type in TYPES:
                self.got.append(self._parent(inst, where))
            for split in SPLITS.get(inst.type, ()):
                self._child(inst, split, where)
        except _Invalid as exc:
            self.problems.append(f"{where}: {exc}")

    def _parent(self, inst: Instance, where: str) -> DeclaredResource:
        tmap = TYPES[inst.type]
        rid = tmap.ident(inst.attributes)
        if not rid:
            raise _Invalid(f"{inst.type} without its identifying attribute")
        collector = collectors.get(inst.type)
        block = self.evidence.block(inst.address) if self.evidence else None
        spec: dict[str, Any] = {}
        notes: dict[str, str] = {}
        for f in tmap.fields:
            if sensitive(f.keys, inst.sensitive) and not collector.attributes[f.attr].kind.secret:
                notes[f.attr] = "skipped: marked sensitive in state (not compared, never shown)"
                continue
            configured = block is not None and any(k in block.args for k in f.keys)
            if not f.owned and not configured and not self.src.trust_computed:
                notes[f.attr] = self._unconfigured(block)
                continue
            try:
                value = f.read(inst.attributes)
            except Skip as exc:
                notes[f.attr] = _shared(f"skipped: {exc}", self.memo)
                continue
            problem = collector.attributes[f.attr].kind.check(value)
            if problem:
                notes[f.attr] = _shared(f"skipped: recorded value {problem}", self.memo)
                continue
            if collector.attributes[f.attr].kind.secret:
                value = {
                    k: Digested(secret_digest(self.secret_key, str(v))) for k, v in value.items()
                }
            spec[f.attr] = _shared(value, self.memo)
            if f.owned:
                notes[f.attr] = "owned"
            elif configured and block is not None:
                notes[f.attr] = f"configured at {block.file}:{block.line}"
            else:
                notes[f.attr] = "recorded value (trust_computed)"
        if self.evidence is not None and isinstance(spec.get("tags"), dict):
            tags = spec["tags"]
            spec["tags"] = {k: v for k, v in tags.items() if not self.evidence.ignores_tag(k)}
        # Resources of a type mostly have the same notes: they share one dict (never
        # mutated in place; _fold replaces it).
        notes = self.notes.setdefault(tuple(notes.items()), notes)
        return DeclaredResource(
            type=inst.type,
            id=str(rid),
            account=self.src.account,
            region=_shared(self._region(inst, collector.is_global), self.memo),
            spec=spec,
            source=where,
            declared_by={
                "state": self.loc.url,
                "workspace": self.loc.workspace,
                "address": inst.address,
                "serial": None,
                "file": block.file if block else None,
                "line": block.line if block else None,
            },
            notes=notes,
            ignore=self.ignore,
        )

    def _unconfigured(self, block: Block | None) -> str:
        """Why an Optional+Computed attribute is not compared."""
        if self.evidence is None:
            return (
                "skipped: Optional+Computed and no evidence it is configured "
                "(no split child, no `config`; set trust_computed to compare it)"
            )
        if block is None:
            return (
                f"skipped: Optional+Computed and no block for this address in config "
                f"git:{self.evidence.root} (a remote module?); no split child"
            )
        return _shared(
            f"skipped: Optional+Computed, not set in {block.file}:{block.line}; no split child",
            self.memo,
        )

    def _child(self, inst: Instance, split: Split, where: str) -> None:
        if sensitive(split.keys, inst.sensitive):
            self.problems.append(
                f"{where}: {split.attr} of its {split.parent} is marked sensitive in state; "
                "driftwatch does not compare sensitive values outside secret attributes"
            )
            return
        try:
            value = _shared(split.value(inst.attributes), self.memo)
        except Skip:
            return  # e.g. an egress aws_security_group_rule seen by the ingress split
        parent_id = split.parent_id(inst.attributes)
        if not parent_id and not (split.fan_out and parent_id == []):
            raise _Invalid(f"names no {split.parent}")
        is_global = collectors.get(split.parent).is_global
        region, known = self._placed(inst, is_global)
        for pid in parent_id if split.fan_out else (parent_id,):
            key = (self.src.account, region, split.parent, str(pid))
            self.kids.append(Child(split, key, value, where, known))

    def _region(self, inst: Instance, is_global: bool) -> str:
        """The instance's `region` (provider >= 6), else its ARN's, else the source's."""
        return self._placed(inst, is_global)[0]

    def _placed(self, inst: Instance, is_global: bool) -> tuple[str, bool]:
        """The instance's region, and whether the instance itself says it (or the source's)."""
        if is_global:
            return GLOBAL_REGION, True
        arn = str(inst.attributes.get("arn") or "")
        parts = arn.split(":")
        known = len(parts) > 4 and self.account_id and _ACCOUNT_ID.match(parts[4])
        if known and parts[4] != self.account_id:
            raise _Invalid(
                f"its ARN is in account {parts[4]}, not account {self.src.account!r} "
                f"({self.account_id}); set `account` of [[terraform]] {self.src.name!r}"
            )
        region = inst.attributes.get("region")
        if isinstance(region, str) and region:
            return region, True
        if len(parts) > 3 and parts[3]:
            return parts[3], True
        return self.default_region, False


def _ignore_paths(evidence: Evidence | None) -> list[str]:
    """Provider `ignore_tags` as per-resource ignore globs (live tags under them are not drift)."""
    if evidence is None:
        return []
    paths = [join_path(["tags", _glob_escape(k)]) for k in sorted(evidence.ignore_keys)]
    paths += [join_path(["tags", _glob_escape(p) + "*"]) for p in evidence.ignore_prefixes]
    return paths


def _glob_escape(text: str) -> str:
    return "".join(f"[{c}]" if c in "*?[" else c for c in text)


def _shared(value: Any, memo: dict[str, str]) -> Any:
    """`value` rebuilt with each string replaced by the first equal one seen."""
    if isinstance(value, str):
        return memo.setdefault(value, value)
    if isinstance(value, dict):
        return {_shared(k, memo): _shared(v, memo) for k, v in value.items()}
    if isinstance(value, list):
        return [_shared(v, memo) for v in value]
    return value


class _Invalid(DriftwatchError):
    """A state instance that cannot be declared (named at its address)."""


def _role_account(role_arn: str | None) -> str | None:
    """The account id an account's role lives in; unknown for the base credentials."""
    return role_arn.split(":")[4] if role_arn else None


def _fold(
    out: TerraformDeclared, children: list[Child], problems: list[str], secret_key: bytes
) -> None:
    """Each child's value replaces the parent's recorded one; children combine by `merge`."""
    parents = {r.key: r for r in out.resources}
    anywhere = _Anywhere(parents)
    grouped: dict[tuple[tuple[str, str, str, str], str], list[Child]] = {}
    for child in children:
        found = _parent_key(child, parents, anywhere)
        if found is None:
            account, region, _, pid = child.parent_key
            place = f"{account}/{region}" if child.region_known else f"{account}, any region"
            out.orphans.append(
                f"{child.where}: its {child.split.parent} {pid!r} ({place}) is in no state read"
            )
            continue
        grouped.setdefault((found, child.split.attr), []).append(child)
    for (pkey, attr), kids in grouped.items():
        parent = parents[pkey]
        kind = collectors.get(parent.type).attributes[attr].kind
        ctx = {SECRET_KEY: secret_key}
        value = _merge(kids, kind, ctx, problems)
        if value is _CONFLICT:
            continue
        problem = kind.check(value)
        if problem:
            problems.append(f"{parent.where}: {attr} folded from split resources {problem}")
            continue
        parent.spec[attr] = value
        parent.notes = {
            **parent.notes,
            attr: "from " + ", ".join(k.where.rsplit("#", 1)[1] for k in kids),
        }


Key = tuple[str, str, str, str]  # account, region, type, id


class _Anywhere:
    """Parents by (account, type) then id, whatever their region; built per type when asked."""

    def __init__(self, parents: dict[Key, DeclaredResource]) -> None:
        self.parents = parents
        self.index: dict[tuple[str, str], dict[str, Key | None]] = {}

    def find(self, account: str, ptype: str, pid: str) -> Key | None:
        """The one parent with this id in any region (None: none, or several)."""
        ids = self.index.get((account, ptype))
        if ids is None:
            ids = self.index[(account, ptype)] = {}
            for key in self.parents:
                if key[0] == account and key[2] == ptype:
                    ids[key[3]] = None if key[3] in ids else key
        return ids.get(pid)


def _parent_key(
    child: Child, parents: dict[Key, DeclaredResource], anywhere: _Anywhere
) -> Key | None:
    """The parent a child folds into: same place, or by id alone when the child has no region."""
    if child.parent_key in parents:
        return child.parent_key
    if child.region_known:
        return None
    account, _, ptype, pid = child.parent_key
    return anywhere.find(account, ptype, pid)


_CONFLICT = object()


def _merge(kids: list[Child], kind: Any, ctx: dict[str, Any], problems: list[str]) -> Any:
    merge = kids[0].split.merge
    if merge == ONE:
        first = kids[0]
        for other in kids[1:]:
            if kind.canonical(other.value, ctx) != kind.canonical(first.value, ctx):
                problems.append(
                    f"{first.where} and {other.where} both set {first.split.attr} of "
                    f"{first.split.parent} {first.parent_key[3]!r} to different values"
                )
                return _CONFLICT
        return first.value
    if merge == MAP:
        merged: dict[str, tuple[Any, str]] = {}
        for kid in kids:
            for name, doc in kid.value.items():
                seen = merged.setdefault(name, (doc, kid.where))
                if kind.canonical({name: seen[0]}, ctx) != kind.canonical({name: doc}, ctx):
                    problems.append(
                        f"{seen[1]} and {kid.where} both declare {kid.split.attr} "
                        f"{name!r} of {kid.split.parent} {kid.parent_key[3]!r}, differently"
                    )
                    return _CONFLICT
        return {name: doc for name, (doc, _) in merged.items()}
    return [item for kid in kids for item in kid.value]


def held_accounts(failures: list[Failure]) -> frozenset[str]:
    """Accounts whose declared state is incomplete: no unmanaged findings, no resolutions."""
    return frozenset(f.account for f in failures)
