"""One Registry type, used for collectors and notifiers (and later remediators, sources)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, Generic, TypeVar

from driftwatch.errors import RegistryError

T = TypeVar("T")


class Registry(Generic[T]):
    """Named entries of one kind; a name registers once, unknown names list the known ones."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._entries: dict[str, T] = {}

    def add(self, name: str, entry: T) -> T:
        if name in self._entries:
            raise RegistryError(f"{self.kind} {name!r} is already registered")
        self._entries[name] = entry
        return entry

    def register(self, name: str) -> Callable[[T], T]:
        """Decorator form of add()."""
        return lambda entry: self.add(name, entry)

    def get(self, name: str) -> T:
        try:
            return self._entries[name]
        except KeyError:
            known = ", ".join(sorted(self._entries)) or "(none)"
            raise RegistryError(f"unknown {self.kind} {name!r}; known: {known}") from None

    def names(self) -> list[str]:
        return sorted(self._entries)

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[tuple[str, T]]:
        return iter(sorted(self._entries.items()))

    def __len__(self) -> int:
        return len(self._entries)


# The registries themselves. Built-ins register through the same door as extensions.
collectors: Registry[Any] = Registry("resource type")
sources: Registry[Any] = Registry("state source")
notifiers: Registry[Any] = Registry("alert channel type")
remediators: Registry[Any] = Registry("remediator")
