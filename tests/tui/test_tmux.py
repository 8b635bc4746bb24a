"""The real command in a real terminal: tmux, keystrokes, and what a person would see:
a whole study, its review (a marker edit stored, an export), the filters and the bench.

Started the way the README says (`make run` runs `.venv/bin/edxbench`), here with a
database in tmp_path and the simulated bench in fast time.
"""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from engine.catalog import list_protocols

REPO = Path(__file__).resolve().parents[2]
EDXBENCH = REPO / ".venv" / "bin" / "edxbench"
WIDTH, HEIGHT = 100, 32

pytestmark = [
    pytest.mark.tmux,
    pytest.mark.timeout(240),
    pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed"),
    pytest.mark.skipif(not EDXBENCH.exists(), reason="run `make install` first"),
]


class Terminal:
    """One detached tmux session running edxbench; the exit code lands in a file."""

    def __init__(self, tmp_path: Path) -> None:
        self.name = f"edx-{uuid.uuid4().hex[:8]}"
        self.db = tmp_path / "edx.db"
        self.exit_file = tmp_path / "exit-code"
        command = (f"{EDXBENCH} --db {self.db} --fast; echo $? > {self.exit_file}")
        env = {**os.environ, "TERM": "xterm-256color", "COLORTERM": "truecolor"}
        subprocess.run(["tmux", "new-session", "-d", "-s", self.name, "-x", str(WIDTH),
                        "-y", str(HEIGHT), "sh", "-c", command], check=True, env=env)
        self.history: list[str] = []

    def screen(self) -> str:
        out = subprocess.run(["tmux", "capture-pane", "-p", "-t", self.name],
                             capture_output=True, text=True)
        text = out.stdout
        self.history.append(text)
        assert "Traceback" not in text, text
        return text

    def send(self, *keys: str) -> None:
        subprocess.run(["tmux", "send-keys", "-t", self.name, *keys], check=True)

    def type(self, text: str) -> None:
        subprocess.run(["tmux", "send-keys", "-t", self.name, "-l", text], check=True)

    def wait(self, predicate: Callable[[str], bool] | str, timeout: float = 30.0) -> str:
        check = (lambda s: predicate in s) if isinstance(predicate, str) else predicate
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            text = self.screen()
            if check(text):
                return text
            time.sleep(0.05)
        raise AssertionError(f"timed out waiting for {predicate!r}; screen:\n{self.screen()}")

    def exit_code(self, timeout: float = 20.0) -> int:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.exit_file.exists() and self.exit_file.read_text().strip():
                return int(self.exit_file.read_text())
            time.sleep(0.05)
        raise AssertionError("edxbench did not exit")

    def app_pid(self) -> int:
        shell = subprocess.run(["tmux", "list-panes", "-t", self.name, "-F", "#{pane_pid}"],
                               capture_output=True, text=True, check=True).stdout.split()[0]
        children = subprocess.run(["pgrep", "-P", shell], capture_output=True, text=True)
        return int(children.stdout.split()[0])

    def close(self) -> None:
        subprocess.run(["tmux", "kill-session", "-t", self.name], capture_output=True)


@pytest.fixture
def term(tmp_path: Path) -> Iterator[Terminal]:
    terminal = Terminal(tmp_path)
    try:
        yield terminal
    finally:
        terminal.close()


BOXES = tuple("╭│╰┏┃┗")  # the checklist panel and the override warning sit above the prompt


def prompt_line(text: str) -> str | None:
    """The prompt's own text: the first line under the prompt form's rule outside any panel."""
    lines = text.splitlines()
    for i in range(len(lines) - 1, -1, -1):
        if lines[i].strip() and set(lines[i].strip()) <= {"─", "━"}:
            for line in lines[i + 1:]:
                if line.strip() and not line.strip().startswith(BOXES):
                    return line.strip()
            return None
    return None


def folder_field(text: str) -> str | None:
    """What the export dialog's folder field shows (its line follows the instruction)."""
    lines = text.splitlines()
    for i, line in enumerate(lines[:-1]):
        if "Folder (" in line:
            return lines[i + 1].strip().strip("█").strip()
    return None


FINISHED = ("Run completed", "Run failed", "Run aborted", "Run stopped")


PLACEHOLDER = "e.g. normal-adult or S-0042"  # shown while the subject id field is empty


def start_study(term: Terminal) -> None:
    term.wait("Median motor NCS")
    # the library lists protocols by title; walk down to the median motor study
    for _ in range([p.id for p in list_protocols()].index("median-motor")):
        term.send("Down")
    term.send("Enter")  # protocol chosen → subject list, whose first entry fills the id field
    term.wait(lambda s: "Start run (F5)" in s and PLACEHOLDER not in s)
    term.send("Tab")  # to the subject id field (letters now type, so `l` leaves the footer)
    term.wait(lambda s: "f2 Past runs" in s)
    term.send("C-u")
    term.wait(PLACEHOLDER)
    term.type("normal-adult")
    term.wait(lambda s: PLACEHOLDER not in s)
    term.send("Enter")  # Enter in the field starts the run
    term.wait("Safety checklist", timeout=60)


