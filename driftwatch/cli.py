"""The command line; turns domain errors into one clear line and an exit code."""

from __future__ import annotations

import datetime as dt
import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from driftwatch import __version__
from driftwatch.config import Config, load_config
from driftwatch.errors import DemoError, DriftwatchError
from driftwatch.registry import collectors

if TYPE_CHECKING:
    from driftwatch.baseline import Baseline
    from driftwatch.init import InitOptions, Written
    from driftwatch.store import Actor, Store

EXIT_OK, EXIT_ERROR, EXIT_DRIFT = 0, 1, 2


@click.group()
@click.version_option(__version__, prog_name="driftwatch")
def cli() -> None:
    """driftwatch: detect drift between Git-declared state and live AWS resources."""


_CONFIG_OPTION = click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False),
    help="Config file (default: $DRIFTWATCH_CONFIG or ./driftwatch.toml).",
)
_FORMAT_OPTION = click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "json"]),
    default="table",
    show_default=True,
    help="Output format; json is a stable contract (docs/json-output.md).",
)


@cli.command()
@_CONFIG_OPTION
@_FORMAT_OPTION
@click.option("--no-store", is_flag=True, help="Do not write the result to the database.")
@click.option(
    "--allow-partial",
    is_flag=True,
    help="Exit by drift found (0/2) even when something was not checked (default: exit 1).",
)
@click.option(
    "--allow-declared-drop",
    is_flag=True,
    help="Accept a drop in declared resources larger than scan.max_declared_drop.",
)
@click.option(
    "--wait",
    "wait",
    default="0s",
    show_default=True,
    metavar="DURATION",
    help="How long to wait for another scan on the same data directory (e.g. 60s).",
)
def scan(
    config_path: str | None,
    fmt: str,
    no_store: bool,
    allow_partial: bool,
    allow_declared_drop: bool,
    wait: str,
) -> None:
    """Run one scan. Exit 0: no drift; 2: drift found; 1: error or something not checked."""
    from driftwatch.report import print_report, to_json
    from driftwatch.scan import run_scan

    wait_s = _duration("--wait", wait).total_seconds()
    cfg = _config(config_path)
    store = None if no_store else _store(cfg)
    with _progress() as on_progress:
        result = run_scan(
            cfg, store, on_progress, allow_declared_drop=allow_declared_drop, wait_s=wait_s
        )
    if fmt == "json":
        click.echo(to_json(result))
    else:
        print_report(result, Console(highlight=False, soft_wrap=True))
    if result.pruned and result.pruned.total:
        click.echo(f"driftwatch: pruned history: {result.pruned}", err=True)
    if result.status == "failed":
        raise SystemExit(EXIT_ERROR)
    if result.incomplete and not allow_partial:
        click.echo(
            f"driftwatch: scan {result.status}: {result.summary['not_checked']} resource(s) not "
            f"checked, {len(result.errors)} error(s); exit 1 (pass --allow-partial to exit by "
            "drift found)",
            err=True,
        )
        raise SystemExit(EXIT_ERROR)
    raise SystemExit(EXIT_DRIFT if result.has_drift else EXIT_OK)


def _config(config_path: str | None) -> Config:
    """Load the config, check its data directory, and send the log there."""
    from driftwatch.datadir import prepare_data_dir
    from driftwatch.logs import log_to_file

    cfg = load_config(config_path)
    prepare_data_dir(cfg)  # refuses a venv before anything is written into it
    log_to_file(cfg.storage.log_path)
    return cfg


def _store(cfg: Config) -> Store:
    """The database, created with private file modes (driftwatch.datadir)."""
    from driftwatch.datadir import open_store

    return open_store(cfg)


def _duration(option: str, text: str) -> dt.timedelta:
    from driftwatch.config import parse_duration

    try:
        return parse_duration(text)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint=option) from None


