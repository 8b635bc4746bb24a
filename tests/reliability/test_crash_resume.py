"""kill -9 of the engine at random points; nothing completed is lost and every run resumes.

CI runs a reduced set of kill points; `EDXBENCH_KILL_POINTS=50 pytest tests/reliability`
runs the full count. Each run prints its figures.
"""

from __future__ import annotations

import json
import os
import random
import re
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from tests.conftest import ROOT, run_cli
from tests.reliability.figures import count, report

KILL_POINTS = int(os.environ.get("EDXBENCH_KILL_POINTS", "6"))
DONE_LINE = re.compile(r"^\[\s*(done|skipped|failed)\] (.+)$")


def start_run(db_path: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "EDXBENCH_SIM_SEED": "77", "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen(
        [sys.executable, "-m", "edxbench", "run", "median-motor", "--subject", "normal-adult",
         "--headless", "--fast", "--db", str(db_path)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT)


def kill_after(process: subprocess.Popen[str], lines_wanted: int,
               extra_delay: float) -> tuple[list[str], bool]:
    """Read progress lines; kill -9 after `lines_wanted` of them plus a delay."""
    assert process.stderr is not None
    seen: list[str] = []
    while len(seen) < lines_wanted:
        line = process.stderr.readline()
        if not line:
            break
        match = DONE_LINE.match(line.strip())
        if match:
            seen.append(match.group(2))
    time.sleep(extra_delay)
    killed = process.poll() is None
    if killed:
        os.kill(process.pid, signal.SIGKILL)
    process.wait(10)
    process.stderr.close()
    return seen, killed


def test_kill_nine_at_random_points_then_resume(tmp_path: Path) -> None:
    rng = random.Random(20261124)
    db_path = tmp_path / "crash.sqlite"
    kills = resumed = no_run_yet = completed_before_kill = ended_before_kill = 0
    for point in range(KILL_POINTS):
        process = start_run(db_path)
        # A fast-time run takes ~0.15 s after its first step: kill at a uniform point in
        # it (mid sweep transfer, mid commit, mid search); a few kills land in start-up.
        if rng.random() < 0.15:
            seen, killed = kill_after(process, 0, rng.uniform(0.0, 0.6))
        else:
            seen, killed = kill_after(process, 1, rng.uniform(0.0, 0.15))
        if not killed:
            completed_before_kill += 1
            continue
        kills += 1
        conn = sqlite3.connect(db_path)
        try:
            assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            row = conn.execute("SELECT id FROM runs ORDER BY rowid DESC LIMIT 1").fetchone()
            run_id = row[0] if row else None
            titles = {r[0] for r in conn.execute(
                "SELECT title FROM steps WHERE run_id = ?", (run_id,))} if run_id else set()
        finally:
            conn.close()
        # every step the engine reported as finished was committed before it said so
        assert set(seen) <= titles, (point, seen, titles)
        listed = run_cli("runs", "--json", "--db", str(db_path), "--limit", "1000")
        statuses = {r["id"]: r["status"] for r in json.loads(listed.stdout)}
        if run_id is None or run_id not in statuses:
            no_run_yet += 1
            continue
        if statuses[run_id] == "completed":
            ended_before_kill += 1  # killed after the end of the run was committed
            continue
        assert statuses[run_id] == "interrupted", statuses[run_id]
        result = run_cli("resume", run_id[:8], "--headless", "--fast", "--json",
                         "--db", str(db_path), env={"EDXBENCH_SIM_SEED": "78"})
        assert result.returncode == 0, result.stderr
        doc = json.loads(result.stdout)
        assert doc["status"] == "completed", doc
        resumed += 1
        conn = sqlite3.connect(db_path)
        try:
            steps = conn.execute("SELECT seq, status FROM steps WHERE run_id = ? ORDER BY seq",
                                 (run_id,)).fetchall()
            assert [s[0] for s in steps] == list(range(9)), steps  # each step exactly once
            assert all(s[1] == "done" for s in steps), steps
            finals = conn.execute("SELECT count(*) FROM traces t JOIN steps s ON s.id = "
                                  "t.step_row WHERE t.run_id = ? AND t.role = 'final'",
                                  (run_id,)).fetchone()[0]
            assert finals == 2
            assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        finally:
            conn.close()
    report("0 crash/resume", f"{KILL_POINTS} attempts, {kills} kill -9 landed mid-run, "
           f"{resumed} interrupted runs resumed to completion, {ended_before_kill} killed after "
           f"the run's end was committed, {no_run_yet} killed before the run was recorded, "
           f"{completed_before_kill} exited before the kill; integrity_check ok after every "
           "kill, no reported step missing")
    assert kills >= KILL_POINTS // 2


# Across the library: series (F-waves, RNS trains, H-reflex ramp), a composite and needle EMG.
LIBRARY = (("median-f-waves", "normal-adult"), ("rns", "myasthenia-gravis"),
           ("carpal-tunnel", "cts-mild"), ("cervical-emg-screen", "c7-radiculopathy"),
           ("h-reflex", "normal-adult"), ("nmj-workup", "lambert-eaton"))


def test_kill_nine_across_the_library_then_resume(tmp_path: Path) -> None:
    from engine.catalog import resolve_protocol
    from engine.protocol import load_protocol

    rng = random.Random(11)
    trials = count(len(LIBRARY), 24)
    resumed = ended = 0
    kinds: list[str] = []
    for point in range(trials):
        protocol_id, subject = LIBRARY[point % len(LIBRARY)]
        n_steps = len(load_protocol(resolve_protocol(protocol_id)).steps)
        db_path = tmp_path / f"library{point}.sqlite"
        env = {**os.environ, "EDXBENCH_SIM_SEED": str(point), "PYTHONUNBUFFERED": "1"}
        process = subprocess.Popen(
            [sys.executable, "-m", "edxbench", "run", protocol_id, "--subject", subject,
             "--headless", "--fast", "--db", str(db_path)],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT)
        seen, killed = kill_after(process, rng.randint(1, max(1, n_steps - 2)),
                                  rng.uniform(0.0, 0.3))
        assert killed, f"{protocol_id} ended before the kill"
        conn = sqlite3.connect(db_path)
        try:
            assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            run_id, status = conn.execute("SELECT id, status FROM runs").fetchone()
            titles = {r[0] for r in conn.execute(
                "SELECT title FROM steps WHERE run_id = ?", (run_id,))}
        finally:
            conn.close()
        assert set(seen) <= titles, (protocol_id, seen, titles)
        if status == "completed":
            ended += 1
            continue
        result = run_cli("resume", run_id[:8], "--headless", "--fast", "--json",
                         "--db", str(db_path), env={"EDXBENCH_SIM_SEED": str(100 + point)})
        assert result.returncode == 0, (protocol_id, result.stderr)
        assert json.loads(result.stdout)["status"] == "completed"
        conn = sqlite3.connect(db_path)
        try:
            seqs = [r[0] for r in conn.execute(
                "SELECT seq FROM steps WHERE run_id = ? ORDER BY seq", (run_id,))]
            assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        finally:
            conn.close()
        assert seqs == list(range(n_steps)), (protocol_id, seqs)  # each step exactly once
        resumed += 1
        kinds.append(f"{protocol_id} after {len(seen)} steps")
    report("0 crash/resume", f"across the library: {trials} kill -9 in {len(LIBRARY)} "
           f"protocols (series, trains, composite, needle), {resumed} resumed to completion "
           f"with each step stored once, {ended} killed after the end was committed; "
           f"integrity ok after every kill ({'; '.join(kinds[:6])})")
