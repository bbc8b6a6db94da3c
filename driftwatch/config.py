"""TOML → typed, validated settings; every error names the file and the key."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import re
import shlex
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

from driftwatch.errors import ConfigError
from driftwatch.models import Kind
from driftwatch.paths import path_matches, split_path

DEFAULT_CONFIG = "driftwatch.toml"
_ENV_REF = re.compile(r"\$\{(DRIFTWATCH_[A-Z0-9_]+)\}")
DEFAULT_ACCOUNT = "default"
# Region prefixes of the partitions other than commercial AWS (`aws`). driftwatch builds
# `arn:aws:` ARNs from bare account ids and reads IAM in us-east-1, which would be wrong
# there, so those partitions are refused until they are supported.
_OTHER_PARTITIONS = (
    ("cn-", "aws-cn"),
    ("us-gov-", "aws-us-gov"),
    ("us-iso-", "aws-iso"),
    ("us-isob-", "aws-iso-b"),
    ("us-isof-", "aws-iso-f"),
    ("eu-isoe-", "aws-iso-e"),
    ("eusc-", "aws-eusc"),
)


@dataclass(frozen=True)
class GitConfig:
    url: str
    branch: str = "main"
    path: str = ""
    on_fetch_error: str = "fail"  # or "use_last": scan the last fetched commit, marked stale


@dataclass(frozen=True)
class AccountConfig:
    name: str
    regions: tuple[str, ...]
    role_arn: str | None = None
    external_id: str | None = None


@dataclass(frozen=True)
class AwsConfig:
    regions: tuple[str, ...]
    accounts: tuple[AccountConfig, ...]
    endpoint_url: str | None = None
    max_concurrency: int = 8
    max_attempts: int = 10
    connect_timeout: float = 5.0
    read_timeout: float = 30.0

    def account(self, name: str) -> AccountConfig | None:
        return next((a for a in self.accounts if a.name == name), None)


@dataclass(frozen=True)
class StorageConfig:
    path: Path
    data_dir: Path
    retention_days: int = 90  # 0 keeps everything

    @property
    def log_path(self) -> Path:
        return self.data_dir / "driftwatch.log"


@dataclass(frozen=True)
class ScanConfig:
    unmanaged: bool = True
    types: tuple[str, ...] = ()
    max_declared_drop: float = 0.5  # a larger drop against the last scan fails the scan
    reopen_window: dt.timedelta = dt.timedelta(hours=24)


# What an ignore rule can hide: one attribute path of a declared resource (modified),
# or a whole finding of kind unmanaged or missing.
IGNORE_KINDS = (Kind.MODIFIED, Kind.UNMANAGED, Kind.MISSING)


@dataclass(frozen=True)
class IgnoreRule:
    """An ignore rule: globs over type and id, and an attribute path or a whole finding kind."""

    path: str = ""
    type: str = "*"
    id: str = "*"
    reason: str = ""
    expires: dt.date | None = None
    kind: Kind = Kind.MODIFIED
    index: int = 0  # its position in the config: ignore[index]

    def expired(self, today: dt.date) -> bool:
        return self.expires is not None and today > self.expires

    def selects(self, rtype: str, rid: str) -> bool:
        return fnmatchcase(rtype, self.type) and fnmatchcase(rid, self.id)

    def matches(self, rtype: str, rid: str, parts: Sequence[str]) -> bool:
        """A path rule covering this attribute path of this resource."""
        return (
            self.kind == Kind.MODIFIED
            and self.selects(rtype, rid)
            and path_matches(self.path, parts)
        )

    def hides(self, kind: Kind, rtype: str, rid: str) -> bool:
        """A whole-finding rule (unmanaged, missing) covering this finding."""
        return kind != Kind.MODIFIED and self.kind == kind and self.selects(rtype, rid)


TERRAFORM_SCHEMES = ("s3", "git", "file", "cmd")


@dataclass(frozen=True)
class TerraformConfig:
    """One `[[terraform]]` state source: where its state is read, and whose resources it holds.

    `location` is what follows the scheme: `bucket/key` for s3, a path for git and
    file; `argv` is the command for cmd. `account` is the account of its resources;
    `state_account` the account whose credentials read an s3 state (None: base).
    """

    name: str
    scheme: str
    location: str
    account: str
    key: str  # where it is in the config file: terraform[i]
    workspaces: tuple[str, ...] = ("default",)
    workspace_key_prefix: str = "env:"
    state_account: str | None = None
    trust_computed: bool = False
    argv: tuple[str, ...] = ()
    config: str | None = None  # `config = "git:DIR"`: the .tf root, a folder of the [git] repo
    # OpenTofu state encryption: the pbkdf2 key provider's passphrase, read from the
    # environment variable `encryption_passphrase_env` names (never from the file).
    encryption_passphrase: str | None = field(default=None, repr=False, compare=False)

    @property
    def origin(self) -> str:
        """The `from` value as written (s3://bucket/key, git:PATH, file:PATH, cmd:ARGV)."""
        if self.scheme == "s3":
            return f"s3://{self.location}"
        if self.scheme == "cmd":
            return "cmd:" + shlex.join(self.argv)
        return f"{self.scheme}:{self.location}"


SEVERITIES = ("low", "medium", "high", "critical")  # in rising order


def severity_rank(severity: str) -> int:
    return SEVERITIES.index(severity)


@dataclass(frozen=True)
class ScanScope:
    """A schedule's part of the config: empty tuples mean everything."""

    accounts: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()
    types: tuple[str, ...] = ()

    @property
    def everything(self) -> bool:
        return not (self.accounts or self.regions or self.types)

    def covers(self, account: str, region: str, rtype: str) -> bool:
        """Whether a resource is in this scope (global resources are in every region)."""
        return (
            (not self.accounts or account in self.accounts)
            and (not self.regions or region in self.regions or region == "global")
            and (not self.types or rtype in self.types)
        )


@dataclass(frozen=True)
class Schedule:
    """One `[[schedules]]` entry: an interval or a cron expression, and a scope."""

    name: str
    interval: dt.timedelta | None = None
    cron: str | None = None
    scope: ScanScope = ScanScope()

    @property
    def every(self) -> str:
        return f"cron {self.cron}" if self.cron else f"every {self.interval}"


DEFAULT_SCHEDULE = Schedule("default", interval=dt.timedelta(minutes=30))


@dataclass(frozen=True)
class SeverityRule:
    """A `[[severity]]` rule: globs over type and change path, a kind, and the severity."""

    severity: str
    type: str = "*"
    path: str = "*"
    kind: Kind | None = None
    index: int = 0


@dataclass(frozen=True)
class ChannelConfig:
    """One `[[alerts.channels]]` entry; `settings` are its type's own (secrets resolved)."""

    name: str
    type: str
    min_severity: str = "low"
    types: tuple[str, ...] = ()
    accounts: tuple[str, ...] = ()
    kinds: tuple[str, ...] = ()
    notify_resolved: bool = True
    notify_scan_failures: bool = True
    repeat_interval: dt.timedelta | None = None  # remind of drifts still open; None: never
    remind_min_severity: str = "high"
    settings: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)


