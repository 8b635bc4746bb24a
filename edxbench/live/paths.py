"""Where engine hosts listen: a per-user runtime directory nobody else may enter."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from edxbench.errors import SessionError

SOCKET_SUFFIX = ".sock"
MAX_SOCKET_PATH = 107  # sun_path holds 108 bytes with the terminating NUL


def runtime_dir() -> Path:
    """`$EDXBENCH_RUNTIME_DIR`, else `$XDG_RUNTIME_DIR/edxbench`, else /tmp/edxbench-UID.

    Created 0700; refused unless it is our own directory that nobody else can open, so
    another local user can neither connect to a run nor plant a socket for us."""
    override = os.environ.get("EDXBENCH_RUNTIME_DIR")
    xdg = os.environ.get("XDG_RUNTIME_DIR")
    path = Path(override) if override else (
        Path(xdg) / "edxbench" if xdg else Path(f"/tmp/edxbench-{os.getuid()}"))
    try:
        path.mkdir(mode=0o700, parents=bool(override or xdg), exist_ok=True)
        info = os.lstat(path)
    except OSError as exc:
        raise SessionError(f"{path}: cannot create the runtime directory ({exc.strerror})") \
            from None
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid() or info.st_mode & 0o077:
        raise SessionError(f"{path}: the runtime directory must be a directory owned by you "
                           "with mode 0700")
    return path


def socket_path(run_id: str) -> Path:
    path = runtime_dir() / f"{run_id}{SOCKET_SUFFIX}"
    if len(str(path).encode()) > MAX_SOCKET_PATH:
        raise SessionError(f"{path}: socket path longer than {MAX_SOCKET_PATH} bytes; set "
                           "EDXBENCH_RUNTIME_DIR to a shorter directory")
    return path
