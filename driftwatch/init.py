"""`driftwatch init`: a commented driftwatch.toml and a starter manifest folder.

Nothing existing is overwritten unless asked (`force`); a `.gitignore` that exists
only gets the lines it lacks, so the database and the data directory's secret key
never end up in the manifests' repository.
"""

from __future__ import annotations

import json
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from driftwatch.config import Config, parse_config
from driftwatch.errors import DriftwatchError
from driftwatch.registry import collectors

CONFIG_NAME = "driftwatch.toml"
MANIFEST_DIR = "declared"
GITIGNORE_LINES = ("driftwatch.db*", ".driftwatch/")
# What `init --from-live` declares instead of a secret value (each such key is also ignored).
SECRET_PLACEHOLDER = "(secret: not written to Git by driftwatch init)"


@dataclass(frozen=True)
class Account:
    """One `--accounts` entry: a name, and the role to assume (None: the base credentials)."""

    name: str
    role_arn: str | None = None


@dataclass(frozen=True)
class InitOptions:
    """What `driftwatch init` was asked for."""

    folder: Path
    regions: tuple[str, ...] = ("us-east-1",)
    types: tuple[str, ...] = ()
    accounts: tuple[Account, ...] = ()
    git_url: str = "."
    branch: str = "main"
    endpoint_url: str = ""
    force: bool = False

    @property
    def config_path(self) -> Path:
        return self.folder / CONFIG_NAME


@dataclass
class Written:
    """Files init wrote, appended to, or left alone."""

    created: list[Path] = field(default_factory=list)
    appended: list[Path] = field(default_factory=list)


def parse_accounts(text: str) -> tuple[Account, ...]:
    """`prod=arn:aws:iam::111111111111:role/driftwatch-read,tools` → accounts."""
    out = []
    for item in filter(None, (p.strip() for p in text.split(","))):
        name, _, arn = item.partition("=")
        if not re.fullmatch(r"[A-Za-z0-9_.-]+", name.strip()):
            raise DriftwatchError(
                f"--accounts: {item!r} is not NAME or NAME=ROLE_ARN "
                "(e.g. prod=arn:aws:iam::111111111111:role/driftwatch-read)"
            )
        out.append(Account(name.strip(), arn.strip() or None))
    return tuple(out)


def parse_types(text: str) -> tuple[str, ...]:
    """`aws_s3_bucket,aws_security_group` → types, each one driftwatch knows."""
    import driftwatch.collectors  # noqa: F401  (registers the built-ins)

    types = tuple(dict.fromkeys(t.strip() for t in text.split(",") if t.strip()))
    for rtype in types:
        if rtype not in collectors:
            raise DriftwatchError(
                f"--types: unknown resource type {rtype!r}; known: {', '.join(collectors.names())}"
            )
    return types


def config_text(opts: InitOptions) -> str:
    """The commented driftwatch.toml for these options."""
    accounts = "".join(_account_block(a) for a in opts.accounts) or _NO_ACCOUNTS
    types = json.dumps(list(opts.types)) if opts.types else "[]"
    return _CONFIG.format(
        git_url=json.dumps(opts.git_url),
        branch=json.dumps(opts.branch),
        path=json.dumps(MANIFEST_DIR),
        regions=json.dumps(list(opts.regions)),
        endpoint=json.dumps(opts.endpoint_url),
        accounts=accounts,
        types=types,
    )


def load_options_config(opts: InitOptions) -> Config:
    """The config init is about to write, validated (errors name the key) before anything is."""
    return parse_config(tomllib.loads(config_text(opts)), opts.config_path)


def _account_block(account: Account) -> str:
    role = f"role_arn = {json.dumps(account.role_arn)}\n" if account.role_arn else ""
    return f"\n[[aws.accounts]]\nname = {json.dumps(account.name)}\n{role}"


def existing_manifests(folder: Path) -> list[Path]:
    """Manifest files already under the folder's declared/ (none when it does not exist)."""
    found = (folder / MANIFEST_DIR).rglob("*")
    return sorted(p for p in found if p.suffix in (".yaml", ".yml", ".json"))


def refuse_existing(paths: list[Path], force: bool) -> None:
    """Raise, naming the first file that exists, unless `force`."""
    if force:
        return
    for path in paths:
        if path.exists():
            raise DriftwatchError(
                f"{path} already exists; driftwatch init never overwrites a file: "
                "move it away, choose another --dir, or pass --force to replace it"
            )


def write_files(folder: Path, files: dict[str, str], force: bool) -> Written:
    """Write `files` (relative path → text) under `folder`, and the .gitignore lines."""
    targets = [folder / rel for rel in files]
    refuse_existing(targets, force)
    written = Written()
    for path, text in zip(targets, files.values(), strict=True):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        written.created.append(path)
    _gitignore(folder / ".gitignore", written)
    return written


def _gitignore(path: Path, written: Written) -> None:
    """The database and the data directory (its secret key) must never be committed."""
    old = path.read_text(encoding="utf-8") if path.exists() else ""
    missing = [line for line in GITIGNORE_LINES if line not in old.splitlines()]
    if not missing:
        return
    head = "" if not old or old.endswith("\n") else "\n"
    block = "# driftwatch: its database and data directory (secret key) stay out of Git\n"
    with path.open("a", encoding="utf-8") as f:
        f.write(head + block + "".join(f"{line}\n" for line in missing))
    (written.appended if old else written.created).append(path)


