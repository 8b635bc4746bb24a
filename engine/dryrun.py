"""A protocol's plan in words: every step, prompt and instrument action, touching nothing.

`edxbench run PROTOCOL --dry-run` prints it so a protocol can be reviewed before it ever
reaches a bench or a patient.
"""

from __future__ import annotations

from engine.protocol import (
    BenchCheckStep,
    CompareStep,
    ComputeStep,
    InputStep,
    NeedleStep,
    Protocol,
    SafetyChecklistStep,
    SeriesStep,
    Step,
    StimulateStep,
    SweepSpec,
)


def describe(protocol: Protocol) -> list[str]:
    lines = [f"{protocol.title} ({protocol.id} v{protocol.version}, sha256 "
             f"{protocol.sha256[:12]}), reference: {', '.join(protocol.references) or 'none'}"]
    group = ""
    for seq, step in enumerate(protocol.steps, start=1):
        if step.group != group:
            group = step.group
            lines.append(f"{group}:" + ("  (always runs, even after a stop)"
                                        if group == "cleanup" else ""))
        lines.append(f"  {seq:>2}. [{step.kind}] {step.title}  ({step.id})")
        lines.extend(f"        {action}" for action in _actions(step))
    return lines


def _actions(step: Step) -> list[str]:
    if isinstance(step, StimulateStep):
        actions = [f"prompt: confirm stimulator at {step.nerve} {step.site}, recording "
                   f"{step.recording}" + (f" ({step.distance_mm:g} mm)" if step.distance_mm
                                          else "")]
        record = _record(step.sweep)
        if step.supramaximal is not None:
            s = step.supramaximal
            actions.append(f"supramaximal search: {s.start_mA:g} mA up in {s.step_mA:g} mA steps "
                           f"to at most {s.max_mA:g} mA (and the bench limit), "
                           f"{step.pulse_width_ms:g} ms pulses at ≤ {step.rate_hz:g} Hz; each "
                           f"stimulus: {record}")
            actions.append(f"plateau when growth < {s.plateau_pct:g} %; final stimulus "
                           f"{s.margin_pct:g} % above the plateau current")
        else:
            actions.append(f"stimulate at {step.fixed_mA:g} mA, {step.pulse_width_ms:g} ms; "
                           f"{record}")
        if step.averages > 1:
            actions.append(f"average {step.averages} sweeps at the final current")
        actions.append(f"measure the {step.measure.upper()} (onset, negative peak, amplitudes, "
                       "duration, area); prompt: accept or repeat")
        actions.append("stimulator output off after every pulse")
        return actions
    if isinstance(step, InputStep):
        bounds = f" in [{step.minimum:g}, {step.maximum:g}]" if (
            step.minimum is not None and step.maximum is not None) else ""
        source = " (simulated bench: tape-measure default)" if step.tape_measure else ""
        return [f"prompt: number in {step.unit or 'units'}{bounds}{source}"]
    if isinstance(step, ComputeStep):
        return [_compute(step)]
    if isinstance(step, SeriesStep):
        return _series(step)
    if isinstance(step, NeedleStep):
        return [f"prompt: confirm the needle is in {step.muscle}",
                f"record {step.rest_ms:g} ms at rest (insertional and spontaneous activity), "
                f"{step.minimal_ms:g} ms at minimal effort ({step.minimal_effort:.0%}: motor "
                f"unit potentials), {step.maximal_ms:g} ms at maximal effort (interference); "
                f"{step.sample_rate_hz:g} Hz, {step.sensitivity_mV_per_div:g} mV/div",
                "no stimulus; prompt: accept or repeat"]
    if isinstance(step, SafetyChecklistStep):
        return ["prompt: the contraindication checklist (data/safety/contraindications.yaml); "
                "gated steps are skipped with their reason unless overridden with a typed, "
                "audited confirmation"]
    if isinstance(step, CompareStep):
        return ["summarise measurements against the reference limits"]
    if isinstance(step, BenchCheckStep):
        fixture = ", ".join(f"{k} {v:g}" for k, v in step.fixture)
        actions = [f"prompt: confirm the {step.check.replace('_', ' ')} fixture is wired"
                   + (f" ({fixture})" if fixture else "") + " and nobody is connected"]
        if step.current_mA:
            where = (f"probe on scope channel {step.probe_channel}, "
                     f"{step.probe_V_per_div:g} V/div" if step.check == "stimulator_load"
                     else f"{step.sensitivity_mV_per_div:g} mV/div")
            actions.append(f"stimulate at {step.current_mA:g} mA, {step.pulse_width_ms:g} ms; "
                           f"record {step.window_ms:g} ms ({step.pretrigger_ms:g} ms before, "
                           f"{step.points} points, {where})")
        else:
            actions.append(f"record {step.duration_ms:g} ms free-running at "
                           f"{step.sample_rate_hz:g} Hz, {step.sensitivity_mV_per_div:g} mV/div")
        actions.append("judge against data/bench-tolerances.yaml: pass or fail")
        return actions
    return ["prompt: confirm done"]


