"""`driftwatch check`: the config, Git, the manifests and AWS credentials, one line each.

Each check is a `Check`: what was checked, where, the outcome, and for a failure
how to fix it. Checks that depend on an earlier one (manifests on Git, everything
on the config) are skipped when it failed, and say so.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import botocore.exceptions as bex

import driftwatch.collectors
import driftwatch.remediators  # noqa: F401  (both register their built-ins)
from driftwatch import iam
from driftwatch.aws import AwsSessions, describe_error
from driftwatch.config import AccountConfig, Config, load_config
from driftwatch.declared.git import GitSource, redact
from driftwatch.declared.manifests import SUFFIXES, parse_manifests
from driftwatch.errors import ConfigError, DriftwatchError
from driftwatch.models import DeclaredResource
from driftwatch.registry import collectors, remediators


@dataclass(frozen=True)
class Check:
    """One line of `driftwatch check`."""

    ok: bool
    what: str
    where: str
    detail: str
    fix: str = ""

    def lines(self) -> list[str]:
        status = "OK  " if self.ok else "FAIL"
        head = f"{status}  {self.what:<12} {self.where}: {self.detail}"
        return [head] if self.ok or not self.fix else [head, f"      {'':<12} fix: {self.fix}"]


@dataclass
class Report:
    """The checks run, and what later steps need from them."""

    checks: list[Check]
    config: Config | None = None
    declared: list[DeclaredResource] | None = None
    commit: str | None = None  # the manifests' commit, where [git] was fetched

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)


def run_checks(config_path: str | None) -> Report:
    """Every check, in order; stops early only where nothing else can be checked."""
    report = Report([])
    try:
        cfg = load_config(config_path)
    except ConfigError as exc:
        detail = f"[{exc.key}]: {exc.message}" if exc.key else exc.message
        fix = "see docs/configuration.md (`driftwatch init` writes a commented file)"
        report.checks.append(Check(False, "config", exc.path, detail, fix))
        return report
    except DriftwatchError as exc:  # e.g. an unknown alert channel type (registry)
        where = config_path or "driftwatch.toml"
        report.checks.append(Check(False, "config", where, str(exc), "see docs/configuration.md"))
        return report
    report.config = cfg
    report.checks += list(_config_checks(cfg))
    storage = _storage_check(cfg)
    report.checks.append(storage)
    if cfg.git is not None and storage.ok:
        report.checks += list(_git_checks(cfg, report))
    sessions = AwsSessions(cfg.aws)
    if cfg.terraform and storage.ok:  # after git: `git:` states are read from its cache
        report.checks += list(_terraform_checks(cfg, sessions, report))
    report.checks += [_account_check(sessions, a) for a in cfg.aws.accounts]
    return report


def _config_checks(cfg: Config) -> Iterator[Check]:
    from driftwatch.scan import check_types

    where = str(cfg.source)
    try:
        check_types(cfg)
    except DriftwatchError as exc:
        yield Check(False, "config", where, str(exc), "use names from `driftwatch types`")
        return
    accounts = ", ".join(f"{a.name} ({', '.join(a.regions)})" for a in cfg.aws.accounts)
    types = ", ".join(cfg.scan.types) or "every type"
    yield Check(True, "config", where, f"valid; accounts {accounts}; watching {types}")


def _storage_check(cfg: Config) -> Check:
    """The data directory, created 0700 as a scan would (the Git cache goes there)."""
    from driftwatch.datadir import prepare_data_dir

    where = str(cfg.storage.data_dir)
    try:
        prepare_data_dir(cfg)
    except DriftwatchError as exc:
        return Check(False, "storage", where, str(exc), "set [storage] path or data_dir")
    return Check(True, "storage", where, f"data directory ready; database {cfg.storage.path}")


def _git_checks(cfg: Config, report: Report) -> Iterator[Check]:
    assert cfg.git is not None
    where = f"{redact(cfg.git.url)} branch {cfg.git.branch}"
    source = GitSource(cfg.git, cfg.storage.data_dir)
    try:
        fetched = source.fetch()
    except DriftwatchError as exc:
        yield Check(False, "git", where, str(exc), _GIT_FIX)
        yield Check(False, "manifests", where, "not checked: the repository could not be fetched")
        return
    if fetched.stale_error:
        yield Check(False, "git", where, fetched.stale_error, _GIT_FIX)
    else:
        yield Check(True, "git", where, f"fetched, commit {fetched.commit[:12]}")
    path = f"{where}:{cfg.git.path or '/'}"
    try:
        resources = parse_manifests(source.files(fetched.commit, SUFFIXES), cfg)
    except DriftwatchError as exc:
        yield Check(False, "manifests", path, str(exc), "fix each file:line listed")
        return
    report.declared = resources
    report.commit = fetched.commit
    types = len({r.type for r in resources})
    yield Check(True, "manifests", path, f"{len(resources)} resource(s) of {types} type(s), valid")


def _terraform_checks(cfg: Config, sessions: AwsSessions, report: Report) -> Iterator[Check]:
    """Every [[terraform]] source read as a scan reads it: a line for each, its failures
    (per workspace) with the fix; the resources it declares join the IAM policy's."""
    from driftwatch.declared.terraform.load import load_terraform
    from driftwatch.scan import read_context
    from driftwatch.secretkey import load_or_create_key

    ctx = read_context(cfg, sessions, report.commit)
    names = ", ".join(t.name for t in cfg.terraform)
    try:
        tf = load_terraform(cfg, ctx, load_or_create_key(cfg.storage.data_dir))
    except DriftwatchError as exc:  # e.g. one resource declared twice across sources
        yield Check(False, "terraform", names, str(exc), _TF_FIX)
        return
    report.declared = (report.declared or []) + tf.resources
    for src in cfg.terraform:
        prefix = f"terraform source {src.name!r}: "  # (the line names it already)
        failed = [f.error.removeprefix(prefix) for f in tf.failures if f.source == src.name]
        states = [s for s in tf.states if s.source == src.name]
        kept = sum(s.kept for s in states)
        if failed:
            yield Check(False, "terraform", src.name, "; ".join(failed), _TF_FIX)
        else:
            detail = f"{len(states)} state(s) read, {kept} resource(s) kept"
            yield Check(True, "terraform", src.name, detail)


