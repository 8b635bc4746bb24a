"""The report's words, shared by Markdown and HTML so both say the same thing."""

from __future__ import annotations

from typing import Any

import numpy as np

from edxbench.benchcheck import bench_check_line
from edxbench.reports.model import RunData
from storage.queries import StoredTrace

NO_INTERPRETATION = ("No interpretation is stored for this run and none could be made (its "
                     "protocol text no longer reads). The measurements and flags below are "
                     "not a diagnosis: an impression must be written by the reading clinician.")
CRITERIA_NOTE = ("Criteria from data/criteria, each with its source. [unconfirmed] marks a rule "
                 "not yet confirmed against its source: shown, not used for the "
                 "localisation. [limit unconfirmed] marks evidence read against a reference "
                 "limit marked unconfirmed in data/reference.")
FLAG_NOTE = ("Flags compare each value with the cited reference limit only when the technique "
             "matches the reference entry; blank means no matching limit (unflagged).")


def header_fields(data: RunData) -> list[tuple[str, str]]:
    run = data.run
    status = str(run["status"])
    if run.get("status_reason"):
        status += f" ({run['status_reason']})"
    return [
        ("Protocol", f"{run['protocol_title']} ({run['protocol_id']})"),
        ("Subject (pseudonym)", str(run["subject_id"])),
        ("Date", str(run["started_at"])[:19].replace("T", " ") + " UTC"),
        ("Operator", str(run.get("operator") or "—")),
        ("Status", status),
        ("Abnormal values", str(run.get("abnormal_count", 0))),
        ("Run", data.run_id),
    ]


def provenance_fields(data: RunData) -> list[tuple[str, str]]:
    run = data.run
    prov: dict[str, Any] = dict(run.get("provenance") or {})
    rows = [
        ("Protocol sha256", str(run["protocol_sha256"])),
        ("Protocol version", str(prov.get("protocol_version", ""))),
        ("Reference", f"{run.get('reference_id', '')} {run.get('reference_version', '')}".strip()),
        ("Reference sha256", str(prov.get("reference_sha256", ""))),
        ("Bench profile", str(run.get("bench_profile", ""))),
        ("Bench check", bench_check_line(prov.get("bench_check"))
         if "bench_check" in prov else ""),
        ("edxbench", str(run.get("software_version", ""))),
        ("rustcore", str(prov.get("rustcore_version", ""))),
        ("Python", str(prov.get("python", ""))),
        ("Started", str(run["started_at"])),
        ("Finished", str(run.get("finished_at") or "")),
    ]
    for role, identity in sorted(dict(prov.get("instruments") or {}).items()):
        rows.append((f"Instrument: {role}", str(identity)))
    return [(k, v) for k, v in rows if v]


def trace_title(data: RunData, trace: StoredTrace) -> str:
    step = next((s for s in data.steps if s["step_id"] == trace.step_id), None)
    name = str(step["title"]) if step else f"{trace.step_id} ({trace.site})"
    return f"{name} · {trace.current_mA:g} mA, {trace.pulse_width_ms:g} ms"


def trace_caption(trace: StoredTrace) -> str:
    parts = [f"{trace.codes.size} samples at {trace.sample_rate / 1e3:.4g} kHz"]
    for key, name in (("onset", "onset"), ("neg_peak_latency", "negative peak")):
        value = trace.measures.get(key)
        if isinstance(value, int | float):
            parts.append(f"{name} {value * 1e3:.2f} ms")
    return ", ".join(parts)


def clipping_warnings(data: RunData) -> list[str]:
    """Final sweeps that touched the digitiser's rail: their amplitude and area read low."""
    out = []
    for trace in data.final_traces():
        if trace.codes.dtype.kind not in "iu" or trace.codes.size == 0:
            continue
        info = np.iinfo(trace.codes.dtype)
        rail = int(np.count_nonzero((trace.codes == info.min) | (trace.codes == info.max)))
        if rail:
            out.append(f"{trace_title(data, trace)}: {rail} samples at the digitiser's full "
                       "scale (clipped); amplitude and area are underestimated")
    return out


def citations(data: RunData) -> list[tuple[str, str]]:
    """Each reference entry cited by a flag, once."""
    seen: dict[str, str] = {}
    for m in data.measurements:
        if m["reference_id"] and m["reference_id"] not in seen:
            seen[m["reference_id"]] = m["citation"]
    return list(seen.items())


def impression(data: RunData) -> str:
    doc = data.interpretation
    return str(doc["impression"]) if doc else NO_INTERPRETATION


def finding_fields(data: RunData) -> list[tuple[str, str]]:
    """Localisation, nature, severity, chronicity and grades as label/value rows."""
    doc = data.interpretation
    if not doc:
        return []
    where = doc.get("localisation") or {}
    level, site = str(where.get("level", "none")), str(where.get("site", ""))
    rows = [("Localisation", f"{level}: {site}" if site else level),
            ("Nature", str(doc.get("nature", "")) + (" (conduction block)"
                                                    if doc.get("block") else "")),
            ("Severity", str(doc.get("severity", ""))),
            ("Chronicity", str(doc.get("chronicity", ""))),
            ("Category", str(doc.get("category", ""))),
            ("Grades", "; ".join(doc.get("grades") or ())),
            ("Caveats", "; ".join(doc.get("caveats") or ())),
            ("Criteria versions", ", ".join(
                f"{k} {v}" for k, v in sorted((doc.get("criteria") or {}).items()))),
            ("Interpreted", f"{doc.get('at', '')} ({doc.get('source', 'not stored')})"
             .strip())]
    return [(k, v) for k, v in rows if v]


def criteria_rows(data: RunData) -> list[tuple[str, str, list[str], str]]:
    """(rule, title with [unconfirmed] mark, evidence lines, citation) of run-level rules."""
    doc = data.interpretation or {}
    return [(str(f["rule"]), str(f["title"]) + (" [unconfirmed]" if f.get("unconfirmed") else ""),
             [str(x) for x in f.get("evidence", [])], str(f.get("citation", "")))
            for f in doc.get("fired", []) if not f.get("muscle")]


def muscle_findings(data: RunData) -> dict[str, str]:
    """Needle EMG finding per examined muscle (denervation, neurogenic, myopathic)."""
    doc = data.interpretation or {}
    return {m: ", ".join(v) for m, v in (doc.get("muscles") or {}).items()}