@cli.command()
@_CONFIG_OPTION
@_FORMAT_OPTION
@click.option(
    "--status",
    type=click.Choice(["open", "acknowledged", "resolved", "all"]),
    default="open",
    show_default=True,
    help="open: not resolved (acknowledged included); acknowledged or resolved: only those.",
)
@click.option("--type", "rtype", help="Only this resource type (e.g. aws_s3_bucket).")
@click.option("--account", help="Only this account (its name in the config).")
def drifts(
    config_path: str | None, fmt: str, status: str, rtype: str | None, account: str | None
) -> None:
    """List drift records from the database (no AWS calls)."""
    from driftwatch.views import drifts_json, print_drifts

    store = _store(_config(config_path))
    rows = store.drifts(None if status == "all" else status, rtype, account)
    if fmt == "json":
        click.echo(drifts_json(rows))
    else:
        print_drifts(rows, _table_console())


@cli.command()
@_CONFIG_OPTION
@_FORMAT_OPTION
@click.argument("rtype", metavar="TYPE")
@click.argument("rid", metavar="ID")
def history(config_path: str | None, fmt: str, rtype: str, rid: str) -> None:
    """A resource's timeline: state and snapshot changes, drift events (no AWS calls)."""
    from driftwatch.views import print_history, resource_history

    store = _store(_config(config_path))
    timelines = resource_history(store, rtype, rid)
    if not timelines:
        raise DriftwatchError(
            f"no history for {rtype} {rid!r} in {store.path}; check the type and id "
            "(`driftwatch drifts --status all` lists what is recorded)"
        )
    if fmt == "json":
        click.echo(json.dumps(timelines, indent=2, default=str))
    else:
        print_history(timelines, Console(highlight=False, soft_wrap=True))


@cli.command()
@_CONFIG_OPTION
@_FORMAT_OPTION
def ignored(config_path: str | None, fmt: str) -> None:
    """What each [[ignore]] rule hid in the last completed scan (no AWS calls)."""
    from driftwatch.views import ignored_report, print_ignored

    report = ignored_report(_store(_config(config_path)))
    if fmt == "json":
        click.echo(json.dumps(report, indent=2))
    else:
        print_ignored(report, _table_console())


@cli.command()
@_CONFIG_OPTION
@click.option(
    "--older-than",
    metavar="DURATION",
    help="Remove history older than this (e.g. 90d); default: storage.retention_days.",
)
@click.option("--dry-run", is_flag=True, help="Count what would be removed; change nothing.")
def prune(config_path: str | None, older_than: str | None, dry_run: bool) -> None:
    """Remove old scans, events, resolved drifts and snapshots; never an open drift."""
    from driftwatch.lock import data_dir_lock

    cfg = _config(config_path)
    if older_than is None and not cfg.storage.retention_days:
        raise DriftwatchError(
            f"{cfg.source}: [storage.retention_days] is 0 (keep everything); "
            "pass --older-than DURATION to prune anyway"
        )
    age = (
        _duration("--older-than", older_than)
        if older_than
        else dt.timedelta(days=cfg.storage.retention_days)
    )
    cutoff = (dt.datetime.now(dt.UTC) - age).strftime("%Y-%m-%dT%H:%M:%SZ")
    store = _store(cfg)
    with data_dir_lock(cfg.storage.data_dir, wait_s=60):
        counts = store.prune(cutoff, dry_run=dry_run)
    verb = "would remove" if dry_run else "removed"
    click.echo(f"{verb} history older than {cutoff}: {counts}")


