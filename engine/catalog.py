"""The protocol library: which protocol files exist, finding one by id or path, and which
composite studies answer a presenting symptom (data/symptoms.yaml)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from engine.fields import FieldReader
from engine.paths import data_dir, protocols_dir
from engine.protocol import ProtocolError, load_protocol
from engine.yamlsource import Mark, load_yaml_file


@dataclass(frozen=True)
class ProtocolInfo:
    id: str
    title: str
    path: Path
    nerve: str
    study_kind: str


def list_protocols(directory: Path | None = None) -> list[ProtocolInfo]:
    """Every valid protocol in the library, by title (invalid files are left to `check`)."""
    found: list[ProtocolInfo] = []
    for path in sorted((directory or protocols_dir()).glob("*.yaml")):
        try:
            protocol = load_protocol(path)
        except ProtocolError:
            continue
        found.append(ProtocolInfo(protocol.id, protocol.title, path, protocol.nerve,
                                  protocol.study_kind))
    return sorted(found, key=lambda info: info.title)


def resolve_protocol(name: str, directory: Path | None = None) -> Path:
    """A path as given, or a protocol id / file stem from the library."""
    candidate = Path(name)
    if candidate.suffix in (".yaml", ".yml") or candidate.exists():
        if not candidate.exists():
            raise ProtocolError(Mark(str(candidate), 1, 1), "no such protocol file")
        return candidate
    library = directory or protocols_dir()
    for path in sorted(library.glob("*.yaml")):
        if path.stem == name or path.stem.replace("_", "-") == name:
            return path
    for info in list_protocols(library):
        if info.id == name:
            return info.path
    known = ", ".join(info.id for info in list_protocols(library)) or "none"
    raise ProtocolError(Mark(name, 1, 1), f"unknown protocol (known: {known})")


# ---- presenting symptoms → composite studies (data/symptoms.yaml) ----------------------


class UnknownSymptom(LookupError):
    """A symptom name that data/symptoms.yaml does not list."""


@dataclass(frozen=True)
class Suggestion:
    protocol: str  # protocol id in the library
    why: str
    citation: str


@dataclass(frozen=True)
class Symptom:
    id: str
    label: str
    suggestions: tuple[Suggestion, ...]


def load_symptoms(path: Path | None = None,
                  known_protocols: set[str] | None = None) -> tuple[Symptom, ...]:
    """The symptom table, validated: file:line:column errors, every protocol it names in
    the library (`known_protocols` saves reloading it when the caller has it already)."""
    source = path or data_dir() / "symptoms.yaml"
    doc = load_yaml_file(source)
    top = FieldReader(doc, "symptoms", Mark(str(source), 1, 1))
    top.integer("schema", required=True, minimum=1, maximum=1)
    top.identifier("id", required=True)
    top.raw("version", required=True)
    citations: dict[str, str] = {}
    sources = top.sub("sources", "sources", required=True)
    assert sources is not None
    for key in list(sources.mapping):
        entry = sources.sub(key, f"source '{key}'")
        assert entry is not None
        citations[key] = " ".join(str(entry.text("citation", required=True)).split())
        entry.choice("grade", ("primary", "secondary"), required=True)
        entry.finish()
    if known_protocols is None:
        known_protocols = {info.id for info in list_protocols()}
    symptoms: list[Symptom] = []
    entries = top.items("symptoms", required=True)
    for index, raw in enumerate(entries):
        r = FieldReader(raw, "symptom", entries.mark_of(index))
        symptom_id = str(r.identifier("id", required=True))
        r.what = f"symptom '{symptom_id}'"
        if any(s.id == symptom_id for s in symptoms):
            raise r.error("id", "is listed twice")
        label = str(r.text("label", required=True, max_length=60))
        suggestions: list[Suggestion] = []
        listed = r.items("suggest", required=True)
        if not listed:
            raise r.error("suggest", "must name at least one protocol")
        for number, item in enumerate(listed):
            s = FieldReader(item, f"{r.what}: suggestion", listed.mark_of(number))
            protocol = str(s.identifier("protocol", required=True))
            if protocol not in known_protocols:
                raise s.error("protocol", f"names {protocol!r}, which is not in the protocol "
                                          "library")
            key = str(s.identifier("source", required=True))
            if key not in citations:
                raise s.error("source", f"names unknown source {key!r}")
            suggestions.append(Suggestion(protocol, " ".join(str(s.text(
                "why", required=True)).split()), citations[key]))
            s.finish()
        symptoms.append(Symptom(symptom_id, label, tuple(suggestions)))
        r.finish()
    top.finish()
    return tuple(symptoms)


def find_symptom(name: str, symptoms: tuple[Symptom, ...]) -> Symptom:
    """By id or label, ignoring case, spaces and hyphens ("numb feet" = "numb-feet")."""
    wanted = _folded(name)
    for symptom in symptoms:
        if wanted in (_folded(symptom.id), _folded(symptom.label)):
            return symptom
    known = ", ".join(symptom.id for symptom in symptoms)
    raise UnknownSymptom(f"unknown symptom {name!r} (known: {known})")


def suggest(names: list[str], symptoms: tuple[Symptom, ...]
            ) -> list[tuple[str, list[tuple[Symptom, Suggestion]]]]:
    """Composite studies for these symptoms, the most often suggested first (ties keep the
    order of the data), each with the symptoms and reasons that led to it."""
    found: dict[str, list[tuple[Symptom, Suggestion]]] = {}
    for name in names:
        symptom = find_symptom(name, symptoms)
        for suggestion in symptom.suggestions:
            found.setdefault(suggestion.protocol, []).append((symptom, suggestion))
    order = list(found)
    return sorted(found.items(), key=lambda kv: (-len(kv[1]), order.index(kv[0])))


def _folded(text: str) -> str:
    return "".join(ch for ch in text.lower() if ch.isalnum())
