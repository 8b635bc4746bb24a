"""Virtual subject files (`data/subjects/*.yaml`): loading and validation.

The format is documented in `data/subjects/README.md`. Errors name the file and the
dotted field so whoever edits a subject sees exactly what to fix. A file may start
from another subject (`base:`) and apply lesion presets (`presets:`); see
`presets.py`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from instruments.sim.muscle_spec import Muscle, muscle
from instruments.sim.presets import load_yaml, resolve
from instruments.sim.response_spec import (
    FWave,
    HReflex,
    Recruitment,
    Rns,
    f_wave,
    h_reflex,
    recruitment,
    rns,
)
from instruments.sim.spec_reader import Reader, SubjectFormatError

__all__ = [
    "FWave",
    "HReflex",
    "History",
    "MotorRecording",
    "Muscle",
    "Nerve",
    "Recruitment",
    "Rns",
    "Segment",
    "SensoryRecording",
    "Site",
    "Subject",
    "SubjectFormatError",
    "available_subjects",
    "find_subject",
    "load_subject",
]

DEFAULT_SUBJECT_DIR = Path(__file__).resolve().parents[2] / "data" / "subjects"
MAX_SUBJECT_BYTES = 1_000_000
MAX_SUBJECT_NODES = 100_000  # counted with every alias expanded


@dataclass(frozen=True)
class Segment:
    """Nerve segment from the previous (more distal) site to this one."""

    velocity_m_s: float  # fastest fibres: what onset-to-onset velocity measures
    velocity_spread_m_s: float  # half-normal SD of the slower fibres below it
    block_fraction: float  # share of axons that do not conduct through it


@dataclass(frozen=True)
class Site:
    name: str
    distance_mm: float  # distal site: from the active electrode; others: from previous site
    recruitment: Recruitment
    segment: Segment | None  # None for the distal site


class _Sites:
    """Site lookup and tape-measure distances shared by motor and sensory recordings."""

    muscle: str
    sites: tuple[Site, ...]

    def site_index(self, name: str) -> int:
        for i, site in enumerate(self.sites):
            if site.name.lower() == name.lower():
                return i
        raise KeyError(name)

    def distance_mm(self, a: str, b: str) -> float:
        """Tape-measure distance along the limb between two sites (or a site and the recording)."""

        def position(name: str) -> float:
            if name.lower() == self.muscle.lower():
                return 0.0
            index = self.site_index(name)
            return sum(s.distance_mm for s in self.sites[: index + 1])

        return abs(position(b) - position(a))


@dataclass(frozen=True)
class MotorRecording(_Sites):
    muscle: str
    cmap_amplitude_mV: float
    distal_latency_ms: float
    terminal_latency_ms: float
    distal_velocity_spread_pct: float
    motor_units: int
    muap_negative_phase_ms: float
    sites: tuple[Site, ...]
    f_wave: FWave | None = None
    h_reflex: HReflex | None = None
    rns: Rns = field(default_factory=Rns)
    kind: str = "motor"


@dataclass(frozen=True)
class SensoryRecording(_Sites):
    """Antidromic (or palmar mixed) recording; `muscle` names the recording place (D2…)."""

    muscle: str
    snap_amplitude_uV: float  # baseline to negative peak, distal site, supramaximal
    onset_latency_ms: float  # distal site: onset velocity = distance / onset latency
    peak_latency_ms: float  # distal site, negative peak
    velocity_spread_pct: float  # relative speed spread of the slower fibres
    fibres: int
    sites: tuple[Site, ...]
    kind: str = "sensory"


Recording = MotorRecording | SensoryRecording


@dataclass(frozen=True)
class Nerve:
    name: str
    chronaxie_ms: float
    reference_pulse_width_ms: float
    recordings: dict[str, Recording]


@dataclass(frozen=True)
class History:
    pacemaker_or_icd: bool
    anticoagulation: bool
    lymphedema_limb: str | None
    skin_infection_sites: tuple[str, ...]
    recent_injury_date: dt.date | None
    acetylcholinesterase_inhibitor: bool = False  # withhold ≥ 12 h before RNS (edx.md §2)


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
    muscles: dict[str, Muscle] | None = None
    presets: tuple[str, ...] = ()

    def recording(self, nerve: str, place: str) -> Recording:
        n = self.nerves[nerve.lower()]
        for name, rec in n.recordings.items():
            if name.lower() == place.lower():
                return rec
        raise KeyError(place)

    def muscle(self, name: str) -> Muscle:
        for key, m in (self.muscles or {}).items():
            if key.lower() == name.lower():
                return m
        raise KeyError(name)

    def header(self) -> dict[str, Any]:
        """Demographics and history as plain JSON-able data (the safety checklist defaults)."""
        h = self.history
        return {
            "id": self.id, "description": self.description, "age": self.age,
            "height_cm": self.height_cm, "sex": self.sex, "side": self.side,
            "limb_temperature_c": self.limb_temperature_c,
            "history": {
                "pacemaker_or_icd": h.pacemaker_or_icd,
                "anticoagulation": h.anticoagulation,
                "lymphedema_limb": h.lymphedema_limb,
                "skin_infection_sites": list(h.skin_infection_sites),
                "recent_injury_date": h.recent_injury_date.isoformat()
                if h.recent_injury_date else None,
                "acetylcholinesterase_inhibitor": h.acetylcholinesterase_inhibitor,
            },
            "presets": list(self.presets),
            "non_compressible_muscles": sorted(
                m.name for m in (self.muscles or {}).values() if m.non_compressible),
        }


def _sites(r: Reader, d: dict[str, Any], where: str, distal_field: str) -> tuple[Site, ...]:
    raw_sites = r.get(d, "sites", where)
    if not isinstance(raw_sites, list) or not raw_sites:
        raise r.fail(f"{where}.sites", "must be a non-empty list, distal site first")
    sites = []
    for i, raw in enumerate(raw_sites):
        sw = f"{where}.sites[{i}]"
        s = r.mapping(raw, sw)
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
                         f"{distal_field})")
        sites.append(Site(
            r.text(s, "name", sw), r.number(s, "distance_mm", sw, maximum=2000),
            recruitment(r, r.get(s, "recruitment", sw), f"{sw}.recruitment"), segment))
    names = [s.name.lower() for s in sites]
    if len(set(names)) != len(names):
        raise r.fail(f"{where}.sites", "site names must be unique")
    return tuple(sites)


def _motor(r: Reader, muscle_name: str, d: dict[str, Any], where: str) -> MotorRecording:
    sites = _sites(r, d, where, "distal_latency_ms")
    latency = r.number(d, "distal_latency_ms", where, maximum=30)
    terminal = r.number(d, "terminal_latency_ms", where, maximum=latency, default=1.0)
    if terminal >= latency:
        raise r.fail(f"{where}.terminal_latency_ms", "must be less than distal_latency_ms")
    return MotorRecording(
        muscle=muscle_name,
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
        sites=sites,
        f_wave=f_wave(r, d["f_wave"], f"{where}.f_wave") if d.get("f_wave") else None,
        h_reflex=h_reflex(r, d["h_reflex"], f"{where}.h_reflex") if d.get("h_reflex") else None,
        rns=rns(r, d["rns"], f"{where}.rns") if d.get("rns") else Rns(),
    )


def _sensory(r: Reader, place: str, d: dict[str, Any], where: str) -> SensoryRecording:
    sites = _sites(r, d, where, "onset_latency_ms")
    onset = r.number(d, "onset_latency_ms", where, maximum=20)
    peak = r.number(d, "peak_latency_ms", where, maximum=25)
    if not onset + 0.2 <= peak <= onset + 2.5:
        raise r.fail(f"{where}.peak_latency_ms", "must lie 0.2–2.5 ms after onset_latency_ms")
    return SensoryRecording(
        muscle=place,
        snap_amplitude_uV=r.number(d, "snap_amplitude_uV", where, maximum=500, strict=False),
        onset_latency_ms=onset,
        peak_latency_ms=peak,
        velocity_spread_pct=r.number(d, "velocity_spread_pct", where, maximum=50, strict=False,
                                     default=12.0),
        fibres=int(r.number(d, "fibres", where, minimum=1, maximum=5000, default=300)),
        sites=sites,
    )


def _recording(r: Reader, place: str, data: Any, where: str) -> Recording:
    d = r.mapping(data, where)
    kind = d.get("kind", "motor")
    if kind == "motor":
        return _motor(r, place, d, where)
    if kind == "sensory":
        return _sensory(r, place, d, where)
    raise r.fail(f"{where}.kind", f"must be 'motor' or 'sensory', got {kind!r}")


def _checked_yaml(r: Reader, path: Path) -> Any:
    """The file's YAML, refused when it is not UTF-8 text, too big, too deep, or an alias
    bomb (presets copy every aliased node, so aliases must not multiply)."""
    try:
        raw = path.read_bytes()
        if len(raw) > MAX_SUBJECT_BYTES:
            raise r.fail("(file)", f"{len(raw)} bytes; the limit is {MAX_SUBJECT_BYTES}")
        root = yaml.compose(raw.decode("utf-8"), Loader=yaml.SafeLoader)
    except UnicodeDecodeError as exc:
        raise r.fail("(file)", f"not UTF-8 text ({exc.reason})") from None
    except RecursionError:
        raise r.fail("(file)", "nested too deeply") from None
    except yaml.YAMLError:
        root = None  # load_yaml reports the syntax error with its line
    stack, nodes = [root] if root is not None else [], 0
    while stack:
        node = stack.pop()
        nodes += 1
        if nodes > MAX_SUBJECT_NODES:
            raise r.fail("(file)", f"more than {MAX_SUBJECT_NODES} YAML nodes once aliases "
                                   "are expanded")
        if isinstance(node, yaml.MappingNode):
            stack.extend(n for pair in node.value for n in pair)
        elif isinstance(node, yaml.SequenceNode):
            stack.extend(node.value)
    try:
        return load_yaml(path)
    except RecursionError:
        raise r.fail("(file)", "nested too deeply") from None


def load_subject(path: Path) -> Subject:
    r = Reader(path)
    d = r.mapping(resolve(_checked_yaml(r, path), path), "(top level)")
    subject_id = r.text(d, "id", "")
    if subject_id != path.stem:
        raise r.fail("id", f"must equal the file name {path.stem!r}, got {subject_id!r}")
    h = r.mapping(r.get(d, "history", ""), "history")
    injury = h.get("recent_injury_date")
    if injury is not None and not isinstance(injury, dt.date):
        raise r.fail("history.recent_injury_date", "must be an ISO date (YYYY-MM-DD) or null")
    lymph = h.get("lymphedema_limb")
    if lymph is not None and not isinstance(lymph, str):
        raise r.fail("history.lymphedema_limb", "must be a limb name or null")
    history = History(
        pacemaker_or_icd=r.flag(h, "pacemaker_or_icd", "history"),
        anticoagulation=r.flag(h, "anticoagulation", "history"),
        lymphedema_limb=lymph,
        skin_infection_sites=r.strings(h, "skin_infection_sites", "history"),
        recent_injury_date=injury,
        acetylcholinesterase_inhibitor=bool(h.get("acetylcholinesterase_inhibitor", False)),
    )
    nerves: dict[str, Nerve] = {}
    for name, raw in r.mapping(r.get(d, "nerves", ""), "nerves").items():
        where = f"nerves.{name}"
        n = r.mapping(raw, where)
        recordings = {
            place: _recording(r, place, rec, f"{where}.recordings.{place}")
            for place, rec in r.mapping(r.get(n, "recordings", where),
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
    muscles = {
        str(name): muscle(r, str(name), raw, f"muscles.{name}")
        for name, raw in r.mapping(d.get("muscles", {}), "muscles").items()
    }
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
        muscles=muscles,
        presets=tuple(d.get("applied_presets", ())),
    )


def is_catalogue(path: Path) -> bool:
    """A file about the subjects (a top-level `subjects:` table, e.g. expected-findings.yaml),
    kept beside them but not itself a subject."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return False
    return any(line.startswith("subjects:") for line in text.splitlines())


def available_subjects(subject_dir: Path | None = None) -> list[str]:
    directory = Path(subject_dir) if subject_dir else DEFAULT_SUBJECT_DIR
    return sorted(p.stem for p in directory.glob("*.yaml") if not is_catalogue(p))


def find_subject(subject_id: str, subject_dir: Path | None = None) -> Subject:
    directory = Path(subject_dir) if subject_dir else DEFAULT_SUBJECT_DIR
    path = directory / f"{subject_id}.yaml"
    if not path.is_file():
        known = ", ".join(available_subjects(directory)) or "none"
        raise KeyError(f"unknown subject {subject_id!r} in {directory}; available: {known}")
    return load_subject(path)
