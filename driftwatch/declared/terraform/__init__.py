"""Terraform/OpenTofu state as declared state: read-only sources, projection, folding."""
