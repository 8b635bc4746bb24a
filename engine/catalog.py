"""The protocol library: which protocol files exist, and finding one by id or path."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from engine.paths import protocols_dir
from engine.protocol import ProtocolError, load_protocol
from engine.yamlsource import Mark


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