@dataclass(frozen=True)
class AlertsConfig:
    channels: tuple[ChannelConfig, ...] = ()
    max_attempts: int = 12  # then the message is marked failed
    backoff: dt.timedelta = dt.timedelta(seconds=5)  # first retry; doubles up to max_backoff
    max_backoff: dt.timedelta = dt.timedelta(minutes=30)

    def channel(self, name: str) -> ChannelConfig | None:
        return next((c for c in self.channels if c.name == name), None)


MODES = ("revert", "accept", "pipeline")


@dataclass(frozen=True)
class RemediationGit:
    """Accept-into-Git: where the branch goes (`push` sends it to the [git] remote)."""

    push: bool = False
    branch_prefix: str = "driftwatch/accept-"
    author_email: str = "driftwatch@localhost"


@dataclass(frozen=True)
class Pipeline:
    """An external pipeline: a webhook (JSON POST, HMAC-signed) or a command (argv, no shell)."""

    name: str
    url: str | None = None
    command: tuple[str, ...] = ()
    secret: str | None = field(default=None, repr=False, compare=False)  # HMAC key, from env
    timeout: dt.timedelta = dt.timedelta(seconds=60)


@dataclass(frozen=True)
class AutoRule:
    """Revert a matching drift right after the scan that opens it."""

    type: str = "*"
    paths: tuple[str, ...] = ("*",)
    mode: str = "revert"
    index: int = 0

    def matches(self, rtype: str, paths: Sequence[str]) -> bool:
        """True when the type matches and every drifted path is under one of the globs."""
        return (
            fnmatchcase(rtype, self.type)
            and bool(paths)
            and all(any(path_matches(g, split_path(p)) for g in self.paths) for p in paths)
        )


@dataclass(frozen=True)
class RemediationConfig:
    """[remediation]: off by default; when on, which modes and types, and the guard rails."""

    enabled: bool = False
    allow_modes: tuple[str, ...] = MODES
    allow_types: tuple[str, ...] = ()  # empty: every type with a remediator
    require_approval: bool = False
    plan_ttl: dt.timedelta = dt.timedelta(minutes=30)
    lock_wait: dt.timedelta = dt.timedelta(seconds=20)  # behind a running scan
    delete_unmanaged: bool = False
    git: RemediationGit = RemediationGit()
    pipelines: tuple[Pipeline, ...] = ()
    auto: tuple[AutoRule, ...] = ()
    auto_max_per_hour: int = 10
    auto_max_failures: int = 3  # in a row: then auto-remediation stops and alerts

    def allows_type(self, rtype: str) -> bool:
        return not self.allow_types or any(fnmatchcase(rtype, g) for g in self.allow_types)

    def pipeline(self, name: str) -> Pipeline | None:
        return next((p for p in self.pipelines if p.name == name), None)


@dataclass(frozen=True)
class DashboardConfig:
    base_url: str | None = None  # deep links in alert messages


@dataclass(frozen=True)
class DemoConfig:
    """`[demo]`, written only by `driftwatch demo`: the DEMO banner and the demo page."""

    enabled: bool = False


@dataclass(frozen=True)
class Config:
    source: Path
    git: GitConfig | None
    aws: AwsConfig
    storage: StorageConfig
    scan: ScanConfig = ScanConfig()
    ignore: tuple[IgnoreRule, ...] = field(default_factory=tuple)
    terraform: tuple[TerraformConfig, ...] = field(default_factory=tuple)
    schedules: tuple[Schedule, ...] = (DEFAULT_SCHEDULE,)
    severity: tuple[SeverityRule, ...] = ()
    alerts: AlertsConfig = AlertsConfig()
    demo: DemoConfig = DemoConfig()
    dashboard: DashboardConfig = DashboardConfig()
    remediation: RemediationConfig = RemediationConfig()

    @property
    def default_account(self) -> str:
        return self.aws.accounts[0].name


