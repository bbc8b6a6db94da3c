"""Accept into Git: write the live values of the drifted paths into the manifest, on a branch.

`plan_accept()` and `plan_new_manifest()` are pure: manifest text in, new text and
a unified diff out. `execute_accept()` commits the planned file on a new branch of
driftwatch's own clone of the [git] repository (the bare cache the scans fetch
into; plumbing only, no checkout, never a user's working copy) and pushes the
branch when `[remediation.git] push = true`. The drift resolves when a scan sees
the accepted state on the watched branch, after someone merges it.
"""

from __future__ import annotations

import copy
import io
import re
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import git
from botocore.exceptions import BotoCoreError, ClientError
from gitdb.base import IStream
from ruamel.yaml.comments import CommentedMap

from driftwatch.aws import GLOBAL_API_REGION, AwsSessions, describe_error
from driftwatch.collect import Collection, ScopePlan
from driftwatch.collectors.base import Collector, NotComparable
from driftwatch.config import Config, GitConfig
from driftwatch.declared.git import GitSource, Remote, fatal_detail, read_blob, redact
from driftwatch.errors import GitSourceError
from driftwatch.models import GLOBAL_REGION, Change, DeclaredResource, LiveResource, ResourceKey
from driftwatch.paths import split_path
from driftwatch.registry import collectors
from driftwatch.remediation.manifest_edit import (
    ManifestFile,
    Unwritable,
    declared_form,
    remove_entry,
    secret_pairs,
    unified_diff,
    verify,
    write_attr,
)
from driftwatch.remediation.model import FAILED, SUCCEEDED, Outcome, Prepared
from driftwatch.remediation.subject import (
    RemediationError,
    Subject,
    account_of,
    keyed_hash,
    list_live,
)

SECRET_WHY = (
    "secret values are never written into Git: keep the value where the secret is "
    "managed (e.g. a secrets store feeding the deployment)"
)
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_BRANCH_PART = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*")


@dataclass(frozen=True)
class LeftOut:
    """A drifted path the plan does not write, and why."""

    path: str
    why: str

    def to_dict(self) -> dict[str, str]:
        return {"path": self.path, "why": self.why}


@dataclass(frozen=True)
class AcceptPlan:
    """One manifest file's new text, the paths written into it, and those left out.

    `diff` is safe to store and show (secret values declared in the file are
    masked); `old_text`/`new_text` are not (the file may declare secrets):
    keep them in memory only, and store `to_dict()`.
    """

    resource: str
    path: str
    old_text: str | None  # None: a new file
    new_text: str | None  # None: the file is deleted
    written: tuple[str, ...]
    left_out: tuple[LeftOut, ...]
    diff: str
    note: str = ""

    @property
    def new_file(self) -> bool:
        return self.old_text is None

    @property
    def deletes_file(self) -> bool:
        return self.new_text is None

    def to_dict(self) -> dict[str, Any]:
        """The plan as shown and stored: no file text, the diff with secrets masked."""
        return {
            "resource": self.resource,
            "path": self.path,
            "new_file": self.new_file,
            "deletes_file": self.deletes_file,
            "written": list(self.written),
            "left_out": [x.to_dict() for x in self.left_out],
            "diff": self.diff,
            "note": self.note,
        }


@dataclass(frozen=True)
class AcceptResult:
    """The branch and commit holding an accepted plan; `pushed` when the remote has it."""

    branch: str
    commit: str
    base_commit: str
    path: str
    pushed: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "branch": self.branch,
            "commit": self.commit,
            "base_commit": self.base_commit,
            "path": self.path,
            "pushed": self.pushed,
        }


# ---------------------------------------------------------------------------- planning


