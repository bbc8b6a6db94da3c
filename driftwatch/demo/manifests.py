"""The demo's Git side: the manifests a small team keeps for the estate in estate.py.

Written as people write them (comments, a file per area and account); `$name` fields
are the ids AWS chose when the estate was seeded (security groups, AMIs, role ARNs).
"""

from __future__ import annotations

import re
import textwrap
from string import Template

from driftwatch.demo.estate import Ids

PROD_NETWORK = """
# Network and compute in prod. Owner: #team-platform.
# Every change here goes through a pull request; nobody opens ports by hand.
resources:
  - type: aws_security_group
    id: web
    spec:
      description: web tier
      # Only HTTPS from the internet. SSH goes through SSM Session Manager.
      ingress:
        - protocol: tcp
          from_port: 443
          to_port: 443
          cidr_blocks: ["0.0.0.0/0"]
          description: HTTPS
      tags: {team: web}

  - type: aws_security_group
    id: db
    spec:
      description: database tier
      ingress:
        - {protocol: tcp, from_port: 5432, to_port: 5432, cidr_blocks: ["10.0.0.0/16"]}
      tags: {team: web}

  # The API fleet. t3.small is plenty since the cache went in (INC-2291).
  - type: aws_instance
    id: api-1
    spec:
      instance_type: t3.small
      ami: $ami_east
      vpc_security_group_ids: [$sg_web_east]
      tags: {Name: api-1, team: api, env: prod}

  - type: aws_instance
    id: api-2
    spec:
      instance_type: t3.small
      ami: $ami_east
      vpc_security_group_ids: [$sg_web_east]
      tags: {Name: api-2, team: api, env: prod}

  # Europe: same shape, smaller.
  - type: aws_security_group
    id: web
    region: eu-west-1
    spec:
      description: web tier
      ingress:
        - protocol: tcp
          from_port: 443
          to_port: 443
          cidr_blocks: ["0.0.0.0/0"]
          description: HTTPS

  - type: aws_instance
    id: api-eu-1
    region: eu-west-1
    spec:
      instance_type: t3.small
      ami: $ami_west
      vpc_security_group_ids: [$sg_web_west]
"""

PROD_STORAGE = """
# Buckets, tables and the orders database in prod.
resources:
  # Access logs of every service. Versioning stays on: auditors ask for it.
  - type: aws_s3_bucket
    id: acme-prod-logs
    spec:
      versioning: Enabled
      server_side_encryption: {sse_algorithm: AES256}
      public_access_block:
        block_public_acls: true
        block_public_policy: true
        ignore_public_acls: true
        restrict_public_buckets: true
      tags: {team: platform, cost-center: 1001}

  - type: aws_s3_bucket
    id: acme-prod-assets
    spec:
      versioning: Enabled
      tags: {team: web, cost-center: 1002}

  # Customer data stays in the EU (GDPR).
  - type: aws_s3_bucket
    id: acme-eu-customer-data
    region: eu-west-1
    spec:
      versioning: Enabled
      server_side_encryption: {sse_algorithm: AES256}
      tags: {team: data}

  - type: aws_dynamodb_table
    id: sessions
    spec:
      billing_mode: PAY_PER_REQUEST
      hash_key: session_id
      point_in_time_recovery: true
      tags: {team: api}

  - type: aws_dynamodb_table
    id: sessions
    region: eu-west-1
    spec:
      billing_mode: PAY_PER_REQUEST
      hash_key: session_id
      point_in_time_recovery: true

  - type: aws_db_instance
    id: orders-db
    spec:
      engine: postgres
      engine_version: "15"      # any 15.x: minor upgrades are automatic
      instance_class: db.t3.micro
      allocated_storage: 50
      storage_encrypted: true
      backup_retention_period: 7
      deletion_protection: true
      tags: {team: orders}
"""

