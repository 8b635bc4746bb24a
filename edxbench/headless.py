"""The headless face: run a protocol without a screen and print what it found.

Progress goes to stderr as one line per step; the result (a table, or the JSON document
described in the README) goes to stdout so scripts can parse it.
"""

from __future__ import annotations

import json
import signal
import sys
from dataclasses import asdict
from pathlib import Path
from types import FrameType
from typing import Any, TextIO

from edxbench.session import open_resume_session, open_session
from engine import events as ev
from engine.prompts import HeadlessPrompter
from engine.runner import RunResult
from storage.database import open_database
from storage.queries import get_interpretation

JSON_SCHEMA = "edxbench.run/1"


class HeadlessPrinter:
    """Subscriber that reports progress and collects measurements with their step."""

    def __init__(self, progress: TextIO | None) -> None:
        self.progress = progress
        self.rows: list[dict[str, Any]] = []
        self.notices: list[str] = []

    def __call__(self, event: ev.Event) -> None:
        if isinstance(event, ev.StepCompleted):
            for m in event.measurements:
                row = asdict(m)
                row.pop("trace_index", None)
                self.rows.append({"step_id": event.step_id, **row})
            self._say(f"[{event.status:>7}] {event.title}"
                      + (f" ({event.reason})" if event.reason else ""))
        elif isinstance(event, ev.Notice):
            self.notices.append(f"{event.level}: {event.text}")
            self._say(f"  {event.level}: {event.text}")

    def _say(self, line: str) -> None:
        if self.progress is not None:
            print(line, file=self.progress, flush=True)


def run_headless(protocol_path: Path | None, subject_id: str | None, *, db_path: Path,
                 answers: dict[str, Any], as_json: bool, profile: str, fast: bool,
                 bench_config: Path | None, resume_run_id: str | None = None) -> int:
    printer = HeadlessPrinter(None if as_json else sys.stderr)
    prompter = HeadlessPrompter(answers)
    if resume_run_id is not None:
        session = open_resume_session(resume_run_id, db_path=db_path, prompter=prompter,
                                      subscribers=[printer], fast=fast,
                                      bench_config=bench_config)
    else:
        assert protocol_path is not None and subject_id is not None
        session = open_session(protocol_path, subject_id, db_path=db_path, prompter=prompter,
                               subscribers=[printer], profile=profile, fast=fast,
                               bench_config=bench_config)
    subject_id = session.run.subject_id
    previous = _install_signal_handlers(session.run)
    try:
        result = session.run.execute()
    finally:
        _restore_signal_handlers(previous)
        session.close()
    interpretation = _stored_interpretation(db_path, result.run_id, printer)
    if as_json:
        document = _document(result, session.protocol.id, session.protocol.title,
                             session.protocol.sha256, subject_id, db_path, printer)
        if interpretation is not None:  # optional: only runs that were interpreted have one
            document["interpretation"] = interpretation
        json.dump(document, sys.stdout, indent=2, default=str)
        sys.stdout.write("\n")
    else:
        _print_table(result, printer, db_path)
        if interpretation is not None:
            print(f"impression: {interpretation.get('impression', '')}")
    return 0 if result.status == "completed" else 1


def _stored_interpretation(db_path: Path, run_id: str, printer: HeadlessPrinter
                           ) -> dict[str, Any] | None:
    """The interpretation storage holds for the run (what `show` and reports read), or
    None if the run ended without one; a database that cannot be read is a notice."""
    try:
        db = open_database(db_path, readonly=True)
    except Exception as exc:
        printer(ev.Notice(run_id, "warning", f"interpretation not read: {exc}"))
        return None
    try:
        return get_interpretation(db, run_id)
    except Exception as exc:
        printer(ev.Notice(run_id, "warning", f"interpretation not read: {exc}"))
        return None
    finally:
        db.close()


def _document(result: RunResult, protocol_id: str, title: str, sha256: str, subject_id: str,
              db_path: Path, printer: HeadlessPrinter) -> dict[str, Any]:
    return {
        "schema": JSON_SCHEMA,
        "run_id": result.run_id,
        "status": result.status,
        "reason": result.reason,
        "protocol": {"id": protocol_id, "title": title, "sha256": sha256},
        "subject_id": subject_id,
        "database": str(db_path),
        "abnormal_count": sum(r["outcome"] == "abnormal" for r in printer.rows),
        "notices": printer.notices,
        "measurements": printer.rows,
    }


def format_limits(lower: float | None, upper: float | None) -> str:
    if lower is not None and upper is not None:
        return f"{lower:g}–{upper:g}"
    if lower is not None:
        return f"≥ {lower:g}"
    if upper is not None:
        return f"≤ {upper:g}"
    return ""


def _print_table(result: RunResult, printer: HeadlessPrinter, db_path: Path) -> None:
    header = ("step", "site", "measurement", "value", "unit", "limit", "outcome")
    rows = [header]
    for r in printer.rows:
        value = "—" if r["value"] is None else f"{r['value']:.2f}"
        rows.append((r["step_id"], r["site"], r["name"], value, r["unit"],
                     format_limits(r["lower"], r["upper"]), r["outcome"].upper()
                     if r["outcome"] == "abnormal" else r["outcome"]))
    widths = [max(len(str(row[i])) for row in rows) for i in range(len(header))]
    for row in rows:
        print("  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True))
              .rstrip())
    print(f"\nrun {result.run_id}: {result.status}"
          + (f" ({result.reason})" if result.reason else "") + f"  [database {db_path}]")


def _install_signal_handlers(run: Any) -> dict[int, Any]:
    """Ctrl-C stops (cleanup runs); a second Ctrl-C, SIGTERM or SIGHUP aborts."""
    def on_interrupt(signum: int, frame: FrameType | None) -> None:
        if run.stop_requested:
            run.request_abort()
        else:
            print("\nstopping after cleanup (Ctrl-C again to abort)", file=sys.stderr)
            run.request_stop()

    def on_terminate(signum: int, frame: FrameType | None) -> None:
        run.request_abort()

    previous = {}
    for sig, handler in ((signal.SIGINT, on_interrupt), (signal.SIGTERM, on_terminate),
                         (signal.SIGHUP, on_terminate)):
        previous[sig] = signal.signal(sig, handler)
    return previous


def _restore_signal_handlers(previous: dict[int, Any]) -> None:
    for sig, handler in previous.items():
        signal.signal(sig, handler)