@cli.command()
@click.option(
    "--workdir",
    type=click.Path(file_okay=False),
    default="demo-work",
    show_default=True,
    help="Folder for the demo's Git repo, config, database and state file.",
)
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option("--keep", is_flag=True, help="Reuse the folder's database (history, users).")
@click.option(
    "--drift",
    "make_drift",
    is_flag=True,
    help="Make one new random drift on the running demo (started in --workdir), and exit.",
)
def demo(workdir: str, port: int, keep: bool, make_drift: bool) -> None:
    """The whole product on a local moto server: an estate in Git with drift, alerts,
    the dashboard and the scheduler on 127.0.0.1 until Ctrl-C (docs/demo.md)."""
    from pathlib import Path

    if make_drift:
        from driftwatch.demo.drifts import drift_now

        cfg_path = Path(workdir) / "driftwatch.toml"
        if not cfg_path.is_file():
            raise DemoError(f"no demo in {workdir}: start one with `driftwatch demo`")
        made = drift_now(load_config(cfg_path).storage.data_dir)
        click.echo(f"made a drift: {made.line()}")
        click.echo("the next scan catches it: press Scan now on the dashboard, or wait a minute")
        return
    from driftwatch.demo.run import missing_extra, run_demo

    if missing_extra():
        raise DriftwatchError(
            f"the demo needs the demo extra ({missing_extra()} is missing): "
            "pip install 'driftwatch-aws[demo]'"
        )
    run_demo(Path(workdir), port, keep, Console(highlight=False, soft_wrap=True))


@cli.command()
@click.option(
    "--dir",
    "folder",
    type=click.Path(file_okay=False),
    default=".",
    show_default=True,
    help="Folder to write driftwatch.toml and the declared/ manifests into.",
)
@click.option("--force", is_flag=True, help="Replace files that already exist.")
@click.option(
    "--from-live",
    is_flag=True,
    help="Declare what is live: one manifest per account, region and type, at zero drift.",
)
@click.option("--types", default="", metavar="T1,T2", help="Resource types (default: every type).")
@click.option("--regions", default="us-east-1", show_default=True, metavar="R1,R2", help="Regions.")
@click.option(
    "--accounts",
    default="",
    metavar="NAME[=ROLE_ARN],...",
    help="Accounts, each read with the role to assume (none: the base credentials).",
)
@click.option(
    "--git-url",
    default=".",
    show_default=True,
    help="The manifests' repository; '.' is the --dir folder, once it is a Git repository.",
)
@click.option("--branch", default="main", show_default=True, help="Branch to read.")
@click.option(
    "--endpoint-url", default="", help="One endpoint for every AWS service (moto, LocalStack)."
)
def init(
    folder: str,
    force: bool,
    from_live: bool,
    types: str,
    regions: str,
    accounts: str,
    git_url: str,
    branch: str,
    endpoint_url: str,
) -> None:
    """Write a commented driftwatch.toml and a manifest folder (--from-live: from AWS)."""
    from pathlib import Path

    from driftwatch.init import InitOptions, parse_accounts, parse_types

    opts = InitOptions(
        folder=Path(folder),
        regions=tuple(r.strip() for r in regions.split(",") if r.strip()),
        types=parse_types(types),
        accounts=parse_accounts(accounts),
        git_url=git_url,
        branch=branch,
        endpoint_url=endpoint_url,
        force=force,
    )
    if from_live:
        _init_from_live(opts)
    else:
        _init_starter(opts)


def _init_starter(opts: InitOptions) -> None:
    from driftwatch.init import load_options_config, starter_files, write_files

    load_options_config(opts)  # the options make a valid config, or nothing is written
    written = write_files(opts.folder, starter_files(opts), opts.force)
    _print_written(written)
    click.echo(
        "next: declare resources under declared/ (or run `driftwatch init --from-live --force`),"
        " commit them, then `driftwatch check` and `driftwatch scan`"
    )


def _init_from_live(opts: InitOptions) -> None:
    from driftwatch.baseline import manifest_files, read_baseline
    from driftwatch.init import (
        CONFIG_NAME,
        config_text,
        existing_manifests,
        load_options_config,
        refuse_existing,
        write_files,
    )

    cfg = load_options_config(opts)
    existing = existing_manifests(opts.folder)
    refuse_existing([opts.config_path, *existing], opts.force)  # before the long read

    def say(text: str) -> None:
        click.echo(f"driftwatch init: {text}", err=True)

    with _progress("reading") as on_progress:
        base = read_baseline(cfg, on_progress, say)
    files = {
        CONFIG_NAME: config_text(opts),
        **manifest_files(base, cfg, "driftwatch init --from-live"),
    }
    written = write_files(opts.folder, files, force=True)  # refused above unless --force
    _print_written(written)
    for path in sorted(set(existing) - set(written.created)):
        click.echo(f"kept {path}: check it does not declare the same resources again", err=True)
    _print_baseline(base, manifests=len(files) - 1)
    if base.failures:
        raise SystemExit(EXIT_ERROR)
    click.echo("next: review and commit declared/, then `driftwatch check` and `driftwatch scan`")