def load_config(path: str | os.PathLike[str] | None = None) -> Config:
    """Read and validate a driftwatch.toml."""
    cfg_path = Path(path or os.environ.get("DRIFTWATCH_CONFIG") or DEFAULT_CONFIG)
    if not cfg_path.is_file():
        raise ConfigError(
            str(cfg_path),
            None,
            "config file not found; create it (the minimum is `[git]` with `url` and "
            "`path`: see docs/configuration.md) or pass --config PATH",
        )
    try:
        raw = tomllib.loads(cfg_path.read_text(encoding="utf-8"))
    except ValueError as exc:  # TOMLDecodeError, or an integer of more than 4300 digits
        raise ConfigError(str(cfg_path), None, f"not valid TOML: {exc}") from None
    return parse_config(raw, cfg_path)


def parse_config(raw: dict[str, Any], cfg_path: Path) -> Config:
    """Validate a parsed TOML document."""
    r = _Reader(str(cfg_path), cfg_path.resolve().parent)
    _refuse_literal_secrets(r, raw)
    raw = r.expand_env(raw, "")
    r.only(
        raw,
        "",
        {
            "git",
            "aws",
            "storage",
            "scan",
            "ignore",
            "terraform",
            "schedules",
            "severity",
            "alerts",
            "demo",
            "dashboard",
            "remediation",
        },
    )
    aws = _aws(r, r.table(raw, "aws"))
    terraform = tuple(
        _terraform(r, item, i, aws) for i, item in enumerate(r.array_of_tables(raw, "terraform"))
    )
    _check_terraform(r, terraform, "git" in raw)
    return Config(
        source=cfg_path,
        # [git] manifests are optional when Terraform state declares the resources.
        git=_git(r, r.table(raw, "git", required=True)) if "git" in raw or not terraform else None,
        aws=aws,
        storage=_storage(r, r.table(raw, "storage")),
        scan=_scan(r, r.table(raw, "scan")),
        ignore=tuple(
            _ignore(r, item, i) for i, item in enumerate(r.array_of_tables(raw, "ignore"))
        ),
        terraform=terraform,
        schedules=_schedules(r, r.array_of_tables(raw, "schedules"), aws),
        severity=tuple(
            _severity(r, item, i) for i, item in enumerate(r.array_of_tables(raw, "severity"))
        ),
        alerts=_alerts(r, r.table(raw, "alerts")),
        demo=_demo(r, r.table(raw, "demo")),
        dashboard=_dashboard(r, r.table(raw, "dashboard")),
        remediation=_remediation(r, r.table(raw, "remediation")),
    )


_TERRAFORM_KEYS = {
    "name",
    "from",
    "config",
    "workspaces",
    "workspace_key_prefix",
    "account",
    "state_account",
    "trust_computed",
    "encryption_passphrase_env",
}


def _terraform(r: _Reader, t: Any, index: int, aws: AwsConfig) -> TerraformConfig:
    key = f"terraform[{index}]"
    if not isinstance(t, dict):
        raise ConfigError(r.file, key, "must be a table ([[terraform]])")
    r.only(t, key, _TERRAFORM_KEYS)
    scheme, location, argv = _state_from(r, r.string(t, key, "from", required=True), key)
    default_ws = ["default"] if scheme != "cmd" else []
    workspaces = r.strings(t, key, "workspaces", default_ws)
    if scheme == "cmd" and workspaces:
        raise r.fail(
            f"{key}.workspaces",
            "a cmd: source reads one state from its command's output; remove workspaces "
            "(add one [[terraform]] per workspace, e.g. with `terraform workspace select`)",
        )
    if scheme != "cmd" and not workspaces:
        raise r.fail(f"{key}.workspaces", 'must name at least one workspace ("default", "*")')
    return TerraformConfig(
        name=r.string(t, key, "name", required=True),
        scheme=scheme,
        location=location,
        argv=argv,
        account=_known_account(r, t, key, "account", aws) or aws.accounts[0].name,
        state_account=_known_account(r, t, key, "state_account", aws),
        workspaces=tuple(workspaces),
        workspace_key_prefix=r.string(t, key, "workspace_key_prefix", "env:", required=False),
        trust_computed=r.boolean(t, key, "trust_computed", False),
        config=_config_root(r, t, key),
        encryption_passphrase=r.secret_env(t, key, "encryption_passphrase_env", required=False),
        key=key,
    )


def _config_root(r: _Reader, t: dict[str, Any], key: str) -> str | None:
    """`config = "git:DIR"` → DIR ("" for the repository's root); None when unset."""
    if "config" not in t:
        return None
    value = r.string(t, key, "config", required=True)
    scheme, sep, rest = value.partition(":")
    if scheme != "git" or not sep:
        raise r.fail(
            f"{key}.config",
            f"{value!r} is not a configuration root; expected git:DIR (a folder of .tf files "
            "in the [git] repository)",
        )
    return rest.strip().strip("/")


def _state_from(r: _Reader, value: str, key: str) -> tuple[str, str, tuple[str, ...]]:
    """`from` → (scheme, location, argv); a clear error for anything else."""
    if value.startswith("s3://"):
        bucket, _, obj = value[5:].partition("/")
        if not bucket or not obj or obj.endswith("/"):
            raise r.fail(f"{key}.from", f"{value!r} needs a bucket and a key: s3://BUCKET/KEY")
        return "s3", f"{bucket}/{obj}", ()
    scheme, sep, rest = value.partition(":")
    if not sep or scheme not in TERRAFORM_SCHEMES or not rest.strip():
        raise r.fail(
            f"{key}.from",
            f"{value!r} is not a state location; expected s3://BUCKET/KEY, git:PATH "
            "(in the [git] repository), file:PATH or cmd:COMMAND",
        )
    if scheme == "cmd":
        try:
            argv = tuple(shlex.split(rest))
        except ValueError as exc:
            raise r.fail(f"{key}.from", f"cannot split the command {rest!r}: {exc}") from None
        return "cmd", "", argv
    if scheme == "file":
        path = Path(rest).expanduser()
        return "file", str(path if path.is_absolute() else r.base / path), ()
    return scheme, rest.strip("/"), ()


