"""`edxbench bench check`: the bench validation protocols as one ordinary stored run.

The run goes through `open_session` like any study (same engine, recorder and
database), with the fixture in place of a subject, so it is listed by `edxbench runs`
and every later study run on the profile records its outcome in its provenance.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine.paths import protocols_dir

if TYPE_CHECKING:  # reports import this module for `bench_check_line` only: keep it light
    from edxbench.session import Session
    from engine import events as ev
    from engine.prompts import Prompter

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
    from edxbench.session import open_session
    from engine.prompts import HeadlessPrompter

    return open_session(protocol or bench_check_protocol(), FIXTURE_SUBJECT, db_path=db_path,
                        prompter=prompter or HeadlessPrompter({}), subscribers=subscribers,
                        profile=profile, fast=fast, bench_config=bench_config,
                        operator=operator)


def execute_bench_check(session: Session, db_path: str | Path) -> BenchCheckResult:
    """Run an opened bench check to its end, close the session, read the outcome back."""
    from storage.database import open_database
    from storage.queries import bench_check_summary

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


def bench_check_line(entry: dict[str, Any] | None) -> str:
    """One line for a run's provenance['bench_check'] (`edxbench show`, reports)."""
    if not entry:
        return "not recorded"
    if entry.get("outcome") == "none" or not entry.get("run_id"):
        return "none on record for this bench profile"
    checks = dict(entry.get("checks") or {})
    failing = [step for step, outcome in checks.items() if outcome != "pass"]
    when = str(entry.get("finished_at") or "")[:19].replace("T", " ")
    return (f"{str(entry['outcome']).upper()} (run {str(entry['run_id'])[:8]}, {when}, "
            f"{len(checks) - len(failing)}/{len(checks)} checks passed"
            + (f"; not passed: {', '.join(failing)}" if failing else "") + ")")


def summary_lines(summary: dict[str, Any]) -> list[str]:
    """A bench check for people: outcome, then each check with its values and limits."""
    when = str(summary.get("finished_at") or summary.get("started_at") or "")[:19]
    lines = [f"bench check {summary['run_id']}  profile {summary['bench_profile']}  "
             f"{when.replace('T', ' ')}  run {summary['status']}  "
             f"outcome {str(summary['outcome']).upper()}"]
    for check in summary["checks"]:
        lines.append(f"  [{str(check['outcome']).upper():>7}] {check['title']}"
                     + (f" ({check['reason']})" if check.get("reason") else ""))
        for m in check["measurements"]:
            value = "—" if m["value"] is None else f"{m['value']:.4g}"
            if m["lower"] is not None and m["upper"] is not None:
                limit = f"{m['lower']:.4g}–{m['upper']:.4g}"
            else:
                limit = f"≤ {m['upper']:.4g}" if m["upper"] is not None else ""
            lines.append(f"      {m['name']:<16} {value:>10} {m['unit']:<3} {limit:<18} "
                         f"{'ok' if m['outcome'] == 'normal' else 'OUT OF TOLERANCE'}")
    return lines
