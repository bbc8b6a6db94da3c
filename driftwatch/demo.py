"""`driftwatch demo`: a moto server on loopback, a few resources, a Git repo with drift, a scan."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import textwrap
from pathlib import Path
from typing import Any

import boto3

from driftwatch.motoserver import MotoServer


def trust_policy(service: str) -> dict[str, Any]:
    """A role trust policy letting one AWS service assume the role."""
    statement = {"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}
    return {"Version": "2012-10-17", "Statement": [statement]}


TRUST = trust_policy("ec2.amazonaws.com")


def seed(url: str) -> dict[str, str]:
    """Create the live side; returns ids the manifests need."""
    kw: dict[str, Any] = {"endpoint_url": url, "region_name": "us-east-1"}
    s3, ec2, iam = (boto3.client(s, **kw) for s in ("s3", "ec2", "iam"))
    s3.create_bucket(Bucket="acme-logs")
    s3.put_bucket_versioning(Bucket="acme-logs", VersioningConfiguration={"Status": "Enabled"})
    s3.put_bucket_tagging(
        Bucket="acme-logs", Tagging={"TagSet": [{"Key": "team", "Value": "data"}]}
    )  # declared: platform → drift
    s3.create_bucket(Bucket="acme-scratch")  # declared nowhere → unmanaged
    sg = ec2.create_security_group(GroupName="web", Description="web tier")["GroupId"]
    ec2.authorize_security_group_ingress(
        GroupId=sg,
        IpPermissions=[
            {
                "IpProtocol": "tcp",
                "FromPort": 443,
                "ToPort": 443,
                "IpRanges": [{"CidrIp": "0.0.0.0/0"}],
            },
            {
                "IpProtocol": "tcp",
                "FromPort": 22,
                "ToPort": 22,  # opened by hand → drift
                "IpRanges": [{"CidrIp": "0.0.0.0/0", "Description": "debugging, remove me"}],
            },
        ],
    )
    iam.create_role(
        RoleName="app",
        AssumeRolePolicyDocument=json.dumps(TRUST),
        Tags=[{"Key": "team", "Value": "api"}],
    )
    ami = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    ec2.run_instances(
        ImageId=ami,
        MinCount=1,
        MaxCount=1,
        InstanceType="t3.large",
        SecurityGroupIds=[sg],
        TagSpecifications=[
            {"ResourceType": "instance", "Tags": [{"Key": "Name", "Value": "api-1"}]}
        ],
    )
    return {"sg": sg, "ami": ami}


def manifests(ids: dict[str, str]) -> dict[str, str]:
    return {
        "declared/storage.yaml": """
            resources:
              - type: aws_s3_bucket
                id: acme-logs
                spec:
                  versioning: Enabled
                  tags: {team: platform}
            """,
        "declared/network.yaml": """
            resources:
              - type: aws_security_group
                id: web
                spec:
                  description: web tier
                  ingress:
                    - {protocol: tcp, from_port: 443, to_port: 443, cidr_blocks: ["0.0.0.0/0"]}
            """,
        "declared/app.yaml": f"""
            resources:
              - type: aws_iam_role
                id: app
                spec:
                  assume_role_policy: '{json.dumps(TRUST)}'
                  tags: {{team: api}}
              - type: aws_instance
                id: api-1
                spec:
                  instance_type: t3.small
                  ami: {ids["ami"]}
                  vpc_security_group_ids: [{ids["sg"]}]
            """,
    }


def make_repo(path: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        (path / rel).parent.mkdir(parents=True, exist_ok=True)
        (path / rel).write_text(textwrap.dedent(text).lstrip())
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "demo",
        "GIT_AUTHOR_EMAIL": "demo@example.com",
        "GIT_COMMITTER_NAME": "demo",
        "GIT_COMMITTER_EMAIL": "demo@example.com",
    }
    for cmd in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "-m", "declare"]):
        subprocess.run(["git", *cmd], cwd=path, check=True, env=env)


def write_config(workdir: Path, url: str) -> Path:
    cfg = workdir / "driftwatch.toml"
    cfg.write_text(
        textwrap.dedent(f"""
        # Written by `driftwatch demo`; see config.example.toml for every key.
        [git]
        url = "infra"
        branch = "main"
        path = "declared"

        [aws]
        regions = ["us-east-1"]
        endpoint_url = "{url}"   # the demo's moto server; leave empty for real AWS

        [storage]
        path = "driftwatch.db"

        [scan]
        unmanaged = true
        """).lstrip()
    )
    return cfg


def prepare(workdir: Path, url: str) -> Path:
    """Seed moto, build the Git repo and config in a fresh `workdir`; return the config path."""
    if workdir.exists():
        shutil.rmtree(workdir)
    (workdir / "infra").mkdir(parents=True)
    for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        os.environ.setdefault(k, "demo")
    make_repo(workdir / "infra", manifests(seed(url)))
    return write_config(workdir, url)


def run_demo(workdir: Path) -> int:
    """Run the whole demo; returns the scan's exit code."""
    from rich.console import Console

    from driftwatch.config import load_config
    from driftwatch.datadir import open_store
    from driftwatch.report import print_report
    from driftwatch.scan import run_scan

    console = Console(highlight=False, soft_wrap=True)
    with MotoServer(log_path=None) as moto:
        os.environ["AWS_ACCESS_KEY_ID"] = os.environ["AWS_SECRET_ACCESS_KEY"] = "demo"
        console.print(f"[bold]1.[/] moto server (stand-in for AWS) on {moto.url}")
        cfg_path = prepare(workdir, moto.url)
        console.print(
            f"[bold]2.[/] seeded S3, EC2 and IAM; manifests committed to {workdir / 'infra'} (Git)"
        )
        console.print(f"[bold]3.[/] driftwatch scan --config {cfg_path}\n")
        cfg = load_config(cfg_path)
        result = run_scan(cfg, open_store(cfg))
        print_report(result, console)
    console.print(
        f"\nHistory is in {cfg.storage.path}. Next: the quick start in README.md "
        "points driftwatch at your own repo and AWS account."
    )
    return 2 if result.has_drift else 0
