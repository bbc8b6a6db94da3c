"""driftwatch: keep AWS honest with Git."""

__version__ = "0.1.0"
