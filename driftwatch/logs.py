"""Logging to a file under the data directory, where internal errors leave their traceback."""

from __future__ import annotations

import io
import logging
import logging.handlers
import os
from pathlib import Path

from driftwatch.filemodes import FILE_MODE, make_private_dirs

_FORMAT = "%(asctime)s %(levelname)s %(name)s [pid %(process)d] %(message)s"


class PrivateRotatingFileHandler(logging.handlers.RotatingFileHandler):
    """A rotating log whose every file, the ones rotation creates included, is 0600."""

    def _open(self) -> io.TextIOWrapper:
        fd = os.open(self.baseFilename, os.O_WRONLY | os.O_CREAT | os.O_APPEND, FILE_MODE)
        os.fchmod(fd, FILE_MODE)  # an existing file keeps its mode through O_CREAT
        return open(fd, "a", encoding=self.encoding or "utf-8", errors=self.errors)


def log_to_file(path: Path) -> None:
    """Send driftwatch's log records to `path` (0600, rotated at 10 MB, 5 files kept)."""
    root = logging.getLogger("driftwatch")
    if any(getattr(h, "baseFilename", None) == str(path) for h in root.handlers):
        return
    make_private_dirs(path.parent)
    handler = PrivateRotatingFileHandler(path, maxBytes=10_000_000, backupCount=5)
    handler.setFormatter(logging.Formatter(_FORMAT))
    root.addHandler(handler)
    root.setLevel(logging.INFO)