def _print_baseline(base: Baseline, manifests: int) -> None:
    """What init declared, what it kept out of Git, left out, or could not read."""
    click.echo(
        f"declared {len(base.entries)} resource(s) in {manifests} manifest(s); "
        f"{base.skipped_managed} AWS-managed resource(s) skipped; {base.api_calls} API calls"
    )
    for line in base.secrets:
        click.echo(f"secret values NOT written (placeholder + ignore): {line}")
    for line in base.omitted:
        click.echo(f"left out: {line}")
    for line in base.failures:
        click.echo(f"NOT READ: {line}", err=True)
    if base.failures:
        click.echo(
            f"driftwatch init: {len(base.failures)} scope(s) or resource(s) could not be read "
            "and are not declared; fix access (`driftwatch check --iam-policy`) and run again "
            "with --force",
            err=True,
        )


def _print_written(written: Written) -> None:
    for path in written.created:
        click.echo(f"wrote {path}")
    for path in written.appended:
        click.echo(f"appended driftwatch's lines to {path}")


@cli.command()
@_CONFIG_OPTION
@click.option(
    "--iam-policy",
    is_flag=True,
    help="Also print the IAM policies this config needs as JSON on stdout (checks on stderr).",
)
def check(config_path: str | None, iam_policy: bool) -> None:
    """Check the config, Git, the manifests and AWS credentials; exit 1 on any failure."""
    from driftwatch.checks import policies, run_checks
    from driftwatch.iam import dumps

    report = run_checks(config_path)
    for c in report.checks:
        for line in c.lines():
            click.echo(_printable_lines(line), err=iam_policy)
    if iam_policy and report.config is not None:
        click.echo(dumps(policies(report.config, report.declared)))
    elif report.config is not None:
        click.echo("IAM policies this config needs: driftwatch check --iam-policy (docs/iam.md)")
    failed = sum(not c.ok for c in report.checks)
    if failed:
        click.echo(f"driftwatch check: {failed} check(s) failed", err=True)
        raise SystemExit(EXIT_ERROR)


@cli.command()
@_CONFIG_OPTION
@_FORMAT_OPTION
@click.option("--source", "source", help="Only this [[terraform]] source (its name).")
def declared(config_path: str | None, fmt: str, source: str | None) -> None:
    """Declared resources with their origin: each attribute declared, folded or skipped, and why."""
    from driftwatch.aws import AwsSessions
    from driftwatch.scan import load_all
    from driftwatch.secretkey import load_or_create_key
    from driftwatch.views import declared_report, print_declared

    cfg = _config(config_path)
    if source is not None and source not in {t.name for t in cfg.terraform}:
        known = ", ".join(t.name for t in cfg.terraform) or "(none)"
        raise DriftwatchError(f"no [[terraform]] source named {source!r}; known: {known}")
    loaded = load_all(cfg, AwsSessions(cfg.aws), load_or_create_key(cfg.storage.data_dir))
    report = declared_report(loaded, source)
    if fmt == "json":
        click.echo(json.dumps(report, indent=2, default=str))
    else:
        print_declared(report, _table_console())
    if report["failures"]:
        raise SystemExit(EXIT_ERROR)


