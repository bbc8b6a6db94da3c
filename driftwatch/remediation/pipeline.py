"""Trigger a pipeline: a signed webhook POST or a command (argv, no shell), with a timeout.

`plan_pipeline()` is pure: the JSON body describing the drift, or the argv with its
placeholders filled; `PipelinePlan.shown()` is safe to store and show.
`run_pipeline()` sends or runs it and records the HTTP status or exit code and
the tail of the output (at most 4 KB, the pipeline's secret masked).
"""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import signal
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO, Any

import orjson

from driftwatch.alerts import drift_link
from driftwatch.config import Config, Pipeline
from driftwatch.declared.git import redact
from driftwatch.notifiers.base import USER_AGENT
from driftwatch.notifiers.webhook import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign
from driftwatch.remediation.model import FAILED, SUCCEEDED, Outcome, Prepared
from driftwatch.remediation.subject import RemediationError, keyed_hash

TAIL_BYTES = 4096
EVENT = "driftwatch.remediation.pipeline"
EVENT_HEADER = "X-Driftwatch-Event"
# What a command's argv may name, e.g. ["ci", "trigger", "--drift", "{drift_id}"].
PLACEHOLDERS = ("drift_id", "type", "account", "region", "resource_id", "kind", "link")
_PLACEHOLDER = re.compile(r"\{([A-Za-z_]+)\}")
_KILL_WAIT = 5.0  # after SIGKILL, how long to wait for the pipes to close


@dataclass(frozen=True)
class PipelinePlan:
    """What triggering a pipeline sends: the body (webhook POST, or a command's stdin), the argv."""

    pipeline: Pipeline
    body: bytes
    argv: tuple[str, ...] = ()

    @property
    def kind(self) -> str:
        return "webhook" if self.pipeline.url else "command"

    def shown(self) -> dict[str, Any]:
        """The plan as stored and shown: no secret, the URL without credentials."""
        out: dict[str, Any] = {
            "pipeline": self.pipeline.name,
            "kind": self.kind,
            "timeout_s": self.pipeline.timeout.total_seconds(),
            "body": orjson.loads(self.body),
        }
        if self.pipeline.url:
            out["url"] = redact(self.pipeline.url)
            out["signed"] = bool(self.pipeline.secret)
        else:
            out["argv"] = list(self.argv)
        return out


@dataclass(frozen=True)
class PipelineResult:
    """How a trigger went: HTTP status or exit code, the output's tail, and any error."""

    pipeline: str
    kind: str
    ok: bool
    status: int | None = None  # webhook: HTTP status
    exit_code: int | None = None  # command: exit status (negative: killed by that signal)
    output: str = ""  # the last TAIL_BYTES of the response body or of stdout+stderr
    error: str | None = None  # timeout, connection error, command not found
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "pipeline": self.pipeline,
            "kind": self.kind,
            "ok": self.ok,
            "status": self.status,
            "exit_code": self.exit_code,
            "output": self.output,
            "error": self.error,
            "seconds": round(self.seconds, 3),
        }


def plan_pipeline(
    pipeline: Pipeline, drift: dict[str, Any], *, base_url: str | None = None
) -> PipelinePlan:
    """The request or command for one drift (a stored drift row; its changes are masked)."""
    facts = _facts(drift, base_url)
    body = orjson.dumps(
        {"event": EVENT, "pipeline": pipeline.name, "drift": facts}, option=orjson.OPT_SORT_KEYS
    )
    argv = tuple(_fill(arg, facts, pipeline.name) for arg in pipeline.command)
    return PipelinePlan(pipeline, body, argv)


def _facts(drift: dict[str, Any], base_url: str | None) -> dict[str, Any]:
    drift_id = drift["fingerprint"]
    return {
        "drift_id": drift_id,
        "type": drift["type"],
        "account": drift["account"],
        "region": drift["region"],
        "resource_id": drift["resource_id"],
        "kind": drift["kind"],
        "severity": drift.get("severity"),
        "source": drift.get("source"),
        "changes": drift.get("changes") or [],
        "link": drift_link(base_url, drift_id),
    }


