"""The myotome table and the sensory territories the localisation rules read.

Both are data (`data/anatomy/muscles.yaml`, `data/anatomy/sensory.yaml`); this module only
answers questions about them: which roots or plexus elements explain a set of abnormal
muscles, and which SNAPs belong to a root's dermatome or a plexus element's territory.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache

from engine.paths import data_dir
from engine.yamlsource import load_yaml_file


@dataclass(frozen=True)
class Muscle:
    id: str
    name: str
    limb: str
    nerve: str
    plexus: tuple[str, ...]
    roots: tuple[str, ...]
    tags: tuple[str, ...]

    @property
    def paraspinal(self) -> bool:
        return "paraspinal" in self.tags


@dataclass(frozen=True)
class Territory:
    roots: tuple[str, ...]
    plexus: tuple[str, ...]


@dataclass(frozen=True)
class Anatomy:
    version: str
    muscles: dict[str, Muscle]
    snaps: dict[str, Territory]  # "nerve recording" → territory

    def muscle(self, muscle_id: str) -> Muscle | None:
        return self.muscles.get(muscle_id)

    def snap(self, nerve: str, recording: str) -> Territory | None:
        return self.snaps.get(f"{nerve} {recording}")

    def explaining(self, muscles: Iterable[str], by: str) -> list[str]:
        """Roots (or plexus elements) that every one of these muscles shares."""
        common: set[str] | None = None
        for muscle_id in muscles:
            m = self.muscles.get(muscle_id)
            if m is None:
                return []
            values = set(m.roots if by == "root" else m.plexus)
            common = values if common is None else common & values
        return sorted(common or ())


@cache
def load_anatomy() -> Anatomy:
    base = data_dir() / "anatomy"
    table = load_yaml_file(base / "muscles.yaml")
    muscles = {
        key: Muscle(key, str(v.get("name", key)), str(v.get("limb", "")),
                    str(v.get("nerve", "")), tuple(v.get("plexus") or ()),
                    tuple(v.get("roots") or ()), tuple(v.get("tags") or ()))
        for key, v in dict(table["muscles"]).items()}
    sensory = load_yaml_file(base / "sensory.yaml")
    snaps = {key: Territory(tuple(v.get("roots") or ()), tuple(v.get("plexus") or ()))
             for key, v in dict(sensory["snaps"]).items()}
    return Anatomy(str(table.get("version", "")), muscles, snaps)
