"""IAM group memberships folded into users' `groups`: both split types, unit and end to end."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest
from support import tfstate as tf
from support.env import Aws, scan

from driftwatch.config import load_config
from driftwatch.declared.terraform.load import TerraformDeclared, load_terraform
from driftwatch.declared.terraform.sources import ReadContext
from driftwatch.errors import ManifestError

ACCOUNT = "123456789012"


def user(name: str) -> dict[str, Any]:
    """An aws_iam_user instance's attributes, in the provider's shape."""
    return {
        "arn": f"arn:aws:iam::{ACCOUNT}:user/{name}",
        "force_destroy": False,
        "id": name,
        "name": name,
        "path": "/",
        "permissions_boundary": "",
        "tags": {},
        "tags_all": {},
        "unique_id": f"AIDA{name.upper()}EXAMPLE",
    }


def group_membership(group: str, *users: str) -> dict[str, Any]:
    """aws_iam_group_membership: exclusive for the group, `name` is the membership's own."""
    return {
        "group": group,
        "id": f"{group}-members",
        "name": f"{group}-members",
        "users": list(users),
    }


def user_membership(name: str, *groups: str) -> dict[str, Any]:
    """aws_iam_user_group_membership: non-exclusive, its id is made up by the provider."""
    return {"groups": list(groups), "id": f"terraform-{name}", "user": name}


def app_state(*extra: dict[str, Any]) -> dict[str, Any]:
    return tf.state(
        tf.resource("aws_iam_user", "alice", tf.instance(user("alice"))),
        tf.resource("aws_iam_user", "bob", tf.instance(user("bob"))),
        tf.resource(
            "aws_iam_group_membership",
            "devs",
            tf.instance(group_membership("devs", "alice", "bob")),
        ),
        tf.resource(
            "aws_iam_user_group_membership", "alice", tf.instance(user_membership("alice", "ops"))
        ),
        *extra,
    )


def load(tmp_path: Path, doc: dict[str, Any]) -> TerraformDeclared:
    (tmp_path / "s.tfstate").write_bytes(tf.dumps(doc))
    path = tmp_path / "driftwatch.toml"
    path.write_text('[[terraform]]\nname = "s"\nfrom = "file:s.tfstate"\n')
    cfg = load_config(path)
    return load_terraform(cfg, ReadContext(cfg), b"k" * 32)


def test_a_group_membership_folds_into_every_user_it_names(tmp_path: Path) -> None:
    orphan = tf.resource(
        "aws_iam_group_membership", "auditors", tf.instance(group_membership("auditors", "carol"))
    )
    got = load(tmp_path, app_state(orphan))
    users = {r.id: r for r in got.resources}
    assert sorted(users["alice"].spec["groups"]) == ["devs", "ops"]
    assert users["bob"].spec["groups"] == ["devs"]
    assert users["alice"].notes["groups"] == (
        "from aws_iam_group_membership.devs, aws_iam_user_group_membership.alice"
    )
    assert users["bob"].notes["groups"] == "from aws_iam_group_membership.devs"
    [missing] = got.orphans
    assert "aws_iam_group_membership.auditors" in missing and "'carol'" in missing


def test_a_membership_with_users_that_is_not_a_list_is_an_error(tmp_path: Path) -> None:
    bad = tf.resource(
        "aws_iam_group_membership", "odd", tf.instance({**group_membership("odd"), "users": "x"})
    )
    with pytest.raises(ManifestError, match=r"membership\.odd: names no aws_iam_user"):
        load(tmp_path, app_state(bad))


def test_an_out_of_band_group_is_drift_and_declared_ones_are_not(aws: Aws, tmp_path: Path) -> None:
    iam = aws.client("iam")
    for group in ("devs", "ops", "admins"):
        iam.create_group(GroupName=group)
    for name, groups in (("alice", ("devs", "ops")), ("bob", ("devs", "admins"))):
        iam.create_user(UserName=name)
        for group in groups:  # bob in admins: added out of band
            iam.add_user_to_group(GroupName=group, UserName=name)
    (tmp_path / "app.tfstate").write_bytes(tf.dumps(app_state()))
    cfg = tmp_path / "driftwatch.toml"
    cfg.write_text(
        textwrap.dedent(f"""
        [aws]
        regions = ["us-east-1"]
        endpoint_url = "{aws.url}"
        max_attempts = 2

        [scan]
        types = ["aws_iam_user"]

        [storage]
        path = "state/driftwatch.db"

        [[terraform]]
        name = "app"
        from = "file:app.tfstate"
        """)
    )
    run = scan(cfg)
    assert run.code == 2, run.stdout + run.stderr
    bob = run.drift("aws_iam_user", "bob")
    assert bob["kind"] == "modified" and [c["path"] for c in bob["changes"]] == ["groups"]
    assert bob["declared_by"]["address"] == "aws_iam_user.bob"
    assert not [d for d in run.findings("modified") if d["id"] == "alice"]
