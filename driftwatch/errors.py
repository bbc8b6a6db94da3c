"""The small exception family raised inside driftwatch."""

from __future__ import annotations


class DriftwatchError(Exception):
    """Base class: a problem the user can act on, with a one-line message."""


class ConfigError(DriftwatchError):
    """The configuration file is missing, unparseable or invalid."""

    def __init__(self, path: str, key: str | None, message: str) -> None:
        self.path, self.key, self.message = path, key, message
        where = f"{path}: [{key}]" if key else path
        super().__init__(f"{where}: {message}")


class GitSourceError(DriftwatchError):
    """The Git repository could not be fetched or read."""


class ManifestError(DriftwatchError):
    """Declared state is invalid; `problems` holds one line per problem (file:line: what)."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        head = f"{len(problems)} problem(s) in declared state"
        super().__init__(head + ":\n  " + "\n  ".join(problems))


class RegistryError(DriftwatchError):
    """A name was registered twice, or an unknown name was asked for."""


class StoreError(DriftwatchError):
    """The SQLite store could not be opened or written."""


class LockError(DriftwatchError):
    """Another process holds the data directory's scan lock."""


class DeclaredDropError(DriftwatchError):
    """The declared state shrank by more than `scan.max_declared_drop` since the last scan."""


class DemoError(DriftwatchError):
    """`driftwatch demo` cannot start, or cannot find the running demo."""
