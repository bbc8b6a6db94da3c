"""Trigger a pipeline: the planned body and argv, a signed webhook to a local server, commands."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import os
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import orjson
import pytest
from support.env import write_config
from support.receiver import receiver

from driftwatch.config import Pipeline, load_config
from driftwatch.remediation.pipeline import (
    TAIL_BYTES,
    plan_pipeline,
    prepare_pipeline,
    run_pipeline,
)
from driftwatch.remediation.subject import RemediationError

SECRET = "pipeline-hmac-secret-42"
DRIFT: dict[str, Any] = {
    "fingerprint": "0f1e2d3c4b5a69788796a5b4c3d2e1f0",
    "type": "aws_security_group",
    "account": "prod",
    "region": "eu-west-1",
    "resource_id": "sg-0123456789abcdef0",
    "kind": "modified",
    "status": "open",
    "severity": "high",
    "source": "declared/net.yaml",
    "changes": [{"path": 'ingress["tcp 22-22 0.0.0.0/0"]', "declared": None, "live": {}}],
}


def webhook(url: str, timeout: float = 5.0, secret: str | None = SECRET) -> Pipeline:
    return Pipeline("ci", url=url, secret=secret, timeout=dt.timedelta(seconds=timeout))


def command(*argv: str, timeout: float = 10.0, secret: str | None = None) -> Pipeline:
    return Pipeline("cmd", command=argv, secret=secret, timeout=dt.timedelta(seconds=timeout))


def python(code: str) -> tuple[str, str]:
    return sys.executable, "-c" + textwrap.dedent(code)


def test_plan_names_the_drift_and_shows_no_secret() -> None:
    pipe = Pipeline("ci", url="https://bot:tok3n@ci.example/hook", secret=SECRET)
    plan = plan_pipeline(pipe, DRIFT, base_url="https://dw.example")
    body = orjson.loads(plan.body)
    assert body["event"] == "driftwatch.remediation.pipeline"
    assert body["drift"]["drift_id"] == DRIFT["fingerprint"]
    assert body["drift"]["resource_id"] == "sg-0123456789abcdef0"
    assert body["drift"]["changes"] == DRIFT["changes"]
    assert body["drift"]["link"] == f"https://dw.example/drifts/{DRIFT['fingerprint']}"
    shown = orjson.dumps(plan.shown()).decode()
    assert SECRET not in shown and "tok3n" not in shown
    assert plan.shown()["url"] == "https://***@ci.example/hook"
    assert plan.shown()["signed"] is True
    assert plan_pipeline(pipe, DRIFT).shown()["body"]["drift"]["link"] is None


def test_plan_fills_argv_placeholders_and_refuses_unknown_ones() -> None:
    pipe = command("ci", "run", "--drift={drift_id}", "{type}/{account}/{region}/{resource_id}")
    plan = plan_pipeline(pipe, DRIFT)
    assert plan.argv == (
        "ci",
        "run",
        f"--drift={DRIFT['fingerprint']}",
        "aws_security_group/prod/eu-west-1/sg-0123456789abcdef0",
    )
    assert plan.shown()["argv"] == list(plan.argv)
    with pytest.raises(RemediationError, match=r"unknown placeholder \{password\}"):
        plan_pipeline(command("ci", "{password}"), DRIFT)


def test_webhook_is_signed_and_recorded() -> None:
    with receiver() as rec:
        result = run_pipeline(plan_pipeline(webhook(rec.url), DRIFT))
    assert result.ok and result.status == 200 and result.error is None
    assert result.output == "ok"
    (req,) = rec.requests
    headers = {k.lower(): v for k, v in req["headers"].items()}
    timestamp = headers["x-driftwatch-timestamp"]
    assert abs(int(timestamp) - time.time()) < 60
    mac = hmac.new(SECRET.encode(), timestamp.encode() + b"." + req["body"], hashlib.sha256)
    assert headers["x-driftwatch-signature"] == "sha256=" + mac.hexdigest()
    assert req["json"]["drift"]["drift_id"] == DRIFT["fingerprint"]


def test_webhook_failing_status_is_a_failure() -> None:
    with receiver() as rec:
        rec.answer((503, {}))
        result = run_pipeline(plan_pipeline(webhook(rec.url), DRIFT))
    assert not result.ok and result.status == 503 and result.output == "ok"
    assert result.error is not None and "HTTP 503" in result.error


def test_webhook_timeout_is_bounded() -> None:
    with receiver() as rec:
        rec.holds = 1  # accepts the request, then answers only after the test is done
        started = time.monotonic()
        result = run_pipeline(plan_pipeline(webhook(rec.url, timeout=0.5), DRIFT))
        elapsed = time.monotonic() - started
    assert not result.ok and result.status is None
    assert result.error is not None and "timed out" in result.error
    assert elapsed < 5


def test_webhook_connection_refused() -> None:
    with receiver() as rec:
        url = rec.url
    result = run_pipeline(plan_pipeline(webhook(url), DRIFT))
    assert not result.ok and result.error is not None and "cannot connect" in result.error


def test_command_succeeds_with_the_drift_on_stdin() -> None:
    argv = python("""
        import json, sys
        drift = json.load(sys.stdin)["drift"]
        print("applying", drift["resource_id"], "for", sys.argv[1])
    """)
    result = run_pipeline(plan_pipeline(command(*argv, "{drift_id}"), DRIFT))
    assert result.ok and result.exit_code == 0 and result.error is None
    assert result.output == f"applying sg-0123456789abcdef0 for {DRIFT['fingerprint']}\n"


def test_command_failure_records_exit_code_and_stderr() -> None:
    argv = python("import sys; print('plan failed', file=sys.stderr); sys.exit(3)")
    result = run_pipeline(plan_pipeline(command(*argv), DRIFT))
    assert not result.ok and result.exit_code == 3
    assert result.output == "plan failed\n"
    assert result.error == "exited with status 3"


def test_command_timeout_kills_the_process_group() -> None:
    argv = python("""
        import subprocess, sys, time
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
        print(child.pid, flush=True)
        time.sleep(60)
    """)
    started = time.monotonic()
    result = run_pipeline(plan_pipeline(command(*argv, timeout=1.0), DRIFT))
    assert time.monotonic() - started < 8
    assert not result.ok and result.exit_code == -9
    assert result.error is not None and "timed out after 1 s" in result.error
    grandchild = int(result.output.split()[0])
    deadline = time.monotonic() + 5
    while _alive(grandchild) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(grandchild)


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"  # a zombie is dead
    except FileNotFoundError:
        return False


def test_command_output_is_a_bounded_tail_with_the_secret_masked() -> None:
    argv = python(f"""
        import sys
        sys.stdout.write("x" * 200_000)
        print("token {SECRET} END")
    """)
    result = run_pipeline(plan_pipeline(command(*argv, secret=SECRET), DRIFT))
    assert result.ok
    assert len(result.output.encode()) <= TAIL_BYTES
    assert result.output.endswith("token *** END\n")
    assert SECRET not in str(result.to_dict())


def test_command_not_found() -> None:
    missing = os.path.join(os.sep, "nonexistent", "ci-trigger")
    result = run_pipeline(plan_pipeline(command(missing), DRIFT))
    assert not result.ok and result.exit_code is None
    assert result.error is not None and "cannot run" in result.error


def test_prepare_from_config_plans_and_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DRIFTWATCH_TEST_PIPE_SECRET", SECRET)
    with receiver() as rec:
        extra = f"""
            [dashboard]
            base_url = "https://dw.example"
            [[remediation.pipelines]]
            name = "ci"
            url = "{rec.url}"
            secret_env = "DRIFTWATCH_TEST_PIPE_SECRET"
            timeout = "5s"
            [[remediation.pipelines]]
            name = "apply"
            command = ["{sys.executable}", "-c", "import sys; print(sys.argv[1])",
                       "{{resource_id}}"]
            """
        cfg = load_config(write_config(tmp_path, "http://127.0.0.1:9", tmp_path, extra=extra))
        key = bytes(32)
        hook = prepare_pipeline(cfg, key, DRIFT, "ci")
        assert hook.summary.startswith(f"POST the drift to pipeline 'ci' ({rec.url})")
        assert hook.body["request"]["body"]["drift"]["link"].startswith("https://dw.example/")
        assert SECRET not in json.dumps(hook.body)
        sent = hook.run()
        assert sent.status == "succeeded" and sent.result["status"] == 200 and not sent.resolve
        assert rec.requests[0]["json"]["drift"]["drift_id"] == DRIFT["fingerprint"]
    cmd = prepare_pipeline(cfg, key, DRIFT, "apply")
    assert cmd.body["request"]["argv"][-1] == "sg-0123456789abcdef0"
    ran = cmd.run()
    assert ran.status == "succeeded" and ran.result["output"] == "sg-0123456789abcdef0\n"
    assert ran.result["summary"] == "pipeline 'apply': exit status 0"
    # The plan digest moves with what would be sent, not with time.
    assert prepare_pipeline(cfg, key, DRIFT, "apply").plan_hash == cmd.plan_hash
    with pytest.raises(
        RemediationError, match="name the pipeline to trigger; configured: ci, apply"
    ):
        prepare_pipeline(cfg, key, DRIFT, None)
    with pytest.raises(RemediationError, match="no pipeline named 'deploy'"):
        prepare_pipeline(cfg, key, DRIFT, "deploy")


def test_command_environment_has_no_driftwatch_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DRIFTWATCH_SMTP_PASSWORD", "smtp-pw")
    monkeypatch.setenv("CI_HOOK_KEY", SECRET)
    monkeypatch.setenv("DRIFTWATCH_CONFIG", "/etc/driftwatch.toml")
    monkeypatch.setenv("TF_VAR_region", "eu-west-1")
    argv = python("import os; print(' '.join(sorted(os.environ)))")
    result = run_pipeline(plan_pipeline(command(*argv, secret=SECRET), DRIFT))
    names = set(result.output.split())
    assert {"DRIFTWATCH_CONFIG", "TF_VAR_region", "PATH"} <= names
    assert not names & {"DRIFTWATCH_SMTP_PASSWORD", "CI_HOOK_KEY"}
