"""Start the whole demo, serve it until Ctrl-C, and stop everything it started.

Order: moto server → seeded estate → Git repository → drifts → alert receivers →
config, admin user → first scan → dashboard and scheduler. Every piece is pushed on
one ExitStack, so Ctrl-C (or SIGTERM) at any step stops what was started so far.
"""

from __future__ import annotations

import logging
import os
import secrets
import shutil
import signal
import socket
import subprocess
import textwrap
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from rich.console import Console

from driftwatch.config import Config, load_config
from driftwatch.demo import INBOX_FILE, STATE_FILE, DemoState, require_loopback
from driftwatch.demo.drifts import introduce_drifts
from driftwatch.demo.estate import Aws, seed
from driftwatch.demo.inbox import Inbox, SmtpCatcher, WebhookSink
from driftwatch.demo.manifests import declared, manifests
from driftwatch.errors import DemoError
from driftwatch.motoserver import MotoServer, free_port

HOST = "127.0.0.1"
DATA_DIR = ".driftwatch"  # storage.data_dir's default beside driftwatch.db
ADMIN = "admin"
ALERT_TO = "ops@acme.example"
SCAN_EVERY = "1m"
# Credentials for the moto server only; real ones in the environment are set aside.
DEMO_ENV = {"AWS_ACCESS_KEY_ID": "demo", "AWS_SECRET_ACCESS_KEY": "demo"}
UNSET_ENV = ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN")
GIT_ENV = {
    "GIT_AUTHOR_NAME": "Acme Platform",
    "GIT_AUTHOR_EMAIL": "platform@acme.example",
    "GIT_COMMITTER_NAME": "Acme Platform",
    "GIT_COMMITTER_EMAIL": "platform@acme.example",
}


def missing_extra() -> str | None:
    """The first module of the `demo` extra that is not installed, if any."""
    from importlib.util import find_spec

    return next((m for m in ("moto", "flask_cors", "aiosmtpd") if find_spec(m) is None), None)


class Steps:
    """Numbered progress lines on the terminal."""

    def __init__(self, console: Console) -> None:
        self.console, self.n = console, 0

    def __call__(self, text: str) -> None:
        self.n += 1
        self.console.print(f"[bold]{self.n:>2}.[/] {text}")

    def detail(self, text: str) -> None:
        self.console.print(f"      {text}")


def isolate_env() -> None:
    """This process reaches moto only: fake credentials, no profile, no endpoint override."""
    for k in [*UNSET_ENV, *(k for k in os.environ if k.startswith("AWS_ENDPOINT_URL"))]:
        os.environ.pop(k, None)
    os.environ.update(DEMO_ENV)


def check_port_free(port: int) -> None:
    """Refuse a taken dashboard port before anything starts."""
    with socket.socket() as s:
        try:
            s.bind((HOST, port))
        except OSError as exc:
            raise DemoError(
                f"cannot serve the dashboard on {HOST}:{port} ({exc.strerror}); "
                "pass --port with a free port"
            ) from None


def prepare_workdir(workdir: Path, keep: bool) -> None:
    """A clean folder, or (--keep) the previous one with its database and history."""
    running = running_demo(workdir / DATA_DIR)
    if running is not None:
        raise DemoError(
            f"a demo is already running in {workdir} (pid {running}); stop it with Ctrl-C, "
            "or pass another --workdir"
        )
    if workdir.exists() and not keep:
        if (workdir / "infra").exists() or (workdir / "driftwatch.toml").exists():
            shutil.rmtree(workdir)
        elif any(workdir.iterdir()):
            raise DemoError(f"{workdir} is not empty and not a demo folder; pass another --workdir")
    (workdir / "infra").mkdir(parents=True, exist_ok=True)


def running_demo(data_dir: Path) -> int | None:
    """The pid of a demo running on this data directory, if any."""
    try:
        return DemoState.load(data_dir).pid
    except DemoError:
        return None


