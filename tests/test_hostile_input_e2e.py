"""Hostile and broken input through the real CLI: bounded in time and memory, and harmless."""

from __future__ import annotations

from pathlib import Path

from support.env import Aws, ManifestRepo, run_cli, run_cli_measured, scan, write_config
from support.hostile import alias_bomb


def test_yaml_alias_bomb_is_rejected_in_bounded_time_and_memory(
    aws: Aws, repo: ManifestRepo, tmp_path: Path
) -> None:
    bomb = alias_bomb()
    assert len(bomb) < 600  # the size of the reported bomb; it expands to 10**7 strings
    cfg = write_config(tmp_path, aws.url, repo.path)
    # Baseline: the same command failing on an ordinary manifest error.
    repo.write("declared/bad.yaml", "type: aws_s3_buckets\nid: x\n")
    repo.commit()
    base = run_cli_measured("scan", "--config", str(cfg))
    assert base.run.code == 1 and "unknown type" in base.run.stderr, base.run.stderr

    repo.write("declared/bad.yaml", bomb)
    repo.commit()
    measured = run_cli_measured("scan", "--config", str(cfg))
    assert measured.run.code == 1
    assert "declared/bad.yaml:5: YAML anchor or alias '&l0' found" in measured.run.stderr
    assert "Traceback" not in measured.run.stderr
    assert measured.seconds < base.seconds + 2, (measured.seconds, base.seconds)
    assert measured.max_rss_mb < base.max_rss_mb + 100, (measured.max_rss_mb, base.max_rss_mb)
    cache = tmp_path / "state" / ".driftwatch" / "manifest-cache.json"
    assert not cache.exists() or cache.stat().st_size < 100_000


HOSTILE = "\x1b]0;owned\x07\x1b[41mred\x1b[0m\u202eevil"


def test_control_characters_in_live_values_never_reach_the_terminal(
    aws: Aws, repo: ManifestRepo, tmp_path: Path
) -> None:
    # A JSON-protocol API stores any character (S3's XML cannot carry ESC or BEL).
    logs = aws.client("logs")
    logs.create_log_group(logGroupName="app", tags={"team": HOSTILE})
    logs.create_log_group(logGroupName="stray", tags={"x": HOSTILE})
    repo.declare(
        {"type": "aws_cloudwatch_log_group", "id": "app", "spec": {"tags": {"team": "web"}}}
    )
    cfg = write_config(tmp_path, aws.url, repo.path)
    table = run_cli("scan", "--config", str(cfg))
    assert table.code == 2, table.stderr
    assert "tags.team" in table.stdout
    for char in ("\x1b", "\x07", "\u202e"):
        assert char not in table.stdout + table.stderr, table.stdout
    assert r"\x1b]0;owned\x07\x1b[41mred" in table.stdout  # shown, as text
    # JSON keeps the value exactly (its escapes are JSON's own, also inert on a terminal).
    doc = scan(cfg).doc
    [change] = [c for d in doc["drifts"] for c in d["changes"]]
    assert change["live"] == HOSTILE
