"""From the criteria that fired to a localisation, nature, severity, chronicity and a
plain-language impression. The wording lives here; every judgement it reports was made by
a rule in `data/criteria/`, so the text never says more than the rules found."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from engine.interpret.criteria import Fired

CONFIRM = "Requires confirmation by the reader."
NMJ_EXAMPLE = {"postsynaptic": "as in myasthenia gravis",
               "presynaptic": "as in Lambert-Eaton myasthenic syndrome"}


@dataclass(frozen=True)
class Findings:
    level: str  # root, plexus, nerve, nmj, muscle, polyneuropathy, none
    site: str  # "C6", "lower trunk", "median at the wrist", "length-dependent", ...
    nature: str  # axonal, demyelinating, mixed, myopathic, postsynaptic, presynaptic, none
    block: bool
    severity: str
    chronicity: str
    grades: tuple[str, ...] = ()
    category: str = ""
    caveats: tuple[str, ...] = ()
    supporting: tuple[str, ...] = field(default_factory=tuple)

    def as_dict(self) -> dict[str, Any]:
        return {"level": self.level, "site": self.site, "nature": self.nature,
                "block": self.block, "severity": self.severity, "chronicity": self.chronicity,
                "grades": list(self.grades), "category": self.category,
                "caveats": list(self.caveats)}


def summarise(fired: list[Fired]) -> Findings:
    """Pick the localisation of the highest-priority confirmed rule; gather the rest."""
    confirmed = [f for f in fired if not f.unconfirmed and not f.muscle]
    located = [f for f in confirmed if f.conclude.get("localisation")]
    caveats = tuple(str(f.conclude["caveat"]) for f in confirmed if f.conclude.get("caveat"))
    def graded(pool: list[Fired]) -> tuple[str, ...]:
        return tuple(str(f.conclude["grade"]) + (" [unconfirmed]" if f.unconfirmed else "")
                     for f in pool if f.conclude.get("grade") and not f.muscle)

    chronicity = next((str(f.conclude["chronicity"]) for f in confirmed
                       if f.conclude.get("chronicity")), "")
    if not located:
        return Findings("none", "", "none", False, "", "", (), "", caveats)
    top = max(located, key=lambda f: float(f.conclude.get("priority", 0)))
    level = str(top.conclude["localisation"])
    same = [f for f in confirmed if f.set_id == top.set_id
            or f.conclude.get("localisation") == level]
    natures = {str(f.conclude["nature"]) for f in same if f.conclude.get("nature")}
    nature = "mixed" if {"axonal", "demyelinating"} <= natures else (
        str(top.conclude.get("nature", "")) or next(iter(natures), ""))
    block = any(bool(f.conclude.get("block")) for f in same)
    severity = next((str(f.conclude["severity"]) for f in reversed(same)
                     if f.conclude.get("severity")), "")
    category = next((str(f.conclude["category"]) for f in same if f.conclude.get("category")), "")
    grades = graded([f for f in fired if f.set_id == top.set_id])  # a grade of this lesion only
    if level in ("nmj", "muscle", "none"):
        chronicity = ""
    shaky = [f.rule_id for f in same if f.limits_unconfirmed]
    if shaky:
        caveats += ("resting on reference limits marked unconfirmed: " + ", ".join(shaky),)
    return Findings(level, _site(top), nature, block, severity, chronicity, grades, category,
                    caveats, tuple(f.rule_id for f in same))


def _site(top: Fired) -> str:
    nerve = str(top.conclude.get("nerve", ""))
    segment = str(top.conclude.get("segment", ""))
    return f"{nerve} at the {segment}" if nerve and segment else (segment or nerve)


def impression_text(findings: Findings, fired: list[Fired], abnormal_values: int = 0) -> str:
    """A few plain sentences a reader can accept, edit or reject."""
    f = findings
    nature = {"mixed": "mixed axonal and demyelinating", "none": ""}.get(f.nature, f.nature)
    block = ", with conduction block" if f.block else ""
    if f.level == "none":
        text = ("No abnormality meeting the criteria in data/criteria was found in the nerves "
                "and muscles studied." if not abnormal_values else
                f"No localising criterion is met; {abnormal_values} value"
                f"{'s are' if abnormal_values > 1 else ' is'} outside the reference limits "
                "(see the flags).")
    elif f.level == "nerve":
        text = f"Focal {nature} {f.site.replace(' at the ', ' neuropathy at the ')}{block}."
    elif f.level == "root":
        text = f"{f.site} radiculopathy ({nature}{block})."
    elif f.level == "plexus":
        text = f"Plexopathy localising to the {f.site} ({nature})."
    elif f.level == "polyneuropathy":
        kind = "length-dependent axonal" if f.site == "length-dependent" else nature
        text = f"{kind.capitalize()} polyneuropathy{block}."
    elif f.level == "nmj":
        text = (f"{f.nature.capitalize()} disorder of neuromuscular transmission "
                f"({NMJ_EXAMPLE.get(f.nature, '')}).")
    else:
        text = "Myopathic motor unit potentials: the pattern of a myopathy."
    extra = [x for x in (f.category, f.severity and f"Severity: {f.severity}",
                         f.grades and "Grade: " + "; ".join(f.grades),
                         f.chronicity and f"Chronicity: {f.chronicity}") if x]
    if extra:
        text += " " + ". ".join(extra) + "."
    if f.caveats:
        text += " Caution: " + "; ".join(f.caveats) + "."
    rules = [x.rule_id + (" [unconfirmed]" if x.unconfirmed else "")
             + (" [limit unconfirmed]" if x.limits_unconfirmed else "")
             for x in fired if not x.muscle]
    if rules:
        text += " Criteria met: " + ", ".join(rules) + "."
    return f"{text} {CONFIRM}"