def plan_accept(
    declared: DeclaredResource,
    have: dict[str, Any],
    changes: Iterable[Change],
    source_text: str,
    secret_attrs: set[str],
) -> AcceptPlan:
    """Write the canonical live values (`have`) of exactly the drifted paths into the manifest.

    `source_text` is the file `declared.source` at the commit the plan is made
    against. A path that cannot be written (a secret, a shape the manifest does not
    hold) is left out with why; a Terraform-declared resource is refused whole.
    """
    what = describe(declared.type, declared.id, declared.account, declared.region)
    _refuse_terraform(declared, what)
    collector = collectors.get(declared.type)
    fmt = ManifestFile.for_file(declared.source, source_text)
    by_attr: dict[str, list[str]] = {}
    for change in changes:
        by_attr.setdefault(split_path(change.path)[0], []).append(change.path)
    doc = fmt.load()
    secrets = secret_pairs(doc, secret_attrs)  # before any edit: what the file declares
    entry = fmt.entry(doc, declared)
    writable: dict[str, list[str]] = {}
    left: list[LeftOut] = []
    for attr, paths in by_attr.items():
        why = _why_not(collector, attr, secret_attrs)
        if why is None:
            saved = copy.deepcopy(entry["spec"])  # comments and style included
            try:
                write_attr(entry["spec"], attr, collector, have, paths)
                writable[attr] = paths
                continue
            except Unwritable as exc:
                entry["spec"] = saved  # a refused attribute leaves no trace in the text
                why = str(exc)
        left += [LeftOut(p, why) for p in paths]
    new_text = fmt.dump(doc) if writable else source_text
    return AcceptPlan(
        resource=what,
        path=declared.source,
        old_text=source_text,
        new_text=new_text,
        written=tuple(p for paths in writable.values() for p in paths),
        left_out=tuple(left),
        diff=unified_diff(declared.source, source_text, new_text, secrets),
    )


REMOVED = "(resource)"  # what a plan for a missing resource writes: the whole declaration


def plan_remove(declared: DeclaredResource, source_text: str) -> AcceptPlan:
    """A missing resource accepted: its declaration removed (the file, if it declares only it)."""
    what = describe(declared.type, declared.id, declared.account, declared.region)
    _refuse_terraform(declared, what)
    fmt = ManifestFile.for_file(declared.source, source_text)
    doc = fmt.load()
    secrets = secret_pairs(doc, set())
    new_text = None if remove_entry(doc, declared, fmt.json) else fmt.dump(doc)
    return AcceptPlan(
        resource=what,
        path=declared.source,
        old_text=source_text,
        new_text=new_text,
        written=(REMOVED,),
        left_out=(),
        diff=unified_diff(declared.source, source_text, new_text, secrets),
        note="missing live: the declaration is removed"
        + (" with its file" if new_text is None else ""),
    )


def _refuse_terraform(declared: DeclaredResource, what: str) -> None:
    if declared.declared_by:
        raise RemediationError(
            f"{what} is declared by Terraform state ({_tf_where(declared.declared_by)}), "
            "not by a manifest: change the .tf config; use pipeline mode",
            status=400,
        )


def _why_not(collector: Collector, attr: str, secret_attrs: set[str]) -> str | None:
    spec = collector.attributes.get(attr)
    if spec is None:
        return f"{collector.type} has no attribute {attr!r}"
    if attr in secret_attrs or spec.kind.secret:
        return SECRET_WHY
    return None


def _tf_where(declared_by: dict[str, Any]) -> str:
    state, address = declared_by.get("state"), declared_by.get("address")
    return ", ".join(str(x) for x in (state, address) if x) or "state"


def describe(rtype: str, rid: str, account: str, region: str) -> str:
    """`aws_s3_bucket acme-logs (prod/us-east-1)`: a resource, as messages name it."""
    return f"{rtype} {rid} ({account}/{region})"


# ---------------------------------------------------------------------------- unmanaged


def new_manifest_path(folder: str, rtype: str, account: str, region: str, rid: str) -> str:
    """Where an accepted unmanaged resource goes: FOLDER/accepted/ACCOUNT/REGION/TYPE/ID.yaml."""
    parts = [_UNSAFE.sub("_", p).lstrip(".") or "_" for p in (account, region, rtype, rid)]
    head = f"{folder.strip('/')}/" if folder.strip("/") else ""
    return f"{head}accepted/{'/'.join(parts[:3])}/{parts[3]}.yaml"


