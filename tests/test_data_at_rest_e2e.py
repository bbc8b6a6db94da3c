"""Files at rest after real scans: a private data directory, private files, no secrets cached."""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from support import seed_lambda
from support.env import Aws, ManifestRepo, scan, write_config
from support.seed_lambda import SECRET, STAGE

from driftwatch.store import Store

NO_UNMANAGED = "[scan]\nunmanaged = false\n"


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def loose_umask() -> Iterator[None]:
    """The common 022 umask, under which default modes would be world-readable."""
    old = os.umask(0o022)
    yield
    os.umask(old)


def _declare(aws: Aws, repo: ManifestRepo) -> None:
    declared, _ = seed_lambda.function(aws, "api")
    aws.client("s3").create_bucket(Bucket="logs")
    fn = {"type": "aws_lambda_function", "id": "api", "spec": declared}
    bucket = {"type": "aws_s3_bucket", "id": "logs", "spec": {"versioning": "Enabled"}}
    repo.write("declared/lambda.yaml", json.dumps({"resources": [fn]}))
    repo.write("declared/s3.yaml", json.dumps({"resources": [bucket]}))
    repo.commit()


def _modes(*folders: Path) -> dict[str, int]:
    return {f"{p.parent.name}/{p.name}": mode(p) for d in folders for p in d.iterdir()}


def test_a_new_data_directory_is_private_and_caches_no_secret(
    aws: Aws, repo: ManifestRepo, tmp_path: Path, loose_umask: None
) -> None:
    _declare(aws, repo)
    cfg = write_config(tmp_path, aws.url, repo.path, extra=NO_UNMANAGED)
    first = scan(cfg)
    assert first.code == 2, first.stderr  # the bucket's versioning drifts
    state, data = tmp_path / "state", tmp_path / "state" / ".driftwatch"
    assert (mode(state), mode(data)) == (0o700, 0o700)
    files = _modes(state, data)
    files.pop("state/.driftwatch")  # the data directory itself, checked above
    assert set(files) >= {
        "state/driftwatch.db",
        ".driftwatch/manifest-cache.json",
        ".driftwatch/secret.key",
        ".driftwatch/scan.lock",
        ".driftwatch/driftwatch.log",
        ".driftwatch/git",
    }
    files.pop(".driftwatch/git")  # a folder inside the private data directory
    assert set(files.values()) == {0o600}, {k: oct(v) for k, v in files.items()}

    cache = (data / "manifest-cache.json").read_text()
    assert SECRET not in cache and STAGE not in cache  # the Lambda file is not cached...
    assert '"logs"' in cache  # ...the bucket file is
    second = scan(cfg)  # the bucket from the cache, the function parsed again
    assert second.doc["summary"] == first.doc["summary"]
    assert second.doc["drifts"][0]["changes"] == first.doc["drifts"][0]["changes"]


def test_an_existing_installation_is_tightened_on_the_next_scan(
    aws: Aws, repo: ManifestRepo, tmp_path: Path, loose_umask: None
) -> None:
    _declare(aws, repo)
    cfg = write_config(tmp_path, aws.url, repo.path, extra=NO_UNMANAGED)
    assert scan(cfg).code == 2
    state, data = tmp_path / "state", tmp_path / "state" / ".driftwatch"
    db = state / "driftwatch.db"
    reader = Store(db)  # held open, so driftwatch.db-wal and -shm exist throughout
    try:
        side = [state / "driftwatch.db-wal", state / "driftwatch.db-shm"]
        assert all(p.exists() for p in side)
        for p in (state, data):
            p.chmod(0o755)
        private = ("secret.key", "manifest-cache.json", "scan.lock", "driftwatch.log")
        for p in (db, *side, *(data / name for name in private)):
            p.chmod(0o644)  # as an older driftwatch (or a restore) left them
        assert scan(cfg).code == 2
        # The data directory is driftwatch's own; the database's folder may be anyone's
        # (e.g. $HOME), so only a folder driftwatch creates for it is made 0700.
        assert (mode(data), mode(state)) == (0o700, 0o755)
        for p in (db, *side, *(data / name for name in private)):
            assert mode(p) == 0o600, p
    finally:
        reader.close()


def test_a_venv_as_data_directory_is_refused(aws: Aws, repo: ManifestRepo, tmp_path: Path) -> None:
    repo.declare()
    venv = tmp_path / "state" / ".driftwatch"
    venv.mkdir(parents=True)
    (venv / "pyvenv.cfg").write_text("home = /usr/bin\n")
    venv.chmod(0o755)
    run = scan(write_config(tmp_path, aws.url, repo.path))
    assert run.code == 1
    assert "[storage.data_dir]:" in run.stderr and "is a Python virtual environment" in run.stderr
    assert mode(venv) == 0o755 and sorted(p.name for p in venv.iterdir()) == ["pyvenv.cfg"]
