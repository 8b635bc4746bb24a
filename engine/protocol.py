"""Protocol files: the schema, its validation, and the step types the runner executes.

A protocol is clinical practice written as text a lab can read, review in git and adapt.
It states intent only (which site, what current search, which sweep); the runner owns
every side effect. See `protocols/README.md` for the format.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace
from pathlib import Path

from engine.fields import FieldReader
from engine.yamlsource import Mark, SourceError, load_yaml_file, load_yaml_text

SCHEMA_VERSION = 1
STEP_GROUPS = ("setup", "main", "cleanup")
STEP_KINDS = ("instruction", "safety_checklist", "input", "stimulate", "series", "needle",
              "compute", "compare", "bench_check")
# Steps that touch the subject; a safety checklist must come before the first of them.
SUBJECT_CONTACT_KINDS = ("stimulate", "series", "needle")


class ProtocolError(SourceError):
    """A protocol file that cannot be run, located at file:line:column."""


@dataclass(frozen=True)
class Step:
    id: str
    kind: str
    title: str
    group: str
    mark: Mark
    text: str = ""
    diagram: str = ""
    field_marks: dict[str, Mark] = field(default_factory=dict, compare=False, repr=False)


@dataclass(frozen=True)
class InstructionStep(Step):
    pass


@dataclass(frozen=True)
class SafetyChecklistStep(Step):
    """Asks the contraindication checklist (data/safety/contraindications.yaml)."""


@dataclass(frozen=True)
class TapeMeasure:
    """On the simulated bench the virtual subject answers the distance (a tape measure)."""

    nerve: str
    from_site: str
    to_site: str


@dataclass(frozen=True)
class InputStep(Step):
    unit: str = ""
    minimum: float | None = None
    maximum: float | None = None
    default: float | None = None
    tape_measure: TapeMeasure | None = None


@dataclass(frozen=True)
class SupramaximalSpec:
    """Raise the current until the response stops growing, then add a margin."""

    start_mA: float
    step_mA: float
    max_mA: float
    plateau_pct: float
    margin_pct: float


@dataclass(frozen=True)
class SweepSpec:
    window_ms: float
    pretrigger_ms: float
    sensitivity_mV_per_div: float
    points: int


@dataclass(frozen=True)
class StimulateStep(Step):
    nerve: str = ""
    site: str = ""
    role: str = "distal"  # distal | proximal: which reference limits apply
    recording: str = ""
    distance_mm: float | None = None
    pulse_width_ms: float = 0.2
    rate_hz: float = 1.0
    supramaximal: SupramaximalSpec | None = None
    fixed_mA: float | None = None
    sweep: SweepSpec = field(default_factory=lambda: SweepSpec(20.0, 2.0, 2.0, 2000))
    artefact_ms: float = 1.0  # measurement search starts after the stimulus artefact
    min_snr: float = 5.0  # a response smaller than this many noise SDs is "no response"
    measure: str = "cmap"  # cmap (motor, mV) | snap (sensory, µV)
    averages: int = 1  # sweeps averaged for the final response (SNAPs at low SNR)


@dataclass(frozen=True)
class SeriesStep(Step):
    """Repeated stimuli analysed together: F-waves, or repetitive stimulation (RNS).

    The current is the accepted (supramaximal) current of an earlier stimulate step, or
    fixed. RNS may repeat its train after a maximal voluntary contraction."""

    mode: str = "f_wave"  # f_wave | rns | h_reflex
    nerve: str = ""
    site: str = ""
    recording: str = ""
    current_from: str = ""
    fixed_mA: float | None = None
    count: int = 20
    rate_hz: float = 1.0
    pulse_width_ms: float = 0.2
    sweep: SweepSpec = field(default_factory=lambda: SweepSpec(60.0, 2.0, 0.2, 2000))
    window_ms: tuple[float, float] = (20.0, 55.0)  # F-wave search window (after the M-wave)
    threshold_k: float = 10.0
    exercise_s: float = 0.0  # RNS: contraction before the post-exercise train (0: none)
    repeat_after_s: tuple[float, ...] = ()  # RNS: more trains this long after the exercise
    ramp_mA: tuple[float, float] | None = None  # H-reflex: currents from start to end
    artefact_ms: float = 1.0
    min_snr: float = 5.0


@dataclass(frozen=True)
class NeedleStep(Step):
    """Needle EMG of one muscle: rest (spontaneous activity), minimal effort (motor unit
    potentials) and maximal effort (interference pattern)."""

    muscle: str = ""
    sample_rate_hz: float = 20_000.0
    sensitivity_mV_per_div: float = 0.2
    rest_ms: float = 3000.0
    minimal_effort: float = 0.15
    minimal_ms: float = 5000.0
    maximal_ms: float = 1000.0


@dataclass(frozen=True)
class ComputeStep(Step):
    """Derived values: velocities, differences, sums, amplitude drops across a segment.

    Operands name earlier measurements as "step.measurement" (e.g. "wrist.onset_latency").
    """

    quantity: str = "conduction_velocity"
    segment: str = ""  # where the result belongs: a segment or a comparison's name
    proximal: str = ""
    distal: str = ""
    distance: str = ""  # id of the input step that holds the segment length
    terms: tuple[str, ...] = ()  # difference: (a, b) → a − b; sum: all added
    unit: str = ""
    nerve: str = ""  # for matching reference entries (defaults from the distal step)
    recording: str = ""


COMPUTE_QUANTITIES = ("conduction_velocity", "sensory_velocity", "difference", "sum",
                      "amplitude_drop", "area_drop", "duration_increase")


@dataclass(frozen=True)
class CompareStep(Step):
    pass


# bench check → the fixture properties it needs (the fixture's nominal values)
BENCH_CHECKS: dict[str, tuple[str, ...]] = {
    "stimulator_load": ("load_ohm",),
    "latency": ("delay_ms", "amplitude_uV"),
    "amplifier_gain": ("amplitude_uV", "hz"),
    "noise_floor": (),
    "mains": (),
}
BENCH_STIMULUS_CHECKS = ("stimulator_load", "latency")


@dataclass(frozen=True)
class BenchCheckStep(Step):
    """One bench validation check on a fixture in place of a subject (engine/validation.py).

    Stimulus checks capture a triggered sweep (window, pretrigger, points); the others a
    free-running stretch (duration, sample rate)."""

    check: str = ""
    fixture: tuple[tuple[str, float], ...] = ()  # nominal properties, in BENCH_CHECKS order
    current_mA: float = 0.0
    pulse_width_ms: float = 0.2
    probe_channel: int = 2
    probe_V_per_div: float = 5.0
    window_ms: float = 20.0
    pretrigger_ms: float = 2.0
    points: int = 2000
    duration_ms: float = 200.0
    sample_rate_hz: float = 20_000.0
    sensitivity_mV_per_div: float = 2.0


@dataclass(frozen=True)
class Protocol:
    id: str
    title: str
    version: str
    description: str
    nerve: str
    study_kind: str
    references: tuple[str, ...]
    steps: tuple[Step, ...]
    path: Path
    text: str
    sha256: str
    # Text of every included protocol by name, so a stored run resumes with exactly the
    # steps it started with even if the library files change or are elsewhere.
    includes: tuple[tuple[str, str], ...] = ()

    def step(self, step_id: str) -> Step:
        for step in self.steps:
            if step.id == step_id:
                return step
        raise KeyError(step_id)


def load_protocol(path: str | Path) -> Protocol:
    """Read and validate a protocol; raise ProtocolError at the offending line."""
    source = Path(path)
    try:
        document = load_yaml_file(source)
        text = source.read_text(encoding="utf-8")
    except SourceError as exc:
        raise ProtocolError(exc.mark, exc.message) from None
    return _validated(document, source, text)


def load_protocol_text(text: str, name: str, includes: dict[str, str] | None = None,
                       library: Path | None = None) -> Protocol:
    """Validate protocol text kept elsewhere (a stored run resumes with its own text).

    Includes come from `includes` (the texts stored with the run) first, then from files in
    `library`."""
    try:
        document = load_yaml_text(text, name)
    except SourceError as exc:
        raise ProtocolError(exc.mark, exc.message) from None
    source = (library / Path(name).name) if library is not None else Path(name)
    return _validated(document, source, text, includes)


def _validated(document: object, source: Path, text: str,
               stored: dict[str, str] | None = None) -> Protocol:
    try:
        return _parse(document, source, text, stored=stored)
    except ProtocolError:
        raise
    except SourceError as exc:
        raise ProtocolError(exc.mark, exc.message) from None


def _parse(document: object, source: Path, text: str, depth: int = 0,
           stored: dict[str, str] | None = None,
           collected: dict[str, str] | None = None) -> Protocol:
    collected = {} if collected is None else collected
    top = FieldReader(document, "protocol", Mark(str(source), 1, 1))
    schema = top.integer("schema", required=True)
    if schema != SCHEMA_VERSION:
        raise top.error("schema", f"is {schema}; this edxbench reads schema {SCHEMA_VERSION}")
    protocol_id = top.identifier("id", required=True)
    title = top.text("title", required=True, max_length=200)
    version = str(top.raw("version", "1"))
    description = top.text("description", "") or ""
    raw_reference = top.raw("reference", [])
    references = tuple(str(r) for r in (raw_reference if isinstance(raw_reference, list)
                                        else [raw_reference]))
    study = top.sub("study", "study", required=True)
    assert study is not None
    nerve = study.identifier("nerve", required=True)
    study_kind = study.choice("kind", ("motor", "sensory", "f-wave", "h-reflex", "rns",
                                        "needle", "bench"), required=True)
    study.finish()
    groups = top.sub("steps", "steps", required=True)
    assert groups is not None
    steps: list[Step] = []
    for group in STEP_GROUPS:
        for index, item in enumerate(groups.items(group)):
            mark = groups.items(group).mark_of(index)
            if isinstance(item, dict) and "include" in item:
                steps.extend(_include(item, group, mark, source, depth, stored, collected))
            else:
                steps.append(_parse_step(item, group, mark))
    groups.finish()
    top.finish()
    if not any(s.group == "main" for s in steps):
        raise ProtocolError(groups.mark, "protocol: steps: 'main' must list at least one step")
    _check_references(steps)
    _check_bench_kind(steps, str(study_kind))
    return Protocol(
        id=str(protocol_id), title=str(title), version=version, description=description,
        nerve=str(nerve), study_kind=str(study_kind), references=references,
        steps=tuple(steps),
        path=source, text=text, sha256=hashlib.sha256(text.encode("utf-8")).hexdigest(),
        includes=tuple(sorted(collected.items())) if depth == 0 else (),
    )


MAX_INCLUDE_DEPTH = 4


def _include(item: object, group: str, mark: Mark, source: Path, depth: int,
             stored: dict[str, str] | None, collected: dict[str, str]) -> list[Step]:
    """Inline another protocol's main steps, ids prefixed, references rewritten.

    Composite studies are made of single-nerve protocols this way, so one protocol file
    holds each technique."""
    r = FieldReader(item, f"{group} include", mark)
    name = str(r.identifier("include", required=True))
    prefix = str(r.identifier("prefix", required=True))
    r.finish()
    if depth >= MAX_INCLUDE_DEPTH:
        raise ProtocolError(mark, f"includes nested deeper than {MAX_INCLUDE_DEPTH}")
    path = source.parent / f"{name.replace('-', '_')}.yaml"
    if stored is not None and name in stored:
        text = stored[name]
    elif not path.exists():
        raise ProtocolError(r.mark, f"include: no protocol file {path.name} beside "
                                    f"{source.name}")
    else:
        text = None
    try:
        if text is None:
            text = path.read_text(encoding="utf-8")
        collected[name] = text
        included = _parse(load_yaml_text(text, str(path)), path, text, depth + 1, stored,
                          collected)
    except ProtocolError:
        raise
    except SourceError as exc:
        raise ProtocolError(exc.mark, exc.message) from None

    def renamed(ref: str) -> str:
        return f"{prefix}-{ref}" if ref else ref

    steps: list[Step] = []
    for step in included.steps:
        if step.group != "main" or isinstance(step, CompareStep):
            continue  # the composite has its own checklist, cleanup and comparison
        changes: dict[str, object] = {"id": renamed(step.id), "group": group}
        if isinstance(step, ComputeStep):
            changes.update(proximal=renamed(step.proximal), distal=renamed(step.distal),
                           distance=renamed(step.distance),
                           terms=tuple(renamed(t) for t in step.terms))
        if isinstance(step, SeriesStep):
            changes["current_from"] = renamed(step.current_from)
        steps.append(replace(step, **changes))
    return steps


def _parse_step(item: object, group: str, mark: Mark) -> Step:
    r = FieldReader(item, f"{group} step", mark)
    step_id = r.identifier("id", required=True)
    r.what = f"step '{step_id}'"
    kind = r.choice("kind", STEP_KINDS, required=True)
    common = {
        "id": step_id, "kind": kind, "group": group, "mark": r.mark,
        "title": r.text("title", required=True, max_length=200),
        "text": r.text("text", "") or "",
        "diagram": r.text("diagram", "") or "",
        "field_marks": dict(getattr(r.mapping, "value_marks", {})),
    }
    step: Step
    if kind == "instruction":
        step = InstructionStep(**common)
    elif kind == "safety_checklist":
        step = SafetyChecklistStep(**common)
    elif kind == "input":
        tape = r.sub("tape_measure", "tape_measure")
        tape_measure = None
        if tape is not None:
            tape_measure = TapeMeasure(
                nerve=str(tape.identifier("nerve", required=True)),
                from_site=str(tape.identifier("from", required=True)),
                to_site=str(tape.identifier("to", required=True)),
            )
            tape.finish()
        minimum = r.number("min")
        maximum = r.number("max")
        if minimum is not None and maximum is not None and minimum > maximum:
            raise r.error("min", f"({minimum:g}) is above 'max' ({maximum:g})")
        step = InputStep(**common, unit=r.text("unit", "") or "", minimum=minimum,
                         maximum=maximum, default=r.number("default"),
                         tape_measure=tape_measure)
    elif kind == "stimulate":
        step = _parse_stimulate(r, common)
    elif kind == "series":
        step = _parse_series(r, common)
    elif kind == "needle":
        step = NeedleStep(
            **common, muscle=str(r.text("muscle", required=True, max_length=64)),
            sample_rate_hz=float(r.number("sample_rate_hz", 20_000, minimum=4000,
                                          maximum=100_000, unit="Hz")),
            sensitivity_mV_per_div=float(r.number("sensitivity_mV_per_div", 0.2,
                                                  minimum=0.01, maximum=10)),
            rest_ms=float(r.number("rest_ms", 3000, minimum=100, maximum=20_000, unit="ms")),
            minimal_effort=float(r.number("minimal_effort", 0.15, minimum=0.01, maximum=0.5)),
            minimal_ms=float(r.number("minimal_ms", 5000, minimum=100, maximum=20_000,
                                      unit="ms")),
            maximal_ms=float(r.number("maximal_ms", 1000, minimum=100, maximum=10_000,
                                      unit="ms")),
        )
    elif kind == "compute":
        step = _parse_compute(r, common)
    elif kind == "bench_check":
        step = _parse_bench_check(r, common)
    else:
        step = CompareStep(**common)
    r.finish()
    return step


def _parse_sweep(r: FieldReader, default_window: float) -> SweepSpec:
    sweep_reader = r.sub("sweep", "sweep", required=True)
    assert sweep_reader is not None
    sweep = SweepSpec(
        window_ms=float(sweep_reader.number("window_ms", default_window, minimum=1,
                                            maximum=1000, unit="ms")),
        pretrigger_ms=float(sweep_reader.number("pretrigger_ms", 2.0, minimum=0.2, maximum=100,
                                                unit="ms")),
        sensitivity_mV_per_div=float(sweep_reader.number("sensitivity_mV_per_div", 2.0,
                                                         minimum=0.001, maximum=100)),
        points=int(sweep_reader.integer("points", 2000, minimum=100, maximum=100_000) or 2000),
    )
    sweep_reader.finish()
    return sweep


def _parse_series(r: FieldReader, common: dict) -> SeriesStep:
    mode = str(r.choice("mode", ("f_wave", "rns", "h_reflex"), required=True))
    current_from = str(r.identifier("current_from", "") or "")
    fixed = r.number("fixed_mA", minimum=0.1, maximum=100, unit="mA")
    ramp = r.numbers("ramp_mA", unit="mA")
    if mode == "h_reflex":  # a recruitment curve: its own currents, never a fixed one
        if current_from or fixed is not None or len(ramp) != 2 or not 0 < ramp[0] < ramp[1]:
            raise ProtocolError(r.mark, f"{r.what}: mode h_reflex needs 'ramp_mA: [start, "
                                        "end]' (0 < start < end) and no current_from/fixed_mA")
    elif ramp:
        raise r.error("ramp_mA", "applies only to mode h_reflex")
    elif bool(current_from) == (fixed is not None):
        raise ProtocolError(r.mark, f"{r.what}: give exactly one of 'current_from' or "
                                    "'fixed_mA'")
    repeats = r.numbers("repeat_after_s", unit="s")
    if repeats and (mode != "rns" or list(repeats) != sorted(set(repeats))
                    or not 0 < repeats[0] <= repeats[-1] <= 600):
        raise r.error("repeat_after_s", "(rns only) must list increasing times in s, "
                                        "each in (0, 600]")
    window = r.numbers("window_ms", unit="ms") or (20.0, 55.0)
    if len(window) != 2 or not 0 <= window[0] < window[1]:
        raise r.error("window_ms", "must be [start, end] in ms with start < end")
    return SeriesStep(
        **common, mode=mode, nerve=str(r.identifier("nerve", required=True)),
        site=str(r.identifier("site", required=True)),
        recording=str(r.text("recording", required=True, max_length=32)),
        current_from=current_from, fixed_mA=fixed,
        count=int(r.integer("count", 20 if mode == "f_wave" else 10, minimum=2, maximum=100)
                  or 2),
        rate_hz=float(r.number("rate_hz", {"f_wave": 1.0, "rns": 3.0}.get(mode, 0.5), minimum=0.1,
                               maximum=50, unit="Hz")),
        pulse_width_ms=float(r.number("pulse_width_ms", 0.2, minimum=0.05, maximum=1.0,
                                      unit="ms")),
        sweep=_parse_sweep(r, 60.0), window_ms=(window[0], window[1]),
        threshold_k=float(r.number("threshold_k", 10.0, minimum=2, maximum=50)),
        exercise_s=float(r.number("exercise_s", 0.0, minimum=0, maximum=120, unit="s")),
        artefact_ms=float(r.number("artefact_ms", 1.0, minimum=0.0, maximum=20, unit="ms")),
        repeat_after_s=repeats, ramp_mA=(ramp[0], ramp[1]) if mode == "h_reflex" else None,
    )


def _parse_bench_check(r: FieldReader, common: dict) -> BenchCheckStep:
    check = str(r.choice("check", tuple(BENCH_CHECKS), required=True))
    needs = BENCH_CHECKS[check]
    fixture = r.sub("fixture", "fixture", required=bool(needs))
    values: tuple[tuple[str, float], ...] = ()
    if fixture is not None:
        values = tuple((key, float(fixture.number(key, required=True, minimum=0.0,
                                                  maximum=1e6))) for key in needs)
        fixture.finish()
    stimulus = check in BENCH_STIMULUS_CHECKS
    return BenchCheckStep(
        **common, check=check, fixture=values,
        current_mA=float(r.number("current_mA", required=stimulus, minimum=0.1, maximum=100,
                                  unit="mA") or 0.0),
        pulse_width_ms=float(r.number("pulse_width_ms", 0.2, minimum=0.05, maximum=1.0,
                                      unit="ms")),
        probe_channel=int(r.integer("probe_channel", 2, minimum=1, maximum=4) or 2),
        probe_V_per_div=float(r.number("probe_V_per_div", 5.0, minimum=0.001, maximum=100)),
        window_ms=float(r.number("window_ms", 20.0, minimum=0.1, maximum=1000, unit="ms")),
        pretrigger_ms=float(r.number("pretrigger_ms", 2.0, minimum=0.05, maximum=100,
                                     unit="ms")),
        points=int(r.integer("points", 2000, minimum=100, maximum=100_000) or 2000),
        duration_ms=float(r.number("duration_ms", 200.0, minimum=10, maximum=10_000,
                                   unit="ms")),
        sample_rate_hz=float(r.number("sample_rate_hz", 20_000.0, minimum=1000,
                                      maximum=100_000, unit="Hz")),
        sensitivity_mV_per_div=float(r.number("sensitivity_mV_per_div", 2.0, minimum=0.001,
                                              maximum=100)),
    )


def _parse_compute(r: FieldReader, common: dict) -> ComputeStep:
    quantity = str(r.choice("quantity", COMPUTE_QUANTITIES, required=True))
    needs = {
        "conduction_velocity": ("proximal", "distal", "distance"),
        "sensory_velocity": ("distal",),
        "amplitude_drop": ("proximal", "distal"),
        "area_drop": ("proximal", "distal"),
        "duration_increase": ("proximal", "distal"),
        "difference": ("terms",),
        "sum": ("terms",),
    }[quantity]
    for key in needs:
        if key not in r.mapping:
            raise ProtocolError(r.mark, f"{r.what}: {quantity} needs '{key}'")
    terms = tuple(str(t) for t in r.items("terms"))
    if quantity == "difference" and len(terms) != 2:
        raise r.error("terms", "must name exactly two measurements for a difference")
    for index, term in enumerate(terms):
        if term.count(".") != 1:
            raise SourceError(r.items("terms").mark_of(index),
                              f"{r.what}: term {term!r} must be 'step.measurement'")
    return ComputeStep(
        **common, quantity=quantity, segment=str(r.identifier("segment", required=True)),
        proximal=str(r.identifier("proximal", "") or ""),
        distal=str(r.identifier("distal", "") or ""),
        distance=str(r.identifier("distance", "") or ""), terms=terms,
        unit=str(r.text("unit", "") or ""),
        nerve=str(r.identifier("nerve", "") or ""),
        recording=str(r.text("recording", "") or ""),
    )


def _parse_stimulate(r: FieldReader, common: dict) -> StimulateStep:
    supra = r.sub("supramaximal", "supramaximal")
    spec = None
    if supra is not None:
        spec = SupramaximalSpec(
            start_mA=float(supra.number("start_mA", required=True, minimum=0.1, maximum=100)),
            step_mA=float(supra.number("step_mA", required=True, minimum=0.1, maximum=50)),
            max_mA=float(supra.number("max_mA", required=True, minimum=0.1, maximum=100)),
            plateau_pct=float(supra.number("plateau_pct", 5.0, minimum=0.1, maximum=50)),
            margin_pct=float(supra.number("margin_pct", 10.0, minimum=0, maximum=50)),
        )
        if spec.start_mA > spec.max_mA:
            raise supra.error("start_mA", f"({spec.start_mA:g} mA) is above max_mA "
                                          f"({spec.max_mA:g} mA)")
        supra.finish()
    fixed = r.number("fixed_mA", minimum=0.1, maximum=100, unit="mA")
    if (spec is None) == (fixed is None):
        raise ProtocolError(r.mark, f"{r.what}: give exactly one of 'supramaximal' or "
                                    "'fixed_mA'")
    sweep_reader = r.sub("sweep", "sweep", required=True)
    assert sweep_reader is not None
    sweep = SweepSpec(
        window_ms=float(sweep_reader.number("window_ms", required=True, minimum=1, maximum=1000,
                                            unit="ms")),
        pretrigger_ms=float(sweep_reader.number("pretrigger_ms", 2.0, minimum=0.2, maximum=100,
                                                unit="ms")),
        sensitivity_mV_per_div=float(sweep_reader.number("sensitivity_mV_per_div", 2.0,
                                                         minimum=0.001, maximum=100)),
        points=int(sweep_reader.integer("points", 2000, minimum=100, maximum=100_000) or 2000),
    )
    sweep_reader.finish()
    return StimulateStep(
        **common,
        nerve=str(r.identifier("nerve", required=True)),
        site=str(r.identifier("site", required=True)),
        role=str(r.choice("role", ("distal", "proximal"), "distal")),
        recording=str(r.text("recording", required=True, max_length=32)),
        distance_mm=r.number("distance_mm", minimum=10, maximum=1000, unit="mm"),
        pulse_width_ms=float(r.number("pulse_width_ms", 0.2, minimum=0.05, maximum=1.0,
                                      unit="ms")),
        rate_hz=float(r.number("rate_hz", 1.0, minimum=0.1, maximum=50, unit="Hz")),
        supramaximal=spec,
        fixed_mA=fixed,
        sweep=sweep,
        artefact_ms=float(r.number("artefact_ms", 1.0, minimum=0.0, maximum=20, unit="ms")),
        min_snr=float(r.number("min_snr", 5.0, minimum=1.0, maximum=100)),
        measure=str(r.choice("measure", ("cmap", "snap"), "cmap")),
        averages=int(r.integer("averages", 1, minimum=1, maximum=500) or 1),
    )


def _check_bench_kind(steps: list[Step], study_kind: str) -> None:
    """Bench checks drive the stimulator into a fixture: only in bench protocols, which
    have no subject and so no step that touches one."""
    for step in steps:
        if isinstance(step, BenchCheckStep) and study_kind != "bench":
            raise ProtocolError(step.mark, f"step '{step.id}' (bench_check) belongs in a bench "
                                           "validation protocol (study kind: bench)")
        if study_kind == "bench" and step.kind in SUBJECT_CONTACT_KINDS:
            raise ProtocolError(step.mark, f"step '{step.id}' ({step.kind}) touches a subject; "
                                           "a bench protocol has none")


def known_muscles() -> frozenset[str]:
    from engine.safety import load_safety  # the anatomy table the gates read

    return frozenset(load_safety().muscle_limb)


def _check_references(steps: list[Step]) -> None:
    """Unique ids; compute steps refer to earlier steps of the right kinds; the safety
    checklist precedes every step that touches the subject."""
    seen: dict[str, Step] = {}
    checklist_seen = False
    for step in steps:
        checklist_seen = checklist_seen or isinstance(step, SafetyChecklistStep)
        if step.kind in SUBJECT_CONTACT_KINDS and not checklist_seen:
            raise ProtocolError(step.mark, f"step '{step.id}' ({step.kind}) comes before any "
                                           "safety_checklist step; the checklist must precede "
                                           "every stimulation or needle step")
        if step.id in seen:
            raise ProtocolError(step.mark, f"step id '{step.id}' is used twice "
                                           f"(first at line {seen[step.id].mark.line})")
        if isinstance(step, ComputeStep):
            refs = [(label, ref, kind) for label, ref, kind in (
                ("proximal", step.proximal, StimulateStep),
                ("distal", step.distal, StimulateStep),
                ("distance", step.distance, InputStep)) if ref]
            refs += [("terms", term.split(".")[0], Step) for term in step.terms]
            for label, ref, kind in refs:
                target = seen.get(ref)
                if not isinstance(target, kind):
                    wanted = {StimulateStep: "stimulate", InputStep: "input"}.get(kind, "")
                    raise ProtocolError(step.field_marks.get(label, step.mark),
                                        f"step '{step.id}': {label} '{ref}' must name "
                                        f"an earlier {wanted} step")
        if isinstance(step, NeedleStep) and step.muscle not in known_muscles():
            raise ProtocolError(step.field_marks.get("muscle", step.mark),
                                f"step '{step.id}': muscle '{step.muscle}' is not in "
                                "data/anatomy/muscles.yaml (the safety rules must know it)")
        if isinstance(step, SeriesStep) and step.current_from and not isinstance(
                seen.get(step.current_from), StimulateStep):
            raise ProtocolError(step.field_marks.get("current_from", step.mark),
                                f"step '{step.id}': current_from '{step.current_from}' must "
                                "name an earlier stimulate step")
        seen[step.id] = step