def _known_account(
    r: _Reader, t: dict[str, Any], key: str, name: str, aws: AwsConfig
) -> str | None:
    if name not in t:
        return None
    value = r.string(t, key, name, required=True)
    if aws.account(value) is None:
        known = ", ".join(a.name for a in aws.accounts)
        raise r.fail(f"{key}.{name}", f"unknown account {value!r}; [[aws.accounts]] names: {known}")
    return value


def _check_terraform(r: _Reader, sources: tuple[TerraformConfig, ...], has_git: bool) -> None:
    names = [s.name for s in sources]
    for i, source in enumerate(sources):
        if names.index(source.name) != i:
            raise r.fail(
                f"{source.key}.name", f"terraform source name {source.name!r} is used twice"
            )
        if source.scheme == "git" and not has_git:
            raise r.fail(
                f"{source.key}.from",
                "a git: state is read from the [git] repository, and there is no [git] section",
            )
        if source.config is not None and not has_git:
            raise r.fail(
                f"{source.key}.config",
                "a git: configuration root is read from the [git] repository, and there is no "
                "[git] section",
            )


# --- schedules, severity, alerts (docs/configuration.md, docs/alerts.md) ------------------


def _schedules(r: _Reader, items: list[Any], aws: AwsConfig) -> tuple[Schedule, ...]:
    """No [[schedules]]: one schedule for everything every 30 minutes."""
    schedules = tuple(_schedule(r, t, f"schedules[{i}]", aws) for i, t in enumerate(items))
    names = [s.name for s in schedules]
    for name in {n for n in names if names.count(n) > 1}:
        raise r.fail("schedules", f"schedule name {name!r} is used twice")
    return schedules or (DEFAULT_SCHEDULE,)


def _schedule(r: _Reader, t: Any, key: str, aws: AwsConfig) -> Schedule:
    if not isinstance(t, dict):
        raise r.fail(key, "must be a table ([[schedules]])")
    r.only(t, key, {"name", "interval", "cron", "accounts", "regions", "types"})
    if ("interval" in t) == ("cron" in t):
        raise r.fail(key, 'set exactly one of interval (e.g. "15m") or cron ("*/15 * * * *")')
    interval = cron = None
    if "interval" in t:
        interval = _duration(r, t, key, "interval", "")
        if interval < dt.timedelta(seconds=1):
            raise r.fail(f"{key}.interval", "must be at least 1s")
    else:
        cron = r.string(t, key, "cron", required=True)
        check_cron(r, f"{key}.cron", cron)
    accounts = r.strings(t, key, "accounts", [])
    known = [a.name for a in aws.accounts]
    for name in accounts:
        if name not in known:
            raise r.fail(f"{key}.accounts", f"unknown account {name!r}; known: {', '.join(known)}")
    return Schedule(
        name=r.string(t, key, "name", required=True),
        interval=interval,
        cron=cron,
        scope=ScanScope(
            tuple(accounts),
            tuple(r.strings(t, key, "regions", [])),
            tuple(r.strings(t, key, "types", [])),
        ),
    )


def check_cron(r: _Reader, key: str, expr: str) -> None:
    """A five-field crontab expression, as APScheduler's CronTrigger reads it."""
    from apscheduler.triggers.cron import CronTrigger

    try:
        CronTrigger.from_crontab(expr, timezone="UTC")
    except ValueError as exc:
        raise r.fail(
            key, f"{expr!r} is not a cron expression (minute hour day month weekday): {exc}"
        ) from None


def _severity(r: _Reader, t: Any, index: int) -> SeverityRule:
    key = f"severity[{index}]"
    if not isinstance(t, dict):
        raise r.fail(key, "must be a table ([[severity]])")
    r.only(t, key, {"type", "path", "kind", "severity"})
    kind = t.get("kind")
    drift_kinds = (Kind.MODIFIED, Kind.MISSING, Kind.UNMANAGED)
    if kind is not None and kind not in drift_kinds:
        raise r.fail(f"{key}.kind", f"must be one of {', '.join(drift_kinds)}; got {kind!r}")
    return SeverityRule(
        severity=_choice_required(r, t, key, "severity", SEVERITIES),
        type=r.string(t, key, "type", "*"),
        path=r.string(t, key, "path", "*"),
        kind=Kind(kind) if kind else None,
        index=index,
    )


def _choice_required(
    r: _Reader, t: dict[str, Any], sect: str, key: str, choices: tuple[str, ...]
) -> str:
    if key not in t:
        raise r.fail(f"{sect}.{key}", f"missing required key: one of {', '.join(choices)}")
    return r.choice(t, sect, key, choices)


_CHANNEL_KEYS = {
    "name",
    "type",
    "min_severity",
    "types",
    "accounts",
    "kinds",
    "notify_resolved",
    "notify_scan_failures",
    "repeat_interval",
    "remind_min_severity",
}


def _alerts(r: _Reader, t: dict[str, Any]) -> AlertsConfig:
    r.only(t, "alerts", {"channels", "max_attempts", "backoff", "max_backoff"})
    channels = tuple(
        _channel(r, c, f"alerts.channels[{i}]")
        for i, c in enumerate(r.array_of_tables(t, "channels"))
    )
    names = [c.name for c in channels]
    for name in {n for n in names if names.count(n) > 1}:
        raise r.fail("alerts.channels", f"channel name {name!r} is used twice")
    return AlertsConfig(
        channels=channels,
        max_attempts=r.integer(t, "alerts", "max_attempts", 12, minimum=1, maximum=100),
        backoff=_duration(r, t, "alerts", "backoff", "5s"),
        max_backoff=_duration(r, t, "alerts", "max_backoff", "30m"),
    )


