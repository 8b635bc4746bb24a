"""`edxbench serve`: the terminal app in a browser, through textual-serve.

Each browser tab runs its own `edxbench` process behind a websocket. The app gives full
control of the bench and the study data, so the server listens on the loopback address
only; people elsewhere reach it through an SSH tunnel (`ssh -L 8000:127.0.0.1:8000 bench`).
"""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

LOOPBACK = "127.0.0.1"


def app_command(db_path: Path, bench_profile: str, bench_config: Path | None,
                fast: bool) -> str:
    """The shell command textual-serve starts for each browser session."""
    parts = [sys.executable, "-m", "edxbench", "--db", str(db_path), "--bench", bench_profile]
    if bench_config is not None:
        parts += ["--bench-config", str(bench_config)]
    if fast:
        parts.append("--fast")
    return shlex.join(parts)


def serve(*, db_path: Path, port: int, bench_profile: str = "sim",
          bench_config: Path | None = None, fast: bool = False) -> int:
    """Block serving the app on http://127.0.0.1:PORT until interrupted."""
    import socket

    from edxbench.errors import SessionError

    if not 1 <= port <= 65535:
        raise SessionError(f"--port: {port} is not a TCP port (1-65535)")
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        if probe.connect_ex((LOOPBACK, port)) == 0:
            raise SessionError(f"--port: {LOOPBACK}:{port} is already in use; choose another")
    from textual_serve.server import Server

    server = Server(app_command(db_path, bench_profile, bench_config, fast), host=LOOPBACK,
                    port=port, title="edxbench")
    print(f"edxbench: serving the app on http://{LOOPBACK}:{port} (this machine only)",
          flush=True)
    server.serve()
    return 0
