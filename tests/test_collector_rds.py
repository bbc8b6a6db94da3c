"""aws_db_instance collector, in-process with moto's mock_aws: listing, defaults, exclusions."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from driftwatch.collectors.rds import DbInstance, EngineVersion
from driftwatch.models import DeclaredResource, LiveResource, Scope

SCOPE = Scope("a", "us-east-1", "aws_db_instance")
PASSWORD = "Pw-0d9e8f-not-an-attribute"


@pytest.fixture
def rds(mock_aws_env: None):
    yield boto3.client("rds", region_name="us-east-1")


def _create(rds: Any, name: str, **kw: Any) -> None:
    rds.create_db_instance(
        DBInstanceIdentifier=name,
        DBInstanceClass=kw.pop("DBInstanceClass", "db.t3.micro"),
        Engine=kw.pop("Engine", "mysql"),
        MasterUsername="admin_user",
        MasterUserPassword=PASSWORD,
        AllocatedStorage=20,
        **kw,
    )


def test_unconfigured_instance_reads_as_defaults(rds) -> None:
    _create(rds, "bare", EngineVersion="8.0.35")
    [live] = DbInstance().list_resources(rds, SCOPE)
    assert live.attrs == {
        "engine": "mysql",
        "engine_version": "8.0.35",
        "instance_class": "db.t3.micro",
        "allocated_storage": 20,
        "multi_az": False,
        "publicly_accessible": False,
        "storage_encrypted": False,
        "backup_retention_period": 1,
        "deletion_protection": False,
        "tags": [],
    }
    assert set(live.attrs) == set(DbInstance.attributes)


def test_nothing_secret_is_kept_from_the_listing(rds) -> None:
    _create(rds, "db")
    [live] = DbInstance().list_resources(rds, SCOPE)
    kept = json.dumps([live.attrs, live.listed, live.names, DbInstance().summary(live)])
    for text in (PASSWORD, "admin_user", "amazonaws.com", "Endpoint", "Secret"):
        assert text not in kept
    assert DbInstance().summary(live) == {
        "id": "db",
        "engine": "mysql",
        "instance_class": "db.t3.micro",
    }


def test_lists_every_page_of_the_scope_region_only(rds) -> None:
    for i in range(102):  # DescribeDBInstances returns at most 100 a page
        _create(rds, f"db-{i:03}")
    _create(boto3.client("rds", region_name="eu-west-1"), "west")
    pages: list[str] = []
    rds.meta.events.register("before-call", lambda model, **_: pages.append(model.name))
    got = DbInstance().list_resources(rds, SCOPE)
    assert sorted(x.id for x in got) == [f"db-{i:03}" for i in range(102)]
    assert pages == ["DescribeDBInstances", "DescribeDBInstances"]


def test_cluster_members_are_matched_but_never_unmanaged(rds) -> None:
    rds.create_db_cluster(
        DBClusterIdentifier="aurora",
        Engine="aurora-postgresql",
        MasterUsername="admin_user",
        MasterUserPassword=PASSWORD,
    )
    rds.create_db_instance(
        DBInstanceIdentifier="aurora-1",
        DBClusterIdentifier="aurora",
        DBInstanceClass="db.r6g.large",
        Engine="aurora-postgresql",
    )
    _create(rds, "alone")
    c = DbInstance()
    got = {x.id: x for x in c.list_resources(rds, SCOPE)}
    assert set(got) == {"aurora-1", "alone"}
    assert {k: c.aws_managed(v) for k, v in got.items()} == {"aurora-1": True, "alone": False}
    declared = DeclaredResource("aws_db_instance", "aurora-1", "a", "us-east-1", {}, "m.yaml")
    assert c.match(declared, list(got.values())) == [got["aurora-1"]]


def test_identifiers_match_ignoring_case(rds) -> None:
    _create(rds, "Orders-DB")  # AWS stores it as orders-db
    c = DbInstance()
    [live] = c.list_resources(rds, SCOPE)
    assert live.id == "orders-db"
    declared = DeclaredResource("aws_db_instance", "Orders-DB", "a", "us-east-1", {}, "m.yaml")
    assert c.match(declared, [live]) == [live]


def test_an_instance_being_deleted_is_not_live() -> None:
    client = boto3.client(
        "rds", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    page = {
        "DBInstances": [
            {"DBInstanceIdentifier": "going", "DBInstanceStatus": "deleting", "Engine": "mysql"},
            {"DBInstanceIdentifier": "stays", "DBInstanceStatus": "stopped", "Engine": "mysql"},
        ]
    }
    with Stubber(client) as stub:
        stub.add_response("describe_db_instances", page, {})
        got = DbInstance().list_resources(client, SCOPE)
    assert [x.id for x in got] == ["stays"]


def test_engine_version_prefix_ends_at_a_dot() -> None:
    kind = EngineVersion()
    live = {"engine_version": "8.0.36"}
    assert kind.canonical("8.0", live) == "8.0.36"
    assert kind.canonical("8", live) == "8.0.36"
    assert kind.canonical("8.0.36", live) == "8.0.36"
    assert kind.canonical("8.0.3", live) == "8.0.3"
    assert kind.canonical("8.", live) == "8."
    assert kind.canonical("8.0", {"engine_version": None}) == "8.0"
    assert kind.check(15) is not None


def test_every_attribute_is_listed() -> None:
    c = DbInstance()
    assert c.sources_for(list(c.attributes)) == []
    assert c.sources_for(["tags"]) == []
    assert "password" not in c.attributes and "master_password" not in c.attributes


def test_live_resource_context_carries_only_the_engine_version() -> None:
    live = LiveResource("aws_db_instance", "x", "a", "r", attrs={"engine_version": "15.4"})
    assert DbInstance().context(live) == {"engine_version": "15.4"}
