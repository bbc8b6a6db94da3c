"""The demo's estate on the moto server: manifests for all 13 types, and every drift the
demo makes (at the start and on demand) found by a scan as exactly that drift."""

from __future__ import annotations

from pathlib import Path

from support.env import Aws, scan

import driftwatch.collectors  # noqa: F401  (registers the built-in types)
from driftwatch.demo.drifts import RANDOM_DRIFTS, introduce_drifts, make_random_drift
from driftwatch.demo.estate import Aws as DemoAws
from driftwatch.demo.estate import seed
from driftwatch.demo.manifests import declared, manifests
from driftwatch.demo.run import commit_manifests, config_text
from driftwatch.registry import collectors


def drift_keys(doc: dict[str, object]) -> set[tuple[str, str, str]]:
    return {(d["kind"], d["type"], d["id"]) for d in doc["drifts"]}  # type: ignore[attr-defined]


def test_every_drift_the_demo_makes_is_found_as_that_drift(aws: Aws, tmp_path: Path) -> None:
    demo = DemoAws(aws.url)
    files = manifests(seed(demo))
    types = declared(files)
    assert set(types) == {name for name, _ in collectors} and len(types) == 32
    assert commit_manifests(tmp_path / "infra", files, "Declare the estate")
    cfg = tmp_path / "driftwatch.toml"
    cfg.write_text(config_text(aws.url, "http://127.0.0.1:8000", 2525, "http://127.0.0.1:9/h"))

    # The starting drifts and every on-demand one, caught by one scan (the dashboard test
    # counts the starting ones alone: everything else declared is in sync).
    made = introduce_drifts(demo)
    made += [f(demo) for f in RANDOM_DRIFTS.values()]
    name, extra = make_random_drift(demo, list(RANDOM_DRIFTS))  # all used: a new bucket
    assert (name, extra.kind) == ("unmanaged_bucket", "unmanaged")
    run = scan(cfg, "--no-store")
    assert run.code == 2, run.stdout + run.stderr
    expected = {(m.kind, m.type, m.id) for m in [*made, extra]}
    assert drift_keys(run.doc) == expected and len(expected) == 17
    assert run.doc["summary"]["in_sync"] == 32 - 15  # 32 declared: 1 missing, 14 modified
    assert run.drift("aws_s3_bucket", "acme-staging-assets")["account"] == "staging"
