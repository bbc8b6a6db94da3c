"""Fetch a Git repository into a bare cache and read files at a commit, without a checkout."""

from __future__ import annotations

import hashlib
import os
import re
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import git

from driftwatch.config import GitConfig
from driftwatch.errors import GitSourceError

_USERINFO = re.compile(r"(?<=://)[^/@]+@")
_MAX_DETAIL = 400

# Answers `git credential fill` from the environment of the git process, so a
# token from `git.url` is never an argument of any process (/proc/<pid>/cmdline).
_HELPER = (
    '!f() { test "$1" = get || return 0; '
    "printf 'username=%s\\npassword=%s\\n' \"$DRIFTWATCH_GIT_USERNAME\" "
    '"$DRIFTWATCH_GIT_PASSWORD"; }; f'
)


def redact(url: str) -> str:
    """A URL safe to print: credentials in it are replaced by ***."""
    return _USERINFO.sub("***@", url)


@dataclass(frozen=True)
class Fetched:
    """The commit a scan reads; `stale_error` says why it is not the branch's latest."""

    commit: str
    stale_error: str | None = None


@dataclass(frozen=True)
class Remote:
    """`git.url` split into what may appear on a command line and what goes by environment."""

    url: str
    env: dict[str, str]

    @classmethod
    def parse(cls, url: str) -> Remote:
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https") or "@" not in parts.netloc:
            return cls(url, {"GIT_TERMINAL_PROMPT": "0"})
        host = parts.netloc.rpartition("@")[2]
        bare = urllib.parse.urlunsplit(parts._replace(netloc=host))
        env = {
            "GIT_TERMINAL_PROMPT": "0",
            "DRIFTWATCH_GIT_USERNAME": urllib.parse.unquote(parts.username or ""),
            "DRIFTWATCH_GIT_PASSWORD": urllib.parse.unquote(parts.password or ""),
        }
        # Only this host gets the helper; "" first drops other helpers for it, so
        # no credential store (e.g. `store`) is asked to save the token either.
        scope = f"credential.{parts.scheme}://{host}.helper"
        env.update(_config_env([(scope, ""), (scope, _HELPER)]))
        return cls(bare, env)


def _config_env(pairs: list[tuple[str, str]]) -> dict[str, str]:
    """GIT_CONFIG_COUNT/KEY_n/VALUE_n entries appended after any the caller already has."""
    start = int(os.environ.get("GIT_CONFIG_COUNT", "0") or 0)
    env = {"GIT_CONFIG_COUNT": str(start + len(pairs))}
    for i, (key, value) in enumerate(pairs, start):
        env[f"GIT_CONFIG_KEY_{i}"] = key
        env[f"GIT_CONFIG_VALUE_{i}"] = value
    return env


