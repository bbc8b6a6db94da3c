"""GitSource on real repositories: no checkout, dot-folders, tokens never written to disk."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.env import ManifestRepo

from driftwatch.config import GitConfig
from driftwatch.declared.git import GitSource, redact
from driftwatch.errors import GitSourceError


def test_reads_at_the_fetched_commit_without_checkout(tmp_path: Path) -> None:
    repo = ManifestRepo(tmp_path / "r")
    repo.write("declared/a.yaml", "resources: []\n")
    repo.write("declared/.hidden/b.yaml", "resources: []\n")
    repo.write("declared/notes.txt", "x\n")
    sha = repo.commit()
    src = GitSource(GitConfig(url=str(repo.path), path="declared"), tmp_path / "cache")
    assert src.fetch().commit == sha
    assert [p for p, _ in src.files(sha, (".yaml",))] == ["declared/a.yaml"]
    assert not (src.cache / "declared").exists()  # bare: nothing checked out


def test_git_path_may_itself_be_in_a_dot_folder(tmp_path: Path) -> None:
    repo = ManifestRepo(tmp_path / "r")
    repo.write(".infra/declared/a.yaml", "resources: []\n")
    sha = repo.commit()
    src = GitSource(GitConfig(url=str(repo.path), path=".infra/declared"), tmp_path / "cache")
    assert [p for p, _ in src.files(src.fetch().commit, (".yaml",))] == [".infra/declared/a.yaml"]
    assert sha


def test_missing_path_and_branch_are_clear(tmp_path: Path) -> None:
    repo = ManifestRepo(tmp_path / "r")
    repo.write("a.yaml", "resources: []\n")
    repo.commit()
    src = GitSource(GitConfig(url=str(repo.path), path="declared"), tmp_path / "cache")
    with pytest.raises(GitSourceError, match=r"path 'declared' .* does not exist"):
        list(src.files(src.fetch().commit, (".yaml",)))
    bad = GitSource(GitConfig(url=str(repo.path), branch="nope"), tmp_path / "cache")
    with pytest.raises(GitSourceError, match="cannot fetch branch 'nope'"):
        bad.fetch()


def test_credentials_in_the_url_never_reach_disk_or_messages(tmp_path: Path) -> None:
    url = "https://user:s3cr3t-token@127.0.0.1:9/acme/infra.git"
    assert redact(url) == "https://***@127.0.0.1:9/acme/infra.git"
    src = GitSource(GitConfig(url=url), tmp_path / "cache")
    with pytest.raises(GitSourceError) as err:
        src.fetch()
    assert "s3cr3t" not in str(err.value)
    for f in src.cache.rglob("*"):
        if f.is_file():
            assert b"s3cr3t" not in f.read_bytes(), f
