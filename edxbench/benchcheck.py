"""`edxbench bench check`: the bench validation protocols as one ordinary stored run.

The run goes through `open_session` like any study (same engine, recorder and
database), with the fixture in place of a subject, so it is listed by `edxbench runs`
and every later study run on the profile records its outcome in its provenance.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edxbench.session import Session, open_session
from engine import events as ev
from engine.paths import protocols_dir
from engine.prompts import HeadlessPrompter, Prompter
from storage.database import open_database
from storage.queries import bench_check_summary

FIXTURE_SUBJECT = "bench-fixture"  # the run's subject id: the fixture, never a person


def bench_check_protocol() -> Path:
    """The full check (every protocols/bench/ area in one run)."""
    return protocols_dir() / "bench" / "bench_check.yaml"


@dataclass(frozen=True)
class BenchCheckResult:
    run_id: str
    status: str  # the run's status: completed, failed, stopped, aborted
    outcome: str  # pass | fail | incomplete (storage.queries.bench_check_summary)
    reason: str = ""
    summary: dict[str, Any] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return self.outcome == "pass"


def open_bench_check(
    profile: str = "sim",
    *,
    db_path: str | Path,
    fast: bool = False,
    subscribers: Iterable[Callable[[ev.Event], None]] = (),
    bench_config: str | Path | None = None,
    prompter: Prompter | None = None,
    protocol: str | Path | None = None,
    operator: str | None = None,
) -> Session:
    """A session for a bench check, not started yet (the app runs it in a worker).

    Without a prompter every fixture prompt takes its default (connected)."""
    return open_session(protocol or bench_check_protocol(), FIXTURE_SUBJECT, db_path=db_path,
                        prompter=prompter or HeadlessPrompter({}), subscribers=subscribers,
                        profile=profile, fast=fast, bench_config=bench_config,
                        operator=operator)


def execute_bench_check(session: Session, db_path: str | Path) -> BenchCheckResult:
    """Run an opened bench check to its end, close the session, read the outcome back."""
    try:
        result = session.run.execute()
    finally:
        session.close()
    db = open_database(db_path)
    try:
        summary = bench_check_summary(db, result.run_id)
    finally:
        db.conn.close()
    if summary is None:  # the run could not even start
        return BenchCheckResult(result.run_id, result.status, "incomplete", result.reason)
    return BenchCheckResult(result.run_id, result.status, summary["outcome"], result.reason,
                            summary)


def run_bench_check(
    profile: str = "sim",
    *,
    db_path: str | Path,
    fast: bool = False,
    subscribers: Iterable[Callable[[ev.Event], None]] = (),
    bench_config: str | Path | None = None,
    prompter: Prompter | None = None,
    protocol: str | Path | None = None,
) -> BenchCheckResult:
    """Run the bench check on `profile`, store it as a run, return its outcome (blocking;
    the app calls it from a worker thread)."""
    session = open_bench_check(profile, db_path=db_path, fast=fast, subscribers=subscribers,
                               bench_config=bench_config, prompter=prompter,
                               protocol=protocol)
    return execute_bench_check(session, db_path)
