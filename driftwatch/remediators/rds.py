"""Reverts for RDS DB instances: one ModifyDBInstance for the modifiable settings, tags."""

from __future__ import annotations

from typing import Any

from driftwatch.remediators.base import Call, Option, Remediator, RevertPlan, Target, register
from driftwatch.remediators.tagging import key_paths, tag_delta, tag_list

APPLY_IMMEDIATELY = "apply_immediately"

# Declared attribute → ModifyDBInstance parameter.
_MODIFIABLE = {
    "instance_class": "DBInstanceClass",
    "allocated_storage": "AllocatedStorage",
    "multi_az": "MultiAZ",
    "publicly_accessible": "PubliclyAccessible",
    "backup_retention_period": "BackupRetentionPeriod",
    "deletion_protection": "DeletionProtection",
    "engine_version": "EngineVersion",
}
_FIXED = {
    "engine": "a DB instance's engine is fixed when it is created: migrate the data to a new "
    "instance of the declared engine (pipeline mode)",
    "storage_encrypted": "RDS cannot encrypt or decrypt an instance's storage in place: take a "
    "snapshot, copy it with the wanted encryption and restore a new instance from it "
    "(pipeline mode)",
}


@register
class DbInstanceRemediator(Remediator):
    """Modifiable settings go back in one ModifyDBInstance; engine and encryption cannot.

    Without the `apply_immediately` option RDS applies the change in the instance's next
    maintenance window, so the drift stays until then: the plan says which it is.
    """

    type = "aws_db_instance"
    options = (
        Option(
            APPLY_IMMEDIATELY,
            "apply the ModifyDBInstance now instead of in the next maintenance window "
            "(with any other pending modifications; class, storage and Multi-AZ changes "
            "can mean downtime)",
        ),
    )

    def plan_attr(
        self, attr: str, target: Target, options: frozenset[str], out: RevertPlan
    ) -> None:
        if attr in _MODIFIABLE:
            if attr == next(a for a in _MODIFIABLE if a in target.drifted):
                _modify(target, APPLY_IMMEDIATELY in options, out)
        elif attr in _FIXED:
            out.refuse(attr, _FIXED[attr])
        elif attr == "tags":
            _tags(target.live.listed["arn"], target, out)
        else:
            super().plan_attr(attr, target, options, out)


def _modify(target: Target, now: bool, out: RevertPlan) -> None:
    params: dict[str, Any] = {"DBInstanceIdentifier": target.live.id}
    fixes: list[str] = []
    for attr in (a for a in _MODIFIABLE if a in target.drifted):
        why = _refusal(attr, target.want.get(attr), target.have.get(attr))
        if why:
            out.refuse(attr, why)
            continue
        params[_MODIFIABLE[attr]] = target.want.get(attr)
        fixes += target.paths(attr)
    if not fixes:
        return
    params["ApplyImmediately"] = now
    out.add(Call("rds", "modify_db_instance", params, tuple(fixes), note=_when(now)))


def _when(now: bool) -> str:
    if now:
        return (
            "applies now (ApplyImmediately), with any pending modifications; class, "
            "storage and Multi-AZ changes can mean downtime"
        )
    return (
        "applies in the next maintenance window (ApplyImmediately false): the drift stays "
        "until then; use the apply_immediately option to apply now"
    )


def _refusal(attr: str, want: Any, have: Any) -> str | None:
    """Why one modifiable setting cannot go back to the declared value, or None."""
    if attr == "allocated_storage" and isinstance(have, int):
        return _storage_refusal(want, have)
    if attr == "engine_version":
        return _version_refusal(str(want), str(have))
    return None


def _storage_refusal(want: int, have: int) -> str | None:
    if want < have:
        return (
            f"RDS cannot shrink allocated storage ({have} GiB live, {want} GiB declared): "
            "restore into a new, smaller instance (pipeline mode), or declare the live size"
        )
    if want * 10 < have * 11:
        # ModifyDBInstance rounds a smaller growth up to 10%: it would never match.
        return (
            f"RDS grows storage by at least 10% and rounds {want} GiB up to "
            f"{-(-have * 11 // 10)} GiB (live {have} GiB): declare at least that"
        )
    return None


def _version_refusal(want: str, have: str) -> str | None:
    """Only minor upgrades within the live major version are planned."""
    if _version_key(want) < _version_key(have):
        return f"RDS cannot downgrade an engine ({have} live, {want} declared)"
    if want.rpartition(".")[0] != have.rpartition(".")[0]:
        return (
            f"{have} → {want} is a major version upgrade (or the declared version is a "
            "prefix of none): it needs AllowMajorVersionUpgrade and a compatible parameter "
            "group, so upgrade deliberately and declare the full version"
        )
    return None


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(p) if p.isdigit() else -1 for p in version.split("."))


def _tags(arn: str, target: Target, out: RevertPlan) -> None:
    delta = tag_delta(target)
    note = "tags change at once, whatever the apply_immediately option"
    if delta.remove:
        removed = {"ResourceName": arn, "TagKeys": delta.remove}
        paths = key_paths(target, delta.remove)
        out.add(Call("rds", "remove_tags_from_resource", removed, paths, note=note))
    if delta.put:
        put = {"ResourceName": arn, "Tags": tag_list(delta.put)}
        paths = key_paths(target, delta.put)
        out.add(Call("rds", "add_tags_to_resource", put, paths, note=note))
