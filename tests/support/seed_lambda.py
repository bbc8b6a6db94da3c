"""Seed Lambda functions in moto, with the manifests that match them (see support/seed.py)."""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any

from driftwatch.demo import trust_policy
from support.env import REGION, Aws

Spec = dict[str, Any]

# Distinctive values that must never reach the JSON output or the SQLite file.
SECRET = "s3cr3t-Pa55w0rd-7f1c9e"
OTHER_SECRET = "0ther-Pa55w0rd-b84d21"
STAGE = "stage-blue-4411"

TRUST = trust_policy("lambda.amazonaws.com")


def code_zip() -> bytes:
    """A tiny deployment package; moto stores it and never runs it (nothing is invoked)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("app.py", "def handler(event, context):\n    return 'ok'\n")
    return buf.getvalue()


def execution_role(aws: Aws, name: str) -> str:
    iam = aws.client("iam")
    return str(
        iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(TRUST))["Role"]["Arn"]
    )


def bare_function(aws: Aws, name: str, role_arn: str, region: str = REGION) -> str:
    """A function with every setting left at AWS's default; returns its ARN."""
    fn = aws.client("lambda", region).create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role=role_arn,
        Handler="app.handler",
        Code={"ZipFile": code_zip()},
    )
    return str(fn["FunctionArn"])


def function(aws: Aws, name: str, region: str = REGION) -> tuple[Spec, Spec]:
    lam = aws.client("lambda", region)
    role_arn = execution_role(aws, f"{name}-exec")
    layers = [
        lam.publish_layer_version(LayerName=f"{name}-{n}", Content={"ZipFile": code_zip()})[
            "LayerVersionArn"
        ]
        for n in ("deps", "otel")
    ]
    lam.create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role=role_arn,
        Handler="app.handler",
        Code={"ZipFile": code_zip()},
        MemorySize=256,
        Timeout=30,
        Environment={"Variables": {"DB_PASSWORD": SECRET, "PORT": "8080", "STAGE": STAGE}},
        Layers=layers,
        Tags={"team": "api", "cost": "42"},
    )
    declared = {
        "runtime": "python3.12",
        "handler": "app.handler",
        "role": role_arn,
        "memory_size": 256,
        "timeout": 30,
        # Keys in another order, a number where Lambda stores the string "8080".
        "environment": {"STAGE": STAGE, "PORT": 8080, "DB_PASSWORD": SECRET},
        "layers": layers,
        "tags": {"cost": 42, "team": "api"},
    }
    drifted = {
        "runtime": "python3.11",
        "handler": "app.main",
        "role": role_arn.replace(f"{name}-exec", "other-exec"),
        "memory_size": 512,
        "timeout": 60,
        "environment": {"DB_PASSWORD": OTHER_SECRET, "PORT": "8080", "STAGE": STAGE},
        # The same layers in the other order: layer order is significant in Lambda.
        "layers": list(reversed(layers)),
        "tags": {"team": "data", "cost": "42"},
    }
    return declared, drifted