@cli.command()
@_CONFIG_OPTION
@click.option(
    "--lease",
    default="15s",
    show_default=True,
    metavar="DURATION",
    help="Leader lease period; a standby takes over within it when the leader dies.",
)
def scheduler(config_path: str | None, lease: str) -> None:
    """Run scheduled scans and send alerts (the leader; others on the database stand by)."""
    import signal

    from driftwatch.scheduler import Scheduler

    cfg = _config(config_path)
    sched = Scheduler(cfg, _store(cfg), _duration("--lease", lease).total_seconds())

    def stop(signum: int, frame: Any) -> None:
        sched.stop()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    click.echo(f"driftwatch scheduler {sched.holder}: {len(cfg.schedules)} schedule(s)", err=True)
    sched.run()


@cli.group()
def alerts() -> None:
    """Alert channels and the outbox (docs/alerts.md)."""


@alerts.command("test")
@_CONFIG_OPTION
@click.argument("channel")
def alerts_test(config_path: str | None, channel: str) -> None:
    """Send a test message to CHANNEL now, through the outbox, and report the outcome."""
    from driftwatch.alerts import test_digest
    from driftwatch.delivery import SendCounts, deliver

    cfg = _config(config_path)
    if cfg.alerts.channel(channel) is None:
        known = ", ".join(c.name for c in cfg.alerts.channels) or "(none configured)"
        raise DriftwatchError(f"{cfg.source}: no alert channel {channel!r}; known: {known}")
    store = _store(cfg)
    [mid] = store.enqueue([test_digest(channel, cfg.dashboard.base_url)])
    row = next(r for r in store.due_messages(limit=1000) if r["id"] == mid)
    deliver(store, cfg.alerts, row, SendCounts())
    msg = store.messages(channel=channel, limit=1)[0]
    if msg["status"] == "sent":
        click.echo(f"sent test message {msg['delivery_id']} to {channel}")
        return
    raise DriftwatchError(f"test message to {channel} not delivered: {msg['last_error']}")


@alerts.command("list")
@_CONFIG_OPTION
@_FORMAT_OPTION
@click.option("--status", type=click.Choice(["pending", "sent", "failed"]))
def alerts_list(config_path: str | None, fmt: str, status: str | None) -> None:
    """Outbox messages, newest first: status, attempts, last error."""
    rows = _store(_config(config_path)).messages(status=status)
    for r in rows:
        r.pop("payload", None)
    if fmt == "json":
        click.echo(json.dumps(rows, indent=2))
        return
    for r in rows:
        err = f"  {r['last_error']}" if r["last_error"] else ""
        click.echo(
            f"{r['id']:>6} {r['status']:<8} {r['channel']:<16} scan {r['scan_id']} "
            f"attempts {r['attempts']} {r['delivery_id']}{err}"
        )


@cli.command()
@_CONFIG_OPTION
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option(
    "--threads",
    default=8,
    show_default=True,
    type=click.IntRange(1, 256),
    help="Threads per web process.",
)
@click.option(
    "--workers",
    type=click.IntRange(1, 256),
    default=None,
    help="Web worker processes (gunicorn, forked). [default: one per CPU where fork and "
    "gunicorn are available, else 1: waitress in this process]",
)
@click.option(
    "--trusted-proxy",
    metavar="ADDR",
    help="The address of a TLS-terminating reverse proxy whose X-Forwarded-Proto and "
    "X-Forwarded-For are believed (Secure cookies, client addresses for throttling and audit).",
)
@click.option(
    "--no-scheduler",
    is_flag=True,
    help="Serve only; scheduled scans and alerts run in `driftwatch scheduler` elsewhere.",
)
def serve(
    config_path: str | None,
    host: str,
    port: int,
    threads: int,
    workers: int | None,
    trusted_proxy: str | None,
    no_scheduler: bool,
) -> None:
    """Serve the dashboard, JSON API and /metrics, and run the scheduler.

    With one worker, waitress serves in this process; with more (gunicorn), the web
    app runs in forked worker processes and this process keeps the one scheduler. The
    scheduler runs under the leader lease (several `serve` or `scheduler` processes on
    one database keep one leader) unless --no-scheduler.
    """
    from driftwatch.web import workers as web_workers

    cfg = _config(config_path)
    n = workers if workers is not None else web_workers.default_workers()
    if n > 1 and not web_workers.can_fork_workers():
        click.echo(
            f"driftwatch: --workers {n} needs fork and gunicorn (pip install gunicorn); "
            "serving with waitress in one process",
            err=True,
        )
        n = 1
    if n == 1:
        _serve_waitress(cfg, host, port, threads, trusted_proxy, no_scheduler)
        return
    cmd = web_workers.gunicorn_command(host, port, n, threads, trusted_proxy)
    click.echo(
        f"driftwatch: dashboard on http://{host}:{port}/ ({n} workers, Ctrl-C stops)", err=True
    )
    scheduler_of = None if no_scheduler else (lambda: _start_scheduler(cfg))
    status = web_workers.run_gunicorn(cmd, config_path, trusted_proxy, scheduler_of)
    if status != 0:
        raise DriftwatchError(f"gunicorn exited with status {status}; its log is above")