def _fill(arg: str, facts: dict[str, Any], name: str) -> str:
    def one(match: re.Match[str]) -> str:
        key = match.group(1)
        if key not in PLACEHOLDERS:
            raise RemediationError(
                f"pipeline {name!r}: unknown placeholder {{{key}}} in command; "
                f"known: {', '.join('{' + p + '}' for p in PLACEHOLDERS)}",
                status=400,
            )
        return str(facts[key] or "")

    return _PLACEHOLDER.sub(one, arg)


def run_pipeline(plan: PipelinePlan) -> PipelineResult:
    """POST the webhook or run the command, within the pipeline's timeout."""
    started = time.monotonic()
    run = _post if plan.pipeline.url else _run
    result = run(plan)
    return PipelineResult(**{**result, "seconds": time.monotonic() - started})


def _post(plan: PipelinePlan) -> dict[str, Any]:
    """A JSON POST signed like the webhook alert channel: sha256=HMAC(secret, ts + "." + body)."""
    p = plan.pipeline
    assert p.url is not None
    timestamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        EVENT_HEADER: EVENT,
        TIMESTAMP_HEADER: timestamp,
    }
    if p.secret:
        headers[SIGNATURE_HEADER] = sign(p.secret, timestamp, plan.body)
    req = urllib.request.Request(p.url, data=plan.body, method="POST", headers=headers)
    base: dict[str, Any] = {"pipeline": p.name, "kind": "webhook", "ok": False}
    deadline = time.monotonic() + p.timeout.total_seconds()
    try:
        with urllib.request.urlopen(req, timeout=p.timeout.total_seconds()) as resp:
            status, text = resp.status, _read_tail(resp, deadline)
    except urllib.error.HTTPError as exc:
        status, text = exc.code, _read_tail(exc, deadline)
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        what = "timed out" if isinstance(reason, TimeoutError) else f"cannot connect: {reason}"
        return {**base, "error": f"POST {redact(p.url)}: {what}"}
    ok = 200 <= status < 300
    error = None if ok else f"POST {redact(p.url)}: HTTP {status}"
    return {**base, "ok": ok, "status": status, "output": _mask(text, p.secret), "error": error}


def _read_tail(resp: IO[bytes], deadline: float) -> str:
    """The answer's last TAIL_BYTES; an answer still streaming at the deadline is cut there."""
    tail = b""
    while time.monotonic() < deadline and (chunk := resp.read1(65536)):  # type: ignore[attr-defined]
        tail = (tail + chunk)[-TAIL_BYTES:]
    return _decode_tail(tail)


def _run(plan: PipelinePlan) -> dict[str, Any]:
    """The command in its own process group, stdin the JSON body; on timeout the group is killed."""
    p = plan.pipeline
    base: dict[str, Any] = {"pipeline": p.name, "kind": "command", "ok": False}
    try:
        proc = subprocess.Popen(
            plan.argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: a timeout kills its children too
            env=_command_env(p.secret),
        )
    except OSError as exc:
        return {**base, "error": f"cannot run {plan.argv[0]!r}: {exc.strerror or exc}"}
    stdin, stdout = proc.stdin, proc.stdout
    assert stdin is not None and stdout is not None
    tail = _Tail(stdout)
    _background(lambda: _feed(stdin, plan.body))
    try:
        code = proc.wait(timeout=p.timeout.total_seconds())
        error = None if code == 0 else f"exited with status {code}"
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        code = proc.wait()
        error = f"timed out after {p.timeout.total_seconds():g} s: killed"
    tail.thread.join(_KILL_WAIT)
    output = _mask(_decode_tail(tail.data), p.secret)
    return {**base, "ok": error is None, "exit_code": code, "output": output, "error": error}


