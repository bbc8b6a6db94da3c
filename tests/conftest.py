"""Shared fixtures: one moto server process per session, real Git repos."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from support.env import CREDS, Aws, ManifestRepo

from driftwatch.motoserver import MotoServer


@pytest.fixture(scope="session")
def moto_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotoServer]:
    log = tmp_path_factory.mktemp("moto") / "moto.log"
    server = MotoServer(log_path=log).start()
    yield server
    server.stop()


@pytest.fixture
def aws(moto_server: MotoServer, monkeypatch: pytest.MonkeyPatch) -> Aws:
    """A clean moto server (reset before each test) and boto3 clients against it."""
    moto_server.reset()
    for k, v in CREDS.items():
        monkeypatch.setenv(k, v)
    for k in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "DRIFTWATCH_CONFIG"):
        monkeypatch.delenv(k, raising=False)
    return Aws(moto_server.url)


@pytest.fixture
def repo(tmp_path: Path) -> ManifestRepo:
    return ManifestRepo(tmp_path / "infra")


@pytest.fixture
def mock_aws_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """In-process moto (fast unit tests of one collector); end-to-end tests use the server."""
    from moto import mock_aws

    for k, v in CREDS.items():
        monkeypatch.setenv(k, v)
    with mock_aws():
        yield
