"""Fetch a Git repository into a bare cache and read files at a commit, without a checkout."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from pathlib import Path

import git

from driftwatch.config import GitConfig
from driftwatch.errors import GitSourceError

_USERINFO = re.compile(r"(?<=://)[^/@]+@")


def redact(url: str) -> str:
    """A URL safe to print: credentials in it are replaced by ***."""
    return _USERINFO.sub("***@", url)


class GitSource:
    """A bare clone under the data directory, fetched on every scan."""

    def __init__(self, cfg: GitConfig, cache_root: Path) -> None:
        self.cfg = cfg
        # Keyed by the URL without credentials, so rotating a token reuses the cache.
        digest = hashlib.sha256(redact(cfg.url).encode()).hexdigest()[:16]
        self.cache = cache_root / "git" / digest

    def fetch(self) -> str:
        """Fetch `branch` from the remote; return the commit SHA it points to."""
        ref = f"refs/remotes/origin/{self.cfg.branch}"
        try:
            repo = self._repo()
            # Fetch from the URL itself rather than a configured remote, and skip
            # FETCH_HEAD, so a token in the URL is never written to the cache.
            repo.git.fetch(
                "--no-tags",
                "--no-write-fetch-head",
                self.cfg.url,
                f"+refs/heads/{self.cfg.branch}:{ref}",
            )
            return repo.commit(ref).hexsha
        except git.GitCommandError as exc:
            detail = _first_error_line(exc)
            raise GitSourceError(
                f"cannot fetch branch {self.cfg.branch!r} from {redact(self.cfg.url)}: {detail}"
            ) from None

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


def _first_error_line(exc: git.GitCommandError) -> str:
    text = str(exc.stderr or exc).replace("stderr:", "")
    lines = [ln.strip().strip("'").strip() for ln in text.splitlines() if ln.strip().strip("'")]
    return redact(lines[-1] if lines else str(exc))