def _channel(r: _Reader, t: Any, key: str) -> ChannelConfig:
    import driftwatch.notifiers  # noqa: F401  (registers the built-in channel types)
    from driftwatch.registry import notifiers

    if not isinstance(t, dict):
        raise r.fail(key, "must be a table ([[alerts.channels]])")
    ctype = r.string(t, key, "type", required=True)
    if ctype not in notifiers:
        raise r.fail(
            f"{key}.type", f"unknown channel type {ctype!r}; known: {', '.join(notifiers.names())}"
        )
    notifier = notifiers.get(ctype)
    r.only(t, key, _CHANNEL_KEYS | set(notifier.keys))
    kinds = r.strings(t, key, "kinds", [])
    for kind in kinds:
        if kind not in ("modified", "missing", "unmanaged"):
            raise r.fail(f"{key}.kinds", f"must name modified, missing or unmanaged; got {kind!r}")
    return ChannelConfig(
        name=r.string(t, key, "name", required=True),
        type=ctype,
        min_severity=r.choice(t, key, "min_severity", SEVERITIES),
        types=tuple(r.strings(t, key, "types", [])),
        accounts=tuple(r.strings(t, key, "accounts", [])),
        kinds=tuple(kinds),
        notify_resolved=r.boolean(t, key, "notify_resolved", True),
        notify_scan_failures=r.boolean(t, key, "notify_scan_failures", True),
        repeat_interval=_repeat_interval(r, t, key),
        remind_min_severity=_severity_name(r, t, key, "remind_min_severity", "high"),
        settings=notifier.settings(r, t, key),
    )


def _repeat_interval(r: _Reader, t: dict[str, Any], key: str) -> dt.timedelta | None:
    """How often to remind of a drift still open (e.g. "4h"); absent: never."""
    if "repeat_interval" not in t:
        return None
    every = _duration(r, t, key, "repeat_interval", "0s")
    if every < dt.timedelta(seconds=10):
        raise r.fail(f"{key}.repeat_interval", 'must be at least 10s (typically "4h" or "1d")')
    return every


def _severity_name(r: _Reader, t: dict[str, Any], key: str, name: str, default: str) -> str:
    value = t.get(name, default)
    if value not in SEVERITIES:
        raise r.fail(f"{key}.{name}", f"must be one of {', '.join(SEVERITIES)}, got {value!r}")
    return str(value)


def _dashboard(r: _Reader, t: dict[str, Any]) -> DashboardConfig:
    r.only(t, "dashboard", {"base_url"})
    if "base_url" not in t:
        return DashboardConfig()
    return DashboardConfig(base_url=r.url(t, "dashboard", "base_url").rstrip("/"))


def _remediation(r: _Reader, t: dict[str, Any]) -> RemediationConfig:
    sect = "remediation"
    r.only(
        t,
        sect,
        {
            "enabled",
            "allow_modes",
            "allow_types",
            "require_approval",
            "plan_ttl",
            "lock_wait",
            "delete_unmanaged",
            "git",
            "pipelines",
            "auto",
            "auto_max_per_hour",
            "auto_max_failures",
        },
    )
    modes = r.strings(t, sect, "allow_modes", list(MODES))
    for mode in modes:
        if mode not in MODES:
            raise r.fail(f"{sect}.allow_modes", f"must name {', '.join(MODES)}; got {mode!r}")
    pipelines = tuple(
        _pipeline(r, p, f"{sect}.pipelines[{i}]")
        for i, p in enumerate(r.array_of_tables(t, "pipelines"))
    )
    names = [p.name for p in pipelines]
    for name in {n for n in names if names.count(n) > 1}:
        raise r.fail(f"{sect}.pipelines", f"pipeline name {name!r} is used twice")
    return RemediationConfig(
        enabled=r.boolean(t, sect, "enabled", False),
        allow_modes=tuple(modes),
        allow_types=tuple(r.strings(t, sect, "allow_types", [])),
        require_approval=r.boolean(t, sect, "require_approval", False),
        plan_ttl=_duration(r, t, sect, "plan_ttl", "30m"),
        lock_wait=_duration(r, t, sect, "lock_wait", "20s"),
        delete_unmanaged=r.boolean(t, sect, "delete_unmanaged", False),
        git=_remediation_git(r, r.table(t, "git")),
        pipelines=pipelines,
        auto=tuple(
            _auto(r, a, f"{sect}.auto[{i}]", i) for i, a in enumerate(r.array_of_tables(t, "auto"))
        ),
        auto_max_per_hour=r.integer(t, sect, "auto_max_per_hour", 10, minimum=1, maximum=10000),
        auto_max_failures=r.integer(t, sect, "auto_max_failures", 3, minimum=1, maximum=1000),
    )


def _remediation_git(r: _Reader, t: dict[str, Any]) -> RemediationGit:
    sect = "remediation.git"
    r.only(t, sect, {"push", "branch_prefix", "author_email"})
    prefix = r.string(t, sect, "branch_prefix", "driftwatch/accept-")
    if not re.fullmatch(r"[A-Za-z0-9._/-]+", prefix) or ".." in prefix:
        raise r.fail(f"{sect}.branch_prefix", f"must be a plain branch name prefix, got {prefix!r}")
    return RemediationGit(
        push=r.boolean(t, sect, "push", False),
        branch_prefix=prefix,
        author_email=r.string(t, sect, "author_email", "driftwatch@localhost"),
    )