def _start_scheduler(cfg: Config) -> Callable[[], None]:
    """The scheduler in a thread of this process; returns how to stop it (releasing the
    lease)."""
    from driftwatch.scheduler import start_in_thread

    sched, thread = start_in_thread(cfg, lambda: _store(cfg))
    click.echo(f"driftwatch: scheduler {sched.holder}: {len(cfg.schedules)} schedule(s)", err=True)

    def stop() -> None:
        sched.stop()
        thread.join(timeout=30)

    return stop


def _serve_waitress(
    cfg: Config,
    host: str,
    port: int,
    threads: int,
    trusted_proxy: str | None,
    no_scheduler: bool,
) -> None:
    """One process: waitress threads and the scheduler thread."""
    import waitress

    from driftwatch.web import create_app

    app = create_app(cfg)
    if not no_scheduler:
        _start_scheduler(cfg)
    proxy: dict[str, Any] = {}
    if trusted_proxy:
        proxy = {
            "trusted_proxy": trusted_proxy,
            "trusted_proxy_count": 1,
            "trusted_proxy_headers": {"x-forwarded-proto", "x-forwarded-for"},
            "clear_untrusted_proxy_headers": True,
        }
    click.echo(f"driftwatch: dashboard on http://{host}:{port}/ (Ctrl-C stops)", err=True)
    waitress.serve(app, host=host, port=port, threads=threads, ident="driftwatch", **proxy)


@cli.group()
def user() -> None:
    """Dashboard users."""


@user.command("add")
@_CONFIG_OPTION
@click.argument("name")
@click.option(
    "--role",
    type=click.Choice(["viewer", "operator", "admin"]),
    required=True,
    help="viewer reads; operator also acknowledges; admin also sees the audit log and "
    "manages tokens.",
)
def user_add(config_path: str | None, name: str, role: str) -> None:
    """Add a user, or set an existing user's password and role.

    The password is read from a prompt, or from standard input when it is not a terminal
    (one line); never from the command line.
    """
    from driftwatch.users import check_name, hash_password

    check_name(name)
    if sys.stdin.isatty():
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    digest = hash_password(password)
    store = _store(_config(config_path))
    added = store.upsert_user(name, digest, role, _cli_actor())
    click.echo(f"{'added' if added else 'updated'} user {name} ({role})")


@cli.group()
def token() -> None:
    """API tokens (Authorization: Bearer …)."""


@token.command("create")
@_CONFIG_OPTION
@click.option("--user", "user_name", required=True, help="The user the token acts as.")
@click.option(
    "--scope",
    type=click.Choice(["read", "operate"]),
    required=True,
    help="read: GET only; operate: also acknowledge (if the user's role allows).",
)
@click.option("--name", default="cli", show_default=True, help="What the token is for.")
def token_create(config_path: str | None, user_name: str, scope: str, name: str) -> None:
    """Create a token and print it once; only its hash is stored."""
    from driftwatch.store import users as user_sql
    from driftwatch.users import new_token, token_hash

    store = _store(_config(config_path))
    row = user_sql.user_by_name(store.conn, user_name)
    if row is None:
        raise DriftwatchError(
            f"no user {user_name!r} in {store.path}; add one with `driftwatch user add`"
        )
    secret = new_token()
    store.add_token(row["id"], name, scope, token_hash(secret), secret[:10], _cli_actor())
    click.echo(secret)


