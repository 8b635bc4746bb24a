"""Lesion presets: named, cited edits that compose onto a normal virtual subject.

A subject file may say `base: normal-adult` (start from that subject's values) and
`presets: [carpal-tunnel-moderate, ...]` (apply these files from
`data/subjects/presets/`, in order). A preset is data: a list of changes, each
addressing part of the subject with a dotted path and setting, scaling or adding to
its values. Path segments may be `*` (every key) or `a|b` (alternatives); a list of
named entries (the `sites` of a recording) is addressed by entry name. `where`
keeps only entries whose field equals (or, for lists, contains) the given value.
Keys of `set`/`scale`/`add` may be dotted (`muap.amplitude_uV`) to reach nested
fields; a change that applies nowhere is an error, so typos do not pass silently.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

from instruments.sim.spec_reader import SubjectFormatError

OPERATIONS = ("set", "scale", "add")
DEFAULTS = {"kind": "motor"}  # fields that are optional in subject files


def load_yaml(path: Path) -> Any:
    try:
        return _unshare(yaml.safe_load(path.read_text(encoding="utf-8")))
    except yaml.YAMLError as exc:
        raise SubjectFormatError(f"{path}: not valid YAML: {exc}") from exc


def _unshare(node: Any) -> Any:
    """Fresh containers everywhere: YAML anchors alias one object, and presets edit in place."""
    if isinstance(node, dict):
        return {k: _unshare(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_unshare(v) for v in node]
    return node


def merge(base: Any, over: Any) -> Any:
    """Mappings merge key by key; anything else in `over` replaces `base`."""
    if isinstance(base, dict) and isinstance(over, dict):
        out = dict(base)
        for key, value in over.items():
            out[key] = merge(base[key], value) if key in base else copy.deepcopy(value)
        return out
    return copy.deepcopy(over)


def resolve(raw: Any, path: Path, seen: tuple[Path, ...] = ()) -> Any:
    """The subject with its `base` merged under it and its `presets` applied."""
    if not isinstance(raw, dict):
        return raw
    if path in seen:
        raise SubjectFormatError(f"{path}: base: circular ({' → '.join(p.stem for p in seen)})")
    out = dict(raw)
    base_id = out.pop("base", None)
    presets = out.pop("presets", []) or []
    if base_id is not None:
        base_path = path.parent / f"{base_id}.yaml"
        if not base_path.is_file():
            raise SubjectFormatError(f"{path}: base: no subject {base_id!r} in {path.parent}")
        base = resolve(load_yaml(base_path), base_path, (*seen, path))
        base.pop("applied_presets", None)
        out = merge(base, out)
    if not isinstance(presets, list) or not all(isinstance(p, str) for p in presets):
        raise SubjectFormatError(f"{path}: presets: must be a list of preset names")
    preset_dir = path.parent / "presets"
    for name in presets:
        preset_path = preset_dir / f"{name}.yaml"
        if not preset_path.is_file():
            known = ", ".join(available_presets(preset_dir)) or "none"
            raise SubjectFormatError(f"{path}: presets: unknown preset {name!r}; known: {known}")
        apply_preset(out, preset_path)
    out["applied_presets"] = list(presets)
    return out


def available_presets(preset_dir: Path) -> list[str]:
    return sorted(p.stem for p in preset_dir.glob("*.yaml"))


def apply_preset(subject: dict[str, Any], preset_path: Path) -> None:
    preset = load_yaml(preset_path)
    if not isinstance(preset, dict) or not isinstance(preset.get("changes"), list):
        raise SubjectFormatError(f"{preset_path}: changes: must be a list")
    for i, change in enumerate(preset["changes"]):
        where = f"{preset_path}: changes[{i}]"
        if not isinstance(change, dict) or not isinstance(change.get("at"), str):
            raise SubjectFormatError(f"{where}.at: must be a dotted path")
        targets = _select(subject, change["at"].split("."))
        flt = change.get("where") or {}
        targets = [t for t in targets if _keeps(t, flt)]
        if not targets:
            raise SubjectFormatError(f"{where}: {change['at']} matches nothing in the subject")
        for op in OPERATIONS:
            for key, value in (change.get(op) or {}).items():
                applied = sum(_apply(t, op, key, value, where) for t in targets)
                if not applied:
                    raise SubjectFormatError(f"{where}.{op}.{key}: no such field at {change['at']}")


def _keeps(node: dict[str, Any], flt: dict[str, Any]) -> bool:
    for key, want in flt.items():
        have = node.get(key, DEFAULTS.get(key))
        if isinstance(have, list):
            if want not in have:
                return False
        elif have != want:
            return False
    return True


def _select(node: Any, parts: list[str]) -> list[dict[str, Any]]:
    if not parts:
        return [node] if isinstance(node, dict) else []
    head, rest = parts[0], parts[1:]
    if isinstance(node, list):
        named = {str(x.get("name", "")).lower(): x for x in node if isinstance(x, dict)}
        children = list(named.values()) if head == "*" else [
            named[n.lower()] for n in head.split("|") if n.lower() in named]
    elif isinstance(node, dict):
        if head == "*":
            children = list(node.values())
        else:
            children = [node[n] for n in head.split("|") if n in node]
    else:
        return []
    out: list[dict[str, Any]] = []
    for child in children:
        out.extend(_select(child, rest))
    return out


def _apply(target: dict[str, Any], op: str, key: str, value: Any, where: str) -> bool:
    """Apply one operation; a dotted key reaches into nested mappings that exist."""
    *parents, key = key.split(".")
    for part in parents:
        target = target.get(part)  # type: ignore[assignment]
        if not isinstance(target, dict):
            return False
    if op == "set":
        target[key] = copy.deepcopy(value)
        return True
    if key not in target:
        return False
    current = target[key]
    if isinstance(current, bool) or not isinstance(current, int | float) or isinstance(
        value, bool) or not isinstance(value, int | float):
        raise SubjectFormatError(f"{where}.{op}.{key}: needs numbers, got {current!r}, {value!r}")
    result = current * value if op == "scale" else current + value
    target[key] = round(result, 6) if isinstance(result, float) else result
    return True
