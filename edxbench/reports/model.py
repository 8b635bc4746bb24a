"""One stored run gathered for export: the run row, its traces' samples and its notices.

Every exporter reads this one object, so the formats cannot disagree about what a run
holds. Reading goes through `storage.queries`; the protocol text stored with the run is
parsed again here only to learn what kind of study each step was (motor, sensory, …).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import sqlite_utils
import yaml

from storage.queries import StoredTrace, get_run, load_trace, run_notices


class ExportError(LookupError):
    """The run cannot be exported (unknown run, unknown format, unwritable path)."""


@dataclass(frozen=True)
class Notice:
    at: str
    level: str
    text: str


@dataclass(frozen=True)
class RunData:
    """Everything an exporter may show, read once from the database."""

    run: dict[str, Any]
    traces: list[StoredTrace]
    notices: list[Notice]
    protocol: dict[str, Any] = field(default_factory=dict)
    interpretation: dict[str, Any] | None = None  # edxbench.interpretation/1, if any
    expanded_steps: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def run_id(self) -> str:
        return str(self.run["id"])

    @property
    def measurements(self) -> list[dict[str, Any]]:
        return list(self.run["measurements"])

    @property
    def steps(self) -> list[dict[str, Any]]:
        return list(self.run["steps"])

    def protocol_step(self, step_id: str) -> dict[str, Any]:
        """The step as the protocol wrote it (empty if the text no longer parses); steps of
        included protocols come from the protocol as the engine expands it."""
        if step_id in self.expanded_steps:
            return self.expanded_steps[step_id]
        groups = self.protocol.get("steps") or {}
        if not isinstance(groups, dict):
            return {}
        for items in groups.values():
            for item in items or ():
                if isinstance(item, dict) and item.get("id") == step_id:
                    return item
        return {}

    def final_traces(self) -> list[StoredTrace]:
        return [t for t in self.traces if t.role == "final"]


def load_run(db: sqlite_utils.Database, run_id: str) -> RunData:
    """Read the run, every trace's samples and its notices; ExportError if it is unknown."""
    run = get_run(db, run_id)
    if run is None:
        raise ExportError(f"no run {run_id!r} in the database")
    for step in run["steps"]:
        step.pop("result_json", None)  # get_run also returns the parsed `result`
    traces: list[StoredTrace] = []
    for meta in run["traces"]:
        trace = load_trace(db, int(meta["id"]))
        if trace is not None:
            traces.append(trace)
    from edxbench.reports.interpretation import current_interpretation

    return RunData(run=run, traces=traces, notices=_notices(db, run_id),
                   protocol=_parse_protocol(str(run.get("protocol_text") or "")),
                   interpretation=current_interpretation(db, run_id),
                   expanded_steps=_expanded_steps(run))


def _expanded_steps(run: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Each step of the protocol with its includes expanded, as the fields the tables read
    (kind, measure, quantity, distal, proximal); empty if the text no longer reads."""
    from dataclasses import fields as dc_fields

    from edxbench.reports.interpretation import stored_protocol

    try:
        protocol = stored_protocol(run)
    except Exception:  # an old run whose protocol no longer parses: raw text only
        return {}
    wanted = ("kind", "measure", "quantity", "distal", "proximal", "terms", "muscle", "nerve",
              "recording")
    return {step.id: {f.name: getattr(step, f.name) for f in dc_fields(step)
                      if f.name in wanted} for step in protocol.steps}


def _parse_protocol(text: str) -> dict[str, Any]:
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError:
        return {}
    return document if isinstance(document, dict) else {}


def _notices(db: sqlite_utils.Database, run_id: str) -> list[Notice]:
    """The warnings and errors the operator saw (kept in the audit log)."""
    return [Notice(at=str(n["at"]), level=str(n.get("level", "info")), text=str(n.get("text", "")))
            for n in run_notices(db, run_id)]
