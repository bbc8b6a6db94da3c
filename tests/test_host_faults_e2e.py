"""Faults on the host: kill -9 mid-scan, a full disk, a read-only database file."""

from __future__ import annotations

import random
from pathlib import Path

from support.env import Aws
from support.killscan import CHECKS, MODES, Trial, build_world, run_trial
from support.receiver import receiver


def test_kill_9_at_random_points_loses_and_duplicates_nothing(aws: Aws, tmp_path: Path) -> None:
    with receiver() as rec:
        world = build_world(aws, tmp_path, rec.url)
        rng = random.Random(13)
        trials = [run_trial(world, n, rng, rec.requests, mode) for n, mode in enumerate(MODES)]
        # Until one kill lands inside the persist transaction (it lasts milliseconds).
        while len(trials) < 8 and not any(t.phase == "in the write transaction" for t in trials):
            trials.append(run_trial(world, len(trials), rng, rec.requests, MODES[2]))
    for t in trials:
        assert set(t.passed) == set(CHECKS)
        assert t.ok, (t.mode, t.at_s, t.phase, t.detail)
    assert any(t.phase == "in the write transaction" for t in trials), [
        _where(t) for t in trials
    ]


def _where(t: Trial) -> str:
    return f"{t.mode} at +{t.at_s}s: {t.phase}"