def plan_new_manifest(
    rtype: str,
    rid: str,
    account: str,
    region: str,
    attrs: dict[str, Any],
    *,
    folder: str,
    exists: bool = False,
    known_from: str = "its listing",
) -> AcceptPlan:
    """A new manifest file declaring an unmanaged resource with the attributes known of it.

    `attrs` holds canonical live values (a snapshot, or `live_attributes()`); only
    declarable, non-secret attributes whose value can be written are declared,
    the others are listed as left out.
    """
    what = describe(rtype, rid, account, region)
    path = new_manifest_path(folder, rtype, account, region, rid)
    if exists:
        raise RemediationError(
            f"{path} already exists: accept would overwrite it; declare {what} by hand"
        )
    collector = collectors.get(rtype)
    spec: dict[str, Any] = CommentedMap()
    left: list[LeftOut] = []
    for attr, value in attrs.items():
        if attr not in collector.attributes or value is None:
            continue
        why = _why_not(collector, attr, set())
        try:
            if why is not None:
                raise Unwritable(why)
            spec[attr] = declared_form(collector.attributes[attr].kind, value)
            verify(collector.attributes[attr].kind, spec[attr], value, [[]])
        except Unwritable as exc:
            spec.pop(attr, None)
            left.append(LeftOut(attr, str(exc)))
    doc = CommentedMap(type=rtype, id=rid, account=account)
    if region != GLOBAL_REGION:
        doc["region"] = region
    doc["spec"] = spec
    doc.yaml_set_start_comment(
        f"Accepted into Git by driftwatch: {what} as found live, from {known_from}."
    )
    fmt = ManifestFile(path, "", json=False)
    new_text = fmt.dump(doc)
    return AcceptPlan(
        resource=what,
        path=path,
        old_text=None,
        new_text=new_text,
        written=tuple(spec),
        left_out=tuple(left),
        diff=unified_diff(path, None, new_text),
        note=f"a new manifest file; attributes from {known_from}",
    )


def live_attributes(collector: Collector, client: Any, live: LiveResource) -> dict[str, Any]:
    """Every declarable, non-secret attribute of a live resource, read and canonicalised."""
    names = [a for a, spec in collector.attributes.items() if not spec.kind.secret]
    raw = dict(live.attrs)
    for source in collector.sources_for(names):
        raw.update(collector.read(source, client, live))
    return collector.canonical({a: raw.get(a) for a in names}, collector.context(live))


# ---------------------------------------------------------------------------- executing


def execute_accept(
    cfg: Config, plan: AcceptPlan, *, drift_id: str, actor_name: str, base_commit: str
) -> AcceptResult:
    """Commit the plan on `{branch_prefix}{drift_id}` from `base_commit`; push it if configured.

    Works in driftwatch's bare clone under the data directory, with a private
    index file: no checkout, and no user's working copy is touched.
    """
    if cfg.git is None:
        raise RemediationError("accept into Git needs a [git] repository in the config", 400)
    if not plan.written:
        raise RemediationError(
            f"nothing to accept for {plan.resource}: every drifted path was left out"
        )
    if not _BRANCH_PART.fullmatch(drift_id) or not actor_name.strip():
        raise RemediationError(
            f"a drift id ({drift_id!r}) made of letters, digits, _ and - and a user name "
            "are needed to name the branch and the commit's author",
            status=400,
        )
    source = GitSource(cfg.git, cfg.storage.data_dir)
    repo = _repo(source.cache, base_commit)
    _check_base(source.cache, base_commit, plan)
    branch = f"{cfg.remediation.git.branch_prefix}{drift_id}"
    remote = Remote.parse(cfg.git.url)
    if cfg.remediation.git.push:
        done = _already_pushed(repo, remote, branch, cfg.git.url, base_commit, plan)
        if done is not None:  # a retry after the answer was lost: the same change is there
            return AcceptResult(branch, done, base_commit, plan.path, True)
    commit = _commit(
        repo,
        base_commit,
        plan,
        _message(plan, drift_id, actor_name),
        actor_name,
        cfg.remediation.git.author_email,
    )
    repo.git.update_ref(f"refs/heads/{branch}", commit)
    pushed = False
    if cfg.remediation.git.push:
        _push(repo, remote, branch, commit, cfg.git.url)
        pushed = True
    return AcceptResult(branch, commit, base_commit, plan.path, pushed)


