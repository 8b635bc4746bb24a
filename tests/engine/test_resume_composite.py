"""A composite study (built with `include:`) resumes with the protocol texts it started with.

The stored run keeps its own text and the text of every included protocol, so resuming
does not depend on where the library lives or whether its files changed since.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

from engine.protocol import load_protocol, load_protocol_text
from tests.conftest import ROOT, run_cli

DONE_LINE = re.compile(r"^\[\s*done\] ")


def test_stored_includes_rebuild_the_same_steps_without_the_library(tmp_path: Path) -> None:
    original = load_protocol(ROOT / "protocols" / "carpal_tunnel.yaml")
    assert {name for name, _ in original.includes} >= {"median-motor", "median-sensory",
                                                       "ulnar-sensory"}
    empty_library = tmp_path / "elsewhere"
    empty_library.mkdir()
    again = load_protocol_text(original.text, "run 12345678 protocol",
                               includes=dict(original.includes), library=empty_library)
    assert [s.id for s in again.steps] == [s.id for s in original.steps]
    assert again.sha256 == original.sha256


def test_killed_composite_run_resumes_to_completion(tmp_path: Path) -> None:
    db_path = tmp_path / "runs.sqlite"
    env = {**os.environ, "EDXBENCH_SIM_SEED": "5", "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        [sys.executable, "-m", "edxbench", "run", "carpal-tunnel", "--subject", "cts-mild",
         "--headless", "--fast", "--db", str(db_path)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT)
    assert process.stderr is not None
    done = 0
    while done < 4:
        line = process.stderr.readline()
        if not line:
            break
        done += bool(DONE_LINE.match(line.strip()))
    assert done == 4, "the run ended before four steps were done"
    os.kill(process.pid, signal.SIGKILL)
    process.wait(10)
    process.stderr.close()

    listed = json.loads(run_cli("runs", "--json", "--db", str(db_path)).stdout)
    run_id = listed[0]["id"]
    result = run_cli("resume", run_id[:8], "--headless", "--fast", "--json",
                     "--db", str(db_path), env={"EDXBENCH_SIM_SEED": "6"})
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    doc = json.loads(result.stdout)
    assert doc["status"] == "completed", doc
    assert any(m["name"] == "combined_sensory_index" or "csi" in m["step_id"]
               for m in doc["measurements"]), [m["step_id"] for m in doc["measurements"]]
