"""Default locations of the user's files (database, log)."""

from __future__ import annotations

import os
from pathlib import Path


def user_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "edxbench"


def default_db_path() -> Path:
    """`EDXBENCH_DB` if set, else edxbench.sqlite in the user's data directory."""
    override = os.environ.get("EDXBENCH_DB")
    return Path(override).expanduser() if override else user_data_dir() / "edxbench.sqlite"


def log_path() -> Path:
    return user_data_dir() / "edxbench.log"
