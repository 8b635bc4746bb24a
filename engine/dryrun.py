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
    Protocol,
    Step,
    StimulateStep,
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
        sweep = step.sweep
        record = (f"record {sweep.window_ms:g} ms sweep ({sweep.pretrigger_ms:g} ms before the "
                  f"stimulus, {sweep.points} points, {sweep.sensitivity_mV_per_div:g} mV/div)")
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
        actions.append("measure the CMAP (onset, negative peak, amplitudes, duration, area); "
                       "prompt: accept or repeat")
        actions.append("stimulator output off after every pulse")
        return actions
    if isinstance(step, InputStep):
        bounds = f" in [{step.minimum:g}, {step.maximum:g}]" if (
            step.minimum is not None and step.maximum is not None) else ""
        source = " (simulated bench: tape-measure default)" if step.tape_measure else ""
        return [f"prompt: number in {step.unit or 'units'}{bounds}{source}"]
    if isinstance(step, ComputeStep):
        return [f"{step.quantity.replace('_', ' ')} of the {step.segment}: {step.distance} / "
                f"(onset {step.proximal} − onset {step.distal})"]
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