class GitSource:
    """A bare clone under the data directory, fetched on every scan."""

    def __init__(self, cfg: GitConfig, cache_root: Path) -> None:
        self.cfg = cfg
        # Keyed by the URL without credentials, so rotating a token reuses the cache.
        digest = hashlib.sha256(redact(cfg.url).encode()).hexdigest()[:16]
        self.cache = cache_root / "git" / digest
        self._ref = f"refs/remotes/origin/{cfg.branch}"

    def fetch(self) -> Fetched:
        """Fetch `branch`; if that fails and `on_fetch_error = "use_last"`, the last fetched."""
        try:
            repo = self._repo()
            self._fetch(repo)
            return Fetched(repo.commit(self._ref).hexsha)
        except git.GitCommandError as exc:
            error = (
                f"cannot fetch branch {self.cfg.branch!r} from {redact(self.cfg.url)}: "
                f"{fatal_detail(exc)}"
            )
        return self._fall_back(error)

    def _fetch(self, repo: git.Repo) -> None:
        remote = Remote.parse(self.cfg.url)
        # Fetch from the URL itself rather than a configured remote, and skip
        # FETCH_HEAD, so the URL is never written to the cache.
        with repo.git.custom_environment(**remote.env):
            repo.git.fetch(
                "--no-tags",
                "--no-write-fetch-head",
                remote.url,
                f"+refs/heads/{self.cfg.branch}:{self._ref}",
            )

    def _fall_back(self, error: str) -> Fetched:
        if self.cfg.on_fetch_error != "use_last":
            raise GitSourceError(
                f"{error}; check [git] url, branch and credentials, or set "
                '[git] on_fetch_error = "use_last" to scan the last fetched commit meanwhile'
            )
        last = self._last_commit()
        if last is None:
            raise GitSourceError(
                f"{error}; [git] on_fetch_error is \"use_last\" but branch {self.cfg.branch!r} "
                "was never fetched into this data directory: fix the fetch first"
            )
        return Fetched(last, stale_error=error)

    def _last_commit(self) -> str | None:
        try:
            return str(git.Repo(self.cache).commit(self._ref).hexsha)
        except (git.GitError, git.BadName, ValueError, OSError):  # no cache, or no such ref
            return None

    def _repo(self) -> git.Repo:
        if (self.cache / "HEAD").exists():
            return git.Repo(self.cache)
        self.cache.mkdir(parents=True, exist_ok=True)
        return git.Repo.init(self.cache, bare=True)

    def files(self, commit: str, suffixes: tuple[str, ...]) -> Iterator[tuple[str, bytes]]:
        """(path, content) of files under `git.path` at `commit`, skipping dot-folders."""
        repo = git.Repo(self.cache)
        tree = repo.commit(commit).tree
        if self.cfg.path:
            try:
                tree = tree / self.cfg.path
            except KeyError:
                raise GitSourceError(
                    f"path {self.cfg.path!r} (git.path) does not exist at commit {commit[:12]} "
                    f"of {redact(self.cfg.url)} branch {self.cfg.branch!r}"
                ) from None
            if tree.type != "tree":
                raise GitSourceError(f"git.path {self.cfg.path!r} is a file, not a folder")
        for item in tree.traverse():
            if isinstance(item, git.Blob):
                path = str(item.path)
                inside = path[len(self.cfg.path) + 1 :] if self.cfg.path else path
                if path.endswith(suffixes) and not _hidden(inside):
                    yield path, item.data_stream.read()


def _hidden(path: str) -> bool:
    return any(part.startswith(".") for part in path.split("/"))


def fatal_detail(exc: git.GitCommandError) -> str:
    """git's `fatal:` line and what it printed before it (e.g. ssh's cause), credentials redacted.

    The last line is often advice ("… and the repository exists."), not the cause.
    """
    text = str(exc.stderr or exc).replace("stderr:", "")
    lines = [ln.strip().strip("'").strip() for ln in text.splitlines()]
    lines = [ln for ln in lines if ln and not ln.startswith("hint:")]
    fatal = next((i for i, ln in enumerate(lines) if ln.startswith(("fatal:", "error:"))), None)
    picked = lines[: fatal + 1] if fatal is not None else lines[-1:]
    detail = "; ".join(picked) or str(exc)
    if len(detail) > _MAX_DETAIL:
        detail = detail[: _MAX_DETAIL - 3] + "..."
    return redact(detail)


def read_blob(cache: Path, commit: str, path: str) -> bytes | None:
    """One file's content at `commit` of a fetched cache; None when there is no such file."""
    try:
        item = git.Repo(cache).commit(commit).tree / path
    except KeyError:
        return None
    return item.data_stream.read() if isinstance(item, git.Blob) else None


def list_folders(cache: Path, commit: str, path: str) -> list[str]:
    """Names of the folders directly under `path` at `commit` (none when it is absent)."""
    try:
        tree = git.Repo(cache).commit(commit).tree / path
    except KeyError:
        return []
    return sorted(t.name for t in tree.trees) if isinstance(tree, git.Tree) else []


def list_files(
    cache: Path, commit: str, path: str, suffix: str | tuple[str, ...]
) -> list[tuple[str, str]] | None:
    """(name, blob digest) of the files named *suffix directly under `path` (None: no folder)."""
    try:
        tree = git.Repo(cache).commit(commit).tree
        tree = tree / path if path else tree
    except KeyError:
        return None
    if not isinstance(tree, git.Tree):
        return None
    return sorted((b.name, b.hexsha) for b in tree.blobs if b.name.endswith(suffix))
