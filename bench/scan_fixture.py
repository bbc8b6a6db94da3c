"""Benchmark fixture: N buckets and N security groups in moto, 90% declared in a Git repository."""

from __future__ import annotations

import subprocess
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config as BotoConfig
from ruamel.yaml import YAML

REGION = "us-east-1"
UNDECLARED_EVERY = 10  # every 10th resource is live only: 10% unmanaged
BUCKET_DRIFT_EVERY = 100  # 1% of declared buckets carry a different tag value live
GROUP_DRIFT_EVERY = 450  # a couple of declared groups have an extra live ingress rule
PER_FILE = 100  # resources per manifest file
EGRESS_ALL = [{"protocol": "-1", "from_port": 0, "to_port": 0, "cidr_blocks": ["0.0.0.0/0"]}]


@dataclass(frozen=True)
class Bucket:
    """One seeded bucket: what is declared, and whether live differs."""

    name: str
    versioning: str
    tags: dict[str, str]
    declared: bool
    drifted: bool

    @property
    def live_tags(self) -> dict[str, str]:
        return {**self.tags, "team": "data"} if self.drifted else self.tags


@dataclass(frozen=True)
class Group:
    """One seeded security group: what is declared, and whether live has an extra rule."""

    name: str
    cidr: str
    declared: bool
    drifted: bool

    @property
    def description(self) -> str:
        return f"driftwatch bench group {self.name}"

    @property
    def tags(self) -> dict[str, str]:
        return {"Name": self.name, "team": "platform"}


@dataclass(frozen=True)
class Fixture:
    """The whole seeded estate, and the findings a correct scan must report."""

    buckets: list[Bucket]
    groups: list[Group]

    @property
    def declared_buckets(self) -> list[Bucket]:
        return [b for b in self.buckets if b.declared]

    @property
    def declared_groups(self) -> list[Group]:
        return [g for g in self.groups if g.declared]

    @property
    def modified(self) -> set[str]:
        """Ids (bucket names, group names) of the drifts injected into declared resources."""
        return {b.name for b in self.buckets if b.drifted} | {
            g.name for g in self.groups if g.drifted
        }

    @property
    def unmanaged(self) -> set[str]:
        """Names of the live resources declared nowhere."""
        return {b.name for b in self.buckets if not b.declared} | {
            g.name for g in self.groups if not g.declared
        }

    @property
    def in_sync(self) -> int:
        declared = len(self.declared_buckets) + len(self.declared_groups)
        return declared - len(self.modified)


def build_fixture(n: int) -> Fixture:
    """A deterministic estate of n buckets and n security groups."""
    return Fixture(_buckets(n), _groups(n))


def _declared(i: int) -> bool:
    return i % UNDECLARED_EVERY != UNDECLARED_EVERY - 1


