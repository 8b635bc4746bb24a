"""Instrument errors.

Every failure below the engine surfaces as one of these, so the engine and the UI can
show the operator which instrument (role and VISA resource) failed and why, without
knowing anything about PyVISA.
"""

from __future__ import annotations


class InstrumentError(Exception):
    """Base class; the message names the role and the resource."""

    def __init__(self, role: str, resource: str, detail: str) -> None:
        self.role = role
        self.resource = resource
        self.detail = detail
        super().__init__(f"{role} ({resource}): {detail}")


class InstrumentTimeout(InstrumentError):
    """The instrument did not answer in time."""


class InstrumentConnectionError(InstrumentError):
    """The resource could not be opened or the connection dropped."""


class InstrumentProtocolError(InstrumentError):
    """A reply could not be parsed, or the instrument reported a SCPI error."""


class UnsupportedInstrument(InstrumentError):
    """The *IDN? answer names a model this driver was not written for."""


class StimulusLimitError(InstrumentError):
    """A stimulus request lies outside the bench's configured limits; nothing was sent."""


class SubjectError(InstrumentError):
    """The (simulated) subject link refused a request: unknown subject, site or nerve."""
