"""Composing a run: protocol, reference limits, database, bench and subscribers.

Both faces (the terminal app and the headless command) start runs through
`open_session`, so they run the same engine with the same storage in the same order.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import sqlite_utils

from edxbench.errors import SessionError
from engine import events as ev
from engine.prompts import Prompter
from engine.protocol import Protocol, load_protocol
from engine.reference import EMPTY_REFERENCE, load_reference
from engine.runner import Run
from instruments.bench import Bench, open_bench
from instruments.clock import FastClock, RealClock
from storage.database import open_database
from storage.recorder import RunRecorder

# Pseudonymous ids only: a code, never a name or a birth date.
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


def open_session(
    protocol_path: str | Path,
    subject_id: str,
    *,
    db_path: str | Path,
    prompter: Prompter,
    subscribers: Iterable[Callable[[ev.Event], None]] = (),
    profile: str = "sim",
    fast: bool = False,
    bench_config: str | Path | None = None,
    operator: str | None = None,
) -> Session:
    protocol = load_protocol(protocol_path)
    reference = load_reference(protocol.reference) if protocol.reference else EMPTY_REFERENCE
    check_subject_id(subject_id)
    db = open_database(db_path)
    try:
        bench = open_bench(profile, config_path=bench_config,
                           clock=FastClock() if fast else RealClock())
    except BaseException:
        db.conn.close()
        raise
    try:
        bench.connect_subject(subject_id)
        run = Run(protocol, subject_id=subject_id, bench=bench, prompter=prompter,
                  reference=reference, subscribers=[RunRecorder(db), *subscribers],
                  operator=operator, bench_profile=profile)
    except BaseException:
        bench.close()
        db.conn.close()
        raise
    return Session(protocol, run, bench, db)
