"""Git failures and credentials through the real CLI, against real repositories and servers."""

from __future__ import annotations

import os
import subprocess
import urllib.parse
from pathlib import Path

import pytest
from support.env import Aws, ManifestRepo, run_cli, scan, write_config
from support.gitserver import AuthGitServer, argv_recording_git

from driftwatch.store import Store

NO_UNMANAGED = "[scan]\nunmanaged = false\n"
TOKEN = "s3cr3t/T0k@n"  # needs percent-encoding in a URL; git must get it decoded


@pytest.fixture
def server(tmp_path: Path):
    srv = AuthGitServer(tmp_path / "served", "x-access-token", TOKEN)
    (tmp_path / "served").mkdir()
    srv.start()
    yield srv
    srv.stop()


def _bucket_repo(aws: Aws, repo: ManifestRepo) -> str:
    aws.client("s3").create_bucket(Bucket="logs")
    return repo.declare({"type": "aws_s3_bucket", "id": "logs", "spec": {"versioning": "Enabled"}})


def _with_token(url: str, token: str) -> str:
    return url.replace("://", f"://x-access-token:{urllib.parse.quote(token, safe='')}@")


def test_a_token_in_the_url_is_never_on_a_command_line(
    aws: Aws, repo: ManifestRepo, tmp_path: Path, server: AuthGitServer
) -> None:
    sha = _bucket_repo(aws, repo)
    url = _with_token(server.publish(repo.path, "infra.git"), TOKEN)
    log = tmp_path / "git-argv.log"
    bin_dir = argv_recording_git(tmp_path / "bin", log)
    env = {"PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    cfg = write_config(tmp_path, aws.url, url, extra=NO_UNMANAGED)

    run = run_cli("scan", "--config", str(cfg), "--format", "json", env=env)
    assert run.code == 2, run.stderr  # fetched with the token (versioning drift found)
    assert run.doc["scan"]["commit"] == sha
    assert server.unauthorized > 0  # the server did demand the credentials
    calls = log.read_text()
    assert "fetch" in calls  # the wrapper saw git's command lines...
    quoted = urllib.parse.quote(TOKEN, safe="")
    assert TOKEN not in calls and quoted not in calls, calls  # ...and never the token
    for f in (tmp_path / "state").rglob("*"):
        if f.is_file():
            assert quoted.encode() not in f.read_bytes() and TOKEN.encode() not in f.read_bytes()

    cfg.write_text(cfg.read_text().replace(quoted, "wrong-token"))
    bad = run_cli("scan", "--config", str(cfg), env=env)
    assert bad.code == 1
    assert "fatal: Authentication failed for 'http://127.0.0.1:" in bad.stderr, bad.stderr
    assert "wrong-token" not in bad.stderr + log.read_text()


def test_an_unreachable_remote_reports_the_fatal_line(tmp_path: Path, aws: Aws) -> None:
    cfg = write_config(tmp_path, aws.url, tmp_path / "moved-away.git")
    run = run_cli("scan", "--config", str(cfg))
    assert run.code == 1
    assert "cannot fetch branch 'main' from " in run.stderr
    assert "fatal: '" in run.stderr and "does not appear to be a git repository" in run.stderr
    assert "and the repository exists" not in run.stderr
    assert 'on_fetch_error = "use_last"' in run.stderr  # says how to get by meanwhile


def test_git_output_reaches_the_terminal_without_escapes(tmp_path: Path, aws: Aws) -> None:
    repo = ManifestRepo(tmp_path / "infra")
    repo.declare()
    cfg = write_config(tmp_path, aws.url, repo.path)
    cfg.write_text(cfg.read_text().replace('branch = "main"', 'branch = "ma\\u001b]0;x\\u0007in"'))
    run = run_cli("scan", "--config", str(cfg))
    assert run.code == 1 and "cannot fetch branch" in run.stderr, run.stderr
    assert "\x1b" not in run.stderr and "\x07" not in run.stderr


def test_use_last_scans_the_last_fetched_commit_and_says_so(
    aws: Aws, repo: ManifestRepo, tmp_path: Path
) -> None:
    sha = _bucket_repo(aws, repo)
    remote = tmp_path / "remote.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(repo.path), str(remote)], check=True)
    cfg = write_config(tmp_path, aws.url, f"file://{remote}", extra=NO_UNMANAGED)
    first = scan(cfg)
    assert first.code == 2 and first.doc["scan"]["stale_source"] is None

    remote.rename(tmp_path / "gone.git")  # the remote becomes unreachable
    failed = scan(cfg)
    assert failed.code == 1 and failed.stdout == ""
    assert "fatal:" in failed.stderr

    cfg.write_text(
        cfg.read_text().replace('branch = "main"', 'branch = "main"\non_fetch_error = "use_last"')
    )
    stale = scan(cfg)
    assert stale.code == 2, stale.stderr
    assert stale.doc["scan"]["commit"] == sha
    reason = stale.doc["scan"]["stale_source"]
    assert reason.startswith("cannot fetch branch 'main' from file://") and "fatal:" in reason
    assert stale.drift("aws_s3_bucket", "logs")["kind"] == "modified"
    stored = Store(tmp_path / "state" / "driftwatch.db").scan(stale.doc["scan"]["id"])
    assert stored is not None and stored["stale_source"] == reason  # for the dashboard
    table = run_cli("scan", "--config", str(cfg))
    assert "stale source: cannot fetch branch 'main'" in table.stdout
    assert f"last fetched commit {sha[:12]}" in table.stdout


def test_use_last_never_scans_without_a_previous_fetch(
    aws: Aws, repo: ManifestRepo, tmp_path: Path
) -> None:
    _bucket_repo(aws, repo)
    cfg = write_config(tmp_path, aws.url, tmp_path / "nowhere.git", extra=NO_UNMANAGED)
    cfg.write_text(
        cfg.read_text().replace('branch = "main"', 'branch = "main"\non_fetch_error = "use_last"')
    )
    run = scan(cfg)
    assert run.code == 1 and run.stdout == ""
    assert "was never fetched into this data directory" in run.stderr
