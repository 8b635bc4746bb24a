"""The terminal goes away mid-study; the run waits; a new terminal re-attaches and ends it.

Started as the README says (`make run` runs `.venv/bin/edxbench`), in tmux, with a database
in tmp_path and the simulated bench in fast time. Killing the tmux session hangs up the
app; the study's engine host (its own session) keeps the run waiting at its prompt.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.tui.test_tmux import FINISHED, Terminal, prompt_line, start_study
from tests.tui.test_tmux import pytestmark as tmux_marks

pytestmark = tmux_marks


def running_host(db: Path) -> tuple[str, int] | None:
    """The live run's id and the pid of its engine host, from the run's stored owner."""
    with sqlite3.connect(db) as conn:
        row = conn.execute("SELECT id, owner_pid FROM runs WHERE status = 'running'").fetchone()
    return (row[0], int(row[1])) if row else None


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}").exists() and "zombie" not in Path(
        f"/proc/{pid}/status").read_text().lower()


@pytest.fixture
def terminals(tmp_path: Path) -> Iterator[list[Terminal]]:
    opened: list[Terminal] = []
    try:
        yield opened
    finally:
        for term in opened:
            term.close()
        host = running_host(tmp_path / "edx.db") if (tmp_path / "edx.db").exists() else None
        if host is not None:  # the test failed half-way: abort the run, outputs off
            with contextlib.suppress(ProcessLookupError):
                os.kill(host[1], signal.SIGTERM)


def answer_until(term: Terminal, stop_at: str, last: str | None = None) -> str:
    """Answer prompts as an operator would (Enter, `a` to accept a sweep) until a prompt
    containing `stop_at` waits, or the run ends; returns the screen."""
    while True:
        text = term.wait(lambda s, last=last: any(f in s for f in FINISHED)
                         or (prompt_line(s) not in (None, last)), timeout=60)
        last = prompt_line(text)
        if any(f in text for f in FINISHED) or (stop_at and stop_at in (last or "")):
            return text
        assert last is not None
        term.send("a" if "accept this sweep" in last else "Enter")


def test_killed_terminal_then_reattach_completes_the_study(tmp_path: Path,
                                                           terminals: list[Terminal]) -> None:
    first = Terminal(tmp_path)
    terminals.append(first)
    start_study(first)
    answer_until(first, "at the elbow")  # checklist, wrist done; elbow placement waits
    run_id, pid = running_host(first.db) or ("", 0)
    assert run_id and alive(pid)
    first.close()  # tmux kills the session: the app gets SIGHUP

    time.sleep(1.0)  # whatever the hang-up would do, it has done it by now
    assert alive(pid)
    assert running_host(first.db) == (run_id, pid)
    with sqlite3.connect(first.db) as conn:
        done = [r[0] for r in conn.execute(
            "SELECT step_id FROM steps WHERE run_id = ? ORDER BY seq", (run_id,))]
    assert "wrist" in done and "elbow" not in done

    second = Terminal(tmp_path)
    terminals.append(second)
    second.wait("live runs")
    listing = second.wait(run_id[:8])
    assert "at 'Stimulate" in listing or "waiting" in listing
    second.send("r")
    screen = second.wait(lambda s: "at the elbow" in (prompt_line(s) or ""), timeout=30)
    # the replayed history rebuilds the step list: the steps done before the hang-up
    assert screen.count("✓") >= len(done) - 1, screen  # (the list may scroll)
    assert re.search(rf"\b{len(done)}/\d+ ", screen), screen
    text = answer_until(second, "")
    assert "Run completed" in text, text

    with sqlite3.connect(second.db) as conn:
        status = conn.execute("SELECT status FROM runs WHERE id = ?", (run_id,)).fetchone()[0]
        steps = conn.execute("SELECT step_id, status FROM steps WHERE run_id = ? ORDER BY seq",
                             (run_id,)).fetchall()
        runs = conn.execute("SELECT count(*) FROM runs").fetchone()[0]
    assert status == "completed" and runs == 1
    assert [s for s, _ in steps][:len(done)] == done
    assert {"elbow", "forearm_velocity", "remove"} <= {s for s, _ in steps}
    assert all(st == "done" for _, st in steps), steps
    second.send("C-q")
    assert second.exit_code() == 0
    deadline = time.monotonic() + 20
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not alive(pid)  # the host left with its last client