def _pipeline(r: _Reader, t: Any, key: str) -> Pipeline:
    if not isinstance(t, dict):
        raise r.fail(key, "must be a table ([[remediation.pipelines]])")
    r.only(t, key, {"name", "url", "command", "secret_env", "timeout"})
    if ("url" in t) == ("command" in t):
        raise r.fail(key, "needs exactly one of url (a webhook) or command (an argv list)")
    command = tuple(r.strings(t, key, "command", [], nonempty="command" in t))
    return Pipeline(
        name=r.string(t, key, "name", required=True),
        url=r.url(t, key, "url") if "url" in t else None,
        command=command,
        secret=r.secret_env(t, key, "secret_env", required="url" in t),
        timeout=_duration(r, t, key, "timeout", "60s"),
    )


def _auto(r: _Reader, t: Any, key: str, index: int) -> AutoRule:
    if not isinstance(t, dict):
        raise r.fail(key, "must be a table ([[remediation.auto]])")
    r.only(t, key, {"type", "paths", "mode"})
    mode = r.string(t, key, "mode", "revert")
    if mode != "revert":
        raise r.fail(f"{key}.mode", f"auto-remediation only reverts; got {mode!r}")
    return AutoRule(
        type=r.string(t, key, "type", required=True),
        paths=tuple(r.strings(t, key, "paths", ["*"], nonempty=True)),
        mode=mode,
        index=index,
    )


# Keys whose value is a credential: never written literally in the file.
SECRET_KEYS = ("webhook_url",)
_WHOLE_ENV_REF = re.compile(r"^\$\{DRIFTWATCH_[A-Z0-9_]+\}$")


def _refuse_literal_secrets(r: _Reader, raw: dict[str, Any]) -> None:
    """A Slack webhook URL is a credential: it comes from the environment, not the file."""
    alerts = raw.get("alerts")
    channels = alerts.get("channels") if isinstance(alerts, dict) else None
    for i, c in enumerate(channels if isinstance(channels, list) else []):
        for k in SECRET_KEYS:
            v = c.get(k) if isinstance(c, dict) else None
            if isinstance(v, str) and not _WHOLE_ENV_REF.match(v):
                raise r.fail(
                    f"alerts.channels[{i}].{k}",
                    f'is a secret: write {k}_env = "NAME" (an environment variable) or '
                    f'{k} = "${{DRIFTWATCH_NAME}}", not the value itself',
                )


def _git(r: _Reader, t: dict[str, Any]) -> GitConfig:
    r.only(t, "git", {"url", "branch", "path", "on_fetch_error"})
    url = r.string(t, "git", "url", required=True)
    local = Path(url).expanduser()
    if "://" not in url and not url.startswith("git@") and not local.is_absolute():
        url = str(r.base / local)
    return GitConfig(
        url=url,
        branch=r.string(t, "git", "branch", "main", required="branch" in t),
        path=r.string(t, "git", "path", "").strip("/"),
        on_fetch_error=r.choice(t, "git", "on_fetch_error", ("fail", "use_last")),
    )


def _aws(r: _Reader, t: dict[str, Any]) -> AwsConfig:
    r.only(
        t,
        "aws",
        {
            "regions",
            "endpoint_url",
            "max_concurrency",
            "accounts",
            "max_attempts",
            "connect_timeout",
            "read_timeout",
        },
    )
    regions = r.regions(t, "aws", ["us-east-1"])
    accounts = [
        _account(r, a, f"aws.accounts[{i}]", regions)
        for i, a in enumerate(r.array_of_tables(t, "accounts"))
    ]
    names = [a.name for a in accounts]
    for name in {n for n in names if names.count(n) > 1}:
        raise ConfigError(r.file, "aws.accounts", f"account name {name!r} is used twice")
    if not accounts:
        accounts = [AccountConfig(DEFAULT_ACCOUNT, tuple(regions))]
    return AwsConfig(
        regions=tuple(regions),
        accounts=tuple(accounts),
        endpoint_url=r.string(t, "aws", "endpoint_url", "") or None,
        max_concurrency=r.integer(t, "aws", "max_concurrency", 8, minimum=1, maximum=256),
        max_attempts=r.integer(t, "aws", "max_attempts", 10, minimum=1, maximum=50),
        connect_timeout=r.number(t, "aws", "connect_timeout", 5.0),
        read_timeout=r.number(t, "aws", "read_timeout", 30.0),
    )


def _account(r: _Reader, t: Any, key: str, default_regions: list[str]) -> AccountConfig:
    if not isinstance(t, dict):
        raise ConfigError(r.file, key, "must be a table ([[aws.accounts]])")
    r.only(t, key, {"name", "role_arn", "regions", "external_id"})
    role_arn = r.string(t, key, "role_arn", "") or None
    if role_arn and not re.fullmatch(r"arn:aws[\w-]*:iam::\d{12}:role/.+", role_arn):
        raise ConfigError(
            r.file,
            f"{key}.role_arn",
            f"{role_arn!r} is not an IAM role ARN (arn:aws:iam::123456789012:role/NAME)",
        )
    if role_arn and not role_arn.startswith("arn:aws:"):
        partition = role_arn.split(":")[1]
        raise r.fail(f"{key}.role_arn", _partition_refused(f"role {role_arn!r}", partition))
    return AccountConfig(
        name=r.string(t, key, "name", required=True),
        role_arn=role_arn,
        external_id=r.string(t, key, "external_id", "") or None,
        regions=tuple(r.regions(t, key, default_regions)),
    )


def _partition_refused(what: str, partition: str) -> str:
    return (
        f"{what} is in partition {partition}, which driftwatch does not support yet "
        "(only the commercial partition `aws`); see docs/configuration.md#partitions"
    )


