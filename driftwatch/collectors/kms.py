"""KMS collectors: keys."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from driftwatch.collectors.base import Collector, NotComparable, is_code, paginate, register
from driftwatch.models import LiveResource, Scope
from driftwatch.schema import Attr, Bool, Ctx, Int, Policy, Str, Tags

_AWS_ALIAS = "alias/aws/"
_USAGES = ("ENCRYPT_DECRYPT", "SIGN_VERIFY", "GENERATE_VERIFY_MAC", "KEY_AGREEMENT")
_PENDING_DELETION = ("PendingDeletion", "PendingReplicaDeletion")


@dataclass(frozen=True)
class DeletionWindow(Int):
    """Days from ScheduleKeyDeletion to deletion (7–30); compared only when AWS shows it.

    KMS does not return the window of an existing key: DescribeKey has it only as
    `PendingDeletionWindowInDays`, while a multi-Region primary key waits for its replicas
    to be deleted. Otherwise both sides canonicalise to null (unknown), never drift.
    """

    label = "integer from 7 to 30"

    def check(self, value: Any) -> str | None:
        problem = super().check(value)
        if problem is None and not 7 <= value <= 30:
            return f"must be from 7 to 30 (days), got {value}"
        return problem

    def canonical(self, value: Any, ctx: Ctx) -> Any:
        return value if ctx.get("deletion_window_in_days") is not None else None


@register
class KmsKey(Collector):
    """A KMS key, identified by one of its aliases (`alias/…`), its key id or its key ARN.

    Listed per region with ListKeys and ListAliases; a key's names are its aliases. Keys
    with an `alias/aws/…` alias are AWS-managed and never unmanaged. A key pending deletion
    is live: the API lists and describes it until KMS deletes it.
    """

    type = "aws_kms_key"
    service = "kms"
    identity = "alias name (`alias/…`), key id, or key ARN"
    not_found_codes = ("NotFoundException",)
    attributes = {
        "description": Attr(
            Str(empty_is_null=True), "describe", 'Key description; `""` and none are equal.'
        ),
        "key_usage": Attr(
            Str(choices=_USAGES), "describe", "Cryptographic operations the key is for."
        ),
        "deletion_window_in_days": Attr(
            DeletionWindow(),
            "describe",
            "Deletion waiting period (7–30); compared only while AWS exposes it, else unknown.",
        ),
        "enable_key_rotation": Attr(
            Bool(), "rotation", "Automatic key rotation; `false` for keys that cannot rotate."
        ),
        "policy": Attr(Policy(), "policy", "The `default` key policy, compared semantically."),
        "tags": Attr(Tags(), "tags", "Tags as a mapping; the whole mapping is compared."),
    }

    def list_resources(self, client: Any, scope: Scope) -> list[LiveResource]:
        keys = list(paginate(client, "list_keys", "Keys"))
        aliases: dict[str, list[str]] = {k["KeyId"]: [] for k in keys}
        # Predefined `alias/aws/…` aliases whose key AWS has not created yet have no target.
        for alias in paginate(client, "list_aliases", "Aliases"):
            if alias.get("TargetKeyId") in aliases:
                aliases[alias["TargetKeyId"]].append(alias["AliasName"])
        return [
            LiveResource(
                self.type,
                k["KeyId"],
                scope.account,
                scope.region,
                names=(*sorted(aliases[k["KeyId"]]), k["KeyArn"]),
                listed={"aliases": sorted(aliases[k["KeyId"]])},
            )
            for k in keys
        ]

    def aws_managed(self, live: LiveResource) -> bool:
        return any(a.startswith(_AWS_ALIAS) for a in live.listed["aliases"])

    def context(self, live: LiveResource) -> Ctx:
        return {"deletion_window_in_days": live.attrs.get("deletion_window_in_days")}

    def summary(self, live: LiveResource) -> dict[str, Any]:
        return {"id": live.id, "aliases": live.listed["aliases"]}

    def read_describe(self, client: Any, live: LiveResource) -> dict[str, Any]:
        meta = client.describe_key(KeyId=live.id)["KeyMetadata"]
        return {
            "description": meta.get("Description", ""),
            # CreateKey's default; AWS always returns it, moto omits it when not passed.
            "key_usage": meta.get("KeyUsage") or "ENCRYPT_DECRYPT",
            "deletion_window_in_days": meta.get("PendingDeletionWindowInDays"),
        }

    def read_rotation(self, client: Any, live: LiveResource) -> dict[str, Any]:
        try:
            enabled = bool(client.get_key_rotation_status(KeyId=live.id)["KeyRotationEnabled"])
        except Exception as exc:
            # Asymmetric, HMAC, imported-material and custom key store keys cannot rotate.
            if is_code(exc, "UnsupportedOperationException"):
                return {"enable_key_rotation": False}
            raise
        if not enabled:
            # KMS reports false for a key pending deletion whatever its setting (which comes
            # back if the deletion is cancelled): only DescribeKey tells the two apart.
            _refuse_pending_deletion(client.describe_key(KeyId=live.id)["KeyMetadata"])
        return {"enable_key_rotation": enabled}

    def read_policy(self, client: Any, live: LiveResource) -> dict[str, Any]:
        return {"policy": client.get_key_policy(KeyId=live.id, PolicyName="default")["Policy"]}

    def read_tags(self, client: Any, live: LiveResource) -> dict[str, Any]:
        tags = paginate(client, "list_resource_tags", "Tags", KeyId=live.id)
        return {"tags": {t["TagKey"]: t.get("TagValue", "") for t in tags}}


def _refuse_pending_deletion(meta: dict[str, Any]) -> None:
    """Raise NotComparable, naming the key state, for a key pending deletion."""
    state = meta.get("KeyState")
    if state not in _PENDING_DELETION:
        return
    when = meta.get("DeletionDate")
    day = f", deletion on {str(when)[:10]}" if when else ", waiting for its replicas"
    raise NotComparable(
        f"key state {state}{day}: KMS reports rotation as off until the deletion is "
        "cancelled, so enable_key_rotation cannot be compared; cancel the deletion "
        "(CancelKeyDeletion) or remove the key from the manifest"
    )
