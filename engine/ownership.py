"""Which process owns a run, and whether that process is still alive.

A run row says `running` both while its engine works and after the engine was killed.
The owner's host, pid and process start time tell the two apart (the start time guards
against a recycled pid).
"""

from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import Any


def process_token(pid: int) -> str:
    """The kernel's start time of `pid` (empty if unknown or gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return ""
    # the command name (field 2) may contain spaces; fields resume after its ')'
    fields = stat[stat.rindex(")") + 2:].split()
    return fields[19] if len(fields) > 19 else ""


def this_owner() -> dict[str, Any]:
    pid = os.getpid()
    return {"host": socket.gethostname(), "pid": pid, "token": process_token(pid)}


def owner_alive(host: str, pid: int, token: str) -> bool | None:
    """True/False on this host; None when the owner is on another machine (cannot tell)."""
    if host != socket.gethostname():
        return None
    if pid <= 0:
        return False
    current = process_token(pid)
    if current:
        return not token or current == token
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
