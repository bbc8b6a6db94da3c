"""Stream a Terraform/OpenTofu state (format v4) and keep only the AWS instances asked for.

The document is never held whole: ijson (its C backend when installed) builds one
`resources[]` entry at a time, and the caller's `keep` projects it at once. The top-level
header (version, serial, lineage) is read by a second, tiny parser that stops at the first
big key; `outputs` are never built. Messages name the state and addresses, never values:
a parse error's own text can quote the document, so it is not shown.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import ijson

from driftwatch.errors import DriftwatchError

CHUNK = 256 * 1024
AWS_HOSTS = ("registry.terraform.io", "registry.opentofu.org")
_PROVIDER = re.compile(r'provider\["([^"]+)"\]')
_LEGACY_AWS = re.compile(r"(^|\.)provider\.aws(\.|$)")
# Top-level keys after which the header parser stops: the body, or an encrypted state.
_BODY_KEYS = frozenset({"resources", "outputs", "modules", "check_results"})
_ENCRYPTED_KEYS = frozenset({"encrypted_data", "encryption_version", "meta"})
_HEADER_KEYS = ("version", "serial", "lineage", "terraform_version")


class StateError(DriftwatchError):
    """A state that cannot be used: not JSON, another format version, encrypted."""


@dataclass
class Header:
    """What a state says about itself."""

    version: int | None = None
    serial: int | None = None
    lineage: str | None = None
    terraform_version: str | None = None
    encrypted: bool = False
    done: bool = False


@dataclass(frozen=True)
class Instance:
    """One managed instance of an AWS resource: its address and its recorded attributes."""

    address: str
    type: str
    attributes: dict[str, Any]
    sensitive: tuple[tuple[Any, ...], ...] = ()


@dataclass
class Counts:
    """What a state held beside the instances kept, by reason (for `driftwatch declared`)."""

    kept: int = 0
    skipped: dict[str, int] = field(default_factory=dict)

    def skip(self, reason: str) -> None:
        self.skipped[reason] = self.skipped.get(reason, 0) + 1


@dataclass(frozen=True)
class Plain:
    """A decrypted state, in chunks, and the serial and lineage its envelope said in the clear."""

    chunks: Iterable[bytes]
    serial: int | None
    lineage: str | None


Decrypt = Callable[[Iterable[bytes]], Plain]  # an encrypted state's chunks → the plain state


def read_state(
    chunks: Iterable[bytes],
    where: str,
    wanted: Callable[[str], bool],
    keep: Callable[[Instance], None],
    decrypt: Decrypt | None = None,
) -> tuple[Header, Counts]:
    """Parse a state from byte chunks; call `keep` with every wanted managed AWS instance.

    An OpenTofu encrypted state is a StateError, unless `decrypt` is given: it gets the
    document's chunks (the ones read so far, then the rest) and gives the plain state's.
    """
    counts = Counts()
    stream = _Stream(iter(chunks), where, decrypt is not None)
    try:
        # ijson's file interface: its C backend runs the whole pipeline, twice as fast as
        # feeding items_coro chunk by chunk.
        for resource in ijson.items(stream, "resources.item", use_float=True, buf_size=CHUNK):
            _resource(resource, where, wanted, keep, counts)
    except _Encrypted as enc:
        assert decrypt is not None
        return _decrypted(decrypt(enc.chunks), where, wanted, keep)
    except ijson.JSONError:
        raise StateError(
            f"{where}: not a complete JSON document (truncated or not a state)"
        ) from None
    if not stream.header.done:
        _check_header(stream.header, where)
    return stream.header, counts


def _decrypted(
    plain: Plain,
    where: str,
    wanted: Callable[[str], bool],
    keep: Callable[[Instance], None],
) -> tuple[Header, Counts]:
    """Stream the decrypted state; its serial and lineage must be the envelope's (as
    OpenTofu checks: the passthrough fields are not authenticated)."""
    header, counts = read_state(plain.chunks, where, wanted, keep)
    for name in ("serial", "lineage"):
        outer = getattr(plain, name)
        if outer is not None and outer != getattr(header, name):
            raise StateError(
                f"{where}: the encrypted state's {name} does not match the {name} inside it"
            )
    header.encrypted = True
    return header, counts


class _Encrypted(Exception):
    """An encrypted state met while a decryptor is at hand: the document's chunks."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        super().__init__("encrypted state")
        self.chunks = chunks


