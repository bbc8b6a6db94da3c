"""Terraform `config = "git:DIR"`: reading a .tf root cold (parsed) and on an unchanged re-scan.

Writes a Terraform root of about `--kb` KB of .tf (resource blocks with nested and
`dynamic` blocks, `count` and `for_each`, a provider with `ignore_tags`, local modules)
into a `git init` repository, fetches it as a scan does, then times driftwatch's
evidence loading for the source, median of `--repeat`:

- **cold**: no HCL cache in the data directory: every file is parsed (python-hcl2).
- **warm**: the cache the cold run wrote: an unchanged root is not parsed again.

Both runs must find every resource block. Target (issue 12): warm ≤ 0.5 s.

Run from the repository root: `.venv/bin/python bench/tf_config_bench.py [--kb 474]`.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from driftwatch.config import load_config
from driftwatch.declared.git import GitSource
from driftwatch.declared.terraform.hcl import SummaryCache
from driftwatch.declared.terraform.load import HCL_CACHE, _evidence
from driftwatch.declared.terraform.sources import ReadContext

PROVIDER = """provider "aws" {
  region = "us-east-1"
  ignore_tags {
    keys         = ["CreatedBy"]
    key_prefixes = ["kubernetes.io/"]
  }
}

module "shared" {
  source   = "./modules/shared"
  for_each = toset(["eu", "us"])
  name     = each.key
}
"""

BLOCKS = (
    """
resource "aws_security_group" "web_{i}" {{
  count       = 2
  name        = "web-{i}-${{count.index}}"
  description = "web tier {i}"
  vpc_id      = var.vpc_id

  dynamic "ingress" {{
    for_each = var.ports
    content {{
      from_port   = ingress.value
      to_port     = ingress.value
      protocol    = "tcp"
      cidr_blocks = [var.cidr, "10.{m}.0.0/16"]
    }}
  }}

  egress {{
    from_port   = 0
    to_port     = 0
    protocol    = "-1"
    cidr_blocks = ["0.0.0.0/0"]
  }}

  tags = merge(local.tags, {{ Name = "web-{i}" }})
}}
""",
    """
resource "aws_iam_role" "app_{i}" {{
  name               = "app-{i}"
  assume_role_policy = data.aws_iam_policy_document.trust.json
  managed_policy_arns = [aws_iam_policy.read_{i}.arn]

  inline_policy {{
    name   = "data"
    policy = jsonencode({{
      Version   = "2012-10-17"
      Statement = [{{ Effect = "Allow", Action = ["s3:GetObject"], Resource = "*" }}]
    }})
  }}
}}

resource "aws_iam_policy" "read_{i}" {{
  name   = "read-{i}"
  policy = data.aws_iam_policy_document.read.json
}}
""",
    """
resource "aws_s3_bucket" "data_{i}" {{
  for_each = var.regions
  bucket   = "acme-data-{i}-${{each.key}}"
  tags     = local.tags
}}

resource "aws_s3_bucket_versioning" "data_{i}" {{
  for_each = aws_s3_bucket.data_{i}
  bucket   = each.value.id
  versioning_configuration {{
    status = "Enabled"
  }}
}}
""",
    """
resource "aws_lambda_function" "worker_{i}" {{
  function_name = "worker-{i}"
  role          = aws_iam_role.app_{i}.arn
  handler       = "app.handler"
  runtime       = "python3.12"
  memory_size   = 128
  timeout       = 30
  filename      = "build/worker.zip"

  environment {{
    variables = {{
      LOG_LEVEL = "info"
      TABLE     = "t{i}"
    }}
  }}
}}
""",
)


def write_root(repo: Path, kb: int) -> int:
    """A root of about `kb` KB in files of ~12 KB; returns the number of resource blocks."""
    root = repo / "infra" / "app"
    (root / "modules" / "shared").mkdir(parents=True)
    (root / "providers.tf").write_text(PROVIDER)
    (root / "modules" / "shared" / "main.tf").write_text(BLOCKS[2].format(i=0, m=0))
    blocks, size, i = BLOCKS[2].count("\nresource "), len(PROVIDER), 0
    while size < kb * 1024:
        text = ""
        while len(text) < 12 * 1024:
            template = BLOCKS[i % len(BLOCKS)]
            text += template.format(i=i, m=i % 256)
            blocks += template.count("\nresource ")
            i += 1
        (root / f"part{i:05d}.tf").write_text(text)
        size += len(text)
    return blocks


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--kb", type=int, default=474, help="size of the .tf root")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="tf-config-bench-"))
    try:
        return run(work, args.kb, args.repeat)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def run(work: Path, kb: int, repeat: int) -> int:
    repo = work / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    blocks = write_root(repo, kb)
    git(repo, "add", "-A")
    git(repo, "-c", "user.name=b", "-c", "user.email=b@example.com", "commit", "-qm", "root")
    size = sum(p.stat().st_size for p in (repo / "infra").rglob("*.tf"))
    cfg_path = work / "driftwatch.toml"
    cfg_path.write_text(
        f'[git]\nurl = "{repo}"\nbranch = "main"\npath = "infra"\n\n'
        '[[terraform]]\nname = "app"\nfrom = "git:infra/app/terraform.tfstate"\n'
        'config = "git:infra/app"\n'
    )
    cfg = load_config(cfg_path)
    assert cfg.git is not None
    source = GitSource(cfg.git, cfg.storage.data_dir)
    ctx = ReadContext(cfg, None, source.cache, source.fetch().commit)
    cache_file = cfg.storage.data_dir / HCL_CACHE
    times: dict[str, list[float]] = {"cold": [], "warm": []}
    for _ in range(repeat):
        for side in ("cold", "warm"):
            if side == "cold":
                cache_file.unlink(missing_ok=True)
            cache = SummaryCache(cache_file)
            t0 = time.perf_counter()
            evidence = _evidence(cfg.terraform[0], ctx, cache)
            cache.save()
            times[side].append(time.perf_counter() - t0)
            assert evidence is not None
            if len(evidence.blocks) != blocks:
                raise SystemExit(f"{side}: {len(evidence.blocks)} resource blocks, not {blocks}")
    cold, warm = statistics.median(times["cold"]), statistics.median(times["warm"])
    print(f"root: {size / 1024:.0f} KB of .tf, {blocks} resource blocks, python-hcl2")
    for side, median in (("cold (parsed)", cold), ("warm (unchanged)", warm)):
        runs = ", ".join(f"{t:.2f}" for t in times[side.split()[0]])
        print(f"{side:<18} {median:.2f} s  (runs: {runs})")
    ok = warm <= 0.5
    print(f"target: warm <= 0.5 s: {'met' if ok else 'MISSED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
