"""How far a series of sweeps has got: F-waves n/20, RNS n/10, averaging n/N.

The engine announces each sweep (`SweepRecorded`) but not how many its step will take;
that is in the protocol, which every run carries in its provenance. Pure bookkeeping,
no widgets, so the counting can be tested without the app.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

SERIES_LABELS = {"f_wave": "F-waves", "rns": "RNS", "h_reflex": "H-reflex"}


@dataclass(frozen=True)
class SeriesPlan:
    """The sweeps one attempt of a step records, and which sweep roles count."""

    label: str
    total: int
    roles: tuple[str, ...] = ()  # exact roles; empty: roles starting with `prefix`
    prefix: str = ""

    def counts(self, role: str) -> bool:
        return role in self.roles if self.roles else role.startswith(self.prefix)


def plan_for(step: Any) -> SeriesPlan | None:
    """The series plan of one protocol step (None for steps without a series)."""
    from engine.protocol import SeriesStep, StimulateStep

    if isinstance(step, SeriesStep):
        if step.mode == "rns":
            trains = 1 + (step.exercise_s > 0) + len(step.repeat_after_s)
            return SeriesPlan("RNS", step.count * trains, prefix="train-")
        return SeriesPlan(SERIES_LABELS.get(step.mode, step.mode), step.count, ("series",))
    if isinstance(step, StimulateStep) and step.averages > 1:
        return SeriesPlan("averaging", step.averages, ("raw",))
    return None


def plans_from_provenance(provenance: dict[str, Any]) -> dict[str, SeriesPlan]:
    """Step id → plan, from the protocol text a run started with ({} if it cannot be read:
    progress then shows counts without totals rather than stopping the display)."""
    from tui.data import stored_protocol

    protocol = stored_protocol(provenance.get("protocol_text"), provenance)
    if protocol is None:
        return {}
    plans = {}
    for step in protocol.steps:
        plan = plan_for(step)
        if plan is not None:
            plans[step.id] = plan
    return plans


@dataclass
class SeriesCounter:
    """Sweeps counted in the current attempt of each step."""

    plans: dict[str, SeriesPlan] = field(default_factory=dict)
    _seen: dict[str, int] = field(default_factory=dict)

    def step_started(self, step_id: str) -> None:
        self._seen[step_id] = 0

    def record(self, step_id: str, role: str) -> tuple[str, int, int] | None:
        """(label, n, total) after this sweep, or None when the sweep is not in a series.

        A repeated average starts over at 1 (n wraps at the total)."""
        plan = self.plans.get(step_id)
        if plan is None or not plan.counts(role):
            return None
        seen = self._seen.get(step_id, 0) + 1
        self._seen[step_id] = seen
        return plan.label, (seen - 1) % plan.total + 1, plan.total
