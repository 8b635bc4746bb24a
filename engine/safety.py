"""Contraindications: the checklist, and which steps its answers gate or warn about.

The rules are data (`data/safety/contraindications.yaml`, each citing its source) over
anatomy data (`data/anatomy/`). `decide()` is a pure function of a step and the checklist
answers, so one property test can cover every protocol and every combination of answers;
the runner calls nothing else before it lets a step near the subject.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Literal

from engine.fields import FieldReader
from engine.paths import data_dir
from engine.prompts import Prompt
from engine.yamlsource import Mark, SourceError, load_yaml_file

Action = Literal["gate", "warn"]
OVERRIDE_WORD = "OVERRIDE"


@dataclass(frozen=True)
class ChecklistItem:
    id: str
    question: str
    kind: str  # confirm | choice | text | number
    subject_field: str = ""
    unit: str = ""
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] = ()

    def prompt(self, default: Any) -> Prompt:
        return Prompt(id=f"checklist.{self.id}", kind=self.kind,  # type: ignore[arg-type]
                      text=self.question, unit=self.unit, minimum=self.minimum,
                      maximum=self.maximum, default=default, choices=self.choices)


@dataclass(frozen=True)
class Rule:
    id: str
    item: str
    test: str  # equals | contains | below | between
    operand: Any
    step_kind: str
    muscle_tag: str = ""
    site_tag: str = ""
    action: Action = "gate"
    reason: str = ""
    citation: str = ""


@dataclass(frozen=True)
class SafetyData:
    version: str
    items: tuple[ChecklistItem, ...]
    rules: tuple[Rule, ...]
    site_tags: dict[str, tuple[str, ...]]
    site_region: dict[str, str]
    muscle_tags: dict[str, tuple[str, ...]]
    muscle_limb: dict[str, str]


@dataclass(frozen=True)
class StepTarget:
    """What a step touches: the facts the rules read."""

    kind: str  # stimulate | needle
    site: str = ""
    muscle: str = ""


@dataclass(frozen=True)
class Hit:
    rule_id: str
    action: Action
    reason: str
    citation: str


@dataclass
class SafetyState:
    """Checklist answers of this run (empty until the checklist step has run)."""

    answers: dict[str, Any] = field(default_factory=dict)
    side: str = ""

    @property
    def complete(self) -> bool:
        return bool(self.answers)


def decide(target: StepTarget, state: SafetyState, data: SafetyData) -> list[Hit]:
    """Every rule that fires for this step under these answers (gates first)."""
    limb = _limb_of(target, data)
    step_limb = f"{state.side} {limb}".strip() if limb in ("arm", "leg") else ""
    hits: list[Hit] = []
    for rule in data.rules:
        if rule.step_kind != target.kind:
            continue
        if rule.muscle_tag and rule.muscle_tag not in data.muscle_tags.get(target.muscle, ()):
            continue
        if rule.site_tag and rule.site_tag not in data.site_tags.get(target.site, ()):
            continue
        if _fires(rule, state.answers.get(rule.item), target, step_limb):
            hits.append(Hit(rule.id, rule.action, rule.reason, rule.citation))
    return sorted(hits, key=lambda hit: hit.action != "gate")


def _limb_of(target: StepTarget, data: SafetyData) -> str:
    if target.muscle:
        return data.muscle_limb.get(target.muscle, "")
    return data.site_region.get(target.site, "")


def _fires(rule: Rule, answer: Any, target: StepTarget, step_limb: str) -> bool:
    if answer is None:
        return False
    operand = rule.operand
    if operand == "step_muscle":
        operand = target.muscle
    elif operand == "step_limb":
        operand = step_limb
    if rule.test == "equals":
        return bool(operand) and answer == operand
    if rule.test == "contains":
        listed = answer if isinstance(answer, list | tuple) else str(answer).split(",")
        return bool(operand) and operand.lower() in {str(x).strip().lower() for x in listed}
    if rule.test == "below":
        return float(answer) < float(operand)
    if rule.test == "between":
        low, high = operand
        return float(low) <= float(answer) <= float(high)
    return False


def is_override(value: Any) -> tuple[bool, str]:
    """An override is the word OVERRIDE followed by a reason; anything else skips."""
    text = str(value or "").strip()
    if not text.upper().startswith(OVERRIDE_WORD):
        return False, ""
    reason = text[len(OVERRIDE_WORD):].strip(" :-")
    return bool(reason), reason


def override_prompt(step_id: str, title: str, hits: list[Hit]) -> Prompt:
    reasons = "; ".join(hit.reason for hit in hits if hit.action == "gate")
    return Prompt(
        id=f"{step_id}.override", kind="text", default="",
        text=(f"'{title}' is contraindicated ({reasons}). It will be skipped. To run it "
              f"anyway, type {OVERRIDE_WORD} followed by the clinical reason."))


@cache
def load_safety(directory: Path | None = None) -> SafetyData:
    base = directory or data_dir()
    return _parse(base / "safety" / "contraindications.yaml",
                  base / "anatomy" / "sites.yaml", base / "anatomy" / "muscles.yaml")


def _parse(rules_path: Path, sites_path: Path, muscles_path: Path) -> SafetyData:
    doc = load_yaml_file(rules_path)
    top = FieldReader(doc, "contraindications", Mark(str(rules_path), 1, 1))
    top.integer("schema", required=True, minimum=1, maximum=1)
    top.identifier("id", required=True)
    version = str(top.raw("version", required=True))
    citations: dict[str, str] = {}
    sources = top.sub("sources", "sources", required=True)
    assert sources is not None
    for key in list(sources.mapping):
        src = sources.sub(key, f"source '{key}'")
        assert src is not None
        citations[key] = " ".join(str(src.text("citation", required=True)).split())
        src.choice("grade", ("primary", "secondary"), required=True)
        src.finish()
    items: list[ChecklistItem] = []
    for index, raw in enumerate(entries := top.items("items", required=True)):
        r = FieldReader(raw, "checklist item", entries.mark_of(index))
        items.append(ChecklistItem(
            id=str(r.identifier("id", required=True)),
            question=str(r.text("question", required=True)),
            kind=str(r.choice("kind", ("confirm", "choice", "text", "number"), required=True)),
            subject_field=str(r.identifier("subject_field", "") or ""),
            unit=str(r.text("unit", "") or ""), minimum=r.number("min"), maximum=r.number("max"),
            choices=tuple(str(c) for c in r.items("choices")),
        ))
        r.finish()
    known_items = {item.id for item in items}
    rules: list[Rule] = []
    for index, raw in enumerate(entries := top.items("rules", required=True)):
        r = FieldReader(raw, "rule", entries.mark_of(index))
        rule_id = str(r.identifier("id", required=True))
        when = r.sub("when", "when", required=True)
        applies = r.sub("applies_to", "applies_to", required=True)
        assert when is not None and applies is not None
        item = str(when.identifier("item", required=True))
        if item not in known_items:
            raise when.error("item", f"names unknown checklist item {item!r}")
        tests = [t for t in ("equals", "contains", "below", "between") if t in when.mapping]
        if len(tests) != 1:
            raise SourceError(when.mark, f"rule '{rule_id}': when needs exactly one of equals, "
                                         "contains, below, between")
        operand = when.raw(tests[0])
        when.finish()
        source = str(r.text("source", required=True))
        if source not in citations:
            raise r.error("source", f"names unknown source {source!r}")
        rules.append(Rule(
            id=rule_id, item=item, test=tests[0], operand=operand,
            step_kind=str(applies.choice("kind", ("stimulate", "needle"), required=True)),
            muscle_tag=str(applies.identifier("muscle_tag", "") or ""),
            site_tag=str(applies.identifier("site_tag", "") or ""),
            action=r.choice("action", ("gate", "warn"), required=True),  # type: ignore[arg-type]
            reason=str(r.text("reason", required=True)), citation=citations[source],
        ))
        applies.finish()
        r.finish()
    top.finish()
    sites = load_yaml_file(sites_path)["sites"]
    muscles = load_yaml_file(muscles_path)["muscles"]
    return SafetyData(
        version=version, items=tuple(items), rules=tuple(rules),
        site_tags={k: tuple(v.get("tags", ())) for k, v in sites.items()},
        site_region={k: str(v.get("region", "")) for k, v in sites.items()},
        muscle_tags={k: tuple(v.get("tags", ())) for k, v in muscles.items()},
        muscle_limb={k: str(v.get("limb", "")) for k, v in muscles.items()},
    )
