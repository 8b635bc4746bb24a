"""The `edxbench` command line.

`edxbench` opens the terminal app; the sub-commands are the headless face. Every error a
person can cause (bad file, unknown subject, unreachable bench, unwritable database)
becomes one line naming the file, field or instrument, and a non-zero exit: exit 2 for bad
input, 1 for a run that did not complete, 3 for an internal error (details in the log).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import traceback
from datetime import date
from pathlib import Path
from typing import Any

from edxbench import __version__
from edxbench.paths import default_db_path, log_path

EXIT_RUN_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_INTERNAL = 3


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="edxbench",
        description="Run scripted nerve conduction and needle EMG studies on a lab bench.",
    )
    parser.add_argument("--version", action="version", version=f"edxbench {__version__}")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--db", type=Path, default=None,
                        help="SQLite database (default: $EDXBENCH_DB or the user data dir)")
    bench = argparse.ArgumentParser(add_help=False)
    bench.add_argument("--bench", default="sim", metavar="PROFILE",
                       help="bench profile (default: sim, the simulated bench)")
    bench.add_argument("--bench-config", type=Path, default=None, metavar="TOML",
                       help="bench configuration file (default: data/bench.toml)")
    bench.add_argument("--fast", action="store_true",
                       help="simulated bench in fast time (no real-time pacing)")
    parser.add_argument("--db", type=Path, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--bench", default="sim", help=argparse.SUPPRESS)
    parser.add_argument("--bench-config", type=Path, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--fast", action="store_true", help=argparse.SUPPRESS)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    run = sub.add_parser("run", parents=[common, bench], help="run a protocol")
    run.add_argument("protocol", help="protocol id (e.g. median-motor) or a path to a .yaml file")
    run.add_argument("--subject", default=None, help="pseudonymous subject id (sim: a virtual "
                                                      "subject from data/subjects)")
    run.add_argument("--dry-run", action="store_true",
                     help="print every step and instrument action without touching a bench")
    run.add_argument("--headless", action="store_true", help="run without the terminal app")
    run.add_argument("--json", action="store_true", help="print the result as JSON")
    run.add_argument("--answers", type=Path, default=None,
                     help="YAML/JSON file of prompt id → answer for headless runs")

    resume = sub.add_parser("resume", parents=[common, bench],
                            help="resume an interrupted run from its last completed step")
    resume.add_argument("run_id", help="run id or a unique prefix of it")
    resume.add_argument("--headless", action="store_true", help="resume without the app")
    resume.add_argument("--json", action="store_true", help="print the result as JSON")
    resume.add_argument("--answers", type=Path, default=None,
                        help="YAML/JSON file of prompt id → answer for headless runs")

    attach = sub.add_parser("attach", parents=[common],
                            help="open the app on a live run (its engine host outlived the "
                                 "terminal); control if free, else watch")
    attach.add_argument("run_id", nargs="?", default=None,
                        help="run id or a unique prefix (default: the only live run)")
    attach.add_argument("--watch", action="store_true", help="watch read-only")

    runs = sub.add_parser("runs", parents=[common], help="list stored runs")
    runs.add_argument("--json", action="store_true")
    runs.add_argument("--limit", type=int, default=50)
    runs.add_argument("--search", default=None, help="filter by protocol, subject or run id")
    runs.add_argument("--since", type=_day, default=None, metavar="YYYY-MM-DD",
                      help="runs started on or after this day (UTC, as listed)")
    runs.add_argument("--until", type=_day, default=None, metavar="YYYY-MM-DD",
                      help="runs started on or before this day")

    export = sub.add_parser("export", parents=[common], help="export a stored run")
    export.add_argument("run_id", help="run id or a unique prefix of it")
    export.add_argument("--format", required=True,
                        choices=("md", "html", "csv", "json", "edf", "findings"),
                        help="findings: the interpretation (criteria met, evidence) as CSV")
    export.add_argument("--out", type=Path, default=None, metavar="PATH",
                        help="output file (default: ./edxbench-<run id prefix>.<format>)")

    show = sub.add_parser("show", parents=[common], help="show one stored run")
    show.add_argument("run_id", help="run id or a unique prefix of it")
    show.add_argument("--json", action="store_true")

    interp = sub.add_parser("interpret", parents=[common],
                            help="apply the criteria in data/criteria to a stored run again")
    interp.add_argument("run_id", help="run id or a unique prefix of it")
    interp.add_argument("--json", action="store_true")
    interp.add_argument("--dry-run", action="store_true", help="print, do not store")
    interp.add_argument("--other-side", default=None, metavar="RUN",
                        help="the same subject's run on the other side: side-to-side "
                             "differences against data/reference/side-to-side.yaml")

    sim = sub.add_parser("sim", help="start the simulated bench alone and print its resources")
    sim.add_argument("--seed", type=int, default=None)

    protocols = sub.add_parser("protocols", help="list or check protocol files")
    psub = protocols.add_subparsers(dest="protocols_command", metavar="ACTION")
    psub.add_parser("list", help="list the protocol library")
    check = psub.add_parser("check", help="validate protocol files")
    check.add_argument("files", nargs="+", type=Path)
    suggestp = psub.add_parser("suggest", help="composite studies for presenting symptoms "
                                               "(data/symptoms.yaml)")
    suggestp.add_argument("symptoms", nargs="+", metavar="SYMPTOM",
                          help="e.g. numb-feet, 'neck pain', weakness")

    sub.add_parser("subjects", help="list the virtual subjects of the simulated bench")

    benchp = sub.add_parser("bench", help="validate the bench: stimulator into a test load, "
                                          "amplifier gain and noise, timing, mains")
    bsub = benchp.add_subparsers(dest="bench_command", metavar="ACTION")
    bcheck = bsub.add_parser("check", parents=[common],
                             help="run the bench validation protocols as a stored run")
    bshow = bsub.add_parser("show", parents=[common],
                            help="the latest bench check of a profile, or one by run id")
    bshow.add_argument("run_id", nargs="?", default=None, help="a bench check run (prefix)")
    for action in (bcheck, bshow):
        action.add_argument("--profile", default="sim", help="bench profile (default: sim)")
        action.add_argument("--json", action="store_true")
    bcheck.add_argument("--bench-config", type=Path, default=None, metavar="TOML",
                        help="bench configuration file (default: data/bench.toml)")
    bcheck.add_argument("--fast", action="store_true",
                        help="simulated bench in fast time (no real-time pacing)")

    serve = sub.add_parser("serve", parents=[common, bench],
                           help="serve the terminal app in a browser on this machine only")
    serve.add_argument("--port", type=int, default=8000,
                       help="TCP port on 127.0.0.1 (default: 8000); reach it from elsewhere "
                            "through an SSH tunnel, never by exposing it")
    audit = sub.add_parser("audit", help="check the tamper-evident audit log")
    asub = audit.add_subparsers(dest="audit_command", metavar="ACTION")
    asub.add_parser("verify", parents=[common], help="verify the audit hash chain")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return _dispatch(args, parser)
    except KeyboardInterrupt:
        print("edxbench: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        message = _user_message(exc)
        if message is not None:
            print(f"edxbench: error: {message}", file=sys.stderr)
            return EXIT_BAD_INPUT
        where = _log_internal_error(exc)
        print(f"edxbench: internal error: {type(exc).__name__}: {exc} (details in {where})",
              file=sys.stderr)
        return EXIT_INTERNAL


def _dispatch(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    db_path = (args.db or default_db_path()) if hasattr(args, "db") else default_db_path()
    if args.command is None:
        from edxbench.live import app_factories
        from tui.app import EdxApp  # Textual is imported only when the app opens

        EdxApp(db_path=db_path, bench_profile=args.bench, fast=args.fast,
               bench_config=args.bench_config, **app_factories()).run()
        return 0
    if args.command == "attach":
        return _attach(args)
    if args.command == "run":
        return _run(args, db_path)
    if args.command == "runs":
        return _runs(args, db_path)
    if args.command == "resume":
        return _resume(args, db_path)
    if args.command == "show":
        return _show(args, db_path)
    if args.command == "interpret":
        return _interpret(args, db_path)
    if args.command == "export":
        return _export(args, db_path)
    if args.command == "sim":
        from instruments.sim.__main__ import main as sim_main

        return sim_main([] if args.seed is None else ["--seed", str(args.seed)]) or 0
    if args.command == "protocols":
        return _protocols(args, parser)
    if args.command == "subjects":
        from instruments.bench import available_subjects

        for name in available_subjects():
            print(name)
        return 0
    if args.command == "bench":
        if args.bench_command is None:
            parser.parse_args(["bench", "--help"])  # prints the actions and exits
        return _bench(args, db_path)
    if args.command == "serve":
        from edxbench.serve import serve

        return serve(db_path=db_path, port=args.port, bench_profile=args.bench,
                     bench_config=args.bench_config, fast=args.fast)
    if args.command == "audit" and args.audit_command == "verify":
        return _audit_verify(db_path)
    parser.print_help()
    return EXIT_BAD_INPUT


def _audit_verify(db_path: Path) -> int:
    from storage.audit import event_count, verify_chain
    from storage.database import open_database

    db = open_database(db_path)
    problems = verify_chain(db)
    count = event_count(db)
    for problem in problems:
        print(problem)
    print(f"{db_path}: {count} events, " + ("chain intact" if not problems
                                            else f"{len(problems)} problems"))
    return 1 if problems else 0


def _run(args: argparse.Namespace, db_path: Path) -> int:
    from engine.catalog import resolve_protocol

    protocol_path = resolve_protocol(args.protocol)
    if args.dry_run:
        from engine.dryrun import describe
        from engine.protocol import load_protocol

        print("\n".join(describe(load_protocol(protocol_path))))
        return 0
    if args.subject is None:
        raise LookupError("run needs --subject ID (a pseudonymous code; on the simulated "
                          "bench, one of `edxbench subjects`)")
    if not args.headless:
        from edxbench.live import app_factories
        from tui.app import EdxApp

        EdxApp(db_path=db_path, bench_profile=args.bench, fast=args.fast,
               bench_config=args.bench_config, protocol_path=protocol_path,
               subject_id=args.subject, **app_factories()).run()
        return 0
    from edxbench.headless import run_headless

    return run_headless(protocol_path, args.subject, db_path=db_path,
                        answers=_load_answers(args.answers), as_json=args.json,
                        profile=args.bench, fast=args.fast, bench_config=args.bench_config)


def _resume(args: argparse.Namespace, db_path: Path) -> int:
    if not args.headless:
        raise LookupError("resume in the app: open `edxbench` and pick the run; or add "
                          "--headless")
    from edxbench.headless import run_headless

    return run_headless(None, None, db_path=db_path, answers=_load_answers(args.answers),
                        as_json=args.json, profile=args.bench, fast=args.fast,
                        bench_config=args.bench_config, resume_run_id=args.run_id)


def _attach(args: argparse.Namespace) -> int:
    """The app, opened straight onto a live run (of `--db` only, when given)."""
    from edxbench.live import app_factories
    from edxbench.live.client import find_live_run

    info = find_live_run(args.run_id, args.db)
    from tui.app import EdxApp

    app = EdxApp(db_path=Path(info["db"]), **app_factories())
    app.attach_on_start = (info["run_id"], args.watch)  # type: ignore[attr-defined]
    app.run()
    return 0


def _load_answers(path: Path | None) -> dict[str, Any]:
    if path is None:
        return {}
    from engine.yamlsource import Mark, SourceError, load_yaml_file

    document = load_yaml_file(path)
    if not isinstance(document, dict):
        raise SourceError(getattr(document, "mark", Mark(str(path), 1, 1)),
                          "answers file must map prompt ids to answers")
    return dict(document)


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a day (YYYY-MM-DD)") from None


def _runs(args: argparse.Namespace, db_path: Path) -> int:
    from edxbench.session import detect_interrupted
    from storage.database import open_database
    from storage.queries import list_runs

    db = open_database(db_path)
    detect_interrupted(db)
    rows = list_runs(db, limit=args.limit, search=args.search, since=args.since,
                     until=args.until)
    if args.json:
        json.dump(rows, sys.stdout, indent=2)
        sys.stdout.write("\n")
        return 0
    if not rows:
        print(f"no runs in {db_path}")
        return 0
    for row in rows:
        flag = f"{row['abnormal_count']} abnormal" if row["abnormal_count"] else ""
        print(f"{row['id'][:8]}  {row['started_at'][:19].replace('T', ' ')}  "
              f"{row['status']:<10} {row['protocol_id']:<16} {row['subject_id']:<16} {flag}")
    return 0


def _export(args: argparse.Namespace, db_path: Path) -> int:
    from edxbench.reports import export_run
    from storage.database import open_database
    from storage.queries import find_run_id

    db = open_database(db_path)
    run_id = find_run_id(db, args.run_id)
    if run_id is None:
        raise LookupError(f"no run matches {args.run_id!r} in {db_path}")
    print(export_run(db, run_id, args.format, args.out))
    return 0


def _bench(args: argparse.Namespace, db_path: Path) -> int:
    """`bench check` runs and stores a bench check (exit 0 only when it passes);
    `bench show` prints the latest of a profile, or the run named."""
    from edxbench.benchcheck import summary_lines

    if args.bench_command == "check":
        from edxbench.benchcheck import run_bench_check
        from edxbench.headless import HeadlessPrinter

        result = run_bench_check(args.profile, db_path=db_path, fast=args.fast,
                                 bench_config=args.bench_config,
                                 subscribers=[HeadlessPrinter(None if args.json else sys.stderr)])
        summary = result.summary or {"run_id": result.run_id, "status": result.status,
                                     "outcome": result.outcome, "reason": result.reason}
        passed = result.passed
    else:
        from storage.database import open_database
        from storage.queries import bench_check_summary, find_run_id, latest_bench_check

        db = open_database(db_path)
        if args.run_id:
            run_id = find_run_id(db, args.run_id)
            found = bench_check_summary(db, run_id) if run_id else None
            if found is not None and not found["protocol_id"].startswith("bench-"):
                raise LookupError(f"run {run_id} is {found['protocol_id']}, not a bench check")
        else:
            found = latest_bench_check(db, args.profile)
        if found is None:
            raise LookupError(f"no bench check {args.run_id or 'for profile ' + repr(args.profile)}"
                              f" in {db_path}; run `edxbench bench check`")
        summary, passed = found, True
    if args.json:
        json.dump(summary, sys.stdout, indent=2, default=str)
        sys.stdout.write("\n")
    elif "checks" in summary:
        print("\n".join(summary_lines(summary)))
    else:
        print(f"bench check {result.run_id}: {result.status} ({result.reason})")
    return 0 if passed else EXIT_RUN_FAILED


def _show(args: argparse.Namespace, db_path: Path) -> int:
    from edxbench.headless import format_limits
    from storage.database import open_database
    from storage.queries import find_run_id, get_run

    db = open_database(db_path)
    run_id = find_run_id(db, args.run_id)
    run = get_run(db, run_id) if run_id else None
    if run is None:
        raise LookupError(f"no run matches {args.run_id!r} in {db_path}")
    from edxbench.reports.interpretation import current_interpretation, interpretation_lines

    interpretation = current_interpretation(db, run["id"])
    if args.json:
        run.pop("protocol_text", None)
        run["interpretation"] = interpretation
        json.dump(run, sys.stdout, indent=2, default=str)
        sys.stdout.write("\n")
        return 0
    print(f"run {run['id']}  {run['protocol_title']}  subject {run['subject_id']}  "
          f"{run['status']}  started {run['started_at']}")
    if "bench_check" in run["provenance"]:
        from edxbench.benchcheck import bench_check_line

        print(f"  bench check: {bench_check_line(run['provenance']['bench_check'])}")
    for step in run["steps"]:
        print(f"  [{step['status']:>7}] {step['title']}")
    for m in run["measurements"]:
        value = "—" if m["value"] is None else f"{m['value']:.2f}"
        print(f"    {m['step_id']:<18} {m['name']:<20} {value:>8} {m['unit']:<6} "
              f"{format_limits(m['lower'], m['upper']):<8} {m['outcome']}")
    for line in interpretation_lines(interpretation) if interpretation else ():
        print(line)
    return 0


def _interpret(args: argparse.Namespace, db_path: Path) -> int:
    from edxbench.reports.interpretation import interpret_run, interpretation_lines
    from storage.database import open_database
    from storage.queries import find_run_id

    db = open_database(db_path)
    run_id = find_run_id(db, args.run_id)
    if run_id is None:
        raise LookupError(f"no run matches {args.run_id!r} in {db_path}")
    other = None
    if args.other_side:
        other = find_run_id(db, args.other_side)
        if other is None:
            raise LookupError(f"no run matches {args.other_side!r} in {db_path}")
    document = interpret_run(db, run_id, store=not args.dry_run, other_side=other)
    if args.json:
        json.dump(document, sys.stdout, indent=2, default=str)
        sys.stdout.write("\n")
    else:
        print("\n".join(interpretation_lines(document)))
    return 0


def _protocols(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from engine.catalog import list_protocols
    from engine.protocol import ProtocolError, load_protocol

    if args.protocols_command == "list":
        library = list_protocols()
        width = max((len(info.id) for info in library), default=0)
        for info in library:
            print(f"{info.id:<{width}}  {info.title}")
        return 0
    if args.protocols_command == "check":
        bad = 0
        for path in args.files:
            try:
                protocol = load_protocol(path)
                print(f"{path}: ok ({protocol.id}, {len(protocol.steps)} steps)")
            except ProtocolError as exc:
                bad += 1
                print(f"{exc}", file=sys.stderr)
        return EXIT_BAD_INPUT if bad else 0
    if args.protocols_command == "suggest":
        return _suggest(args.symptoms)
    parser.parse_args(["protocols", "--help"])
    return EXIT_BAD_INPUT


def _suggest(names: list[str]) -> int:
    from engine.catalog import list_protocols, load_symptoms, suggest

    titles = {info.id: info.title for info in list_protocols()}
    citations: list[str] = []
    for protocol_id, reasons in suggest(names, load_symptoms(known_protocols=set(titles))):
        print(f"{protocol_id:<34} {titles[protocol_id]}")
        for symptom, suggestion in reasons:
            if suggestion.citation not in citations:
                citations.append(suggestion.citation)
            print(f"    {symptom.label}: {suggestion.why} "
                  f"[{citations.index(suggestion.citation) + 1}]")
    print("\nSources:")
    for number, citation in enumerate(citations, start=1):
        print(f"  [{number}] {citation}")
    return 0


def _user_message(exc: BaseException) -> str | None:
    """The one-line message for errors a person can fix; None for internal errors."""
    from edxbench.errors import SessionError
    from engine.prompts import AnswerError
    from engine.yamlsource import SourceError
    from instruments.errors import InstrumentError
    from storage.database import StorageError

    if isinstance(exc, SourceError | SessionError | StorageError | InstrumentError |
                  AnswerError | LookupError):
        return str(exc.args[0]) if exc.args else type(exc).__name__
    name = type(exc).__name__
    if name in {"BenchConfigError", "SubjectError", "UnknownSubject"}:
        return str(exc)
    return None


def _log_internal_error(exc: BaseException) -> Path:
    """Write the traceback to the log file (never to the terminal)."""
    path = log_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        logging.basicConfig(filename=path, level=logging.INFO)
        logging.getLogger("edxbench").error(
            "internal error\n%s", "".join(traceback.format_exception(exc)))
    except OSError:
        pass
    return path