def starter_files(opts: InitOptions) -> dict[str, str]:
    """The config and one commented example manifest (declaring nothing yet)."""
    region = opts.regions[0]
    return {
        CONFIG_NAME: config_text(opts),
        f"{MANIFEST_DIR}/example.yaml": _STARTER.format(region=region),
    }


_NO_ACCOUNTS = """
# One account, read with the base credentials, is named "default". To read
# several accounts, list them (the FIRST one is the account of manifest entries
# without `account`), each with the role driftwatch assumes there:
#
# [[aws.accounts]]
# name = "prod"
# role_arn = "arn:aws:iam::111111111111:role/driftwatch-read"
# external_id = ""          # when the role's trust policy requires one
# regions = ["eu-west-1"]   # default: aws.regions
"""

_CONFIG = """\
# driftwatch configuration, written by `driftwatch init`. Every key is described
# in docs/configuration.md; config.example.toml lists them all with defaults.
# Relative paths are resolved against the folder holding this file.
#
# AWS credentials never go in this file: driftwatch uses the standard boto3
# chain (environment, ~/.aws profiles and SSO, container or instance role).
# `driftwatch check` tests the config, Git, the credentials, and prints the IAM
# policy they need (--iam-policy).

[git]
# The repository holding the manifests: "." is the folder of this file (make it a
# Git repository and commit the manifests), or an HTTPS/SSH URL. A token can come
# from the environment: "https://x-access-token:${{DRIFTWATCH_GIT_TOKEN}}@github.com/acme/infra.git"
url = {git_url}
branch = {branch}
# Folder searched recursively for *.yaml, *.yml and *.json manifests.
path = {path}
# When the fetch fails: "fail" the scan, or "use_last" (scan the last fetched commit).
on_fetch_error = "fail"

[aws]
# Regions of accounts that do not list their own; the first one is the region of
# manifest entries without `region`.
regions = {regions}
# One endpoint for every service (a stand-in such as moto or LocalStack); "" = AWS.
endpoint_url = {endpoint}
# Parallel AWS calls, and attempts per call with adaptive retries.
max_concurrency = 8
max_attempts = 8
{accounts}
[storage]
# The SQLite database (scans, drift records, history); its data directory
# (.driftwatch beside it) holds the Git cache, the log and the secret key.
# Both are listed in .gitignore: never commit them.
path = "driftwatch.db"
# Days of history kept (0 = everything).
retention_days = 90

[scan]
# Report live resources that no manifest declares ("unmanaged").
unmanaged = true
# Types watched for unmanaged resources; [] = every type (`driftwatch types`).
types = {types}
# A scan refuses a drop in declared resources larger than this share of the
# last scan's (a manifest deleted by mistake); `scan --allow-declared-drop` accepts it.
max_declared_drop = 0.5

# Ignore rules: hide a change path (or whole unmanaged/missing resources) by
# type and id globs, optionally until a date. See docs/configuration.md#ignore.
#
# [[ignore]]
# type = "aws_instance"
# id = "*"
# path = "tags.LastPatched"
# reason = "the patch bot writes this"
# expires = "2027-01-31"

# Scheduled scans for `driftwatch serve` / `driftwatch scheduler` (default: one
# scan of everything every 30 minutes).
#
# [[schedules]]
# name = "all"
# interval = "15m"          # or cron = "*/15 * * * *" (UTC)

# Alerts (docs/alerts.md); secrets come from the environment only.
#
# [[alerts.channels]]
# name = "ops"
# type = "slack"
# webhook_url_env = "DRIFTWATCH_SLACK_WEBHOOK"
# min_severity = "high"

# Severity of drifts (low, medium, high, critical) by type and change path;
# user rules come before the built-ins (docs/configuration.md#severity).
#
# [[severity]]
# type = "aws_s3_*"
# path = "tags.*"
# severity = "low"

# Deep links in alerts.
#
# [dashboard]
# base_url = "https://driftwatch.example.com"

# Remediation: put AWS back to what Git says, or accept the live value into Git.
# Off unless enabled (docs/remediation.md); its write permissions per type are
# in docs/iam.md (`driftwatch check --iam-policy`).
#
# [remediation]
# enabled = false
# allow_modes = ["revert", "accept"]
# allow_types = ["aws_s3_bucket"]
# require_approval = true
"""

_STARTER = """\
# A manifest declares the desired state of AWS resources; driftwatch compares
# only the attributes you declare (docs/manifest-format.md; every type and
# attribute: docs/resource-types.md or `driftwatch types`).
#
# `driftwatch init --from-live --types ... --regions ...` writes manifests from
# what is live instead, so that the first scan starts at zero drift.
#
# resources:
#   - type: aws_s3_bucket
#     id: acme-logs
#     region: {region}
#     spec:
#       versioning: Enabled
#       public_access_block:
#         block_public_acls: true
#         block_public_policy: true
#         ignore_public_acls: true
#         restrict_public_buckets: true
#       tags: {{team: platform}}
#
#   - type: aws_security_group
#     id: web
#     region: {region}
#     spec:
#       ingress:
#         - {{protocol: tcp, from_port: 443, to_port: 443, cidr_blocks: ["0.0.0.0/0"]}}
resources: []
"""
