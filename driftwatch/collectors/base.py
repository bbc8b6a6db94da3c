"""The shared machinery behind every collector: declaration, pagination, matching."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

import botocore.exceptions as bex

from driftwatch.models import DeclaredResource, LiveResource, Scope
from driftwatch.schema import Attr, Ctx

LISTED = "list"


class NotComparable(Exception):
    """Raised by a read when the resource's state leaves a declared attribute meaningless.

    The resource is reported *not checked*, with this message as the reason: nothing
    failed (no scope error) and nothing was compared (no drift).
    """


class Collector:
    """A resource type, declared: service, identity, attributes and where each is read.

    Subclasses set the class attributes, implement `list_resources()` (one scope's listing,
    cheap, used for unmanaged detection and matching) and one `read_<source>()`
    method per detail source named by an attribute (only called for declared
    resources that declare an attribute fed by it).
    """

    type: ClassVar[str]
    service: ClassVar[str]
    identity: ClassVar[str]
    is_global: ClassVar[bool] = False
    attributes: ClassVar[dict[str, Attr]]
    not_found_codes: ClassVar[tuple[str, ...]] = ()
    batch_sources: ClassVar[frozenset[str]] = frozenset()

    def list_resources(self, client: Any, scope: Scope) -> list[LiveResource]:
        raise NotImplementedError

    def match_key(self, identifier: str) -> str:
        """How identifiers compare when matching (e.g. lowercased where AWS lowercases)."""
        return identifier

    def index(self, live: list[LiveResource]) -> dict[str, list[LiveResource]]:
        """Live resources by match_key() of their id and names, for O(1) candidate lookup."""
        idx: dict[str, list[LiveResource]] = {}
        for lv in live:
            for name in {self.match_key(n) for n in (lv.id, *lv.names)}:
                idx.setdefault(name, []).append(lv)
        return idx

    def match(
        self, declared: DeclaredResource, candidates: list[LiveResource]
    ) -> list[LiveResource]:
        """Live resources the declared id names; more than one means ambiguous."""
        return [c for c in candidates if c.answers_to(declared.id)]

    def aws_managed(self, live: LiveResource) -> bool:
        """True for resources AWS creates by itself; never reported as unmanaged."""
        return False

    def context(self, live: LiveResource) -> Ctx:
        """Facts about the live resource that canonical forms need (e.g. its own id)."""
        return {}

    def sources_for(self, attrs: list[str]) -> list[str]:
        """The detail sources (beyond the listing) that feed these attributes."""
        needed = {self.attributes[a].source for a in attrs if a in self.attributes}
        return sorted(needed - {LISTED})

    def read(self, source: str, client: Any, live: LiveResource) -> dict[str, Any]:
        reader = getattr(self, f"read_{source}")
        result: dict[str, Any] = reader(client, live)
        return result

    def batch_worthwhile(self, wanted: dict[str, list[str]], listed: int) -> bool:
        """Whether one read_batch() is cheaper than per-resource reads of `batch_sources`.

        `wanted` maps live id → the batchable sources its declaration needs;
        `listed` is how many resources the scope's listing returned.
        """
        return False

    def read_batch(self, client: Any, ids: set[str]) -> dict[str, dict[str, Any]]:
        """Attributes fed by `batch_sources` for every resource (live id → attrs)."""
        raise NotImplementedError

    def canonical(self, attrs: dict[str, Any], ctx: Ctx) -> dict[str, Any]:
        spec = self.attributes
        return {
            name: spec[name].kind.canonical(v, ctx) for name, v in attrs.items() if name in spec
        }

    def summary(self, live: LiveResource) -> dict[str, Any]:
        """What to keep about an unmanaged resource (listing data only)."""
        return {"id": live.id, "names": list(live.names)}


def paginate(client: Any, operation: str, result_key: str, **params: Any) -> Iterator[Any]:
    """Every item of a paginated list call, with botocore's own paginator where it has one."""
    if client.can_paginate(operation):
        for page in client.get_paginator(operation).paginate(**params):
            yield from page.get(result_key, [])
    else:
        yield from getattr(client, operation)(**params).get(result_key, [])


def is_code(exc: BaseException, *codes: str) -> bool:
    """True for a ClientError whose error code is one of `codes`."""
    return isinstance(exc, bex.ClientError) and exc.response.get("Error", {}).get("Code") in codes


def tag_value(tags: list[dict[str, str]] | None, key: str) -> str | None:
    for tag in tags or ():
        if tag.get("Key") == key:
            return tag.get("Value")
    return None


def register(cls: type[Collector]) -> type[Collector]:
    """Class decorator: register a collector under its own `type` name."""
    from driftwatch.registry import collectors

    collectors.add(cls.type, cls)
    return cls
