"""Declared state: Git access and manifest parsing."""