def _storage(r: _Reader, t: dict[str, Any]) -> StorageConfig:
    r.only(t, "storage", {"path", "data_dir", "retention_days"})
    path = r.base / Path(r.string(t, "storage", "path", "driftwatch.db")).expanduser()
    data_dir = r.string(t, "storage", "data_dir", "")
    ddir = r.base / Path(data_dir).expanduser() if data_dir else path.parent / ".driftwatch"
    return StorageConfig(
        path=path,
        data_dir=ddir,
        retention_days=r.integer(t, "storage", "retention_days", 90, minimum=0, maximum=36500),
    )


def _demo(r: _Reader, t: dict[str, Any]) -> DemoConfig:
    r.only(t, "demo", {"enabled"})
    return DemoConfig(enabled=r.boolean(t, "demo", "enabled", False))


def _scan(r: _Reader, t: dict[str, Any]) -> ScanConfig:
    r.only(t, "scan", {"unmanaged", "types", "max_declared_drop", "reopen_window"})
    return ScanConfig(
        unmanaged=r.boolean(t, "scan", "unmanaged", True),
        types=tuple(r.strings(t, "scan", "types", [])),
        max_declared_drop=_fraction(r, t, "scan", "max_declared_drop", 0.5),
        reopen_window=_duration(r, t, "scan", "reopen_window", "24h"),
    )


def _fraction(r: _Reader, t: dict[str, Any], sect: str, key: str, default: float) -> float:
    """A share from 0 to 1, written as 0.5 or "50%"."""
    v = t.get(key, default)
    if isinstance(v, str) and v.strip().endswith("%"):
        with contextlib.suppress(ValueError):  # not a number: reported just below
            v = float(v.strip()[:-1]) / 100
    if isinstance(v, bool) or not isinstance(v, int | float) or not 0 <= v <= 1:
        raise r.fail(f"{sect}.{key}", f'must be a share from 0 to 1 (0.5 or "50%"), got {v!r}')
    return float(v)


def _duration(r: _Reader, t: dict[str, Any], sect: str, key: str, default: str) -> dt.timedelta:
    v = t.get(key, default)
    try:
        return parse_duration(v)
    except ValueError as exc:
        raise r.fail(f"{sect}.{key}", str(exc)) from None


