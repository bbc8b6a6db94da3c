"""Logging to a file under the data directory, where internal errors leave their traceback."""

from __future__ import annotations

import logging
import logging.handlers
import os
from pathlib import Path

_FORMAT = "%(asctime)s %(levelname)s %(name)s [pid %(process)d] %(message)s"


def log_to_file(path: Path) -> None:
    """Send driftwatch's log records to `path` (0600, rotated at 10 MB, 5 files kept)."""
    root = logging.getLogger("driftwatch")
    if any(getattr(h, "baseFilename", None) == str(path) for h in root.handlers):
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600))
    handler = logging.handlers.RotatingFileHandler(path, maxBytes=10_000_000, backupCount=5)
    handler.setFormatter(logging.Formatter(_FORMAT))
    root.addHandler(handler)
    root.setLevel(logging.INFO)
