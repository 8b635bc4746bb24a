"""Interpretations of stored runs: re-run the criteria on what storage holds, store the
result, and say it in plain lines for the terminal.

The engine interprets a run as it ends; this module serves runs that were resumed, runs
recorded before interpretation existed, and re-interpretation after the criteria change.
"""

from __future__ import annotations

from typing import Any

import sqlite_utils

from engine.events import utc_now
from engine.interpret import interpret
from engine.interpret.observations import build_observations
from engine.interpret.sides import compare_sides
from engine.paths import protocols_dir
from engine.protocol import Protocol, load_protocol_text
from storage.queries import get_interpretation, get_run
from storage.recorder import insert_interpretation, transaction


def stored_facts(run: dict[str, Any], previous: dict[str, Any] | None) -> dict[str, Any]:
    """Age, limb temperature and days since onset as the run recorded them."""
    facts = dict((previous or {}).get("facts") or {})
    for step in run["steps"]:
        if step["kind"] == "safety_checklist" and step["status"] == "done":
            answers = step["result"].get("answers", {})
            for key in ("limb_temperature_c", "days_since_injury"):
                if answers.get(key) is not None:
                    facts[key] = answers[key]
    return facts


def stored_protocol(run: dict[str, Any]) -> Protocol:
    """The run's stored protocol text, parsed; includes resolve beside the name, so the
    library supplies the included single-nerve files."""
    return load_protocol_text(str(run["protocol_text"]),
                              str(protocols_dir() / f"{run['protocol_id']} (stored run)"))


def _stored(db: sqlite_utils.Database, run_id: str) -> tuple[dict[str, Any], Protocol]:
    run = get_run(db, run_id)
    if run is None:
        raise LookupError(f"no run {run_id!r} in the database")
    return run, stored_protocol(run)


def interpret_run(db: sqlite_utils.Database, run_id: str, *, store: bool,
                  other_side: str | None = None) -> dict[str, Any]:
    """Interpret a stored run again; with `store`, it becomes the run's current one. With
    `other_side`, the same subject's run on the other side is compared value by value."""
    run, protocol = _stored(db, run_id)
    document = interpret(protocol, run["measurements"],
                         stored_facts(run, get_interpretation(db, run_id)))
    if other_side is not None:
        other, other_protocol = _stored(db, other_side)
        if other["subject_id"] != run["subject_id"]:
            raise LookupError(f"run {other_side[:8]} is of another subject; side-to-side "
                              "comparison needs the same subject")
        document["side_to_side"] = {"other_run": other_side, "comparisons": compare_sides(
            build_observations(protocol, run["measurements"]),
            build_observations(other_protocol, other["measurements"]))}
    if store:
        at = utc_now()
        with transaction(db) as conn:
            insert_interpretation(conn, run_id, at, "reinterpret", document)
        document = {**document, "at": at, "source": "reinterpret"}
    return document


def current_interpretation(db: sqlite_utils.Database, run_id: str) -> dict[str, Any] | None:
    """The stored interpretation, else one computed now (not stored); None if the run's
    protocol text can no longer be read."""
    stored = get_interpretation(db, run_id)
    if stored is not None:
        return stored
    try:
        return interpret_run(db, run_id, store=False)
    except Exception:  # an old run whose protocol no longer parses: report without one
        return None


def localisation_line(doc: dict[str, Any]) -> str:
    where = doc.get("localisation") or {}
    level, site = str(where.get("level", "none")), str(where.get("site", ""))
    if level == "none":
        return "none"
    return f"{level}: {site}" if site else level


def interpretation_lines(doc: dict[str, Any]) -> list[str]:
    """Plain lines for `edxbench show` and `edxbench interpret`."""
    lines = [f"interpretation ({doc.get('source', 'run')}, criteria "
             + ", ".join(f"{k} {v}" for k, v in sorted(doc.get("criteria", {}).items())) + ")",
             f"  localisation: {localisation_line(doc)}",
             f"  nature:       {doc.get('nature', '')}" + ("  (conduction block)"
                                                          if doc.get("block") else "")]
    for key in ("severity", "chronicity", "category"):
        if doc.get(key):
            lines.append(f"  {key + ':':<13} {doc[key]}")
    if doc.get("grades"):
        lines.append(f"  {'grades:':<13} " + "; ".join(doc["grades"]))
    run_rules = [f for f in doc.get("fired", []) if not f.get("muscle")]
    if run_rules:
        lines.append("  criteria met:")
    for f in run_rules:
        mark = " [unconfirmed]" if f.get("unconfirmed") else ""
        lines.append(f"    {f['rule']}{mark}: {f['title']}")
        lines += [f"      - {text}" for text in f.get("evidence", [])]
    if doc.get("muscles"):
        lines.append("  needle EMG findings: " + "; ".join(
            f"{m} {', '.join(v)}" for m, v in doc["muscles"].items()))
    sides = (doc.get("side_to_side") or {}).get("comparisons", [])
    if doc.get("side_to_side"):
        lines.append(f"  side to side (other run {doc['side_to_side']['other_run'][:8]}): "
                     f"{len(sides)} comparable values")
    for c in sides:
        lines.append(f"    {c['nerve']} {c['recording']} {c['site']} {c['name']}: "
                     f"{c['this']:g} vs {c['other']:g} {c['unit']}, difference "
                     f"{c['difference']:g} (limit {c['upper']:g}) {c['outcome']}")
    lines.append(f"  impression: {doc.get('impression', '')}")
    return lines
