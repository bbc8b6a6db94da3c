"""One module per AWS service family, beside its collector; importing this registers them."""

from driftwatch.remediators import ec2, iam, s3
from driftwatch.remediators.base import Call, Remediator, RevertPlan, Target

__all__ = ["Call", "Remediator", "RevertPlan", "Target", "ec2", "iam", "s3"]
