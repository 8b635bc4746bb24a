"""Full disk and read-only database, for real: a small tmpfs mounted for the test.

Full disk: the database lives on a 2 MB tmpfs that a filler file leaves only a little
room on; a headless run (the `edxbench` command) fills it mid-run. The run cannot pause
(SQLite refuses the step's commit and the engine has nowhere to keep it), so it stops
cleanly: one line says the database is full, the stimulator is off, and the process
exits 1. After the filler is removed, `PRAGMA integrity_check` passes, every step the
run reported done is stored, and `edxbench resume` completes the run.

Read-only: the filesystem holding an existing database is remounted read-only; a run
is refused before any step with one line naming the file (when the file is opened, or at
the run's first write), and the file is unchanged.
Needs root to mount (the VM's tests run as root); elsewhere these tests skip and say so.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from storage.database import open_database
from tests.conftest import run_cli
from tests.reliability.figures import count, report

DONE = re.compile(r"^\[\s*done\] (.+)$", re.M)


@contextlib.contextmanager
def small_disk(where: Path, size: str) -> Iterator[Path]:
    where.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700",
                              "tmpfs", str(where)], capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({mounted.stderr.strip()}); run as root")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def fill(disk: Path, leave_bytes: int) -> Path:
    """A filler file that leaves about `leave_bytes` free on `disk`."""
    free = os.statvfs(disk).f_bavail * os.statvfs(disk).f_frsize
    filler = disk / "filler"
    with filler.open("wb") as out:
        out.write(b"\0" * max(0, free - leave_bytes))
    return filler


def test_disk_fills_mid_run(tmp_path: Path) -> None:
    trials = count(2, 6)
    outcomes: list[str] = []
    stored_counts: list[int] = []
    for n in range(trials):
        with small_disk(tmp_path / f"disk{n}", "2m") as disk:
            db_path = disk / "runs.sqlite"
            open_database(db_path).conn.close()
            filler = fill(disk, 250_000 + 150_000 * (n % 3))  # a few steps' worth of traces
            done = run_cli("run", "median-motor", "--headless", "--fast", "--subject",
                           "normal-adult", "--db", str(db_path),
                           env={"EDXBENCH_SIM_SEED": str(n)})
            text = done.stdout + done.stderr
            assert "Traceback" not in text
            assert done.returncode == 1, text
            assert re.search(r"database .*runs\.sqlite.*(full|disk)", text), text
            reported = DONE.findall(done.stderr)
            filler.unlink()  # the operator frees space
            conn = sqlite3.connect(db_path)
            try:
                assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
                run_id, status = conn.execute("SELECT id, status FROM runs").fetchone()
                stored = {r[0] for r in conn.execute(
                    "SELECT title FROM steps WHERE run_id = ? AND status = 'done'", (run_id,))}
            finally:
                conn.close()
            assert set(reported) <= stored, (reported, stored)
            listed = json.loads(run_cli("runs", "--json", "--db", str(db_path)).stdout)
            assert listed[0]["status"] in ("interrupted", "failed"), listed[0]
            resumed = run_cli("resume", run_id[:8], "--headless", "--fast", "--json",
                              "--db", str(db_path))
            assert resumed.returncode == 0, resumed.stderr
            assert json.loads(resumed.stdout)["status"] == "completed"
            stored_counts.append(len(reported))
            outcomes.append(f"{len(reported)} steps stored before the disk filled, run "
                            f"{status} then {listed[0]['status']}, resumed to completed")
    assert max(stored_counts) >= 1, "the disk filled before any step: leave more room"
    line = re.search(r"database .*", done.stdout + done.stderr)
    report("6 full disk / read-only", f"{trials} runs on a full tmpfs: the run stops cleanly "
           f"(it cannot pause: the step's commit is refused), exit 1, integrity ok, "
           f"reported steps kept, resumed after freeing space; {'; '.join(outcomes)}; "
           f"message: {line.group(0)[:160] if line else '?'}")


def test_read_only_database(tmp_path: Path) -> None:
    with small_disk(tmp_path / "ro", "4m") as disk:
        db_path = disk / "runs.sqlite"
        first = run_cli("run", "median-motor", "--headless", "--fast", "--subject",
                        "normal-adult", "--db", str(db_path))
        assert first.returncode == 0, first.stderr
        before = hashlib.sha256(db_path.read_bytes()).hexdigest()
        remount = subprocess.run(["mount", "-o", "remount,ro", str(disk)],
                                 capture_output=True, text=True)
        assert remount.returncode == 0, remount.stderr
        done = run_cli("run", "median-motor", "--headless", "--fast", "--subject",
                       "normal-adult", "--db", str(db_path))
        text = done.stdout + done.stderr
        assert "Traceback" not in text
        if done.returncode == 2:  # refused when opening the file
            lines = done.stderr.strip().splitlines()
            assert len(lines) == 1 and lines[0].startswith(
                f"edxbench: error: database {db_path}"), done.stderr
        else:  # opened for reading; the run's first write is refused: nothing started
            assert done.returncode == 1, text
            lines = [line for line in text.splitlines() if "could not start the run" in line]
            assert lines and f"database {db_path}" in lines[0] and "readonly" in lines[0], text
        assert hashlib.sha256(db_path.read_bytes()).hexdigest() == before
        listed = run_cli("runs", "--db", str(db_path))  # reading still works? say which
        readable = listed.returncode == 0
    report("6 full disk / read-only", f"read-only filesystem: run refused before any step "
           f"(exit {done.returncode}): {lines[0][:200]}; file unchanged; `edxbench runs` on it: "
           f"{'works' if readable else 'refused: ' + listed.stderr.strip()[:120]}")
