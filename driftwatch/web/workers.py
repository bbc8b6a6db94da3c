"""`driftwatch serve --workers N`: the web app in N gunicorn worker processes.

One waitress process serves every request with threads that share one GIL: under 20
concurrent clients its requests queue behind each other's CPU time. With N > 1 (the
default on Linux and macOS: one per CPU) `serve` starts gunicorn as a child process
(an arbiter and N forked workers on `workers_app()`), and keeps the scheduler in its own
process, in a thread as before: the workers never start one (DESIGN.md rule 7), so the
deployment has exactly one scheduler, which the leader lease guards as ever.

    driftwatch serve (scheduler thread)
      └─ gunicorn arbiter ─┬─ worker 1 (create_app, preloaded before the fork)
                           └─ worker N

Where gunicorn cannot run (no fork, e.g. Windows) or N is 1, `serve` uses waitress
in-process.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterable
from typing import Any

from driftwatch.errors import DriftwatchError

APP_SPEC = "driftwatch.web.workers:workers_app()"
PROXY_ENV = "DRIFTWATCH_TRUSTED_PROXY"
GRACEFUL_S = 10
_FORWARDED = ("HTTP_X_FORWARDED_FOR", "HTTP_X_FORWARDED_PROTO", "HTTP_X_FORWARDED_HOST")
_PR_SET_PDEATHSIG = 1

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def can_fork_workers() -> bool:
    """True where gunicorn runs: a platform with fork, and gunicorn installed."""
    if not hasattr(os, "fork"):
        return False
    try:
        import gunicorn  # noqa: F401
    except ImportError:
        return False
    return True


def default_workers() -> int:
    """One worker per CPU where workers can be forked, else 1 (waitress in-process)."""
    return (os.cpu_count() or 1) if can_fork_workers() else 1


def bind_address(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def gunicorn_command(
    host: str, port: int, workers: int, threads: int, trusted_proxy: str | None
) -> list[str]:
    """The gunicorn child's command line: gthread workers (keep-alive connections stay
    with a worker's threads), the app loaded once in the arbiter before the fork (the
    schema is migrated and the session key made once, not raced by N workers)."""
    return [
        sys.executable,
        "-m",
        "gunicorn",
        "--bind", bind_address(host, port),
        "--workers", str(workers),
        "--worker-class", "gthread",
        "--threads", str(threads),
        "--preload",
        "--graceful-timeout", str(GRACEFUL_S),
        # X-Forwarded-Proto is believed from the trusted proxy only (gunicorn's default
        # trusts loopback); TrustedProxy below handles X-Forwarded-For the same way.
        "--forwarded-allow-ips", trusted_proxy or "192.0.2.1",
        "--name", "driftwatch",
        *_no_control_socket(),
        APP_SPEC,
    ]  # fmt: skip


def _no_control_socket() -> list[str]:
    """gunicorn 24+ opens a control socket at one fixed path per user, which a second
    `serve` on the machine would fight over; driftwatch does not use it."""
    from gunicorn.config import KNOWN_SETTINGS

    return ["--no-control-socket"] if "--no-control-socket" in _cli_flags(KNOWN_SETTINGS) else []


def _cli_flags(settings: list[Any]) -> set[str]:
    return {flag for s in settings for flag in (getattr(s, "cli", None) or [])}


class TrustedProxy:
    """X-Forwarded-For and -Proto believed from one proxy address (as waitress's
    trusted_proxy does), and removed from any other caller's request."""

    def __init__(self, app: WSGIApp, proxy: str) -> None:
        from werkzeug.middleware.proxy_fix import ProxyFix

        self.app, self.proxy = app, proxy
        self.fixed = ProxyFix(app, x_for=1, x_proto=1)

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        if environ.get("REMOTE_ADDR") == self.proxy:
            return self.fixed(environ, start_response)
        for key in _FORWARDED:
            environ.pop(key, None)
        return self.app(environ, start_response)


def workers_app() -> WSGIApp:
    """gunicorn's entry point: create_app() for $DRIFTWATCH_CONFIG, behind TrustedProxy
    when $DRIFTWATCH_TRUSTED_PROXY names the proxy."""
    from driftwatch.config import load_config
    from driftwatch.logs import log_to_file
    from driftwatch.web import create_app

    cfg = load_config()
    log_to_file(cfg.storage.log_path)
    app: WSGIApp = create_app(cfg)
    proxy = os.environ.get(PROXY_ENV)
    return TrustedProxy(app, proxy) if proxy else app


def _die_with_parent() -> Callable[[], None] | None:
    """For the child before exec (Linux): SIGTERM when `serve` dies, even by SIGKILL, so
    no orphaned arbiter keeps the port. Looked up here, in the parent: the child must not
    import anything between fork and exec (another thread may hold the import lock)."""
    if not sys.platform.startswith("linux"):
        return None
    import ctypes

    prctl = ctypes.CDLL(None, use_errno=True).prctl
    return lambda: prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def run_gunicorn(
    cmd: list[str],
    config_path: str | None,
    trusted_proxy: str | None,
    start_scheduler: Callable[[], Callable[[], None]] | None,
) -> int:
    """Run the gunicorn child until it exits, and the scheduler (when given) beside it in
    this process; SIGTERM and SIGINT are passed on to the child. Returns its exit status.

    The child is started first: it forks before this process has a second thread.
    """
    env = dict(os.environ)
    if config_path:
        env["DRIFTWATCH_CONFIG"] = os.path.abspath(config_path)
    env.pop(PROXY_ENV, None)
    if trusted_proxy:
        env[PROXY_ENV] = trusted_proxy
    try:
        proc = subprocess.Popen(cmd, env=env, preexec_fn=_die_with_parent())
    except OSError as exc:
        raise DriftwatchError(f"could not start gunicorn: {exc}") from exc

    def forward(signum: int, _frame: Any) -> None:
        proc.send_signal(signum)

    previous = {s: signal.signal(s, forward) for s in (signal.SIGTERM, signal.SIGINT)}
    stop_scheduler = None
    try:
        stop_scheduler = start_scheduler() if start_scheduler else None
        return proc.wait()
    finally:
        if proc.poll() is None:
            proc.terminate()
            proc.wait()
        if stop_scheduler is not None:
            stop_scheduler()
        for s, handler in previous.items():
            signal.signal(s, handler)
