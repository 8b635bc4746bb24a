"""The JSON export, schema `edxbench.export/1`: the whole run as other programs read it.

Versioned so a consumer can refuse what it does not understand: fields are only added
within /1; renaming or removing one makes /2. Numbers stay in the units the database
keeps (clinical units for measurements, SI for trace metadata, named in each key).
"""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from typing import Any

from edxbench import __version__
from edxbench.reports.model import RunData

SCHEMA = "edxbench.export/1"

RUN_FIELDS = ("id", "status", "status_reason", "started_at", "finished_at", "subject_id",
              "operator", "bench_profile", "software_version", "abnormal_count")
STEP_FIELDS = ("seq", "step_id", "kind", "title", "status", "reason", "started_at",
               "finished_at", "result")
MEASUREMENT_FIELDS = ("id", "step_id", "trace_id", "site", "name", "value", "unit", "lower",
                      "upper", "outcome", "reference_id", "citation", "note")


def export_document(data: RunData) -> dict[str, Any]:
    """The document as a dict (what `render_json` serialises)."""
    run = data.run
    provenance = dict(run.get("provenance") or {})
    return {
        "schema": SCHEMA,
        "exported_at": datetime.now(UTC).isoformat(timespec="milliseconds"),
        "exporter_version": __version__,
        "run": {key: run.get(key) for key in RUN_FIELDS},
        "protocol": {
            "id": run["protocol_id"], "title": run["protocol_title"],
            "version": provenance.get("protocol_version", ""),
            "sha256": run["protocol_sha256"], "text": run.get("protocol_text", ""),
        },
        "reference": {
            "id": run.get("reference_id", ""), "version": run.get("reference_version", ""),
            "sha256": provenance.get("reference_sha256", ""),
        },
        "instruments": dict(provenance.get("instruments") or {}),
        "provenance": provenance,
        "steps": [{key: step.get(key) for key in STEP_FIELDS} for step in data.steps],
        "measurements": [{key: m.get(key) for key in MEASUREMENT_FIELDS}
                         for m in data.measurements],
        "traces": [_trace(t) for t in data.traces],
        "notices": [{"at": n.at, "level": n.level, "text": n.text} for n in data.notices],
        "interpretation": data.interpretation,  # edxbench.interpretation/1 or null
    }


def render_json(data: RunData) -> bytes:
    text = json.dumps(_finite(export_document(data)), indent=2, ensure_ascii=False,
                      allow_nan=False)
    return (text + "\n").encode("utf-8")


def _trace(trace: Any) -> dict[str, Any]:
    return {
        "id": trace.id, "step_id": trace.step_id, "role": trace.role, "site": trace.site,
        "current_mA": trace.current_mA, "pulse_width_ms": trace.pulse_width_ms,
        "sample_rate_hz": trace.sample_rate, "t0_s": trace.t0,
        "n_samples": int(trace.codes.size), "dtype": trace.codes.dtype.str,
        "scale_v_per_code": trace.scale, "offset_v": trace.offset,
        "measures": trace.measures,
    }


def _finite(value: Any) -> Any:
    """NaN and infinities are not JSON: they become null (unmeasurable, never made up)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value