def _repo(cache: Path, base_commit: str) -> git.Repo:
    try:
        repo = git.Repo(cache)
        repo.commit(base_commit)
    except (git.GitError, git.BadName, ValueError, OSError):
        raise RemediationError(
            f"commit {base_commit[:12]} is not in driftwatch's clone of the [git] repository: "
            "run a scan, then plan again"
        ) from None
    return repo


def _check_base(cache: Path, base_commit: str, plan: AcceptPlan) -> None:
    """The file at the base commit must be the one the plan was made from."""
    current = read_blob(cache, base_commit, plan.path)
    if plan.old_text is None and current is not None:
        raise RemediationError(f"{plan.path} already exists at {base_commit[:12]}: plan again")
    if plan.old_text is not None and (current is None or current.decode() != plan.old_text):
        raise RemediationError(
            f"{plan.path} at {base_commit[:12]} is not the text the plan was made from: plan again"
        )


def _message(plan: AcceptPlan, drift_id: str, actor: str) -> str:
    if plan.written == (REMOVED,):
        lines = [
            f"Accept missing {plan.resource} into Git",
            "",
            f"driftwatch drift {drift_id}: the resource is gone live; its declaration is",
            f"removed from {plan.path}" + (" (the file is deleted)." if plan.deletes_file else "."),
        ]
    else:
        lines = [
            f"Accept live {plan.resource} into Git",
            "",
            f"driftwatch drift {drift_id}: the live values of",
            *(f"  {p}" for p in plan.written),
            f"written into {plan.path}" + (" (a new file)." if plan.new_file else "."),
        ]
    if plan.left_out:
        lines += ["", "Left out:", *(f"  {x.path}: {x.why}" for x in plan.left_out)]
    lines += ["", f"Accepted by {actor} with driftwatch."]
    return "\n".join(lines) + "\n"


def _commit(
    repo: git.Repo, base: str, plan: AcceptPlan, message: str, author: str, email: str
) -> str:
    """A commit of base's tree with the one file replaced (or removed), via a private index."""
    if plan.new_text is None:
        update = ["--force-remove", plan.path]
    else:
        data = plan.new_text.encode()
        blob = repo.odb.store(IStream("blob", len(data), io.BytesIO(data))).hexsha.decode()
        update = ["--add", "--cacheinfo", f"{_mode(repo, base, plan.path)},{blob},{plan.path}"]
    people = {
        "GIT_AUTHOR_NAME": author,
        "GIT_AUTHOR_EMAIL": email,
        "GIT_COMMITTER_NAME": author,
        "GIT_COMMITTER_EMAIL": email,
    }
    with tempfile.TemporaryDirectory(prefix="driftwatch-accept-") as tmp:
        index = str(Path(tmp) / "index")
        with repo.git.custom_environment(GIT_INDEX_FILE=index, **people):
            repo.git.read_tree(base)
            repo.git.update_index(*update)
            tree = repo.git.write_tree()
            return str(repo.git.commit_tree(tree, "-p", base, "-m", message))


def _mode(repo: git.Repo, base: str, path: str) -> str:
    try:
        return f"{(repo.commit(base).tree / path).mode:o}"
    except KeyError:
        return "100644"


def _already_pushed(
    repo: git.Repo, remote: Remote, branch: str, url: str, base: str, plan: AcceptPlan
) -> str | None:
    """None when the remote has no such branch; its commit when it holds exactly this change.

    Any other commit there is someone's work (or another accept): never overwrite it.
    """
    try:
        with repo.git.custom_environment(**remote.env):
            out = str(repo.git.ls_remote(remote.url, f"refs/heads/{branch}"))
    except git.GitCommandError as exc:
        raise GitSourceError(
            f"cannot read branches of {redact(url)}: {fatal_detail(exc)}"
        ) from None
    if not out.strip():
        return None
    sha = out.split()[0]
    if _same_change(repo, sha, base, plan):
        return sha
    raise RemediationError(
        f"branch {branch!r} already exists on {redact(url)} at {sha[:12]}, a different commit: "
        "merge or delete it, then accept again"
    )


