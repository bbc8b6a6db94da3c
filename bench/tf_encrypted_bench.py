"""OpenTofu encrypted state: driftwatch's read of an encrypted state against the same
state in the clear, measured in the same run.

Writes the synthetic v4 state of `tf_state_bench.py` (`bench/tf_state_fixture.py`, 20,000
resources, about 50 MB), then encrypts it as OpenTofu does with its defaults (pbkdf2 key
provider: SHA-512, 600,000 iterations, 32-byte salt and key; aes_gcm method: 12-byte
nonce, no AAD; the envelope `{serial, lineage, meta, encrypted_data,
encryption_version}` written compactly, as Go's json.Marshal does). Each side runs
`load_terraform` on a `file:` source in a fresh child process, interleaved, median of
`--repeat`; results are checked (declared resources equal on both sides). Printed: wall
time, CPU time and peak RSS growth (VmHWM after minus VmRSS before, imports excluded) of
each side, and the encrypted side's ratios to the plain one. The key derivation alone is
timed too (the fixed cost of every encrypted state read).

Run from the repository root: `.venv/bin/python bench/tf_encrypted_bench.py` (about 1 min).
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from tf_state_fixture import write_state

SIDES = ("plain", "encrypted")
PASSPHRASE_ENV = "DW_BENCH_TOFU_PASSPHRASE"
PASSPHRASE = "bench-passphrase-of-opentofu"
ITERATIONS = 600_000  # OpenTofu's pbkdf2 DefaultIterations


def encrypt(plain: bytes) -> bytes:
    """The envelope OpenTofu writes for `plain` with the pbkdf2 + aes_gcm defaults."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    salt, nonce = os.urandom(32), os.urandom(12)
    key = hashlib.pbkdf2_hmac("sha512", PASSPHRASE.encode(), salt, ITERATIONS, 32)
    meta = {"salt": _b64(salt), "iterations": ITERATIONS, "hash_function": "sha512"}
    meta["key_length"] = 32
    head = plain[: plain.index(b'"resources"')]
    serial = int(re.search(rb'"serial":\s*(\d+)', head).group(1))  # type: ignore[union-attr]
    lineage = re.search(rb'"lineage":\s*"([^"]*)"', head).group(1).decode()  # type: ignore[union-attr]
    envelope = {
        "serial": serial,
        "lineage": lineage,
        "meta": {"key_provider.pbkdf2.main": _b64(_compact(meta))},
        "encrypted_data": _b64(nonce + AESGCM(key).encrypt(nonce, plain, None)),
        "encryption_version": "v0",
    }
    return _compact(envelope)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _compact(doc: Any) -> bytes:
    return json.dumps(doc, separators=(",", ":")).encode()


def _status(field: str) -> int:
    text = Path("/proc/self/status").read_text()
    m = re.search(rf"^{field}:\s+(\d+) kB", text, re.M)
    assert m is not None
    return int(m.group(1))


def child(path: Path) -> dict[str, Any]:
    """One `load_terraform` of `path` in this (fresh) process."""
    from driftwatch.config import load_config
    from driftwatch.declared.terraform.load import load_terraform
    from driftwatch.declared.terraform.sources import ReadContext

    cfg_path = path.with_suffix(".toml")
    cfg_path.write_text(
        f'[[terraform]]\nname = "bench"\nfrom = "file:{path.name}"\n'
        f'encryption_passphrase_env = "{PASSPHRASE_ENV}"\n'
    )
    cfg = load_config(cfg_path)
    Path("/proc/self/clear_refs").write_text("5")  # reset VmHWM to the current RSS
    before = _status("VmRSS")
    t0, c0 = time.perf_counter(), time.process_time()
    got = load_terraform(cfg, ReadContext(cfg), b"k" * 32)
    return {
        "seconds": time.perf_counter() - t0,
        "cpu": time.process_time() - c0,
        "rss_growth_mb": (_status("VmHWM") - before) / 1024,
        "declared": len(got.resources),
        "failures": [f.error for f in got.failures],
    }


def run_child(path: Path) -> dict[str, Any]:
    proc = subprocess.run(
        [sys.executable, __file__, "--child", str(path)],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, PASSPHRASE_ENV: PASSPHRASE},
    )
    if proc.returncode != 0:
        raise SystemExit(f"{path.name} failed:\n{proc.stderr}")
    return dict(json.loads(proc.stdout))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--count", type=int, default=20_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(child(args.child)))
        return 0
    print(f"python {platform.python_version()}, {os.cpu_count()} CPUs, load {os.getloadavg()}")
    work = Path(tempfile.mkdtemp(prefix="tf-encrypted-bench-"))
    try:
        paths = {"plain": work / "plain.tfstate", "encrypted": work / "encrypted.tfstate"}
        write_state(paths["plain"], args.count)
        paths["encrypted"].write_bytes(encrypt(paths["plain"].read_bytes()))
        for side, p in paths.items():
            print(f"{side}: {p.stat().st_size / 1e6:.1f} MB")
        t0 = time.perf_counter()
        hashlib.pbkdf2_hmac("sha512", PASSPHRASE.encode(), b"s" * 32, ITERATIONS, 32)
        print(f"key derivation alone (PBKDF2-SHA512, 600,000 rounds): "
              f"{time.perf_counter() - t0:.2f} s")  # fmt: skip
        runs: dict[str, list[dict[str, Any]]] = {s: [] for s in SIDES}
        for r in range(args.repeat):
            for side in SIDES[r % 2 :] + SIDES[: r % 2]:
                got = run_child(paths[side])
                if got["failures"]:
                    raise SystemExit(f"{side}: {got['failures']}")
                runs[side].append(got)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if len({x["declared"] for rs in runs.values() for x in rs}) != 1:
        raise SystemExit(f"the sides declared different resources: {runs}")
    med = {
        s: {k: statistics.median(x[k] for x in rs) for k in ("seconds", "cpu", "rss_growth_mb")}
        for s, rs in runs.items()
    }
    print(f"\n{'side':<10} {'wall s':>7} {'cpu s':>7} {'RSS growth MB':>14}", end="")
    print(f"  (median of {args.repeat})")
    for side, f in med.items():
        print(f"{side:<10} {f['seconds']:>7.2f} {f['cpu']:>7.2f} {f['rss_growth_mb']:>14.1f}")
    plain, enc = med["plain"], med["encrypted"]
    print(
        f"encrypted / plain: wall {enc['seconds'] / plain['seconds']:.2f}x, "
        f"cpu {enc['cpu'] / plain['cpu']:.2f}x, RSS growth "
        f"{enc['rss_growth_mb'] / plain['rss_growth_mb']:.2f}x "
        f"({runs['plain'][0]['declared']:,} resources declared on both sides)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
