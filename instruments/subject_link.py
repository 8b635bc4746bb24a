"""Driver for the simulated subject link (virtual patient: subject, electrodes, tape).

There is no real counterpart: on a real bench these are the operator's hands, and
`Bench` skips them. Errors come back as SubjectError naming what was refused.
"""

from __future__ import annotations

import json

from instruments.errors import SubjectError
from instruments.scpi_driver import ScpiDriver
from instruments.transport import Transport


def _quote(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def is_subject_link(fields: list[str]) -> bool:
    return fields[0] == "edxbench" and fields[1] == "SUBJECT-LINK"


class SubjectLink(ScpiDriver):
    role = "subject"

    def __init__(self, transport: Transport) -> None:
        super().__init__(transport)
        self.identify(is_subject_link, "edxbench subject link")

    def _refused(self, detail: str) -> SubjectError:
        return SubjectError(self.t.role, self.t.resource, detail)

    def available(self) -> list[str]:
        reply = self.t.query("SUBJ:LIST?")
        return [x.strip().strip('"') for x in reply.split(",") if x.strip().strip('"')]

    def load(self, subject_id: str) -> None:
        self.t.write(f"SUBJ:LOAD {_quote(subject_id)}")
        if self.errors():
            known = ", ".join(self.available()) or "none"
            raise self._refused(f"unknown subject {subject_id!r}; available: {known}")

    def subject(self) -> str:
        return self.t.query("SUBJ?").strip('"')

    def place(self, kind: str, nerve: str, place: str) -> None:
        header = {"stimulus": "ELEC:STIM", "recording": "ELEC:REC"}[kind]
        self.t.write(f"{header} {_quote(nerve)},{_quote(place)}")
        found = self.errors()
        if found:
            raise self._refused(f"cannot place {kind} electrode at {nerve}/{place}: {found[0]}")

    def distance_mm(self, nerve: str, from_site: str, to_site: str) -> float:
        reply = self.t.query(
            f"SUBJ:DIST? {_quote(nerve)},{_quote(from_site)},{_quote(to_site)};:SYST:ERR?"
        )
        value, _, _ = reply.partition(";")
        try:
            return float(value)
        except ValueError:
            self.errors()
            raise self._refused(f"no distance {nerve} {from_site}→{to_site}: {reply}") from None

    def seed(self, value: int) -> None:
        self.t.write(f"SYST:SEED {int(value)}")

    def place_needle(self, muscle: str, side: str | None) -> None:
        args = _quote(muscle) + (f",{_quote(side)}" if side else "")
        self.t.write(f"NEED {args}")
        found = self.errors()
        if found:
            raise self._refused(f"cannot place the needle in {muscle}: {found[0]}")

    def set_effort(self, level: float) -> None:
        self.t.write(f"PAT:EFF {level:.6g}")
        found = self.errors()
        if found:
            raise self._refused(f"effort {level:g}: {found[0]}")

    def set_clock(self, seconds: float) -> None:
        """Tell the patient the bench clock (post-exercise timing follows the bench's time)."""
        self.t.write(f"PAT:CLOC {seconds:.9g}")

    def exercise(self, seconds: float) -> None:
        self.t.write(f"PAT:EXER {seconds:.6g}")
        found = self.errors()
        if found:
            raise self._refused(f"exercise {seconds:g} s: {found[0]}")

    def header(self) -> dict[str, object]:
        payload = self.t.read_block("SUBJ:HEAD?")
        try:
            value = json.loads(payload)
        except ValueError:
            raise self._refused(f"subject header is not JSON: {payload[:60]!r}") from None
        if not isinstance(value, dict):
            raise self._refused("subject header is not a mapping")
        return value

    def inject_fault(self, role: str, kind: str, count: int = 1, value: float = 0.0,
                     match: str = "") -> None:
        """Sim only: make the instrument in `role` misbehave (see instruments/sim/faults.py)."""
        self.t.write(f"FAUL:INJ {_quote(role)},{_quote(kind)},{count},{value:g},{_quote(match)}")
        found = self.errors()
        if found:
            raise self._refused(f"cannot inject {kind} into {role}: {found[0]}")
