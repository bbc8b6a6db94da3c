"""Where state is read: s3, git, file and cmd sources, read-only and without a lock.

Each source lists the state locations of its workspaces, then streams one location's
bytes. None writes anything: no lock (`.tflock`, DynamoDB), no copy on disk.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from pathlib import Path, PurePosixPath
from typing import Any

import botocore.exceptions as bex

from driftwatch.config import AccountConfig, Config, TerraformConfig
from driftwatch.declared.git import list_folders, read_blob
from driftwatch.errors import DriftwatchError
from driftwatch.registry import sources

CHUNK = 256 * 1024
DEFAULT = "default"
LOCAL_WORKSPACES = "terraform.tfstate.d"  # the local backend's folder of other workspaces


class SourceError(DriftwatchError):
    """A state source that could not be listed or read."""


@dataclass(frozen=True)
class Location:
    """One workspace's state: its name and where it is (the `state` of `declared_by`)."""

    workspace: str
    url: str


@dataclass
class ReadContext:
    """What sources read with: AWS clients, and the [git] cache at the scan's commit."""

    cfg: Config
    sessions: Any = None  # driftwatch.aws.AwsSessions
    git_cache: Path | None = None
    commit: str | None = None
    # S3 keys under a workspace prefix, by (state_account, bucket, prefix): listed once per
    # read, not once per source (200 sources in one bucket would list it 200 times).
    listings: dict[tuple[str, str, str], list[str]] = field(default_factory=dict)


def pick(src: TerraformConfig, found: list[str]) -> list[str]:
    """The workspaces `src.workspaces` selects among `found`; a pattern matching none fails."""
    chosen: dict[str, None] = {}
    for pattern in src.workspaces:
        hits = [w for w in found if fnmatchcase(w, pattern)]
        if not hits:
            listed = ", ".join(found) or "none"
            raise SourceError(
                f"terraform source {src.name!r} ({src.key}.workspaces): {pattern!r} matches no "
                f"workspace of {src.origin} (found: {listed})"
            )
        chosen.update(dict.fromkeys(hits))
    return list(chosen)


@sources.register("s3")
class S3State:
    """`s3://BUCKET/KEY`: ListBucket and GetObject only; workspaces under `env:/<ws>/KEY`."""

    def locate(self, src: TerraformConfig, ctx: ReadContext) -> list[Location]:
        bucket, key = src.location.split("/", 1)
        client = self._client(src, ctx)
        prefix = f"{src.workspace_key_prefix.rstrip('/')}/"
        found: dict[str, str] = {}
        try:
            for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=key):
                if any(o["Key"] == key for o in page.get("Contents", [])):
                    found[DEFAULT] = key
            for listed in self._listing(client, src, ctx, bucket, prefix):
                ws, _, rest = listed[len(prefix) :].partition("/")
                if ws and rest == key:
                    found[ws] = listed
        except bex.ClientError as exc:
            raise SourceError(f"cannot list s3://{bucket}/ ({_code(exc)})") from None
        except bex.BotoCoreError as exc:
            raise SourceError(f"cannot list s3://{bucket}/ ({type(exc).__name__})") from None
        return [Location(ws, f"s3://{bucket}/{found[ws]}") for ws in pick(src, sorted(found))]

    def _listing(
        self, client: Any, src: TerraformConfig, ctx: ReadContext, bucket: str, prefix: str
    ) -> list[str]:
        cached = (src.state_account or "", bucket, prefix)
        if cached not in ctx.listings:
            keys: list[str] = []
            for page in client.get_paginator("list_objects_v2").paginate(
                Bucket=bucket, Prefix=prefix
            ):
                keys += [obj["Key"] for obj in page.get("Contents", [])]
            ctx.listings[cached] = keys
        return ctx.listings[cached]

    def open(self, src: TerraformConfig, ctx: ReadContext, loc: Location) -> Iterator[bytes]:
        bucket, key = loc.url[5:].split("/", 1)
        try:
            body = self._client(src, ctx).get_object(Bucket=bucket, Key=key)["Body"]
            yield from body.iter_chunks(CHUNK)
        except bex.ClientError as exc:
            raise SourceError(f"cannot read {loc.url} ({_code(exc)})") from None
        except bex.BotoCoreError as exc:
            raise SourceError(f"cannot read {loc.url} ({type(exc).__name__})") from None

    def _client(self, src: TerraformConfig, ctx: ReadContext) -> Any:
        named = ctx.cfg.aws.account(src.state_account or ctx.cfg.default_account)
        assert named is not None  # config validation names only known accounts
        # Without state_account: the base credentials, not the first account's role.
        account = named if src.state_account else AccountConfig("(base)", named.regions)
        return ctx.sessions.client(account, account.regions[0], "s3")


