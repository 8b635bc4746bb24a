"""Concurrency: runs write at full rate while the review screen and `edxbench` read.

A writer thread runs headless studies back to back (`edxbench run --headless --fast`, a
child process, the simulated bench in fast time) into one database file. Meanwhile the
review screen's data source (`tui.data.StorageSource`, the same storage queries the
screen uses) pages the run list and opens runs and traces in threads, and a headless
reader runs `edxbench runs --json` and `edxbench show ID --json` as child processes.
Nobody may see "database is locked", and every read must see whole steps: a step's
search traces match the search its result records, and no trace or measurement
belongs to a step the same read did not list.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

from storage.database import open_database
from tests.conftest import ROOT, run_cli
from tests.reliability.figures import count, report
from tui.data import RunFilter, StorageSource

PROTOCOLS = ("median-motor", "ulnar-motor", "median-sensory")


def torn(run: dict[str, Any]) -> list[str]:
    """What in one read of a run is not made of whole steps."""
    problems = []
    steps = {s["step_id"]: s for s in run["steps"]}
    for row in run["traces"]:
        if row["step_id"] not in steps:
            problems.append(f"trace {row['id']} of unlisted step {row['step_id']}")
    for row in run["measurements"]:
        if row["step_id"] not in steps:
            problems.append(f"measurement of unlisted step {row['step_id']}")
    for step_id, step in steps.items():
        result = step.get("result") or {}
        if "search" in result:
            searched = sum(1 for t in run["traces"]
                           if t["step_id"] == step_id and t["role"] == "search")
            if searched != len(result["search"]):
                problems.append(f"step {step_id}: {searched} search traces, result lists "
                                f"{len(result['search'])}")
        if step.get("status") == "done" and step.get("kind") == "stimulate" and not any(
                t["step_id"] == step_id and t["role"] == "final" for t in run["traces"]):
            problems.append(f"step {step_id} done without its final trace")
    return problems


def test_readers_while_runs_write(tmp_path: Path) -> None:
    seconds = count(12, 180)
    db_path = tmp_path / "shared.sqlite"
    stop = threading.Event()
    errors: list[str] = []
    torn_reads: list[str] = []
    tally: Counter[str] = Counter()

    def writer() -> None:
        n = 0
        while not stop.is_set():
            done = run_cli("run", PROTOCOLS[n % len(PROTOCOLS)], "--headless", "--fast",
                           "--subject", "normal-adult", "--json", "--db", str(db_path),
                           env={"EDXBENCH_SIM_SEED": str(n)})
            n += 1
            if done.returncode != 0 or "locked" in done.stderr:
                errors.append(f"writer: exit {done.returncode}: {done.stderr[-300:]}")
            else:
                tally["runs written"] += 1

    def screen_reader() -> None:
        source = StorageSource(db_path)
        while not stop.is_set():
            try:
                page = source.runs_page(0, 50, RunFilter())
                tally["screen list pages"] += 1
                for row in page[:3]:
                    run = source.run(row["id"])
                    tally["screen runs opened"] += 1
                    torn_reads.extend(f"screen: {p}" for p in torn(run))
                    if run["traces"]:
                        source.trace(run["traces"][-1]["id"])
                        tally["screen traces loaded"] += 1
            except Exception as exc:  # "database is locked" or anything else
                errors.append(f"screen: {type(exc).__name__}: {exc}")

    def headless_reader() -> None:
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        while not stop.is_set():
            listed = subprocess.run([sys.executable, "-m", "edxbench", "runs", "--json",
                                     "--db", str(db_path)], capture_output=True, text=True,
                                    timeout=60, env=env, cwd=ROOT)
            if listed.returncode != 0:
                errors.append(f"runs: {listed.stderr[-300:]}")
                continue
            tally["cli runs listed"] += 1
            rows = json.loads(listed.stdout)
            if not rows:
                continue
            shown = subprocess.run([sys.executable, "-m", "edxbench", "show", rows[0]["id"],
                                    "--json", "--db", str(db_path)], capture_output=True,
                                   text=True, timeout=60, env=env, cwd=ROOT)
            if shown.returncode != 0:
                errors.append(f"show: {shown.stderr[-300:]}")
                continue
            tally["cli runs shown"] += 1
            torn_reads.extend(f"show: {p}" for p in torn(json.loads(shown.stdout)))

    threads = [threading.Thread(target=f, daemon=True)
               for f in (writer, screen_reader, screen_reader, headless_reader)]
    for thread in threads:
        thread.start()
    while not db_path.exists():  # the readers need the file the writer creates
        time.sleep(0.05)
    time.sleep(seconds)
    stop.set()
    for thread in threads:
        thread.join(120)
    reads = sum(v for k, v in tally.items() if k != "runs written")
    report("4 concurrency", f"{seconds} s: {tally['runs written']} runs written while "
           f"{reads} reads ran ({', '.join(f'{k} {v}' for k, v in sorted(tally.items()))}); "
           f"{len(errors)} locked or failed reads, {len(torn_reads)} torn reads")
    assert not errors, errors[:10]
    assert tally["runs written"] >= 1 and tally["screen runs opened"] > 0
    assert tally["cli runs shown"] > 0
    # get_run reads inside one read transaction (storage.queries.read_snapshot)
    assert not torn_reads, torn_reads[:10]


def test_many_processes_open_a_new_database_at_once(tmp_path: Path) -> None:
    """The first open migrates; openers racing on a new file must all succeed."""
    rounds = count(10, 50)
    failures: list[str] = []
    for n in range(rounds):
        path = tmp_path / f"new{n}.sqlite"

        def opener(path: Path = path) -> None:
            try:
                open_database(path).conn.close()
            except Exception as exc:
                failures.append(f"{type(exc).__name__}: {exc}")

        threads = [threading.Thread(target=opener) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
    report("4 concurrency", f"{rounds} new databases opened by 4 threads at once: "
           f"{len(failures)} failures")
    assert not failures, failures[:3]