_DURATION = re.compile(r"^\s*(\d+)\s*([smhd])\s*$")
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(value: Any) -> dt.timedelta:
    """ "30s", "15m", "1h", "90d" (or a whole number of seconds) → timedelta."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return _seconds(value, value)
    m = _DURATION.match(value) if isinstance(value, str) else None
    if not m:
        raise ValueError(f'must be a duration such as "30s", "15m", "24h" or "90d", got {value!r}')
    return _seconds(int(m.group(1)) * _UNIT_S[m.group(2)], value)


def _seconds(seconds: int, value: Any) -> dt.timedelta:
    try:
        return dt.timedelta(seconds=seconds)
    except OverflowError:  # past timedelta's 999,999,999 days
        raise ValueError(f"must be a duration of at most 999999999d, got {value!r}") from None


def _ignore(r: _Reader, t: Any, index: int) -> IgnoreRule:
    key = f"ignore[{index}]"
    if not isinstance(t, dict):
        raise ConfigError(r.file, key, "must be a table ([[ignore]])")
    r.only(t, key, {"kind", "type", "id", "path", "reason", "expires"})
    kind, path = _ignore_target(r, t, key)
    return IgnoreRule(
        type=r.string(t, key, "type", "*"),
        id=r.string(t, key, "id", "*"),
        path=path,
        reason=r.string(t, key, "reason", ""),
        expires=_ignore_expires(r, t.get("expires"), key),
        kind=kind,
        index=index,
    )


def _ignore_target(r: _Reader, t: dict[str, Any], key: str) -> tuple[Kind, str]:
    """(kind, path): a path for kind modified (the default), none for unmanaged and missing."""
    kind = t.get("kind")
    if kind is None and "path" not in t:
        raise r.fail(
            f"{key}.path",
            "missing required key: set path (an attribute of declared resources) or kind = "
            '"unmanaged" or "missing" (whole resources)',
        )
    if kind is None or kind == Kind.MODIFIED:
        return Kind.MODIFIED, r.string(t, key, "path", required=True)
    if kind not in IGNORE_KINDS:
        known = ", ".join(IGNORE_KINDS)
        raise r.fail(f"{key}.kind", f"must be one of {known}; got {kind!r}")
    if "path" in t:
        raise r.fail(
            f"{key}.path",
            f'a rule with kind = "{kind}" hides whole resources and takes no path; remove '
            'path, or use kind = "modified" to ignore an attribute',
        )
    return Kind(kind), ""


def _ignore_expires(r: _Reader, expires: Any, key: str) -> dt.date | None:
    if isinstance(expires, str):
        try:
            return dt.date.fromisoformat(expires)
        except ValueError:
            raise r.fail(f"{key}.expires", f"{expires!r} is not a date (YYYY-MM-DD)") from None
    if isinstance(expires, dt.datetime):
        return expires.date()
    if expires is not None and not isinstance(expires, dt.date):
        raise r.fail(f"{key}.expires", "must be a date (YYYY-MM-DD)")
    return expires


def check_url(r: _Reader, key: str, value: str) -> str:
    from urllib.parse import urlsplit

    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        shown = value if key.endswith("base_url") or key.endswith(".url") else "(hidden)"
        raise r.fail(key, f"must be an http:// or https:// URL with a host, got {shown}")
    try:
        parts.port  # noqa: B018  (raises on a malformed port)
    except ValueError as exc:
        raise r.fail(key, f"malformed URL: {exc}") from None
    return value


class _Reader:
    """Typed access to TOML tables that raises ConfigError naming file and key.

    Notifiers read their own channel settings with it (`Notifier.settings`).
    """

    def __init__(self, file: str, base: Path) -> None:
        self.file, self.base = file, base

    def fail(self, key: str, message: str) -> ConfigError:
        return ConfigError(self.file, key, message)

    def expand_env(self, value: Any, key: str) -> Any:
        if isinstance(value, dict):
            return {k: self.expand_env(v, f"{key}.{k}".strip(".")) for k, v in value.items()}
        if isinstance(value, list):
            return [self.expand_env(v, f"{key}[{i}]") for i, v in enumerate(value)]
        if isinstance(value, str):
            return _ENV_REF.sub(lambda m: self._env(m.group(1), key), value)
        return value

    def _env(self, name: str, key: str) -> str:
        if name not in os.environ:
            raise self.fail(key, f"environment variable {name} is not set")
        return os.environ[name]

    def only(self, t: dict[str, Any], key: str, allowed: set[str]) -> None:
        for k in t:
            if k not in allowed:
                where = f"{key}.{k}" if key else k
                raise self.fail(
                    where, f"unknown key; expected one of: {', '.join(sorted(allowed))}"
                )

    def table(self, t: dict[str, Any], key: str, required: bool = False) -> dict[str, Any]:
        if key not in t:
            if required:
                raise self.fail(key, "missing section")
            return {}
        if not isinstance(t[key], dict):
            raise self.fail(key, "must be a table")
        return t[key]

    def array_of_tables(self, t: dict[str, Any], key: str) -> list[Any]:
        value = t.get(key, [])
        if not isinstance(value, list):
            raise self.fail(key, f"must be an array of tables ([[{key}]])")
        return value

    def _get(self, t: dict[str, Any], sect: str, key: str, default: Any, required: bool) -> Any:
        if key not in t:
            if required:
                raise self.fail(f"{sect}.{key}", "missing required key")
            return default
        return t[key]

    def string(
        self, t: dict[str, Any], sect: str, key: str, default: str = "", required: bool = False
    ) -> str:
        v = self._get(t, sect, key, default, required)
        if not isinstance(v, str) or (required and not v.strip()):
            raise self.fail(f"{sect}.{key}", f"must be a non-empty string, got {v!r}")
        return v

    def choice(self, t: dict[str, Any], sect: str, key: str, choices: tuple[str, ...]) -> str:
        """One of `choices`; the first is the default."""
        v = self._get(t, sect, key, choices[0], False)
        if v not in choices:
            raise self.fail(
                f"{sect}.{key}", f"must be one of {', '.join(map(repr, choices))}, got {v!r}"
            )
        return str(v)

    def strings(
        self, t: dict[str, Any], sect: str, key: str, default: list[str], nonempty: bool = False
    ) -> list[str]:
        v = self._get(t, sect, key, default, False)
        if not isinstance(v, list) or not all(isinstance(x, str) and x for x in v):
            raise self.fail(f"{sect}.{key}", f"must be a list of strings, got {v!r}")
        if nonempty and not v:
            raise self.fail(f"{sect}.{key}", "must name at least one entry")
        return list(dict.fromkeys(v))

    def regions(self, t: dict[str, Any], sect: str, default: list[str]) -> list[str]:
        regions = self.strings(t, sect, "regions", default, nonempty=True)
        for region in regions:
            for prefix, partition in _OTHER_PARTITIONS:
                if region.startswith(prefix):
                    raise self.fail(
                        f"{sect}.regions", _partition_refused(f"region {region!r}", partition)
                    )
        return regions

    def url(self, t: dict[str, Any], sect: str, key: str) -> str:
        """An http(s) URL with a host."""
        v = self.string(t, sect, key, required=True)
        return check_url(self, f"{sect}.{key}", v)

    def secret_env(
        self, t: dict[str, Any], sect: str, key: str, required: bool = True
    ) -> str | None:
        """The value of the environment variable named by `key` (e.g. `password_env`)."""
        if key not in t and not required:
            return None
        name = self.string(t, sect, key, required=True)
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
            raise self.fail(f"{sect}.{key}", f"must name an environment variable, got {name!r}")
        value = os.environ.get(name)
        if not value:
            raise self.fail(f"{sect}.{key}", f"environment variable {name} is not set (or empty)")
        return value

    def integer(
        self, t: dict[str, Any], sect: str, key: str, default: int, minimum: int, maximum: int
    ) -> int:
        v = self._get(t, sect, key, default, False)
        if isinstance(v, bool) or not isinstance(v, int) or not minimum <= v <= maximum:
            raise self.fail(
                f"{sect}.{key}", f"must be an integer from {minimum} to {maximum}, got {v!r}"
            )
        return v

    def number(
        self, t: dict[str, Any], sect: str, key: str, default: float, maximum: float = 86400
    ) -> float:
        """A positive number up to `maximum` (TOML also reads nan, inf and huge integers)."""
        v = self._get(t, sect, key, default, False)
        # Written so that nan fails too: every comparison with nan is false.
        if isinstance(v, bool) or not isinstance(v, int | float) or not 0 < v <= maximum:
            raise self.fail(
                f"{sect}.{key}", f"must be a positive number up to {maximum:g}, got {v!r}"
            )
        return float(v)

    def boolean(self, t: dict[str, Any], sect: str, key: str, default: bool) -> bool:
        v = self._get(t, sect, key, default, False)
        if not isinstance(v, bool):
            raise self.fail(f"{sect}.{key}", f"must be true or false, got {v!r}")
        return v


Reader = _Reader  # the public name: notifiers read their channel settings with it