def _code(exc: bex.ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code") or "error")


def _local_locations(src: TerraformConfig, exists: Any, folders: Any) -> list[Location]:
    """The local backend's layout: PATH, and DIR/terraform.tfstate.d/<ws>/NAME."""
    path = PurePosixPath(src.location)
    found = {DEFAULT: str(path)} if exists(str(path)) else {}
    ws_root = path.parent / LOCAL_WORKSPACES
    for ws in folders(str(ws_root)):
        candidate = str(ws_root / ws / path.name)
        if exists(candidate):
            found[ws] = candidate
    return [Location(ws, found[ws]) for ws in pick(src, sorted(found))]


@sources.register("file")
class FileState:
    """`file:PATH`: a local state file (and the local backend's other workspaces)."""

    def locate(self, src: TerraformConfig, ctx: ReadContext) -> list[Location]:
        locs = _local_locations(
            src,
            os.path.isfile,
            lambda d: (
                sorted(p.name for p in Path(d).iterdir() if p.is_dir()) if os.path.isdir(d) else []
            ),
        )
        return [Location(loc.workspace, f"file:{loc.url}") for loc in locs]

    def open(self, src: TerraformConfig, ctx: ReadContext, loc: Location) -> Iterator[bytes]:
        try:
            with open(loc.url[5:], "rb") as f:
                while chunk := f.read(CHUNK):
                    yield chunk
        except OSError as exc:
            raise SourceError(f"cannot read {loc.url} ({exc.strerror})") from None


@sources.register("git")
class GitState:
    """`git:PATH`: a state committed to the [git] repository, read at the scan's commit."""

    def locate(self, src: TerraformConfig, ctx: ReadContext) -> list[Location]:
        cache, commit = self._at(ctx)
        locs = _local_locations(
            src,
            lambda p: read_blob(cache, commit, p) is not None,
            lambda d: list_folders(cache, commit, d),
        )
        return [Location(loc.workspace, f"git:{loc.url}@{commit[:12]}") for loc in locs]

    def open(self, src: TerraformConfig, ctx: ReadContext, loc: Location) -> Iterator[bytes]:
        cache, commit = self._at(ctx)
        data = read_blob(cache, commit, loc.url[4:].rsplit("@", 1)[0])
        if data is None:
            raise SourceError(f"{loc.url} is not a file at commit {commit[:12]}")
        for i in range(0, len(data), CHUNK):
            yield data[i : i + CHUNK]

    def _at(self, ctx: ReadContext) -> tuple[Path, str]:
        if ctx.git_cache is None or ctx.commit is None:
            raise SourceError("a git: state needs the [git] repository, which was not fetched")
        return ctx.git_cache, ctx.commit


@sources.register("cmd")
class CmdState:
    """`cmd:COMMAND`: runs the argv without a shell (e.g. `terraform state pull`), reads stdout."""

    def locate(self, src: TerraformConfig, ctx: ReadContext) -> list[Location]:
        return [Location(DEFAULT, src.origin)]

    def open(self, src: TerraformConfig, ctx: ReadContext, loc: Location) -> Iterator[bytes]:
        try:
            # stderr is not read: it could quote the state; stdout is parsed as it comes.
            proc = subprocess.Popen(
                list(src.argv),
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                stdin=subprocess.DEVNULL,
            )
        except OSError as exc:
            raise SourceError(f"cannot run {src.argv[0]!r} ({exc.strerror})") from None
        assert proc.stdout is not None
        with proc:
            while chunk := proc.stdout.read(CHUNK):
                yield chunk
        if proc.returncode != 0:
            raise SourceError(f"{loc.url} exited with status {proc.returncode}")
