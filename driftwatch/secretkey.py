"""The installation's key for digesting secret attribute values (never stored in the DB)."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from driftwatch.errors import StoreError
from driftwatch.filemodes import FILE_MODE, make_private_dirs, private_file

KEY_FILE = "secret.key"


def load_or_create_key(data_dir: Path, name: str = KEY_FILE) -> bytes:
    """Read `<data_dir>/<name>` (default secret.key), creating it (mode 0600) on first use."""
    path = data_dir / name
    try:
        if path.exists():
            private_file(path)
            key = path.read_bytes()
            if len(key) != 32:
                raise StoreError(
                    f"{path} is not a driftwatch key (expected 32 bytes); "
                    "delete it to create a new one"
                )
            return key
        make_private_dirs(data_dir)
        key = secrets.token_bytes(32)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
        with os.fdopen(fd, "wb") as f:
            os.fchmod(fd, FILE_MODE)
            f.write(key)
        return key
    except OSError as exc:
        raise StoreError(f"cannot read or create the secret key {path}: {exc}") from None