@cli.command()
@_CONFIG_OPTION
@_FORMAT_OPTION
@click.argument("drift_id")
@click.option(
    "--mode",
    type=click.Choice(["revert", "accept", "pipeline"]),
    required=True,
    help="revert: make AWS match Git; accept: commit the live value to Git; pipeline: "
    "trigger a configured pipeline.",
)
@click.option(
    "--option",
    "options",
    multiple=True,
    metavar="NAME",
    help="A plan option the type offers (e.g. stop_start, apply_immediately, delete).",
)
@click.option("--pipeline", "pipeline", help="The [[remediation.pipelines]] name (pipeline mode).")
@click.option("--plan-only", is_flag=True, help="Show and store the plan; change nothing.")
@click.option("--yes", is_flag=True, help="Run without asking for confirmation.")
def remediate(
    config_path: str | None,
    fmt: str,
    drift_id: str,
    mode: str,
    options: tuple[str, ...],
    pipeline: str | None,
    plan_only: bool,
    yes: bool,
) -> None:
    """Plan a remediation of one drift, confirm it, run it and verify it.

    Exit 0 when verified (or with --plan-only), 1 when it was refused, failed or only
    partly worked. The same checks apply as in the dashboard: [remediation] enabled,
    allow_modes, allow_types, require_approval, plan_ttl.
    """
    from driftwatch.remediation import Remediation, Request

    cfg = _config(config_path)
    store = _store(cfg)
    rem = Remediation(cfg, store)
    fp = _drift_id(store, drift_id)
    actor = _cli_actor()
    rid = rem.plan(Request(fp, mode, frozenset(options), pipeline), actor, _CLI_ROLE)
    row = store.remediation(rid)
    assert row is not None
    if plan_only or cfg.remediation.require_approval:
        _show_remediation(row, fmt)
        if cfg.remediation.require_approval and not plan_only:
            click.echo(
                f"remediation #{rid} needs approval by a second person: "
                f"`driftwatch remediation approve {rid}` (as another user) or the dashboard",
                err=True,
            )
        return
    if fmt != "json":
        _show_remediation(row, fmt)
    if not yes:
        if not sys.stdin.isatty():
            raise DriftwatchError("not a terminal: pass --yes to run the plan without asking")
        click.confirm(f"Run remediation #{rid}?", abort=True)
    _run_remediation(rem, rid, actor, fmt)


@cli.group("remediation")
def remediation_cmd() -> None:
    """Show, approve and run stored remediation plans."""


@remediation_cmd.command("show")
@_CONFIG_OPTION
@_FORMAT_OPTION
@click.argument("plan_id", type=int)
def remediation_show(config_path: str | None, fmt: str, plan_id: int) -> None:
    """A stored remediation: its plan and, once run, its result."""
    row = _store(_config(config_path)).remediation(plan_id)
    if row is None:
        raise DriftwatchError(f"no remediation #{plan_id}")
    _show_remediation(row, fmt)


@remediation_cmd.command("approve")
@_CONFIG_OPTION
@click.argument("plan_id", type=int)
def remediation_approve(config_path: str | None, plan_id: int) -> None:
    """Approve someone else's plan (with [remediation] require_approval = true)."""
    from driftwatch.remediation import Remediation

    cfg = _config(config_path)
    Remediation(cfg, _store(cfg)).approve(plan_id, _cli_actor(), _CLI_ROLE)
    click.echo(f"remediation #{plan_id} approved")