def _same_change(repo: git.Repo, sha: str, base: str, plan: AcceptPlan) -> bool:
    """True when `sha` is known here, has `base` as its only parent, and holds the planned file."""
    try:
        commit = repo.commit(sha)
    except (ValueError, git.BadName):
        return False
    parents = [p.hexsha for p in commit.parents]
    return parents == [base] and _holds(repo.git_dir, sha, plan)


def _holds(cache: Any, commit: str, plan: AcceptPlan) -> bool:
    """The file at `commit` is the planned text (or absent, when the plan deletes it)."""
    found = read_blob(Path(cache), commit, plan.path)
    return found == (None if plan.new_text is None else plan.new_text.encode())


def _push(repo: git.Repo, remote: Remote, branch: str, commit: str, url: str) -> None:
    try:
        with repo.git.custom_environment(**remote.env):
            repo.git.push(remote.url, f"{commit}:refs/heads/{branch}")
    except git.GitCommandError as exc:
        raise GitSourceError(
            f"committed {commit[:12]} on branch {branch!r} in driftwatch's clone, but cannot "
            f"push it to {redact(url)}: {fatal_detail(exc)}"
        ) from None


# ---------------------------------------------------------------------------- the mode


def prepare_accept(
    cfg: Config, secret_key: bytes, subject: Subject, *, fingerprint: str, actor_name: str
) -> Prepared:
    """Mode 2 for a modified drift: the manifest edit; run() commits it on the drift's branch."""
    git_cfg = _git(cfg)
    if subject.commit is None:
        raise RemediationError("the declared state was not read from Git; nothing to edit", 400)
    if not subject.changes:
        raise RemediationError(
            f"{subject.declared.type} {subject.declared.id!r} is in sync now; nothing to accept"
        )
    text = read_blob(
        GitSource(git_cfg, cfg.storage.data_dir).cache, subject.commit, subject.declared.source
    )
    if text is None:
        raise RemediationError(f"{subject.declared.source} is not in commit {subject.commit[:12]}")
    secrets = {a for a, spec in subject.collector.attributes.items() if spec.kind.secret}
    plan = plan_accept(subject.declared, subject.have, subject.changes, text.decode(), secrets)
    return _prepared(cfg, secret_key, plan, subject.have, subject.commit, fingerprint, actor_name)


def prepare_accept_unmanaged(
    cfg: Config,
    sessions: AwsSessions,
    secret_key: bytes,
    key: ResourceKey,
    *,
    fingerprint: str,
    actor_name: str,
) -> Prepared:
    """Mode 2 for an unmanaged drift: a new manifest with every declarable attribute read live."""
    git_cfg = _git(cfg)
    account, region, rtype, rid = key
    live = list_live(cfg, sessions, key)
    if live is None:
        raise RemediationError(f"{rtype} {rid!r} is not live any more; nothing to accept")
    collector = collectors.get(rtype)()
    api_region = GLOBAL_API_REGION if collector.is_global else region
    client = sessions.client(account_of(cfg, account), api_region, collector.service)
    try:
        attrs = live_attributes(collector, client, live)
    except (BotoCoreError, ClientError, NotComparable) as exc:
        raise RemediationError(f"cannot read {rtype} {rid!r} now: {describe_error(exc)}") from None
    source = GitSource(git_cfg, cfg.storage.data_dir)
    commit = source.fetch().commit
    path = new_manifest_path(git_cfg.path, rtype, account, region, rid)
    plan = plan_new_manifest(
        rtype,
        rid,
        account,
        region,
        attrs,
        folder=git_cfg.path,
        exists=read_blob(source.cache, commit, path) is not None,
        known_from="a live read of every declarable attribute",
    )
    return _prepared(cfg, secret_key, plan, attrs, commit, fingerprint, actor_name)