class _Stream:
    """The chunks as a file for ijson; the header parser sees them until the body starts.

    With `keep_head`, the chunks the header parser saw are kept until the body starts, so
    an encrypted state can be handed over whole (its envelope has no body).
    """

    def __init__(self, chunks: Iterator[bytes], where: str, keep_head: bool = False) -> None:
        self.chunks, self.where = chunks, where
        self.header = Header()
        self.events = ijson.sendable_list()
        self.head = ijson.parse_coro(self.events)
        self.buf = memoryview(b"")
        self.keep_head = keep_head
        self.seen: list[bytes] = []

    def read(self, size: int = -1) -> bytes:
        if not self.buf:
            self.buf = memoryview(self._next())
        if size < 0 or size >= len(self.buf):
            out, self.buf = self.buf, memoryview(b"")
        else:
            out, self.buf = self.buf[:size], self.buf[size:]
        return bytes(out)

    def _again(self) -> Iterator[bytes]:
        """Every chunk from the first: the ones seen (let go as they are taken), the rest."""
        while self.seen:
            yield self.seen.pop(0)
        yield from self.chunks

    def _next(self) -> bytes:
        chunk = next(self.chunks, b"")
        if chunk and not self.header.done:
            if self.keep_head:
                self.seen.append(chunk)
            self.head.send(chunk)
            try:
                _header(self.events, self.header, self.where)
            except StateError:
                if not (self.keep_head and self.header.encrypted):
                    raise
                raise _Encrypted(self._again()) from None
            self.events.clear()
            if self.header.done:
                self.seen.clear()
        return chunk


def _header(events: list[tuple[str, str, Any]], header: Header, where: str) -> None:
    for prefix, event, value in events:
        if prefix == "" and event == "map_key":
            if value in _ENCRYPTED_KEYS:
                header.encrypted = True
            if value in _BODY_KEYS or header.encrypted:
                _check_header(header, where)
                header.done = True
                return
        elif prefix in _HEADER_KEYS and event in ("number", "string"):
            setattr(header, prefix, int(value) if event == "number" else value)


def _check_header(header: Header, where: str) -> None:
    if header.encrypted:
        raise StateError(
            f"{where}: the state is encrypted (OpenTofu state encryption); set "
            'encryption_passphrase_env = "NAME" on its [[terraform]] source (pbkdf2 key '
            "provider, aes_gcm), or read it with `cmd:tofu state pull`"
        )
    if header.version is None:
        raise StateError(
            f"{where}: no format `version` before the resources; this is not a Terraform "
            "or OpenTofu state"
        )
    if header.version != 4:
        raise StateError(
            f"{where}: state format version {header.version} is not supported (only version 4: "
            "Terraform >= 0.12, all OpenTofu); upgrade the state with a current Terraform"
        )


def aws_provider(provider: str) -> bool:
    """True for hashicorp/aws on the Terraform or OpenTofu registry (and 0.12's `provider.aws`)."""
    m = _PROVIDER.search(provider)
    if m is None:
        return _LEGACY_AWS.search(provider) is not None
    host, _, path = m.group(1).partition("/")
    return host in AWS_HOSTS and path == "hashicorp/aws"


def address(resource: dict[str, Any], index_key: Any) -> str:
    """`module.app["eu"].aws_s3_bucket.logs["eu"]`, as Terraform prints it."""
    module = resource.get("module") or ""
    base = f"{resource.get('type')}.{resource.get('name')}"
    if module:
        base = f"{module}.{base}"
    if index_key is None:
        return base
    return f"{base}[{json.dumps(index_key)}]"


def _resource(
    resource: Any,
    where: str,
    wanted: Callable[[str], bool],
    keep: Callable[[Instance], None],
    counts: Counts,
) -> None:
    if not isinstance(resource, dict):
        raise StateError(f"{where}: a resources[] entry is not an object")
    rtype = str(resource.get("type"))
    if resource.get("mode") != "managed":
        counts.skip("data source")
        return
    if not aws_provider(str(resource.get("provider", ""))):
        counts.skip("not the hashicorp/aws provider")
        return
    if not wanted(rtype):
        counts.skip(f"type {rtype} not compared")
        return
    for inst in resource.get("instances") or ():
        if inst.get("deposed"):
            counts.skip("deposed object")
            continue
        attrs = inst.get("attributes")
        addr = address(resource, inst.get("index_key"))
        if not isinstance(attrs, dict):
            raise StateError(f"{where}#{addr}: instance has no `attributes` object")
        keep(Instance(addr, rtype, attrs, _sensitive_paths(inst.get("sensitive_attributes"))))
        counts.kept += 1


def _sensitive_paths(value: Any) -> tuple[tuple[Any, ...], ...]:
    """`sensitive_attributes` (lists of get_attr/index steps) → paths of keys and indexes."""
    paths = []
    for steps in value or ():
        path: list[Any] = []
        for step in steps if isinstance(steps, list) else ():
            if not isinstance(step, dict):
                continue
            v = step.get("value")
            if step.get("type") == "index" and isinstance(v, dict):
                v = v.get("value")
            path.append(v)
        if path:
            paths.append(tuple(path))
    return tuple(paths)