def commit_manifests(repo: Path, files: dict[str, str], message: str) -> bool:
    """Write the manifests and commit them; False when nothing changed (--keep)."""
    for rel, text in files.items():
        (repo / rel).parent.mkdir(parents=True, exist_ok=True)
        (repo / rel).write_text(text)
    if not (repo / ".git").exists():
        _git(repo, "init", "-q", "-b", "main")
    _git(repo, "add", "-A")
    if not _git(repo, "status", "--porcelain"):
        return False
    _git(repo, "commit", "-q", "-m", message)
    return True


def _git(repo: Path, *args: str) -> str:
    env = {**os.environ, **GIT_ENV}
    try:
        done = subprocess.run(
            ["git", *args], cwd=repo, check=True, env=env, capture_output=True, text=True
        )
    except FileNotFoundError:
        raise DemoError("the demo needs git; install it (e.g. apt-get install git)") from None
    except subprocess.CalledProcessError as exc:
        raise DemoError(f"git {args[0]} failed in {repo}: {exc.stderr.strip()}") from None
    return done.stdout.strip()


def config_text(endpoint: str, dashboard: str, smtp_port: int, sink_url: str) -> str:
    """The demo's driftwatch.toml: two accounts, two regions, alerts, a short schedule,
    and remediation switched on (off by default everywhere else)."""
    return textwrap.dedent(f"""
        # Written by `driftwatch demo`; see config.example.toml for every key.
        [demo]
        enabled = true   # the DEMO banner and the demo page (/demo)

        [remediation]
        enabled = true   # the Remediate button (off by default: docs/remediation.md)

        [git]
        url = "infra"
        branch = "main"
        path = "declared"

        [aws]
        endpoint_url = "{endpoint}"   # the demo's moto server; leave empty for real AWS
        regions = ["us-east-1", "eu-west-1"]

        [[aws.accounts]]
        name = "prod"        # the base credentials' account
        regions = ["us-east-1", "eu-west-1"]

        [[aws.accounts]]
        name = "staging"
        role_arn = "arn:aws:iam::222222222222:role/driftwatch-read"
        regions = ["eu-west-1"]

        [storage]
        path = "driftwatch.db"

        [scan]
        unmanaged = true

        [[schedules]]
        name = "demo"
        interval = "{SCAN_EVERY}"

        [dashboard]
        base_url = "{dashboard}"

        [alerts]
        backoff = "2s"
        max_backoff = "30s"

        [[alerts.channels]]
        name = "ops-email"
        type = "email"
        smtp_host = "{HOST}"
        smtp_port = {smtp_port}
        tls = "none"         # the local SMTP catcher; use starttls for a real server
        from = "driftwatch@acme.example"
        to = ["{ALERT_TO}"]

        [[alerts.channels]]
        name = "ops-webhook"
        type = "webhook"
        url = "{sink_url}"
        """).lstrip()


def add_admin(cfg: Config) -> str:
    """Create (or, with --keep, reset) the admin user; returns its one-time password."""
    from driftwatch.datadir import open_store
    from driftwatch.store import Actor
    from driftwatch.users import hash_password

    password = secrets.token_urlsafe(12)
    store = open_store(cfg)
    try:
        store.upsert_user(ADMIN, hash_password(password), "admin", Actor("demo"))
    finally:
        store.close()
    return password


def first_scan(cfg: Config) -> str:
    """Run the first scan in the foreground; one line saying what it found."""
    from driftwatch.datadir import open_store
    from driftwatch.scan import run_scan

    store = open_store(cfg)
    try:
        result = run_scan(cfg, store)
    finally:
        store.close()
    s = result.summary
    return (
        f"scan #{result.id} {result.status}: {s['modified']} modified, {s['missing']} missing, "
        f"{s['unmanaged']} unmanaged, {s['in_sync']} in sync ({result.duration_s:.1f} s)"
    )


