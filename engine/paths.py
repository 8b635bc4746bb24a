"""Where the shipped protocols and data live.

The packages sit beside `protocols/` and `data/` in the project (editable install);
EDXBENCH_HOME points elsewhere for a lab's own copy of the library.
"""

from __future__ import annotations

import os
from pathlib import Path


def project_root() -> Path:
    override = os.environ.get("EDXBENCH_HOME")
    return Path(override).expanduser() if override else Path(__file__).resolve().parents[1]


def data_dir() -> Path:
    return project_root() / "data"


def protocols_dir() -> Path:
    return project_root() / "protocols"
