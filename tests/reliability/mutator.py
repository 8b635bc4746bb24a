"""A seeded mutator of YAML and TOML documents: hostile input made from valid input.

Each mutation returns (name, text). Structural mutations parse the valid file, break one
thing (a deleted key, a wrong type, a number with a unit, an unknown kind) and write it
back; textual ones attack the parser (random YAML, truncation, tags that would execute
code, alias bombs, deep nesting, huge and non-UTF-8 files).
"""

from __future__ import annotations

import copy
import random
from collections.abc import Callable
from typing import Any

import yaml

EXPENSIVE = ("alias_bomb", "huge", "deep_nesting")
PWNED = "EDXBENCH_PWNED"  # a file a successful code-executing tag would create
WRONG_VALUES: tuple[Any, ...] = (None, True, False, "text", "", 0, -1, -1.5, 3, 1e308,
                                 [], {}, [1, 2], {"a": 1}, "1e999", ".nan", "∞", "\x00")
UNITS = ("mA", "ms", " ms", " µV", "mV", " Hz", " m/s", "%", "V")
YAML_TOKENS = ("- ", ": ", "? ", "[", "]", "{", "}", ",", "&a ", "*a", "!!str ", "|", ">",
               "'", '"', "#", "\n", "\n  ", "\t", "%YAML 1.1\n", "---\n", "...\n", "key",
               "id", "steps", "kind", "1", "-2.5", "null", "~", "yes", "@", "`", "!", "\\")


def _containers(node: Any, out: list[Any]) -> list[Any]:
    if isinstance(node, dict):
        out.append(node)
        for value in node.values():
            _containers(value, out)
    elif isinstance(node, list):
        out.append(node)
        for value in node:
            _containers(value, out)
    return out


def _slots(doc: Any) -> list[tuple[Any, Any]]:
    """(container, key-or-index) for every value in the document."""
    slots: list[tuple[Any, Any]] = []
    for c in _containers(doc, []):
        keys = list(c.keys()) if isinstance(c, dict) else list(range(len(c)))
        slots.extend((c, k) for k in keys)
    return slots


def _dump(doc: Any) -> str:
    return yaml.safe_dump(doc, sort_keys=False, allow_unicode=True)