@remediation_cmd.command("run")
@_CONFIG_OPTION
@_FORMAT_OPTION
@click.argument("plan_id", type=int)
@click.option("--yes", is_flag=True, help="Run without asking for confirmation.")
def remediation_run(config_path: str | None, fmt: str, plan_id: int, yes: bool) -> None:
    """Run a stored (and, if required, approved) plan; exit 0 only when verified."""
    from driftwatch.remediation import Remediation

    cfg = _config(config_path)
    store = _store(cfg)
    row = store.remediation(plan_id)
    if row is None:
        raise DriftwatchError(f"no remediation #{plan_id}")
    if not yes:
        _show_remediation(row, "table")
        if not sys.stdin.isatty():
            raise DriftwatchError("not a terminal: pass --yes to run the plan without asking")
        click.confirm(f"Run remediation #{plan_id}?", abort=True)
    _run_remediation(Remediation(cfg, store), plan_id, _cli_actor(), fmt)


# Whoever can read the data directory on this host owns the installation.
_CLI_ROLE = "admin"


def _drift_id(store: Store, text: str) -> str:
    ids = store.drift_ids(text) if len(text) >= 6 else []
    if len(ids) != 1:
        problem = "matches several drifts" if ids else "matches no drift"
        raise DriftwatchError(
            f"drift id {text!r} {problem}; give the id from `driftwatch drifts` "
            "(at least 6 characters, unique)"
        )
    return ids[0]


def _run_remediation(rem: Any, rid: int, actor: Actor, fmt: str) -> None:
    row = rem.execute(rid, actor, _CLI_ROLE)
    _show_remediation(row, fmt)
    if row["status"] != "succeeded":
        sys.exit(EXIT_ERROR)


def _show_remediation(row: dict[str, Any], fmt: str) -> None:
    from driftwatch.remediation.show import print_remediation

    if fmt == "json":
        click.echo(json.dumps(row, indent=2, default=str))
    else:
        print_remediation(row, Console(highlight=False, soft_wrap=True))


def _cli_actor() -> Actor:
    import getpass

    from driftwatch.store import Actor

    try:
        who = getpass.getuser()
    except (KeyError, OSError):
        who = "unknown"
    return Actor(f"cli:{who}")


@cli.command("types")
def types_cmd() -> None:
    """List the supported resource types with their identity and attributes."""
    import driftwatch.collectors  # noqa: F401

    console = Console(highlight=False, soft_wrap=True)
    for name, cls in collectors:
        scope = "global" if cls.is_global else "regional"
        console.print(f"[bold]{name}[/] ({scope}) — id: {cls.identity}")
        for attr, spec in cls.attributes.items():
            console.print(f"    {attr:<24} {spec.kind.label}")


def _table_console() -> Console:
    """A terminal gets its own width; a pipe gets rows that never wrap."""
    return Console(highlight=False, soft_wrap=True, width=None if sys.stdout.isatty() else 400)


@contextmanager
def _progress(label: str = "scanning") -> Iterator[Callable[[Any], None]]:
    """A progress bar on stderr when it is a terminal; silent otherwise."""
    if not sys.stderr.isatty():
        yield lambda p: None
        return
    bar = Progress(
        TextColumn(label),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("scopes · {task.fields[res]} resources · {task.fields[calls]} calls"),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
    )
    task = bar.add_task("scan", total=None, res=0, calls=0)
    with bar:
        yield lambda p: bar.update(
            task,
            total=p.scopes_total,
            completed=p.scopes_done,
            res=p.resources_read,
            calls=p.api_calls,
        )


def main() -> None:
    """Console-script entry point."""
    try:
        cli.main(standalone_mode=False)
    except DriftwatchError as exc:
        click.echo(f"driftwatch: error: {_printable_lines(str(exc))}", err=True)
        sys.exit(EXIT_ERROR)
    except click.exceptions.Abort:
        click.echo("driftwatch: aborted", err=True)
        sys.exit(EXIT_ERROR)
    except click.ClickException as exc:
        exc.show()
        sys.exit(EXIT_ERROR if exc.exit_code == 2 else exc.exit_code)


def _printable_lines(text: str) -> str:
    """Error text can quote Git servers and manifests: keep its lines, not its escapes."""
    from driftwatch.terminal import printable

    return "\n".join(printable(line) for line in text.split("\n"))