PROD_IAM = """
# IAM in prod (global). Roles are per service; people get users only with a ticket.
resources:
  - type: aws_iam_role
    id: api-app
    spec:
      assume_role_policy:
        Version: "2012-10-17"
        Statement:
          - Effect: Allow
            Principal: {Service: ec2.amazonaws.com}
            Action: sts:AssumeRole
      tags: {team: api}

  # The nightly reporting job runs on EC2 and needs this role.
  - type: aws_iam_role
    id: reporting
    spec:
      tags: {team: data}

  - type: aws_iam_role
    id: thumbnailer-exec
    spec:
      tags: {team: media}

  - type: aws_iam_policy
    id: read-assets
    spec:
      path: /app/
      description: read the public assets bucket
      policy:
        Version: "2012-10-17"
        Statement:
          - Sid: ReadAssets
            Effect: Allow
            Action: [s3:ListBucket, s3:GetObject]
            Resource: ["arn:aws:s3:::acme-prod-assets/*", "arn:aws:s3:::acme-prod-assets"]

  - type: aws_iam_user
    id: alice
    spec:
      path: /people/
      tags: {team: platform}

  - type: aws_iam_user
    id: deploy-bot      # CI deploys as this user; its keys rotate monthly
    spec:
      path: /machines/
      tags: {team: platform}
"""

PROD_APPS = """
# Application plumbing in prod: queues, topics, functions, logs, keys.
resources:
  - type: aws_sqs_queue
    id: orders
    spec:
      visibility_timeout_seconds: 120
      message_retention_seconds: 1209600    # 14 days
      redrive_policy:
        deadLetterTargetArn: arn:aws:sqs:us-east-1:$prod_account:orders-dlq
        maxReceiveCount: 5
      tags: {team: orders}

  - type: aws_sqs_queue
    id: orders-dlq
    spec:
      tags: {team: orders}

  - type: aws_sns_topic
    id: ops-alerts
    spec:
      display_name: Ops alerts
      tags: {team: ops}

  - type: aws_lambda_function
    id: thumbnailer
    spec:
      runtime: python3.12
      handler: app.handler
      role: $thumbnailer_role
      memory_size: 256
      timeout: 30
      tags: {team: media}

  - type: aws_cloudwatch_log_group
    id: /acme/api
    spec:
      retention_in_days: 30
      tags: {team: api}

  - type: aws_cloudwatch_log_group
    id: /acme/api
    region: eu-west-1
    spec:
      retention_in_days: 30

  - type: aws_kms_key
    id: alias/acme-data
    spec:
      description: application data
      enable_key_rotation: true
      tags: {team: platform}
"""

STAGING = """
# The staging account (eu-west-1 only). Looser than prod, but still declared.
resources:
  - type: aws_security_group
    id: web
    account: staging
    spec:
      description: web tier
      ingress:
        - protocol: tcp
          from_port: 443
          to_port: 443
          cidr_blocks: ["0.0.0.0/0"]
          description: HTTPS

  - type: aws_instance
    id: api-staging-1
    account: staging
    spec:
      instance_type: t3.micro
      ami: $ami_staging
      vpc_security_group_ids: [$sg_web_staging]

  - type: aws_s3_bucket
    id: acme-staging-assets
    account: staging
    spec:
      tags: {team: web, owner: web-team}

  - type: aws_iam_role
    id: api-app
    account: staging
    spec:
      tags: {team: api}

  - type: aws_sqs_queue
    id: orders
    account: staging
    spec:
      visibility_timeout_seconds: 120

  - type: aws_sqs_queue
    id: orders-dlq
    account: staging

  - type: aws_dynamodb_table
    id: sessions
    account: staging
    spec:
      billing_mode: PAY_PER_REQUEST
"""

FILES = {
    "declared/prod/network.yaml": PROD_NETWORK,
    "declared/prod/storage.yaml": PROD_STORAGE,
    "declared/prod/iam.yaml": PROD_IAM,
    "declared/prod/apps.yaml": PROD_APPS,
    "declared/staging/all.yaml": STAGING,
}

README = """
# infra

Declared state of Acme's AWS accounts, read by driftwatch. One folder per
account (`prod`, `staging`); change a resource here first, then in AWS.
"""


def declared(files: dict[str, str]) -> list[str]:
    """The type of every resource the manifests declare, one entry per resource."""
    return re.findall(r"^  - type: (\w+)$", "\n".join(files.values()), re.MULTILINE)


def manifests(ids: Ids) -> dict[str, str]:
    """Repository path → file text, with the seeded ids filled in."""
    files = {rel: Template(text).substitute(ids) for rel, text in FILES.items()}
    files["README.md"] = README
    return {rel: textwrap.dedent(text).lstrip() for rel, text in files.items()}