class Mutator:
    """`mutate(valid_text)` → (mutation name, hostile text or bytes)."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.structural: dict[str, Callable[[Any], bool]] = {
            "delete_key": self._delete_key,
            "wrong_type": self._wrong_type,
            "wrong_unit": self._wrong_unit,
            "out_of_range": self._out_of_range,
            "unknown_kind": self._unknown_kind,
            "unknown_key": self._unknown_key,
            "duplicate_step": self._duplicate_step,
        }
        self.textual: dict[str, Callable[[str], str | bytes]] = {
            "random_yaml": self._random_yaml,
            "truncated": self._truncated,
            "byte_noise": self._byte_noise,
            "python_tag": self._python_tag,
            "alias_bomb": self._alias_bomb,
            "deep_nesting": self._deep_nesting,
            "huge": self._huge,
            "not_utf8": self._not_utf8,
            "empty": lambda text: self.rng.choice(("", "\n", "# only a comment\n", "---\n")),
        }

    def mutate(self, text: str) -> tuple[str, str | bytes]:
        rng = self.rng
        if rng.random() < 0.6:
            name = rng.choice(sorted(self.structural))
            doc = yaml.safe_load(text)
            for _ in range(1 + (rng.random() < 0.3)):  # sometimes two faults in one file
                self.structural[name](doc)
            return name, _dump(doc)
        names = sorted(self.textual)
        # the parser-budget attacks cost ~0.5 s each: rarer, still hundreds in full mode
        weights = [0.3 if n in EXPENSIVE else 1.0 for n in names]
        name = rng.choices(names, weights)[0]
        return name, self.textual[name](text)

    # --- structural --------------------------------------------------------------------
    def _pick(self, doc: Any, want: Callable[[Any], bool]) -> tuple[Any, Any] | None:
        slots = [(c, k) for c, k in _slots(doc) if want(c[k])]
        return self.rng.choice(slots) if slots else None

    def _delete_key(self, doc: Any) -> bool:
        dicts = [c for c in _containers(doc, []) if isinstance(c, dict) and c]
        if not dicts:
            return False
        victim = self.rng.choice(dicts)
        del victim[self.rng.choice(list(victim))]
        return True

    def _wrong_type(self, doc: Any) -> bool:
        slot = self._pick(doc, lambda v: True)
        if slot:
            # a fresh copy: a shared {} or [] mutated later could come to contain itself
            slot[0][slot[1]] = copy.deepcopy(self.rng.choice(WRONG_VALUES))
        return bool(slot)

    def _wrong_unit(self, doc: Any) -> bool:
        slot = self._pick(doc, lambda v: isinstance(v, int | float) and not isinstance(v, bool))
        if slot:
            slot[0][slot[1]] = f"{slot[0][slot[1]]}{self.rng.choice(UNITS)}"
        return bool(slot)

    def _out_of_range(self, doc: Any) -> bool:
        slot = self._pick(doc, lambda v: isinstance(v, int | float) and not isinstance(v, bool))
        if slot:
            slot[0][slot[1]] = slot[0][slot[1]] * self.rng.choice((-1, 0, 1e9, 1e-9, -1e9))
        return bool(slot)

    def _unknown_kind(self, doc: Any) -> bool:
        slot = self._pick(doc, lambda v: isinstance(v, dict) and "kind" in v)
        if slot:
            slot[0][slot[1]]["kind"] = self.rng.choice(("stimulus", "shell", "python", "", "Stim"))
        return bool(slot)

    def _unknown_key(self, doc: Any) -> bool:
        dicts = [c for c in _containers(doc, []) if isinstance(c, dict)]
        if dicts:
            self.rng.choice(dicts)[self.rng.choice(("extra", "Current_mA", "exec", "id "))] = 1
        return bool(dicts)

    def _duplicate_step(self, doc: Any) -> bool:
        lists = [c for c in _containers(doc, []) if isinstance(c, list) and c]
        if lists:
            target = self.rng.choice(lists)
            target.insert(self.rng.randrange(len(target) + 1), self.rng.choice(target))
        return bool(lists)

    # --- textual -----------------------------------------------------------------------
    def _random_yaml(self, text: str) -> str:
        return "".join(self.rng.choice(YAML_TOKENS) for _ in range(self.rng.randint(1, 200)))

    def _truncated(self, text: str) -> str:
        return text[: self.rng.randrange(max(1, len(text)))]

    def _byte_noise(self, text: str) -> str:
        chars = list(text)
        for _ in range(self.rng.randint(1, 20)):
            chars[self.rng.randrange(len(chars))] = chr(self.rng.choice(
                (*range(0x20, 0x7F), 0x09, 0x0A, 0x85, 0xA0, 0x2028, 0xFEFF)))
        return "".join(chars)

    def _python_tag(self, text: str) -> str:
        tag = self.rng.choice((
            f'!!python/object/apply:os.system ["touch {PWNED}"]',
            f'!!python/object/apply:subprocess.call [["touch", "{PWNED}"]]',
            "!!python/name:os.system",
            "!!python/object:builtins.object {}",
            "!!binary aGVsbG8=",
            "!!set {a, b}",
            "!custom 1",
        ))
        lines = text.splitlines()
        keyed = [i for i, line in enumerate(lines)
                 if ": " in line and not line.rstrip().endswith(":")]
        if not keyed:
            return f"x: {tag}\n"
        i = self.rng.choice(keyed)
        head = lines[i].split(": ", 1)[0]
        lines[i] = f"{head}: {tag}"
        return "\n".join(lines) + "\n"

    def _alias_bomb(self, text: str) -> str:
        width = self.rng.randint(5, 12)
        levels = self.rng.randint(5, 12)
        out = [f"a0: &a0 [{', '.join(['lol'] * width)}]"]
        for i in range(1, levels):
            out.append(f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * width)}]")
        out.append(f"steps: *a{levels - 1}")
        return "\n".join(out) + "\n"

    def _deep_nesting(self, text: str) -> str:
        depth = self.rng.choice((100, 1000, 20_000))
        if self.rng.random() < 0.5:
            return "steps: " + "[" * depth + "]" * depth + "\n"
        return "".join(" " * i + f"k{i}:\n" for i in range(min(depth, 800))) + " " * 800 + "v\n"

    def _huge(self, text: str) -> str:
        if self.rng.random() < 0.5:
            return text + "# " + "x" * 2_100_000 + "\n"  # beyond the size limit
        return text + "extra_list:\n" + "".join(f"  - {i}\n" for i in range(20_000))

    def _not_utf8(self, text: str) -> bytes:
        raw = bytearray(text.encode("utf-8"))
        for _ in range(self.rng.randint(1, 5)):
            raw.insert(self.rng.randrange(len(raw) + 1), self.rng.choice((0xFF, 0xC3, 0x80, 0xFE)))
        return bytes(raw)
