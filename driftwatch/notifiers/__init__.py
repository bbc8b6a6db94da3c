"""Alert channels, one file each; every built-in registers through `registry.notifiers`."""

from driftwatch.notifiers import email, slack, webhook  # noqa: F401  (registers them)
