"""Grouping measurements into report tables (motor, sensory, F-wave, …) from the data.

No protocol is named here: a measurement's section comes from its name prefix, else from
what its step recorded (`measure: cmap|snap` in the stored protocol), else from the
protocol's study kind. Columns are the measurement names that occur, in clinical order.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from edxbench.reports.model import RunData

SECTION_TITLES = {
    "motor": "Motor nerve conduction",
    "sensory": "Sensory nerve conduction",
    "fwave": "F-waves",
    "hreflex": "H-reflex",
    "rns": "Repetitive nerve stimulation",
    "needle": "Needle EMG",
    "other": "Other measurements",
}
NAME_PREFIX_SECTIONS = (("f_", "fwave"), ("fwave_", "fwave"), ("h_", "hreflex"),
                        ("rns_", "rns"), ("decrement", "rns"), ("increment", "rns"),
                        ("muap_", "needle"), ("needle_", "needle"),
                        ("fibrillation", "needle"), ("psw", "needle"),
                        ("recruitment", "needle"), ("snap_", "sensory"))
MEASURE_SECTIONS = {"cmap": "motor", "snap": "sensory"}
STUDY_SECTIONS = {"motor": "motor", "sensory": "sensory", "f-wave": "fwave",
                  "h-reflex": "hreflex", "rns": "rns", "needle": "needle"}
COMPUTE_SECTIONS = {"sensory_velocity": "sensory"}
COLUMN_ORDER = ("onset_latency", "neg_peak_latency", "peak_latency", "neg_amplitude",
                "amplitude", "p2p_amplitude", "neg_duration", "neg_area",
                # needle EMG: at rest, minimal effort, maximal effort
                "fibrillation_rate", "positive_sharp_wave_rate", "muap_count", "muap_amplitude",
                "muap_duration", "muap_polyphasic", "muap_firing_rate", "recruitment_frequency",
                "interference_turns", "interference_amplitude")
LABELS = {
    "onset_latency": "Onset latency",
    "neg_peak_latency": "Peak latency",
    "neg_amplitude": "Amplitude",
    "p2p_amplitude": "Peak-to-peak",
    "neg_duration": "Duration",
    "neg_area": "Area",
    "conduction_velocity": "Conduction velocity",
    "sensory_velocity": "Sensory velocity",
    "fibrillation_rate": "Fibrillations",
    "positive_sharp_wave_rate": "Positive sharp waves",
    "muap_count": "MUAPs",
    "muap_amplitude": "MUAP amplitude",
    "muap_duration": "MUAP duration",
    "muap_polyphasic": "Polyphasic MUAPs",
    "muap_firing_rate": "Firing rate",
    "recruitment_frequency": "Recruitment frequency",
    "interference_turns": "Interference turns",
    "interference_amplitude": "Interference amplitude",
}


@dataclass
class Table:
    """One report section: a table of sites and one of segments (velocities, drops)."""

    key: str
    title: str
    columns: list[tuple[str, str]] = field(default_factory=list)  # (name, unit)
    sites: list[tuple[str, dict[str, dict[str, Any]]]] = field(default_factory=list)
    segments: list[dict[str, Any]] = field(default_factory=list)


def label(name: str) -> str:
    return LABELS.get(name, name.replace("_", " ").capitalize())


def format_value(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:.0f}" if abs(value) >= 1000 else f"{value:.2f}"


def format_limits(lower: float | None, upper: float | None) -> str:
    if lower is not None and upper is not None:
        return f"{lower:g}–{upper:g}"
    if lower is not None:
        return f"≥ {lower:g}"
    if upper is not None:
        return f"≤ {upper:g}"
    return ""


def flag(outcome: str) -> str:
    """What a reader scans for: ABNORMAL shouts, normal is quiet, unflagged is blank."""
    return {"abnormal": "ABNORMAL", "normal": "normal"}.get(outcome, "")


def build_tables(data: RunData) -> list[Table]:
    """Sections in a fixed clinical order, each only if it has measurements."""
    kinds = {step["step_id"]: step["kind"] for step in data.steps}
    sections = [(section_of(data, m), m) for m in data.measurements]
    nerves: dict[str, set[tuple[str, str]]] = {}
    for key, m in sections:
        nerves.setdefault(key, set()).add(_nerve_of(data, m))
    tables: dict[str, Table] = {}
    for key, m in sections:
        table = tables.setdefault(key, Table(key=key, title=SECTION_TITLES[key]))
        if len(nerves[key] - {("", "")}) > 1:  # a composite study: say which nerve
            nerve, recording = _nerve_of(data, m)
            if nerve:
                m = {**m, "site": f"{nerve} {recording} · {m['site'] or m['step_id']}"}
        needle = key == "needle" and kinds.get(m["step_id"]) == "needle"
        if not needle and (kinds.get(m["step_id"]) == "compute" or m["trace_id"] is None):
            table.segments.append(m)
            continue
        row_label = str(m["site"] or m["step_id"])
        row = next((cells for name, cells in table.sites if name == row_label), None)
        if row is None:
            row = {}
            table.sites.append((row_label, row))
        row[m["name"]] = m
        if all(name != m["name"] for name, _ in table.columns):
            table.columns.append((m["name"], m["unit"]))
    for table in tables.values():
        table.columns.sort(key=lambda column: _column_rank(column[0]))
    return [tables[key] for key in SECTION_TITLES if key in tables]


def _nerve_of(data: RunData, m: dict[str, Any]) -> tuple[str, str]:
    """(nerve, recording) of a measurement's step, following a compute step's operands."""
    step = data.protocol_step(str(m["step_id"]))
    if step.get("kind") == "compute" and not step.get("nerve"):
        anchor = step.get("distal") or next(iter(step.get("terms") or ()), "")
        if anchor:
            return _nerve_of(data, {"step_id": str(anchor).split(".")[0]})
    return str(step.get("nerve") or ""), str(step.get("recording") or "")


def section_of(data: RunData, m: dict[str, Any]) -> str:
    name = str(m["name"])
    for prefix, key in NAME_PREFIX_SECTIONS:
        if name.startswith(prefix):
            return key
    step = data.protocol_step(str(m["step_id"]))
    if step.get("kind") == "compute":
        key = COMPUTE_SECTIONS.get(str(step.get("quantity", "")))
        if key:
            return key
        for operand in (step.get("distal"), step.get("proximal"),
                        *(step.get("terms") or ())):
            if operand:
                return section_of(data, {"name": "", "step_id": str(operand).split(".")[0]})
    if step.get("kind") == "needle":  # every needle quantity, in a composite study too
        return "needle"
    measure = MEASURE_SECTIONS.get(str(step.get("measure", "")))
    if measure:
        return measure
    study = data.protocol.get("study")
    kind = str(study.get("kind", "")) if isinstance(study, dict) else ""
    if kind in STUDY_SECTIONS:
        return STUDY_SECTIONS[kind]
    # The engine's stimulate steps measure a CMAP unless they say otherwise.
    return "motor" if step.get("kind") == "stimulate" else "other"


def _column_rank(name: str) -> tuple[int, str]:
    return (COLUMN_ORDER.index(name) if name in COLUMN_ORDER else len(COLUMN_ORDER), name)
