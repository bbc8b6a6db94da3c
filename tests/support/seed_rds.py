"""Seed RDS DB instances in moto, with the manifest that matches each and one that drifts."""

from __future__ import annotations

from typing import Any

from support.env import Aws

Spec = dict[str, Any]

PASSWORD = "Pw-3f9c1d7e-never-stored"
MASTER_USER = "dbadmin_7c2e"


def instance(aws: Aws, name: str, region: str = "us-east-1") -> tuple[Spec, Spec]:
    """A fully configured PostgreSQL instance: (declared, drifted)."""
    aws.client("rds", region).create_db_instance(
        DBInstanceIdentifier=name,
        DBInstanceClass="db.t3.micro",
        Engine="postgres",
        EngineVersion="15.4",
        MasterUsername=MASTER_USER,
        MasterUserPassword=PASSWORD,
        AllocatedStorage=50,
        MultiAZ=True,
        PubliclyAccessible=False,
        StorageEncrypted=True,
        BackupRetentionPeriod=7,
        DeletionProtection=True,
        Tags=[{"Key": "team", "Value": "db"}, {"Key": "tier", "Value": "1"}],
    )
    declared = {
        "engine": "postgres",
        "engine_version": "15",  # a prefix: any 15.x is in sync
        "instance_class": "db.t3.micro",
        "allocated_storage": 50,
        "multi_az": True,
        "publicly_accessible": False,
        "storage_encrypted": True,
        "backup_retention_period": 7,
        "deletion_protection": True,
        "tags": {"tier": 1, "team": "db"},
    }
    drifted = {
        "engine": "mysql",
        "engine_version": "15.2",
        "instance_class": "db.m5.large",
        "allocated_storage": 100,
        "multi_az": False,
        "publicly_accessible": True,
        "storage_encrypted": False,
        "backup_retention_period": 1,
        "deletion_protection": False,
        "tags": {"team": "db"},
    }
    return declared, drifted


def bare_instance(aws: Aws, name: str, region: str = "us-east-1") -> None:
    """A MySQL instance created with nothing but the required parameters."""
    aws.client("rds", region).create_db_instance(
        DBInstanceIdentifier=name,
        DBInstanceClass="db.t3.micro",
        Engine="mysql",
        MasterUsername=MASTER_USER,
        MasterUserPassword=PASSWORD,
        AllocatedStorage=20,
    )
