"""One module per AWS service family, beside its collector; importing this registers them."""

from driftwatch.remediators import dynamodb, ec2, iam, kms, lambda_, logs, rds, s3, sns, sqs
from driftwatch.remediators.base import Call, Remediator, RevertPlan, Target

__all__ = [
    "Call",
    "Remediator",
    "RevertPlan",
    "Target",
    "dynamodb",
    "ec2",
    "iam",
    "kms",
    "lambda_",
    "logs",
    "rds",
    "s3",
    "sns",
    "sqs",
]