def _drifted(i: int, every: int) -> bool:
    """Every `every`-th declared resource, counting declared ones only, from the first."""
    return _declared(i) and (i - i // UNDECLARED_EVERY) % every == 0


def _buckets(n: int) -> list[Bucket]:
    return [
        Bucket(
            f"dw-bench-{i:05d}",
            "Enabled" if i % 2 == 0 else "Disabled",
            {"team": "platform", "env": "bench", "cost-center": f"cc-{i % 7}"},
            _declared(i),
            _drifted(i, BUCKET_DRIFT_EVERY),
        )
        for i in range(n)
    ]


def _groups(n: int) -> list[Group]:
    return [
        Group(
            f"dw-bench-sg-{i:05d}",
            f"10.{i // 256 % 256}.{i % 256}.0/24",
            _declared(i),
            _drifted(i, GROUP_DRIFT_EVERY),
        )
        for i in range(n)
    ]


# --- seeding moto ------------------------------------------------------------------------


def seed(endpoint: str, fixture: Fixture, workers: int) -> int:
    """Create every bucket and group in moto with a thread pool; return the calls made."""
    config = BotoConfig(s3={"addressing_style": "path"}, max_pool_connections=workers + 2)
    s3 = boto3.client("s3", region_name=REGION, endpoint_url=endpoint, config=config)
    ec2 = boto3.client("ec2", region_name=REGION, endpoint_url=endpoint, config=config)
    with ThreadPoolExecutor(workers, thread_name_prefix="seed") as pool:
        # moto's EC2 backend iterates its group dict while creating a group, so concurrent
        # CreateSecurityGroup calls fail with a 500: groups are seeded by one pool thread.
        groups = pool.submit(lambda: sum(_seed_group(ec2, g) for g in fixture.groups))
        buckets = sum(pool.map(lambda b: _seed_bucket(s3, b), fixture.buckets))
        return buckets + groups.result()


def _seed_bucket(s3: Any, bucket: Bucket) -> int:
    s3.create_bucket(Bucket=bucket.name)
    s3.put_bucket_tagging(Bucket=bucket.name, Tagging={"TagSet": aws_tags(bucket.live_tags)})
    if bucket.versioning == "Enabled":
        s3.put_bucket_versioning(Bucket=bucket.name, VersioningConfiguration={"Status": "Enabled"})
        return 3
    return 2


def _seed_group(ec2: Any, group: Group) -> int:
    spec = [{"ResourceType": "security-group", "Tags": aws_tags(group.tags)}]
    gid = ec2.create_security_group(
        GroupName=group.name, Description=group.description, TagSpecifications=spec
    )["GroupId"]
    rules = [_tcp(443, group.cidr)]
    if group.drifted:
        rules.append(_tcp(22, "0.0.0.0/0"))  # the classic drift: SSH opened by hand
    ec2.authorize_security_group_ingress(GroupId=gid, IpPermissions=rules)
    return 2


def _tcp(port: int, cidr: str) -> dict[str, Any]:
    return {"IpProtocol": "tcp", "FromPort": port, "ToPort": port, "IpRanges": [{"CidrIp": cidr}]}


def aws_tags(tags: dict[str, str]) -> list[dict[str, str]]:
    return [{"Key": k, "Value": v} for k, v in tags.items()]


# --- declaring in Git --------------------------------------------------------------------


def write_repo(repo: Path, fixture: Fixture) -> int:
    """Write the declared resources as manifests and commit them on `main`; return file count."""
    repo.mkdir(parents=True)
    _git(repo, "init", "-q", "-b", "main")
    buckets = [_bucket_entry(b) for b in fixture.declared_buckets]
    groups = [_group_entry(g) for g in fixture.declared_groups]
    files = _write_chunks(repo / "s3", "buckets", buckets)
    files += _write_chunks(repo / "ec2", "security-groups", groups)
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "bench manifests")
    return files


def _bucket_entry(bucket: Bucket) -> dict[str, Any]:
    spec = {"versioning": bucket.versioning, "tags": bucket.tags}
    return {"type": "aws_s3_bucket", "id": bucket.name, "region": REGION, "spec": spec}


def _group_entry(group: Group) -> dict[str, Any]:
    ingress = [{"protocol": "tcp", "from_port": 443, "to_port": 443, "cidr_blocks": [group.cidr]}]
    spec = {
        "description": group.description,
        "ingress": ingress,
        "egress": EGRESS_ALL,
        "tags": group.tags,
    }
    return {"type": "aws_security_group", "id": group.name, "region": REGION, "spec": spec}


def _write_chunks(folder: Path, stem: str, entries: list[dict[str, Any]]) -> int:
    folder.mkdir()
    yaml = YAML(typ="safe", pure=True)
    yaml.default_flow_style = False
    yaml.representer.ignore_aliases = lambda data: True  # manifests refuse anchors and aliases
    chunks = list(_chunked(entries, PER_FILE))
    for i, chunk in enumerate(chunks):
        with open(folder / f"{stem}-{i:03d}.yaml", "w", encoding="utf-8") as fh:
            yaml.dump({"resources": chunk}, fh)
    return len(chunks)


def _chunked(items: list[Any], size: int) -> Iterable[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _git(repo: Path, *args: str) -> None:
    ident = ["-c", "user.name=driftwatch bench", "-c", "user.email=bench@example.invalid"]
    subprocess.run(["git", *ident, *args], cwd=repo, check=True)