def test_study_by_keystrokes_then_reopen_it(term: Terminal) -> None:
    start_study(term)
    last = None
    for _ in range(60):
        text = term.wait(lambda s, last=last: any(f in s for f in FINISHED)
                         or (prompt_line(s) not in (None, last)), timeout=60)
        if any(f in text for f in FINISHED):
            break
        last = prompt_line(text)
        assert last is not None
        term.send("a" if "accept this sweep" in last else "Enter")
    else:
        raise AssertionError("the study did not finish")
    assert "Run completed" in text, text
    assert "onset" in text and "ms" in text  # the plot's legend and axis

    term.send("Escape")  # the next key waits for the screen: ESC + key would read as Alt+key
    term.wait("Start run (F5)")
    term.send("l")
    listing = term.wait(lambda s: "normal-adult" in s and "completed" in s)
    assert "Median motor NCS" in listing
    term.send("Enter")
    term.wait("trace 1/")
    term.send("n")
    term.wait("trace 2/")
    term.wait("neg↑")  # the trace is plotted negativity-up, and says so
    term.send("p")
    term.wait("trace 1/")
    term.send("p")  # wraps to the last trace: the accepted elbow sweep, with measurements
    term.wait("· final")
    term.send("o")
    term.wait("onset marker")
    term.send("Right")
    term.wait("NOT stored")
    term.send("Enter")  # store it: a reason is asked first
    term.wait("Why was the")
    term.type("onset on the baseline noise")
    term.send("Enter")
    term.wait("Stored edit #1")
    with sqlite3.connect(term.db) as db:
        edits = db.execute("SELECT marker, reason FROM marker_edits").fetchall()
        kinds = [k for (k,) in db.execute("SELECT kind FROM events ORDER BY id")]
        revised = db.execute("SELECT count(*) FROM measurement_revisions").fetchone()[0]
    assert edits == [("onset", "onset on the baseline noise")]
    assert kinds[-1] == "MarkerEdited" and revised >= 1
    audit = subprocess.run([str(EDXBENCH), "audit", "verify", "--db", str(term.db)],
                           capture_output=True, text=True, timeout=60)
    assert audit.returncode == 0 and "chain intact" in audit.stdout

    term.send("e")  # export this run from the review screen
    term.wait("Export run")
    term.send("BTab")  # to the folder field
    term.send("C-u")
    term.wait(lambda s: folder_field(s) == "")
    term.type(str(term.db.parent))
    term.wait(lambda s: str(term.db.parent).endswith(folder_field(s) or "?"))
    term.send("Enter")  # exports in the highlighted format, the first: HTML
    term.wait("Exported to")
    exported = list(term.db.parent.glob("edxbench-*.html"))
    assert len(exported) == 1 and "<html" in exported[0].read_text().lower()

    term.send("Escape")  # deselects the marker
    term.wait(lambda s: "onset marker" not in s)
    term.send("Escape")
    term.wait(lambda s: "past runs" in s and "trace" not in s)
    with sqlite3.connect(term.db) as db:
        abnormal = db.execute("SELECT abnormal_count FROM runs").fetchone()[0]
    term.send("a")  # abnormal only
    if abnormal:
        term.wait(lambda s: "abnormal only" in s and "runs 1–1" in s)
    else:
        term.wait("No matching runs.")
    term.send("a")
    term.wait(lambda s: "normal-adult" in s and "runs 1–1" in s)

    term.send("Escape")
    term.wait("Start run (F5)")
    term.send("b")  # the bench: identities, then the latest check and running one
    term.wait(lambda s: "connected" in s and "No bench check on record" in s, timeout=60)
    term.send("v")
    term.wait("Run the bench check?")
    term.send("y")
    bench = term.wait(lambda s: "checks passed" in s, timeout=120)
    assert "PASS" in bench and "FAIL" not in bench
    term.send("Escape")
    term.wait("Start run (F5)")
    term.send("C-q")
    assert term.exit_code() == 0


def test_hang_up_leaves_the_study_waiting_then_its_host_aborts_it(term: Terminal) -> None:
    """A dropped SSH link detaches (the engine host keeps the run at its prompt, see
    test_tmux_reattach.py); stopping the host aborts the run with outputs off."""
    start_study(term)
    term.wait(lambda s: prompt_line(s) is not None and "?" in (prompt_line(s) or ""))
    os.kill(term.app_pid(), signal.SIGHUP)
    assert term.exit_code() == 0
    with sqlite3.connect(term.db) as db:
        status, host = db.execute("SELECT status, owner_pid FROM runs").fetchone()
    assert status == "running" and host and Path(f"/proc/{host}").exists()
    os.kill(host, signal.SIGTERM)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with sqlite3.connect(term.db) as db:
            status = db.execute("SELECT status FROM runs").fetchone()[0]
        if status != "running":
            break
        time.sleep(0.1)
    assert status == "aborted"
