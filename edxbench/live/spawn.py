"""Starting an engine host for the terminal app, and the app's session factories.

The host runs in a new session (`start_new_session=True`): a hang-up of the terminal that
started it never reaches it. It says on one stdout line where it listens (or why it could
not start); its stderr goes to the edxbench log, never to the terminal.
"""

from __future__ import annotations

import json
import os
import selectors
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from edxbench.errors import SessionError
from edxbench.live.client import LiveSession, connect
from edxbench.paths import log_path
from engine import events as ev

START_TIMEOUT_S = 60.0  # opening the bench starts the simulator and checks every instrument


def start_host(*, db_path: str | Path, protocol_path: str | Path | None = None,
               subject_id: str | None = None, resume_run_id: str | None = None,
               profile: str = "sim", fast: bool = False,
               bench_config: str | Path | None = None) -> dict[str, Any]:
    """Start a host and return its ready line: socket, run id and pid."""
    command = [sys.executable, "-m", "edxbench.live.host", "--db", str(db_path),
               "--bench", profile]
    if resume_run_id is not None:
        command += ["--resume", resume_run_id]
    else:
        command += ["--protocol", str(protocol_path), "--subject", str(subject_id)]
    if fast:
        command.append("--fast")
    if bench_config is not None:
        command += ["--bench-config", str(bench_config)]
    log = log_path()
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "ab") as errors:
        process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                   stderr=errors, start_new_session=True, close_fds=True,
                                   env={**os.environ, "PYTHONUNBUFFERED": "1"})
    assert process.stdout is not None
    try:
        line = _first_line(process, START_TIMEOUT_S)
    finally:
        process.stdout.close()
    try:
        ready = json.loads(line) if line else {}
    except json.JSONDecodeError:
        ready = {}
    if "socket" in ready:
        # reap the host when it leaves, so a long-lived app collects no zombies
        threading.Thread(target=process.wait, daemon=True, name="host-reaper").start()
        return ready
    if process.poll() is None and not ready:
        process.terminate()
    raise SessionError(ready.get("error") or
                       f"the engine host did not start (exit {process.poll()}; see {log})")


def _first_line(process: subprocess.Popen[bytes], timeout: float) -> str:
    assert process.stdout is not None
    deadline = time.monotonic() + timeout
    buffer = b""
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        while b"\n" not in buffer and (left := deadline - time.monotonic()) > 0:
            if not selector.select(left):
                continue
            chunk = os.read(process.stdout.fileno(), 65536)
            if not chunk:
                break
            buffer += chunk
    return buffer.split(b"\n", 1)[0].decode(errors="replace")


def live_session_factory(protocol_path: str | Path, subject_id: str, *, db_path: str | Path,
                         subscribers: Iterable[Callable[[ev.Event], None]] = (),
                         profile: str = "sim", fast: bool = False,
                         bench_config: str | Path | None = None,
                         **_ignored: Any) -> LiveSession:
    """`open_session`'s shape for the app: the run starts in a host; this terminal controls.

    The app's own prompter is not used: answers go to the host through the session's."""
    ready = start_host(db_path=db_path, protocol_path=protocol_path, subject_id=subject_id,
                       profile=profile, fast=fast, bench_config=bench_config)
    return connect(ready["socket"], subscribers=subscribers)


def live_resume_factory(run_id: str, *, db_path: str | Path,
                        subscribers: Iterable[Callable[[ev.Event], None]] = (),
                        fast: bool = False, bench_config: str | Path | None = None,
                        profile: str | None = None, **_ignored: Any) -> LiveSession:
    """`open_resume_session`'s shape: an interrupted run continues in a new host."""
    ready = start_host(db_path=db_path, resume_run_id=run_id, profile=profile or "sim",
                       fast=fast, bench_config=bench_config)
    return connect(ready["socket"], subscribers=subscribers)