def run_demo(workdir: Path, port: int, keep: bool, console: Console) -> None:
    """Run the demo until Ctrl-C or SIGTERM; everything it started is stopped on the way out."""
    workdir = workdir.resolve()
    check_port_free(port)
    prepare_workdir(workdir, keep)
    isolate_env()
    # Ctrl-C even when started with SIGINT ignored (a background job of a script).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _interrupt)
    step = Steps(console)
    try:
        with ExitStack() as stack:
            _start(stack, workdir, port, keep, step, console)
            console.print("\nstopping the dashboard, scheduler, alert receivers and moto server")
    except KeyboardInterrupt:  # while starting, or a second Ctrl-C; the stack has unwound
        console.print("\ninterrupted")
    console.print(f"demo stopped; its files are in {workdir} (`--keep` reuses them)")


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def _start(
    stack: ExitStack, workdir: Path, port: int, keep: bool, step: Steps, console: Console
) -> None:
    moto = stack.enter_context(MotoServer(log_path=None))
    aws = Aws(require_loopback(moto.url))
    step(f"moto server (a local stand-in for AWS) on {moto.url}")
    files = manifests(seed(aws))
    types = declared(files)
    step(
        f"seeded the estate: {len(types)} resources of {len(set(types))} types in 2 accounts "
        "(prod, staging) and 2 regions"
    )
    message = "Declare the estate's new ids (seeded again)" if keep else "Declare the estate"
    changed = commit_manifests(workdir / "infra", files, message)
    step(f"manifests {'committed' if changed else 'unchanged'} in {workdir / 'infra'} (Git)")
    made = introduce_drifts(aws)
    step(f"made {len(made)} drifts by hand:")
    for d in made:
        step.detail(d.line())
    dashboard = f"http://{HOST}:{port}"
    inbox = Inbox(workdir / DATA_DIR / INBOX_FILE)
    (workdir / DATA_DIR).mkdir(exist_ok=True)
    smtp = SmtpCatcher(inbox, free_port()).start()
    stack.callback(smtp.stop)
    sink = WebhookSink(inbox, 0).start()
    stack.callback(sink.stop)
    step(f"alerts: email to {ALERT_TO} via an SMTP catcher on {HOST}:{smtp.port}")
    step.detail(f"and a webhook sink on {sink.url}; both shown at {dashboard}/demo")
    cfg_path = workdir / "driftwatch.toml"
    cfg_path.write_text(config_text(moto.url, dashboard, smtp.port, sink.url))
    cfg = _load(cfg_path)
    password = add_admin(cfg)
    step(f"dashboard user [bold]{ADMIN}[/], one-time password [bold]{password}[/]")
    step(first_scan(cfg))
    server = _serve(
        stack, cfg, port, DemoState(os.getpid(), moto.url, dashboard, smtp.port, sink.url)
    )
    console.print(
        f"\n[bold]driftwatch demo[/] on [bold]{dashboard}[/] — log in as {ADMIN} / {password}\n"
        f"scans every {SCAN_EVERY}; make another drift with `driftwatch demo --drift` "
        "or the banner's button. Ctrl-C stops everything."
    )
    server.run()


def _load(cfg_path: Path) -> Config:
    from driftwatch.datadir import prepare_data_dir
    from driftwatch.logs import log_to_file

    cfg = load_config(cfg_path)
    prepare_data_dir(cfg)
    log_to_file(cfg.storage.log_path)
    quiet_libraries()
    return cfg


def quiet_libraries() -> None:
    """Library warnings (APScheduler skipping a run while a scan is busy, waitress' queue
    depth) go to the demo's log file with driftwatch's, not onto its terminal."""
    handlers = logging.getLogger("driftwatch").handlers
    for name in ("apscheduler", "waitress"):
        lib = logging.getLogger(name)
        lib.handlers[:] = handlers
        lib.propagate = False


def _serve(stack: ExitStack, cfg: Config, port: int, state: DemoState) -> Any:
    """The dashboard (waitress) and the scheduler; the state file says where they are."""
    import waitress

    from driftwatch.datadir import open_store
    from driftwatch.scheduler import start_in_thread
    from driftwatch.web import create_app

    server = waitress.create_server(create_app(cfg), host=HOST, port=port, threads=8)
    stack.callback(server.close)
    sched, thread = start_in_thread(cfg, lambda: open_store(cfg))
    stack.callback(thread.join, 30)
    stack.callback(sched.stop)
    data_dir = cfg.storage.data_dir
    state.save(data_dir)
    stack.callback(lambda: (data_dir / STATE_FILE).unlink(missing_ok=True))
    return server
