"""Interpretation of a run: criteria as data, localisation, nature, impression.

`interpret(protocol, measurements, facts)` is a pure function of what the run measured; the
runner calls it before RunFinished and `edxbench interpret RUN` calls it again on a stored
run, so both give the same document.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from functools import cache
from typing import Any

from engine.interpret.anatomy import load_anatomy
from engine.interpret.criteria import (
    CriteriaError,
    RuleSet,
    criteria_dir,
    evaluate,
    load_rule_sets,
)
from engine.interpret.impression import CONFIRM, impression_text, summarise
from engine.interpret.observations import Observation, build_observations
from engine.protocol import Protocol
from engine.reference import ReferenceSet, load_references, reference_path
from engine.yamlsource import Mark

SCHEMA = "edxbench.interpretation/1"
__all__ = ["CONFIRM", "SCHEMA", "CriteriaError", "interpret", "rule_sets"]


@cache
def rule_sets() -> tuple[RuleSet, ...]:
    sets = load_rule_sets()
    seen: dict[str, str] = {}
    for rs in sets:
        for rule in rs.rules:
            if rule.id in seen:
                raise CriteriaError(rule.mark or Mark(str(criteria_dir()), 1, 1),
                                    f"rule id '{rule.id}' is also used in '{seen[rule.id]}'")
            seen[rule.id] = rs.id
    return sets


@cache
def _all_limits() -> ReferenceSet:
    folder = reference_path("x").parent
    return load_references(tuple(sorted(p.stem for p in folder.glob("*.yaml"))))


def with_limits(observations: list[Observation], age: float | None) -> list[Observation]:
    """Give values whose protocol named no reference table the limits of an entry whose
    technique matches (needle MUAP norms, the age-banded sural limits); entries that name
    a distance never match here, because the observation does not carry one."""
    table = _all_limits().with_age(age)
    out = []
    for o in observations:
        if o.lower is None and o.upper is None:
            entry = table.find(nerve="needle" if o.kind == "needle" else o.nerve,
                               recording=o.recording, quantity=o.name, site_role=o.role,
                               segment=o.site)
            if entry is not None and entry.unit == o.unit:
                o = replace(o, lower=entry.lower, upper=entry.upper,
                            reference_id=entry.id, unconfirmed_limit=entry.unconfirmed)
        out.append(o)
    return out


def interpret(protocol: Protocol, measurements: Iterable[Mapping[str, Any] | Any],
              facts: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The interpretation document of one run (JSON-able)."""
    facts = {k: v for k, v in dict(facts or {}).items() if v is not None}
    age = facts.get("age")
    observations = with_limits(build_observations(protocol, measurements),
                               float(age) if age is not None else None)
    sets = rule_sets()
    anatomy = load_anatomy()
    fired, muscles = evaluate(sets, observations, anatomy, facts)
    findings = summarise(fired)
    return {
        "schema": SCHEMA,
        "criteria": {rs.id: rs.version for rs in sets},
        "anatomy_version": anatomy.version,
        "facts": facts,
        "localisation": {"level": findings.level, "site": findings.site},
        **{k: v for k, v in findings.as_dict().items() if k not in ("level", "site")},
        "muscles": {m: sorted(f) for m, f in sorted(muscles.items())},
        "fired": [f.as_dict() for f in fired],
        "impression": impression_text(findings, fired,
                                      sum(o.outcome == "abnormal" for o in observations)),
    }
