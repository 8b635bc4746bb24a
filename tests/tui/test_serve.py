"""`edxbench serve`: textual-serve on the loopback address only, serving the page and the
app itself over its websocket (what a browser does)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import ROOT, run_cli

aiohttp = pytest.importorskip("aiohttp")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def listening_addresses(port: int) -> list[str]:
    """Local addresses of the sockets listening on `port` (from /proc/net/tcp{,6})."""
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(FileNotFoundError), open(table) as fh:
            for line in fh.readlines()[1:]:
                local, state = line.split()[1], line.split()[3]
                address, hex_port = local.rsplit(":", 1)
                if state == "0A" and int(hex_port, 16) == port:  # 0A: LISTEN
                    found.append(address)
    return found


def other_addresses() -> list[str]:
    """This machine's non-loopback IPv4 addresses (where a LAN client would connect)."""
    try:
        out = subprocess.run(["hostname", "-I"], capture_output=True, text=True,
                             timeout=5).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return [a for a in out.split() if "." in a and not a.startswith("127.")]


@pytest.fixture
def server(tmp_path: Path) -> Iterator[int]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "edxbench", "serve", "--db", str(tmp_path / "runs.db"),
         "--port", str(port)], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        start_new_session=True, env={**os.environ, "EDXBENCH_SIM_SEED": "1"})
    try:
        deadline = time.monotonic() + 30
        while not listening_addresses(port):
            assert proc.poll() is None, proc.stdout.read().decode() if proc.stdout else ""
            assert time.monotonic() < deadline, "edxbench serve did not listen"
            time.sleep(0.1)
        yield port
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)


def test_listens_on_loopback_only_and_serves_the_app(server: int) -> None:
    port = server
    assert listening_addresses(port) == ["0100007F"]  # 127.0.0.1, and no IPv6 socket
    for address in other_addresses():
        with socket.socket() as sock:
            sock.settimeout(2)
            assert sock.connect_ex((address, port)) != 0, f"reachable on {address}"

    async def browse() -> tuple[str, bytes]:
        async with aiohttp.ClientSession() as session:
            async with session.get(f"http://127.0.0.1:{port}/") as response:
                assert response.status == 200
                page = await response.text()
            screen = b""
            async with session.ws_connect(f"http://127.0.0.1:{port}/ws?width=80&height=24"
                                          ) as ws:
                deadline = time.monotonic() + 30
                while b"Start run" not in screen and time.monotonic() < deadline:
                    try:
                        message = await ws.receive(timeout=2)
                    except TimeoutError:
                        continue
                    if message.type == aiohttp.WSMsgType.BINARY:
                        screen += message.data
                    elif message.type != aiohttp.WSMsgType.TEXT:
                        break
            return page, screen

    page, screen = asyncio.run(browse())
    assert "textual.js" in page and f"127.0.0.1:{port}" in page
    assert b"edxbench" in screen and b"Start run" in screen  # the start screen, painted


def test_a_port_in_use_is_one_line(server: int) -> None:
    result = run_cli("serve", "--port", str(server), timeout=60)
    assert result.returncode == 2
    assert result.stderr.strip() == (f"edxbench: error: --port: 127.0.0.1:{server} is "
                                     "already in use; choose another")