def prepare_accept_missing(
    cfg: Config,
    sessions: AwsSessions,
    secret_key: bytes,
    declared: DeclaredResource,
    commit: str | None,
    *,
    fingerprint: str,
    actor_name: str,
) -> Prepared:
    """Mode 2 for a missing drift: remove the declaration, once a fresh read finds it gone."""
    git_cfg = _git(cfg)
    if commit is None:
        raise RemediationError("the declared state was not read from Git; nothing to edit", 400)
    _confirm_missing(cfg, sessions, declared)
    text = read_blob(GitSource(git_cfg, cfg.storage.data_dir).cache, commit, declared.source)
    if text is None:
        raise RemediationError(f"{declared.source} is not in commit {commit[:12]}")
    plan = plan_remove(declared, text.decode())
    gone = {"missing": list(declared.key)}
    return _prepared(cfg, secret_key, plan, gone, commit, fingerprint, actor_name)


def _confirm_missing(cfg: Config, sessions: AwsSessions, declared: DeclaredResource) -> None:
    """Read the resource's scope now: it must be readable, and the resource absent."""
    plan = ScopePlan(declared.scope, account_of(cfg, declared.account), watched=False)
    plan.declared.append(declared)
    got = Collection(sessions, cfg.aws.max_concurrency).run([plan])
    problem = got.failed_scopes.get(declared.scope) or got.unchecked.get(declared.key)
    if problem:
        raise RemediationError(f"cannot read {declared.type} {declared.id!r} now: {problem}")
    if declared.key in got.matches:
        raise RemediationError(
            f"{declared.type} {declared.id!r} is live again: nothing to accept (the next "
            "scan resolves the drift)"
        )


def _git(cfg: Config) -> GitConfig:
    if cfg.git is None:
        raise RemediationError("accept into Git needs a [git] repository in the config", 400)
    return cfg.git


def _prepared(
    cfg: Config,
    secret_key: bytes,
    plan: AcceptPlan,
    live: dict[str, Any],
    base: str,
    fingerprint: str,
    actor_name: str,
) -> Prepared:
    if not plan.written:
        raise RemediationError(
            "nothing can be accepted: " + "; ".join(f"{x.path}: {x.why}" for x in plan.left_out),
            status=400,
        )
    rem = cfg.remediation.git
    branch = f"{rem.branch_prefix}{fingerprint}"
    body = {**plan.to_dict(), "branch": branch, "push": rem.push}
    said = f"commit {', '.join(plan.written)} to {plan.path} on branch {branch}"
    said += " and push it" if rem.push else " (in driftwatch's clone; push is off)"
    if plan.left_out:
        said += f"; left out: {', '.join(x.path for x in plan.left_out)}"
    return Prepared(
        summary=said,
        body={**body, "commit": base},
        # The new text, secrets included, is only ever hashed with the installation key;
        # the base commit is not: an unrelated commit on the branch does not stale the plan.
        plan_hash=keyed_hash(secret_key, {"body": body, "text": plan.new_text}),
        live_hash=keyed_hash(secret_key, live),
        run=lambda: _run_accept(cfg, plan, base, fingerprint, actor_name),
    )


def _run_accept(
    cfg: Config, plan: AcceptPlan, base: str, fingerprint: str, actor_name: str
) -> Outcome:
    """Commit (and push); verified by reading the file back from the new commit."""
    try:
        done = execute_accept(
            cfg, plan, drift_id=fingerprint, actor_name=actor_name, base_commit=base
        )
    except (RemediationError, GitSourceError) as exc:
        return Outcome(FAILED, {"error": str(exc), "summary": f"failed: {exc}"})
    assert cfg.git is not None
    cache = GitSource(cfg.git, cfg.storage.data_dir).cache
    if not _holds(cache, done.commit, plan):
        return Outcome(FAILED, {**done.to_dict(), "error": "the commit does not hold the plan"})
    where = "pushed to the remote" if done.pushed else "in driftwatch's clone (push is off)"
    summary = (
        f"committed {done.commit[:12]} on branch {done.branch}, {where}; the drift resolves "
        "when a scan sees the accepted values on the watched branch (merge the branch)"
    )
    return Outcome(SUCCEEDED, {**done.to_dict(), "summary": summary})