def _command_env(secret: str | None) -> dict[str, str]:
    """driftwatch's environment without its secrets.

    Config secrets come from `DRIFTWATCH_*` variables (`${DRIFTWATCH_...}` references)
    or from variables named by `*_env` keys: the former are dropped by name (except
    DRIFTWATCH_CONFIG, so the command may run driftwatch), the pipeline's key by value.
    """
    return {
        k: v
        for k, v in os.environ.items()
        if not (k.startswith("DRIFTWATCH_") and k != "DRIFTWATCH_CONFIG")
        and not (secret and v == secret)
    }


class _Tail:
    """Reads a pipe to its end in a thread, keeping only the last TAIL_BYTES."""

    def __init__(self, pipe: IO[bytes]) -> None:
        self.data = b""
        self.thread = _background(lambda: self._read(pipe))

    def _read(self, pipe: IO[bytes]) -> None:
        with pipe:
            while chunk := pipe.read1(65536):  # type: ignore[attr-defined]
                self.data = (self.data + chunk)[-TAIL_BYTES:]


def _background(fn: Callable[[], None]) -> threading.Thread:
    thread = threading.Thread(target=fn, daemon=True)
    thread.start()
    return thread


def _feed(pipe: IO[bytes], body: bytes) -> None:
    """Write the body to the command's stdin; a command that does not read it is fine."""
    try:
        with pipe:
            pipe.write(body)
    except (BrokenPipeError, OSError):
        pass  # the command exited or closed stdin without reading the drift: its choice


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):  # it ended between the timeout and now
        os.killpg(proc.pid, signal.SIGKILL)


def _decode_tail(data: bytes) -> str:
    """The tail as text; a multi-byte character cut at the start is dropped."""
    return data.decode("utf-8", "replace").lstrip("\ufffd")


def _mask(text: str, secret: str | None) -> str:
    return text.replace(secret, "***") if secret else text


# ---------------------------------------------------------------------------- the mode


def prepare_pipeline(
    cfg: Config, secret_key: bytes, drift: dict[str, Any], name: str | None
) -> Prepared:
    """Mode 3: the request or command for one drift; run() sends or runs it and records how."""
    pipeline = _pipeline(cfg, name)
    plan = plan_pipeline(pipeline, drift, base_url=cfg.dashboard.base_url)
    shown = plan.shown()
    if pipeline.url:
        said = f"POST the drift to pipeline {pipeline.name!r} ({shown['url']})"
    else:
        said = f"run pipeline {pipeline.name!r}: {shlex.join(plan.argv)}"
    return Prepared(
        summary=said + f", timeout {pipeline.timeout.total_seconds():g} s",
        body={"request": shown, "pipeline": pipeline.name},
        plan_hash=keyed_hash(secret_key, shown),
        live_hash=keyed_hash(secret_key, drift.get("changes")),  # as the last scan saw it
        run=lambda: _outcome(run_pipeline(plan)),
    )


def _pipeline(cfg: Config, name: str | None) -> Pipeline:
    pipes = cfg.remediation.pipelines
    names = ", ".join(p.name for p in pipes)
    if not pipes:
        raise RemediationError(
            "no pipeline is configured: add a [[remediation.pipelines]] entry", status=400
        )
    if name is None:
        if len(pipes) == 1:
            return pipes[0]
        raise RemediationError(f"name the pipeline to trigger; configured: {names}", status=400)
    found = cfg.remediation.pipeline(name)
    if found is None:
        raise RemediationError(f"no pipeline named {name!r}; configured: {names}", status=400)
    return found


def _outcome(result: PipelineResult) -> Outcome:
    if result.kind == "webhook":
        said = f"HTTP {result.status}" if result.status is not None else str(result.error)
    else:
        said = f"exit status {result.exit_code}" if result.error is None else str(result.error)
    summary = f"pipeline {result.pipeline!r}: {said}"
    return Outcome(SUCCEEDED if result.ok else FAILED, {**result.to_dict(), "summary": summary})
