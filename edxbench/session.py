"""Composing a run: protocol, reference limits, database, bench and subscribers.

Both faces (the terminal app and the headless command) start runs through
`open_session`, so they run the same engine with the same storage in the same order.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlite_utils

from edxbench.errors import SessionError
from engine import events as ev
from engine.ownership import owner_alive
from engine.paths import protocols_dir
from engine.prompts import Prompter
from engine.protocol import Protocol, load_protocol, load_protocol_text
from engine.reference import load_references
from engine.resume import ResumePoint, resume_point
from engine.runner import Run
from instruments.bench import Bench, available_subjects, open_bench
from instruments.clock import FastClock, RealClock
from storage.database import open_database
from storage.queries import (
    find_run_id,
    get_run,
    latest_bench_check,
    mark_interrupted,
    running_runs,
)
from storage.recorder import RunRecorder

# Pseudonymous ids only: a code, never a name or a birth date.
__all__ = ["Session", "available_subjects", "detect_interrupted", "open_resume_session",
           "open_session"]

FAST_SIM_TIME_SCALE = 100.0
RESUMABLE = ("interrupted", "failed", "stopped")
SUBJECT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


@dataclass
class Session:
    protocol: Protocol
    run: Run
    bench: Bench
    db: sqlite_utils.Database

    def close(self) -> None:
        """Outputs off, instruments closed, database closed; safe to call twice."""
        try:
            self.bench.close()
        finally:
            self.db.conn.close()


def check_subject_id(subject_id: str) -> str:
    if not SUBJECT_ID.match(subject_id or ""):
        raise SessionError(
            f"subject id {subject_id!r} is not a pseudonymous code (letters, digits, '.', '-', "
            "'_'; no spaces, at most 64 characters)")
    return subject_id


def detect_interrupted(db: sqlite_utils.Database) -> list[str]:
    """Mark runs whose engine died as interrupted; return their ids."""
    found = []
    for row in running_runs(db):
        dead = owner_alive(row["owner_host"], row["owner_pid"], row["owner_token"]) is False
        if dead and mark_interrupted(db, row["id"], "the engine stopped without finishing "
                                                    "(crash, kill or power loss)"):
            found.append(row["id"])
    return found


def open_resume_session(
    run_id: str,
    *,
    db_path: str | Path,
    prompter: Prompter,
    subscribers: Iterable[Callable[[ev.Event], None]] = (),
    profile: str | None = None,
    fast: bool = False,
    bench_config: str | Path | None = None,
    operator: str | None = None,
) -> Session:
    """Continue an interrupted (or failed) run with the protocol text it started with."""
    db = open_database(db_path)
    try:
        detect_interrupted(db)
        full_id = find_run_id(db, run_id)
        stored = get_run(db, full_id) if full_id else None
        if stored is None:
            raise SessionError(f"no run matches {run_id!r} in {db_path}")
        if stored["status"] not in RESUMABLE:
            raise SessionError(f"run {stored['id'][:8]} is {stored['status']}; only "
                               f"{', '.join(RESUMABLE)} runs can be resumed")
        protocol = load_protocol_text(stored["protocol_text"],
                                      f"run {stored['id'][:8]} protocol",
                                      includes=stored["provenance"].get("protocol_includes"),
                                      library=_library_of(stored["provenance"]))
    finally:
        db.conn.close()
    return open_session(protocol, stored["subject_id"], db_path=db_path, prompter=prompter,
                        subscribers=subscribers, profile=profile or stored["bench_profile"],
                        fast=fast, bench_config=bench_config, operator=operator,
                        resume=resume_point(stored))


def bench_check_provenance(db: sqlite_utils.Database, profile: str) -> dict[str, Any]:
    """What a run records of its bench's latest validation: run, time, outcome per check."""
    latest = latest_bench_check(db, profile)
    if latest is None:
        return {"outcome": "none", "note": f"no bench check on record for profile {profile!r}"}
    return {"run_id": latest["run_id"], "finished_at": latest["finished_at"],
            "status": latest["status"], "outcome": latest["outcome"],
            "checks": {c["step_id"]: c["outcome"] for c in latest["checks"]}}


def _library_of(provenance: dict) -> Path:
    """Where a stored run's protocol came from: runs stored before includes were kept
    resolve their includes there (or in the shipped library if that folder is gone)."""
    original = Path(provenance.get("protocol_path") or "")
    return original.parent if original.parent.is_dir() and original.name else protocols_dir()


def open_session(
    protocol_path: str | Path | Protocol,
    subject_id: str,
    *,
    db_path: str | Path,
    prompter: Prompter,
    subscribers: Iterable[Callable[[ev.Event], None]] = (),
    profile: str = "sim",
    fast: bool = False,
    bench_config: str | Path | None = None,
    operator: str | None = None,
    resume: ResumePoint | None = None,
) -> Session:
    protocol = (protocol_path if isinstance(protocol_path, Protocol)
                else load_protocol(protocol_path))
    reference = load_references(protocol.references)
    check_subject_id(subject_id)
    db = open_database(db_path)
    try:
        # Fast time also plays the simulated bench's stimulus trains fast (a real bench
        # ignores the scale); the physiology follows the nominal rate either way.
        bench = open_bench(profile, config_path=bench_config,
                           clock=FastClock() if fast else RealClock(),
                           sim_time_scale=FAST_SIM_TIME_SCALE if fast else 1.0)
    except BaseException:
        db.conn.close()
        raise
    try:
        if protocol.study_kind != "bench":  # a bench check has the fixture, not a subject
            bench.connect_subject(subject_id)
        run = Run(protocol, subject_id=subject_id, bench=bench, prompter=prompter,
                  reference=reference, subscribers=[RunRecorder(db), *subscribers],
                  operator=operator, bench_profile=profile, resume=resume,
                  bench_check=bench_check_provenance(db, profile))
    except BaseException:
        bench.close()
        db.conn.close()
        raise
    return Session(protocol, run, bench, db)
