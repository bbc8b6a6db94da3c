"""The data directory and the database, private to the user driftwatch runs as."""

from __future__ import annotations

import os
from pathlib import Path

from driftwatch.config import Config
from driftwatch.errors import ConfigError, StoreError
from driftwatch.filemodes import DIR_MODE, FILE_MODE, make_private_dirs, private_file
from driftwatch.store import Store, open_problem

SQLITE_SIDE_FILES = ("-wal", "-shm", "-journal")


def prepare_data_dir(cfg: Config) -> Path:
    """The data directory, created or tightened to 0700."""
    data_dir = cfg.storage.data_dir
    if (data_dir / "pyvenv.cfg").exists():
        raise ConfigError(
            str(cfg.source),
            "storage.data_dir",
            f"{data_dir} is a Python virtual environment, not a driftwatch data directory "
            "(rebuilding the venv would delete the secret key); set storage.data_dir to "
            "another folder, or install driftwatch in a venv elsewhere",
        )
    try:
        make_private_dirs(data_dir)
        os.chmod(data_dir, DIR_MODE)
    except OSError as exc:
        raise StoreError(f"cannot create the data directory {data_dir}: {exc}") from None
    return data_dir


def prepare_database(path: Path) -> None:
    """Create the database file 0600 before SQLite opens it; tighten an existing one.

    SQLite gives the -wal and -shm files it creates the database file's mode.
    """
    try:
        make_private_dirs(path.parent)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT, FILE_MODE)
        os.fchmod(fd, FILE_MODE)
        os.close(fd)
        for suffix in SQLITE_SIDE_FILES:
            private_file(path.with_name(path.name + suffix))
    except OSError as exc:
        raise StoreError(open_problem(path, exc)) from None


def open_store(cfg: Config) -> Store:
    """The database at `storage.path`, with private file modes."""
    prepare_database(cfg.storage.path)
    return Store(cfg.storage.path)
