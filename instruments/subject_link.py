"""Driver for the simulated subject link (virtual patient: subject, electrodes, tape).

There is no real counterpart: on a real bench these are the operator's hands, and
`Bench` skips them. Errors come back as SubjectError naming what was refused.
"""

from __future__ import annotations

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
