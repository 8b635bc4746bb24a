"""Per-muscle needle EMG spec of a virtual subject (the `muscles:` section).

What a needle in the muscle can see: insertional activity, spontaneous activity
(fibrillations and positive sharp waves graded 0–4+, fasciculations) and the motor
unit population near the tip with its recruitment behaviour as effort rises.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from instruments.sim.spec_reader import Reader


@dataclass(frozen=True)
class Muscle:
    name: str
    nerve: str
    roots: tuple[str, ...]
    units: int  # motor units within the needle's pick-up area
    muap_amplitude_uV: float  # population mean, peak-to-peak
    muap_amplitude_sd_uV: float
    muap_duration_ms: float  # population mean, first departure to return to baseline
    muap_duration_sd_ms: float
    polyphasic_pct: float  # share of units with > 4 phases
    onset_rate_hz: float  # firing rate at which a unit starts
    recruitment_frequency_hz: float  # rate of the first unit when the second joins
    max_rate_hz: float
    insertional_ms: float  # duration of the burst after each needle movement
    fibrillations: int  # grade 0–4
    positive_sharp_waves: int  # grade 0–4
    fasciculations_per_min: float
    non_compressible: bool  # a haematoma here cannot be compressed (anticoagulation gate)


def _grade(r: Reader, d: dict[str, Any], key: str, where: str) -> int:
    value = d.get(key, 0)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 4:
        raise r.fail(f"{where}.{key}", f"must be a grade 0–4, got {value!r}")
    return value


def muscle(r: Reader, name: str, data: Any, where: str) -> Muscle:
    d = r.mapping(data, where)
    muap = r.mapping(r.get(d, "muap", where), f"{where}.muap")
    mw = f"{where}.muap"
    rec = r.mapping(d.get("recruitment", {}), f"{where}.recruitment")
    rw = f"{where}.recruitment"
    spont = r.mapping(d.get("spontaneous", {}), f"{where}.spontaneous")
    sw = f"{where}.spontaneous"
    onset = r.number(rec, "onset_rate_hz", rw, maximum=20, default=5.0)
    rf = r.number(rec, "recruitment_frequency_hz", rw, maximum=60, default=10.0)
    if rf <= onset:
        raise r.fail(f"{rw}.recruitment_frequency_hz", "must exceed onset_rate_hz")
    return Muscle(
        name=name,
        nerve=r.text(d, "nerve", where),
        roots=r.strings(d, "roots", where),
        units=int(r.number(d, "units", where, minimum=1, maximum=200, strict=False)),
        muap_amplitude_uV=r.number(muap, "amplitude_uV", mw, maximum=20000),
        muap_amplitude_sd_uV=r.number(muap, "amplitude_sd_uV", mw, maximum=20000, strict=False,
                                      default=0.2 * float(muap.get("amplitude_uV", 0) or 0)),
        muap_duration_ms=r.number(muap, "duration_ms", mw, maximum=50),
        muap_duration_sd_ms=r.number(muap, "duration_sd_ms", mw, maximum=20, strict=False,
                                     default=1.3),
        polyphasic_pct=r.number(muap, "polyphasic_pct", mw, maximum=100, strict=False,
                                default=10.0),
        onset_rate_hz=onset,
        recruitment_frequency_hz=rf,
        max_rate_hz=r.number(rec, "max_rate_hz", rw, minimum=rf, maximum=100, default=30.0),
        insertional_ms=r.number(d, "insertional_ms", where, maximum=5000, strict=False,
                                default=250.0),
        fibrillations=_grade(r, spont, "fibrillations", sw),
        positive_sharp_waves=_grade(r, spont, "positive_sharp_waves", sw),
        fasciculations_per_min=r.number(spont, "fasciculations_per_min", sw, maximum=600,
                                        strict=False, default=0.0),
        non_compressible=bool(d.get("non_compressible", False)),
    )
