"""One module per AWS service family; importing this package registers the built-ins."""

from driftwatch.collectors import ec2, iam, s3
from driftwatch.collectors.base import Collector

__all__ = ["Collector", "ec2", "iam", "s3"]
