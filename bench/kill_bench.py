"""kill -9 benchmark: SIGKILL a real `driftwatch scan` at random points, check what survives.

Run from the repository root: `.venv/bin/python bench/kill_bench.py [--trials 50]`.

Each trial copies the state a first scan left, starts the second scan as a child
process against a moto server process, kills it with SIGKILL after a random delay, and
checks (tests/support/killscan.py): `PRAGMA integrity_check` is ok; the state is the
first scan's or the finished second scan's, never a mix; the next scan completes; the
drift records, events, resources, outbox rows and announced items then equal those of
a run that was never killed; and one send of the outbox delivers each drift event once.
A third of the trials pick the delay over the whole run (process start to exit), a
third over the part after the scan row appeared (AWS reads, the write transaction,
exit), a third kill as soon as the scan is seen holding the write lock (its persist
transaction) plus 0-5 ms. The baseline is the same second scan, unkilled, measured in
the same run.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from support.env import CREDS, Aws
from support.killscan import CHECKS, MODES, Trial, build_world, run_trial
from support.receiver import receiver

from driftwatch.motoserver import MotoServer


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=50)
    parser.add_argument("--seed", type=int, default=13)
    args = parser.parse_args()

    os.environ.update(CREDS)
    with tempfile.TemporaryDirectory(prefix="kill-bench-") as tmp:
        root = Path(tmp)
        server = MotoServer(log_path=root / "moto.log").start()
        try:
            trials, baseline_s = run(Aws(server.url), root / "world", args.trials, args.seed)
        finally:
            server.stop()
    return report(trials, baseline_s)


def run(aws: Aws, root: Path, n: int, seed: int) -> tuple[list[Trial], float]:
    rng = random.Random(seed)
    trials = []
    with receiver() as rec:
        world = build_world(aws, root, rec.url, baselines=5)
        print(
            f"baseline: unkilled second scan {world.scan_s:.2f} s, median of 5 "
            f"(scan row after {world.row_s:.2f} s); seed {seed}"
        )
        t0 = time.monotonic()
        for i in range(n):
            trial = run_trial(world, i, rng, rec.requests, MODES[i % len(MODES)])
            trials.append(trial)
            failed = "; ".join(f"{k}: {v}" for k, v in trial.detail.items())
            print(
                f"trial {i:3d}  {trial.mode:<14}  killed at +{trial.at_s:.3f} s  "
                f"landed {trial.phase:<26} {'ok' if trial.ok else 'FAIL ' + failed}"
            )
        print(f"{n} trials in {time.monotonic() - t0:.0f} s")
    return trials, world.scan_s


def report(trials: list[Trial], baseline_s: float) -> int:
    n = len(trials)
    recover = statistics.median(t.next_s for t in trials)
    print(
        f"\nthe scan after a kill: median {recover:.2f} s, "
        f"{recover / baseline_s:.2f}x the unkilled second scan (median {baseline_s:.2f} s)"
    )
    print("\ncheck          passed")
    for check in CHECKS:
        print(f"{check:<14} {sum(t.passed.get(check, False) for t in trials)}/{n}")
    print(f"all checks     {sum(t.ok for t in trials)}/{n}")
    print("\nwhere the kill landed (by mode):")
    for (mode, where), count in sorted(Counter((t.mode, t.phase) for t in trials).items()):
        print(f"  {mode:<14} {where:<26} {count}")
    return 0 if all(t.ok for t in trials) else 1


if __name__ == "__main__":
    sys.exit(main())
