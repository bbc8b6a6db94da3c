"""One module per AWS service family; importing this package registers the built-ins."""

from driftwatch.collectors import dynamodb, ec2, iam, kms, lambda_, logs, rds, s3, sns, sqs
from driftwatch.collectors.base import Collector

__all__ = [
    "Collector",
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
