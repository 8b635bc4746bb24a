"""Reference limits as versioned, cited data, and the flagging of measurements.

A limit applies only when the test's technique matches the entry (nerve, recording muscle,
site role or segment, quantity, and distance where the entry names one). A value with no
matching entry is reported unflagged, with a note saying why, rather than compared with a
limit that was made for another technique.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from pathlib import Path

from engine.events import Measurement, Outcome
from engine.fields import FieldReader
from engine.paths import data_dir
from engine.yamlsource import Mark, SourceError, load_yaml_file

DISTANCE_TOLERANCE_MM = 0.5


class ReferenceError(SourceError):
    """A reference file that cannot be used, located at file:line:column."""


@dataclass(frozen=True)
class ReferenceEntry:
    id: str
    nerve: str
    recording: str
    quantity: str
    unit: str
    site_role: str = ""
    segment: str = ""
    distance_mm: float | None = None
    lower: float | None = None
    upper: float | None = None
    citation: str = ""
    unconfirmed: bool = False
    abnormal_at_upper: bool = False  # "≥ upper is abnormal" (e.g. latency differences)
    age_min: float | None = None  # an age band: the entry applies only inside it
    age_max: float | None = None  # exclusive upper end of the band

    def fits_age(self, age: float | None) -> bool:
        if self.age_min is None and self.age_max is None:
            return True
        if age is None:
            return False  # an age-banded limit never applies to an unknown age
        return (self.age_min is None or age >= self.age_min) and (
            self.age_max is None or age < self.age_max)


@dataclass(frozen=True)
class ReferenceSet:
    id: str
    version: str
    title: str
    sha256: str
    entries: tuple[ReferenceEntry, ...]
    age: float | None = None  # the subject's age, for age-banded entries

    def with_age(self, age: float | None) -> ReferenceSet:
        """The same table judged for a subject of this age (None: age-banded entries off)."""
        return replace(self, age=float(age) if age is not None else None)

    def find(self, *, nerve: str, recording: str, quantity: str, site_role: str = "",
             segment: str = "", distance_mm: float | None = None) -> ReferenceEntry | None:
        for entry in self.entries:
            if (entry.nerve, entry.recording.lower(), entry.quantity) != (
                    nerve, recording.lower(), quantity):
                continue
            if entry.site_role and entry.site_role != site_role:
                continue
            if not entry.fits_age(self.age):
                continue
            if entry.segment and entry.segment != segment:
                continue
            if entry.distance_mm is not None and (
                    distance_mm is None
                    or abs(distance_mm - entry.distance_mm) > DISTANCE_TOLERANCE_MM):
                continue
            return entry
        return None


EMPTY_REFERENCE = ReferenceSet("", "", "no reference", "", ())


def reference_path(reference_id: str) -> Path:
    return data_dir() / "reference" / f"{reference_id}.yaml"


def load_reference(reference_id: str, path: Path | None = None) -> ReferenceSet:
    source = path or reference_path(reference_id)
    if not source.exists():
        raise ReferenceError(Mark(str(source), 1, 1), f"no reference table '{reference_id}'")
    try:
        document = load_yaml_file(source)
        return _parse(document, source)
    except ReferenceError:
        raise
    except SourceError as exc:
        raise ReferenceError(exc.mark, exc.message) from None


def _parse(document: object, source: Path) -> ReferenceSet:
    top = FieldReader(document, "reference", Mark(str(source), 1, 1))
    top.integer("schema", required=True, minimum=1, maximum=1)
    ref_id = str(top.identifier("id", required=True))
    version = str(top.raw("version", required=True))
    title = str(top.text("title", ""))
    sources_reader = top.sub("sources", "sources", required=True)
    assert sources_reader is not None
    citations: dict[str, str] = {}
    for key in list(sources_reader.mapping):
        src = sources_reader.sub(key, f"source '{key}'")
        assert src is not None
        citations[key] = " ".join(str(src.text("citation", required=True)).split())
        src.choice("grade", ("primary", "secondary"), required=True)
        src.finish()
    entries: list[ReferenceEntry] = []
    items = top.items("entries", required=True)
    for index, item in enumerate(items):
        r = FieldReader(item, "reference entry", items.mark_of(index))
        entry_id = str(r.identifier("id", required=True))
        r.what = f"reference entry '{entry_id}'"
        technique = r.sub("technique", "technique")
        distance = None
        if technique is not None:
            distance = technique.number("distance_mm", minimum=1, maximum=1000, unit="mm")
            technique.finish()
        source_key = str(r.text("source", required=True))
        if source_key not in citations:
            raise r.error("source", f"names unknown source {source_key!r}")
        age_min = age_max = None
        band = r.sub("age", "age band")
        if band is not None:
            age_min = band.number("min", minimum=0, maximum=130, unit="years")
            age_max = band.number("max", minimum=0, maximum=130, unit="years")
            band.finish()
        lower = r.number("lower")
        upper = r.number("upper")
        if lower is None and upper is None:
            raise ReferenceError(r.mark, f"{r.what}: needs 'lower' or 'upper'")
        entries.append(ReferenceEntry(
            id=entry_id, nerve=str(r.identifier("nerve", required=True)),
            recording=str(r.text("recording", required=True)),
            quantity=str(r.identifier("quantity", required=True)),
            unit=str(r.text("unit", required=True)),
            site_role=str(r.choice("site_role", ("distal", "proximal"), "") or ""),
            segment=str(r.identifier("segment", "") or ""),
            distance_mm=distance, lower=lower, upper=upper, citation=citations[source_key],
            unconfirmed=r.boolean("unconfirmed", False),
            abnormal_at_upper=r.boolean("abnormal_at_upper", False),
            age_min=age_min, age_max=age_max,
        ))
        r.finish()
    top.finish()
    digest = hashlib.sha256(source.read_bytes()).hexdigest()
    return ReferenceSet(ref_id, version, title, digest, tuple(entries))


def judge(value: float | None, entry: ReferenceEntry | None) -> Outcome:
    """normal / abnormal against an entry; unflagged without one or without a value."""
    if entry is None or value is None or entry.unconfirmed:
        return "unflagged"
    if entry.lower is not None and value < entry.lower:
        return "abnormal"
    if entry.upper is not None and (value > entry.upper or (
            entry.abnormal_at_upper and value >= entry.upper)):
        return "abnormal"
    return "normal"


def flagged(name: str, value: float | None, unit: str, site: str, entry: ReferenceEntry | None,
            *, trace_index: int | None = None, note: str = "") -> Measurement:
    """A Measurement with limits and outcome filled in from the matching entry."""
    if entry is not None and entry.unit != unit:
        note = (note + "; " if note else "") + f"reference unit {entry.unit} differs from {unit}"
        entry = None
    if entry is not None and entry.unconfirmed:
        note = (note + "; " if note else "") + "reference value unconfirmed: not flagged"
    return Measurement(
        name=name, value=value, unit=unit, site=site,
        lower=entry.lower if entry else None, upper=entry.upper if entry else None,
        outcome=judge(value, entry), reference_id=entry.id if entry else "",
        citation=entry.citation if entry else "", trace_index=trace_index, note=note,
    )


def load_references(reference_ids: tuple[str, ...]) -> ReferenceSet:
    """Several tables as one set (a composite study uses motor and sensory limits)."""
    if not reference_ids:
        return EMPTY_REFERENCE
    tables = [load_reference(ref) for ref in reference_ids]
    if len(tables) == 1:
        return tables[0]
    return ReferenceSet(
        id="+".join(t.id for t in tables), version="+".join(t.version for t in tables),
        title="; ".join(t.title for t in tables),
        sha256=hashlib.sha256("".join(t.sha256 for t in tables).encode()).hexdigest(),
        entries=tuple(e for t in tables for e in t.entries))
