"""The supramaximal search: raise the current until the response stops growing.

Kept apart from the runner as a small state machine (ask for the next current, tell it the
amplitude) so the rule is testable without a bench. The margin above the plateau comes
from the protocol (guideline: +5–10 %, edx.md §3).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from engine.protocol import SupramaximalSpec


@dataclass
class SupramaximalSearch:
    spec: SupramaximalSpec
    ceiling_mA: float  # the lower of the protocol's max_mA and the bench's hard limit
    trials: list[tuple[float, float]] = field(default_factory=list)  # (current mA, amplitude V)
    plateau_mA: float | None = None
    rising_seen: bool = False  # a plateau counts only after the response has grown

    def next_current(self) -> float | None:
        """The next current to try, or None when the search is over."""
        if self.plateau_mA is not None:
            return None
        if not self.trials:
            return min(self.spec.start_mA, self.ceiling_mA)
        last = self.trials[-1][0]
        if last >= self.ceiling_mA - 1e-9:
            return None
        return min(last + self.spec.step_mA, self.ceiling_mA)

    def record(self, current_mA: float, amplitude_V: float, responded: bool) -> None:
        """Add a trial; the plateau is reached when growth falls below plateau_pct after
        the response has been seen to grow (near threshold a small, variable response
        would otherwise look like a plateau)."""
        self.trials.append((current_mA, amplitude_V if responded else 0.0))
        if len(self.trials) < 2 or not responded:
            return
        (prev_current, prev_amp), (_, amp) = self.trials[-2], self.trials[-1]
        if prev_amp <= 0:
            return
        growth = (amp - prev_amp) / prev_amp * 100.0
        if growth >= self.spec.plateau_pct:
            self.rising_seen = True
        elif self.rising_seen:
            self.plateau_mA = prev_current

    @property
    def reached_plateau(self) -> bool:
        return self.plateau_mA is not None

    def final_current(self) -> float:
        """Plateau current plus the margin, never above the ceiling."""
        base = self.plateau_mA if self.plateau_mA is not None else self.ceiling_mA
        return min(base * (1.0 + self.spec.margin_pct / 100.0), self.ceiling_mA)
