"""`python -m instruments.sim` as a process: one JSON line, clean exits."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from instruments.bench import open_bench
from instruments.bench_config import BenchConfigError

REPO = Path(__file__).resolve().parents[2]


def start() -> tuple[subprocess.Popen[bytes], dict[str, str]]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "instruments.sim", "--port", "0", "--seed", "3"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=REPO,
    )
    assert proc.stdout is not None
    return proc, json.loads(proc.stdout.readline())


def test_prints_resources_and_exits_on_stdin_eof() -> None:
    proc, resources = start()
    assert set(resources) == {"generator", "scope", "subject"}
    assert all(r.startswith("TCPIP0::127.0.0.1::") and r.endswith("::SOCKET")
               for r in resources.values())
    _, err = proc.communicate(timeout=10)  # closes stdin
    assert proc.returncode == 0 and err == b""


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signals_exit_cleanly(sig: signal.Signals) -> None:
    proc, _ = start()
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=10)
    assert proc.returncode == 0
    assert b"Traceback" not in err


def test_open_bench_stops_its_process() -> None:
    bench = open_bench("sim", seed=1)
    process = bench._process
    assert process is not None and process.poll() is None
    bench.close()
    assert process.poll() == 0


def test_open_bench_unknown_profile() -> None:
    with pytest.raises(BenchConfigError, match=r"no profile 'nope'; available: sim"):
        open_bench("nope")