def _record(sweep: SweepSpec) -> str:
    return (f"record {sweep.window_ms:g} ms sweep ({sweep.pretrigger_ms:g} ms before the "
            f"stimulus, {sweep.points} points, {sweep.sensitivity_mV_per_div:g} mV/div)")


def _series(step: SeriesStep) -> list[str]:
    current = (f"{step.fixed_mA:g} mA" if step.fixed_mA is not None
               else f"the accepted current of {step.current_from}")
    where = f"{step.nerve} {step.site}, recording {step.recording}"
    if step.mode == "h_reflex" and step.ramp_mA is not None:
        stimuli = (f"{step.count} stimuli from {step.ramp_mA[0]:g} to {step.ramp_mA[1]:g} mA "
                   f"at {step.rate_hz:g} Hz")
    else:
        stimuli = f"{step.count} stimuli at {current}, {step.rate_hz:g} Hz"
    actions = [f"prompt: confirm stimulator at {where}",
               f"{step.mode.replace('_', '-')} series: {stimuli}, {step.pulse_width_ms:g} ms "
               f"pulses; each stimulus: {_record(step.sweep)}"]
    if step.mode == "f_wave":
        actions.append(f"F-waves searched {step.window_ms[0]:g}–{step.window_ms[1]:g} ms "
                       "(M-wave excluded): minimum, mean and maximum latency, persistence, "
                       "chronodispersion")
    elif step.mode == "rns":
        actions.append("per-response amplitude and area, % change against the first")
        if step.exercise_s:
            actions.append(f"prompt: {step.exercise_s:g} s maximal contraction, then the train "
                           "again")
        if step.repeat_after_s:
            after = ", ".join(f"{t:g}" for t in step.repeat_after_s)
            actions.append(f"the train again {after} s after the contraction")
    elif step.mode == "h_reflex":
        actions.append("H threshold, H max and latency, M max, H/M ratio")
    actions.append("stimulator output off after the series; prompt: accept or repeat")
    return actions


def _compute(step: ComputeStep) -> str:
    name = step.quantity.replace("_", " ")
    if step.quantity in ("conduction_velocity", "sensory_velocity"):
        timing = (f"(onset {step.proximal} − onset {step.distal})" if step.proximal
                  else f"(onset {step.distal})")
        distance = step.distance or f"the distance of {step.distal}"
        return f"{name} of the {step.segment}: {distance} / {timing}"
    if step.quantity == "difference" and len(step.terms) == 2:
        return f"{name} ({step.segment}): {step.terms[0]} − {step.terms[1]}"
    if step.quantity == "sum":
        return f"{name} ({step.segment}): " + " + ".join(step.terms)
    return f"{name} of the {step.segment}: {step.proximal} against {step.distal}"
