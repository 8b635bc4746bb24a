"""Full disk and read-only database, for real: a small tmpfs mounted for the test.

Full disk: the database lives on a 2 MB tmpfs that a filler file leaves only a little
room on, and a run fills it mid-run. The engine holds the step SQLite refused (and every
event after it, in order), turns the outputs off and asks: retry or stop.
- Pause: the operator frees space and retries; the held step and events are written and
  the run completes, with the audit chain intact.
- Stop (the headless default): one line says the database is full, the process exits 1;
  after the filler is removed, `PRAGMA integrity_check` passes, every step the run
  reported done is stored, and `edxbench resume` completes the run.

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
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from edxbench.session import open_session
from engine import events as ev
from engine.prompts import HeadlessPrompter, Prompt
from storage.audit import verify_chain
from storage.database import open_database
from storage.queries import get_run
from tests.conftest import ROOT, run_cli
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
    report("6 full disk / read-only", f"{trials} headless runs on a full tmpfs, answer "
           f"'stop': the run stops cleanly, exit 1, integrity ok, "
           f"reported steps kept, resumed after freeing space; {'; '.join(outcomes)}; "
           f"message: {line.group(0)[:160] if line else '?'}")


class FreeSpaceOnSecondAsk(HeadlessPrompter):
    """An operator who retries once in vain, then deletes the filler and retries."""

    def __init__(self, filler: Path) -> None:
        super().__init__()
        self.filler = filler
        self.storage_prompts: list[str] = []

    def ask(self, prompt: Prompt, announce: Callable[[], None] = lambda: None) -> Any:
        if not prompt.id.endswith(".storage"):
            return super().ask(prompt, announce)
        announce()
        self.storage_prompts.append(prompt.id)
        if len(self.storage_prompts) >= 2:
            self.filler.unlink(missing_ok=True)
        return "retry"


def test_disk_full_pauses_the_run_until_space_is_freed(tmp_path: Path) -> None:
    trials = count(1, 4)
    paused = []
    for n in range(trials):
        with small_disk(tmp_path / f"pause{n}", "2m") as disk:
            db_path = disk / "runs.sqlite"
            open_database(db_path).conn.close()
            filler = fill(disk, 250_000 + 150_000 * (n % 3))
            prompter = FreeSpaceOnSecondAsk(filler)
            notices: list[str] = []

            def listen(event: ev.Event, notices: list[str] = notices) -> None:
                if isinstance(event, ev.Notice) and event.level == "error":
                    notices.append(event.text)

            session = open_session(ROOT / "protocols" / "median_motor.yaml", "normal-adult",
                                   db_path=db_path, prompter=prompter, fast=True,
                                   subscribers=[listen])
            try:
                result = session.run.execute()
            finally:
                session.close()
            assert prompter.storage_prompts, "the disk never filled: leave less room"
            assert result.status == "completed", result.reason
            assert any("full" in text for text in notices), notices
            db = open_database(db_path)
            try:
                assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
                steps = db.execute("SELECT seq, status FROM steps WHERE run_id = ? ORDER BY seq",
                                   (result.run_id,)).fetchall()
                assert [seq for seq, _ in steps] == list(range(len(session.protocol.steps)))
                assert get_run(db, result.run_id)["status"] == "completed"
                assert verify_chain(db) == []
            finally:
                db.conn.close()
            paused.append(f"held at {prompter.storage_prompts[0]}, asked "
                          f"{len(prompter.storage_prompts)}x, completed")
    report("6 full disk / read-only", f"{trials} runs paused by a full tmpfs and retried after "
           f"freeing space: all completed, every step stored once, integrity ok, audit chain "
           f"ok ({'; '.join(paused)})")


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
