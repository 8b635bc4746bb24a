"""Virtual subject files (`data/subjects/*.yaml`): loading and validation.

The format is documented in `data/subjects/README.md`. Errors name the file and the
dotted field so whoever edits a subject sees exactly what to fix.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

DEFAULT_SUBJECT_DIR = Path(__file__).resolve().parents[2] / "data" / "subjects"


class SubjectFormatError(ValueError):
    """A subject file is malformed; the message names file and field."""


@dataclass(frozen=True)
class Recruitment:
    """Logistic current → fraction of the maximal response at the reference pulse width."""

    threshold_mA: float  # current that recruits 1 % of the motor units
    slope_per_mA: float

    def fraction(self, current_mA: float) -> float:
        midpoint = self.threshold_mA + math.log(99.0) / self.slope_per_mA
        x = -self.slope_per_mA * (current_mA - midpoint)
        return 0.0 if x > 700 else 1.0 / (1.0 + math.exp(x))


@dataclass(frozen=True)
class Segment:
    """Nerve segment from the previous (more distal) site to this one."""

    velocity_m_s: float  # fastest fibres: what onset-to-onset velocity measures
    velocity_spread_m_s: float  # half-normal SD of the slower fibres below it
    block_fraction: float  # share of motor axons that do not conduct through it


@dataclass(frozen=True)
class Site:
    name: str
    distance_mm: float  # distal site: from the active electrode; others: from previous site
    recruitment: Recruitment
    segment: Segment | None  # None for the distal site


@dataclass(frozen=True)
class MotorRecording:
    muscle: str
    cmap_amplitude_mV: float
    distal_latency_ms: float
    terminal_latency_ms: float
    distal_velocity_spread_pct: float
    motor_units: int
    muap_negative_phase_ms: float
    sites: tuple[Site, ...]

    def site_index(self, name: str) -> int:
        for i, site in enumerate(self.sites):
            if site.name.lower() == name.lower():
                return i
        raise KeyError(name)

    def distance_mm(self, a: str, b: str) -> float:
        """Tape-measure distance along the limb between two sites (or a site and the muscle)."""

        def position(name: str) -> float:
            if name.lower() == self.muscle.lower():
                return 0.0
            index = self.site_index(name)
            return sum(s.distance_mm for s in self.sites[: index + 1])

        return abs(position(b) - position(a))


@dataclass(frozen=True)
class Nerve:
    name: str
    chronaxie_ms: float
    reference_pulse_width_ms: float
    recordings: dict[str, MotorRecording]


@dataclass(frozen=True)
class History:
    pacemaker_or_icd: bool
    anticoagulation: bool
    lymphedema_limb: str | None
    skin_infection_sites: tuple[str, ...]
    recent_injury_date: dt.date | None


@dataclass(frozen=True)
class Subject:
    id: str
    description: str
    age: int
    height_cm: float
    sex: str
    side: str
    limb_temperature_c: float
    history: History
    nerves: dict[str, Nerve]
    path: Path

    def recording(self, nerve: str, muscle: str) -> MotorRecording:
        n = self.nerves[nerve.lower()]
        for name, rec in n.recordings.items():
            if name.lower() == muscle.lower():
                return rec
        raise KeyError(muscle)


class _Reader:
    def __init__(self, path: Path) -> None:
        self.path = path

    def fail(self, where: str, message: str) -> SubjectFormatError:
        return SubjectFormatError(f"{self.path}: {where}: {message}")

    def mapping(self, data: Any, where: str) -> dict[str, Any]:
        if not isinstance(data, dict):
            raise self.fail(where, "must be a mapping")
        return data

    def get(self, data: dict[str, Any], key: str, where: str) -> Any:
        if key not in data:
            raise self.fail(f"{where}.{key}".lstrip("."), "missing")
        return data[key]

    def number(
        self, data: dict[str, Any], key: str, where: str, *, minimum: float = 0.0,
        maximum: float = math.inf, default: float | None = None, strict: bool = True,
    ) -> float:
        field = f"{where}.{key}".lstrip(".")
        value = data.get(key, default) if default is not None else self.get(data, key, where)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.fail(field, f"must be a number, got {value!r}")
        low_ok = value > minimum if strict else value >= minimum
        if not low_ok or value > maximum:
            bound = ">" if strict else ">="
            raise self.fail(field, f"must be {bound} {minimum} and <= {maximum}, got {value}")
        return float(value)

    def text(self, data: dict[str, Any], key: str, where: str) -> str:
        value = self.get(data, key, where)
        if not isinstance(value, str) or not value.strip():
            raise self.fail(f"{where}.{key}".lstrip("."), "must be a non-empty string")
        return value

    def flag(self, data: dict[str, Any], key: str, where: str) -> bool:
        value = self.get(data, key, where)
        if not isinstance(value, bool):
            raise self.fail(f"{where}.{key}", "must be true or false")
        return value


def _recording(r: _Reader, muscle: str, data: Any, where: str) -> MotorRecording:
    d = r.mapping(data, where)
    kind = d.get("kind", "motor")
    if kind != "motor":
        raise r.fail(f"{where}.kind", f"only 'motor' is supported so far, got {kind!r}")
    raw_sites = r.get(d, "sites", where)
    if not isinstance(raw_sites, list) or not raw_sites:
        raise r.fail(f"{where}.sites", "must be a non-empty list, distal site first")
    sites = []
    for i, raw in enumerate(raw_sites):
        sw = f"{where}.sites[{i}]"
        s = r.mapping(raw, sw)
        rec = r.mapping(r.get(s, "recruitment", sw), f"{sw}.recruitment")
        recruitment = Recruitment(
            r.number(rec, "threshold_mA", f"{sw}.recruitment", maximum=100),
            r.number(rec, "slope_per_mA", f"{sw}.recruitment", maximum=100),
        )
        segment = None
        if i > 0:
            seg = r.mapping(r.get(s, "segment", sw), f"{sw}.segment")
            segment = Segment(
                r.number(seg, "velocity_m_s", f"{sw}.segment", maximum=120),
                r.number(seg, "velocity_spread_m_s", f"{sw}.segment", maximum=40, strict=False),
                r.number(seg, "block_fraction", f"{sw}.segment", maximum=1, strict=False,
                         default=0.0),
            )
        elif "segment" in s:
            raise r.fail(f"{sw}.segment", "the distal site has no segment (its latency is "
                         "distal_latency_ms)")
        sites.append(Site(r.text(s, "name", sw), r.number(s, "distance_mm", sw, maximum=2000),
                          recruitment, segment))
    names = [s.name.lower() for s in sites]
    if len(set(names)) != len(names):
        raise r.fail(f"{where}.sites", "site names must be unique")
    latency = r.number(d, "distal_latency_ms", where, maximum=30)
    terminal = r.number(d, "terminal_latency_ms", where, maximum=latency, default=1.0)
    if terminal >= latency:
        raise r.fail(f"{where}.terminal_latency_ms", "must be less than distal_latency_ms")
    return MotorRecording(
        muscle=muscle,
        cmap_amplitude_mV=r.number(d, "cmap_amplitude_mV", where, maximum=50),
        distal_latency_ms=latency,
        terminal_latency_ms=terminal,
        distal_velocity_spread_pct=r.number(
            d, "distal_velocity_spread_pct", where, maximum=50, strict=False, default=7.0
        ),
        motor_units=int(r.number(d, "motor_units", where, minimum=1, maximum=2000, default=100)),
        muap_negative_phase_ms=r.number(
            d, "muap_negative_phase_ms", where, maximum=30, default=4.0
        ),
        sites=tuple(sites),
    )


def load_subject(path: Path) -> Subject:
    r = _Reader(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise SubjectFormatError(f"{path}: not valid YAML: {exc}") from exc
    d = r.mapping(data, "(top level)")
    subject_id = r.text(d, "id", "")
    if subject_id != path.stem:
        raise r.fail("id", f"must equal the file name {path.stem!r}, got {subject_id!r}")
    h = r.mapping(r.get(d, "history", ""), "history")
    injury = h.get("recent_injury_date")
    if injury is not None and not isinstance(injury, dt.date):
        raise r.fail("history.recent_injury_date", "must be an ISO date (YYYY-MM-DD) or null")
    skin = h.get("skin_infection_sites", [])
    if not isinstance(skin, list) or not all(isinstance(x, str) for x in skin):
        raise r.fail("history.skin_infection_sites", "must be a list of site names")
    lymph = h.get("lymphedema_limb")
    if lymph is not None and not isinstance(lymph, str):
        raise r.fail("history.lymphedema_limb", "must be a limb name or null")
    history = History(
        pacemaker_or_icd=r.flag(h, "pacemaker_or_icd", "history"),
        anticoagulation=r.flag(h, "anticoagulation", "history"),
        lymphedema_limb=lymph,
        skin_infection_sites=tuple(skin),
        recent_injury_date=injury,
    )
    nerves: dict[str, Nerve] = {}
    for name, raw in r.mapping(r.get(d, "nerves", ""), "nerves").items():
        where = f"nerves.{name}"
        n = r.mapping(raw, where)
        recordings = {
            muscle: _recording(r, muscle, rec, f"{where}.recordings.{muscle}")
            for muscle, rec in r.mapping(r.get(n, "recordings", where),
                                         f"{where}.recordings").items()
        }
        nerves[str(name).lower()] = Nerve(
            name=str(name),
            chronaxie_ms=r.number(n, "chronaxie_ms", where, maximum=10, default=0.15),
            reference_pulse_width_ms=r.number(
                n, "reference_pulse_width_ms", where, maximum=10, default=0.2
            ),
            recordings=recordings,
        )
    side = r.text(d, "side", "")
    if side not in ("left", "right"):
        raise r.fail("side", f"must be 'left' or 'right', got {side!r}")
    return Subject(
        id=subject_id,
        description=str(d.get("description", "")),
        age=int(r.number(d, "age", "", maximum=120)),
        height_cm=r.number(d, "height_cm", "", minimum=30, maximum=250),
        sex=r.text(d, "sex", ""),
        side=side,
        limb_temperature_c=r.number(d, "limb_temperature_c", "", minimum=20, maximum=42),
        history=history,
        nerves=nerves,
        path=path,
    )


def available_subjects(subject_dir: Path | None = None) -> list[str]:
    directory = Path(subject_dir) if subject_dir else DEFAULT_SUBJECT_DIR
    return sorted(p.stem for p in directory.glob("*.yaml"))


def find_subject(subject_id: str, subject_dir: Path | None = None) -> Subject:
    directory = Path(subject_dir) if subject_dir else DEFAULT_SUBJECT_DIR
    path = directory / f"{subject_id}.yaml"
    if not path.is_file():
        known = ", ".join(available_subjects(directory)) or "none"
        raise KeyError(f"unknown subject {subject_id!r} in {directory}; available: {known}")
    return load_subject(path)
