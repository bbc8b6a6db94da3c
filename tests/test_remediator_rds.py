"""aws_db_instance reverts: one ModifyDBInstance (maintenance window or now), refusals, tags."""

from __future__ import annotations

from support import seed_rds
from support.env import Aws
from support.revert import drifted_paths, plan, pure_target, revert

from driftwatch.remediators.rds import DbInstanceRemediator

T = "aws_db_instance"
ARN = "arn:aws:rds:us-east-1:123456789012:db:db"


def _pure(spec: dict, live: dict, *options: str):
    return plan(pure_target(T, spec, live, rid="db", listed={"arn": ARN}), *options)


def test_modifiable_settings_go_in_one_call_in_the_maintenance_window_by_default() -> None:
    spec = {
        "instance_class": "db.t3.micro",
        "multi_az": True,
        "backup_retention_period": 7,
        "deletion_protection": True,
        "publicly_accessible": False,
        "allocated_storage": 50,
    }
    live = {
        "instance_class": "db.m5.large",
        "multi_az": False,
        "backup_retention_period": 1,
        "deletion_protection": False,
        "publicly_accessible": True,
        "allocated_storage": 20,
    }
    got = _pure(spec, live)
    [call] = got.calls
    assert (call.operation, call.params) == (
        "modify_db_instance",
        {
            "DBInstanceIdentifier": "db",
            "DBInstanceClass": "db.t3.micro",
            "AllocatedStorage": 50,
            "MultiAZ": True,
            "PubliclyAccessible": False,
            "BackupRetentionPeriod": 7,
            "DeletionProtection": True,
            "ApplyImmediately": False,
        },
    )
    assert set(call.fixes) == set(spec)
    assert "next maintenance window" in call.note and "apply_immediately" in call.note
    now = _pure(spec, live, "apply_immediately")
    assert now.calls[0].params["ApplyImmediately"] is True
    assert now.calls[0].note.startswith("applies now")


def test_apply_immediately_is_an_offered_option() -> None:
    assert [o.name for o in DbInstanceRemediator.options] == ["apply_immediately"]


def test_minor_engine_upgrade_is_planned_downgrade_and_major_are_refused() -> None:
    minor = _pure({"engine_version": "15.5"}, {"engine_version": "15.4"})
    assert minor.calls[0].params["EngineVersion"] == "15.5" and not minor.not_revertible
    for want, have, why in (
        ("15.2", "15.4", "cannot downgrade"),
        ("16.1", "15.4", "major version upgrade"),
        ("16", "15.4", "major version upgrade"),
    ):
        got = _pure({"engine_version": want}, {"engine_version": have})
        assert got.calls == []
        assert [r.path for r in got.not_revertible] == ["engine_version"]
        assert why in got.not_revertible[0].why


def test_engine_encryption_and_shrinking_storage_are_refused_the_rest_goes_ahead() -> None:
    got = _pure(
        {
            "engine": "postgres",
            "storage_encrypted": True,
            "allocated_storage": 20,
            "multi_az": True,
        },
        {"engine": "mysql", "storage_encrypted": False, "allocated_storage": 50, "multi_az": False},
    )
    assert [c.params for c in got.calls] == [
        {"DBInstanceIdentifier": "db", "MultiAZ": True, "ApplyImmediately": False}
    ]
    whys = {r.path: r.why for r in got.not_revertible}
    assert set(whys) == {"engine", "storage_encrypted", "allocated_storage"}
    assert "cannot shrink" in whys["allocated_storage"] and "snapshot" in whys["storage_encrypted"]


def test_storage_growth_under_ten_percent_is_refused_as_rds_would_round_it_up() -> None:
    got = _pure({"allocated_storage": 54}, {"allocated_storage": 50})
    assert got.calls == []
    [refused] = got.not_revertible
    assert "rounds 54 GiB up to 55 GiB" in refused.why
    exact = _pure({"allocated_storage": 55}, {"allocated_storage": 50})
    assert exact.calls[0].params["AllocatedStorage"] == 55


def test_tags_by_arn_at_once() -> None:
    got = _pure({"tags": {"team": "db", "tier": 1}}, {"tags": [{"Key": "old", "Value": ""}]})
    assert [(c.operation, c.params) for c in got.calls] == [
        ("remove_tags_from_resource", {"ResourceName": ARN, "TagKeys": ["old"]}),
        (
            "add_tags_to_resource",
            {
                "ResourceName": ARN,
                "Tags": [{"Key": "team", "Value": "db"}, {"Key": "tier", "Value": "1"}],
            },
        ),
    ]
    assert all("at once" in c.note for c in got.calls)


def test_round_trip_puts_settings_and_tags_back(aws: Aws) -> None:
    spec, _ = seed_rds.instance(aws, "db")
    spec["engine_version"] = "15.4"
    rds = aws.client("rds")
    rds.modify_db_instance(
        DBInstanceIdentifier="db",
        DBInstanceClass="db.m5.large",
        AllocatedStorage=20,
        MultiAZ=False,
        PubliclyAccessible=True,
        BackupRetentionPeriod=1,
        DeletionProtection=False,
        EngineVersion="15.2",
        ApplyImmediately=True,
    )
    arn = rds.describe_db_instances(DBInstanceIdentifier="db")["DBInstances"][0]["DBInstanceArn"]
    rds.remove_tags_from_resource(ResourceName=arn, TagKeys=["tier"])
    rds.add_tags_to_resource(ResourceName=arn, Tags=[{"Key": "extra", "Value": "1"}])
    drifted = {p.split(".")[0] for p in drifted_paths(aws, T, "db", spec)}
    assert drifted == set(spec) - {"engine", "storage_encrypted"}
    done = revert(aws, T, "db", spec, "apply_immediately")
    assert [c.operation for c in done.calls] == [
        "modify_db_instance",
        "remove_tags_from_resource",
        "add_tags_to_resource",
    ]
    assert drifted_paths(aws, T, "db", spec) == []