_TF_FIX = (
    "see docs/terraform.md for `from`, workspaces and credentials; "
    "`driftwatch declared --source NAME` shows what a source declares and why"
)


_GIT_FIX = (
    "check [git] url and branch, and that git can reach it with this user's credentials "
    "(`git ls-remote URL`); a token can come from ${DRIFTWATCH_GIT_TOKEN} in the URL"
)


def _account_check(sessions: AwsSessions, account: AccountConfig) -> Check:
    """STS GetCallerIdentity with the account's credentials (assuming its role, if any)."""
    what = f"aws {account.name}"
    region = account.regions[0]
    where = f"{account.role_arn} via sts in {region}" if account.role_arn else f"sts in {region}"
    try:
        ident = sessions.client(account, region, "sts").get_caller_identity()
    except (bex.ClientError, bex.BotoCoreError) as exc:
        return Check(False, what, where, describe_error(exc), _aws_fix(exc, account))
    wanted = _role_account(account.role_arn)
    if wanted and ident["Account"] != wanted:
        return Check(
            False,
            what,
            where,
            f"credentials are for account {ident['Account']}, not {wanted}",
            "the role was not assumed: check role_arn",
        )
    return Check(True, what, where, f"{ident['Arn']} (account {ident['Account']})")


def _role_account(role_arn: str | None) -> str | None:
    m = re.match(r"arn:aws[\w-]*:iam::(\d{12}):role/", role_arn or "")
    return m.group(1) if m else None


def _aws_fix(exc: BaseException, account: AccountConfig) -> str:
    if isinstance(exc, bex.NoCredentialsError | bex.PartialCredentialsError):
        return (
            "give driftwatch credentials through the standard chain: AWS_PROFILE, "
            "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, SSO (`aws sso login`), or an instance role"
        )
    if isinstance(exc, bex.EndpointConnectionError | bex.ConnectTimeoutError):
        return "check the network path to STS, and [aws] endpoint_url / AWS_ENDPOINT_URL"
    code = exc.response.get("Error", {}).get("Code", "") if isinstance(exc, bex.ClientError) else ""
    if code in ("ExpiredToken", "ExpiredTokenException", "RequestExpired"):
        return "the credentials have expired: refresh them (e.g. `aws sso login`)"
    if code in ("InvalidClientTokenId", "SignatureDoesNotMatch", "UnrecognizedClientException"):
        return (
            "the access key is not valid: check AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY "
            "or AWS_PROFILE"
        )
    if account.role_arn:
        return (
            f"allow the base identity sts:AssumeRole on {account.role_arn}, and that role's "
            "trust policy the base identity (and its ExternalId, if set): see docs/iam.md"
        )
    return "allow these credentials to call AWS (an SCP or a permissions boundary may deny it)"


def policy_types(cfg: Config, declared: list[DeclaredResource] | None) -> list[str]:
    """The types a scan reads: those watched for unmanaged, and those declared."""
    watched = set(cfg.scan.types or collectors.names()) if cfg.scan.unmanaged else set()
    return sorted(watched | {r.type for r in declared or ()})


def policies(cfg: Config, declared: list[DeclaredResource] | None) -> dict[str, Any]:
    """The IAM policies this config needs: read, assume-role (if any), and the write policy
    of each type remediation may revert (when [remediation] is enabled)."""
    types = policy_types(cfg, declared)
    out: dict[str, Any] = {"read": iam.read_policy(types)}
    roles = [a.role_arn for a in cfg.aws.accounts if a.role_arn]
    if roles:
        out["assume_role"] = iam.assume_role_policy(roles)
    if not (cfg.remediation.enabled and "revert" in cfg.remediation.allow_modes):
        out["remediate_note"] = (
            'revert is off ([remediation] enabled = false, or no "revert" in allow_modes): '
            "no write permission is needed; docs/iam.md lists them per type"
        )
        return out
    delete = cfg.remediation.delete_unmanaged
    out["remediate"] = {
        t: iam.write_policy(t, delete)
        for t in types
        if t in remediators and cfg.remediation.allows_type(t)
    }
    return out
