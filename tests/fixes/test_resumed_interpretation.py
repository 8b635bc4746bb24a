"""A resumed run is interpreted by the engine when it ends, over all of its steps.

The run is killed after four steps, resumed in a new process, and the interpretation the
engine stores must read the steps done before the kill as well as those after it: it
equals what the criteria give on every stored measurement, and carries the subject's age."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import sqlite_utils

from edxbench.reports.interpretation import interpret_run, stored_protocol
from engine.interpret import interpret
from storage.queries import get_interpretation, get_run
from tests.conftest import ROOT, run_cli

DONE_LINE = re.compile(r"^\[\s*done\] ")


def kill_after(steps: int, db_path: Path) -> None:
    env = {**os.environ, "EDXBENCH_SIM_SEED": "5", "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        [sys.executable, "-m", "edxbench", "run", "carpal-tunnel", "--subject", "cts-mild",
         "--headless", "--fast", "--db", str(db_path)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT)
    assert process.stderr is not None
    done = 0
    while done < steps:
        line = process.stderr.readline()
        if not line:
            break
        done += bool(DONE_LINE.match(line.strip()))
    os.kill(process.pid, signal.SIGKILL)
    process.wait(10)
    process.stderr.close()
    assert done == steps, "the run ended before it could be interrupted"


def test_resumed_run_stores_an_interpretation_of_all_its_steps(tmp_path: Path) -> None:
    db_path = tmp_path / "runs.sqlite"
    kill_after(4, db_path)
    db = sqlite_utils.Database(db_path)
    run_id = db.execute("SELECT id FROM runs").fetchone()[0]
    before = {m["step_id"] for m in get_run(db, run_id)["measurements"]}
    assert before and get_interpretation(db, run_id) is None
    db.close()

    result = run_cli("resume", run_id[:8], "--headless", "--fast", "--json",
                     "--db", str(db_path), env={"EDXBENCH_SIM_SEED": "6"})
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["status"] == "completed"
    assert "no interpretation" not in result.stderr
    assert "interpretation not delivered" not in result.stderr

    db = sqlite_utils.Database(db_path)
    stored = get_interpretation(db, run_id)
    assert stored is not None, "the resumed run ended without an interpretation"
    assert stored["source"] == "run"
    assert stored["facts"]["age"] is not None  # read again from the bench on resume
    again = interpret_run(db, run_id, store=False)  # every stored measurement
    for key in ("fired", "localisation", "impression"):
        assert stored[key] == again[key], key
    evidence = " ".join(" ".join(f["evidence"]) for f in stored["fired"])
    assert stored["fired"] and evidence
    run = get_run(db, run_id)
    assert {m["step_id"] for m in run["measurements"]} - before, "the resume measured nothing"
    # the check can tell: the resumed steps alone give another interpretation
    later_only = interpret(stored_protocol(run),
                           [m for m in run["measurements"] if m["step_id"] not in before],
                           stored["facts"])
    assert later_only["fired"] != stored["fired"]
