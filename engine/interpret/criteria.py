"""Diagnostic criteria as data, and the one small evaluator that applies them.

Each file in `data/criteria/` is a rule set; each rule cites its source, names the
measurements it reads and the thresholds it applies (from the shared edx reference; a
number marked unconfirmed there is marked so here), and says what it concludes. Rules with
`scope: muscle` are applied to each needle-examined muscle and give that muscle a finding
(denervation, neurogenic, myopathic) that run-scope rules count or place in the myotome.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.fields import FieldReader
from engine.interpret.anatomy import Anatomy
from engine.interpret.observations import Observation
from engine.paths import data_dir
from engine.yamlsource import Mark, SourceError, load_yaml_file

CONDITION_KEYS = ("all", "any", "some", "not", "fired", "measure", "muscles", "myotome", "context")
SELECTOR_KEYS = ("kind", "nerve", "recording", "site", "name", "role")
OPS = {"<": float.__lt__, "<=": float.__le__, ">": float.__gt__, ">=": float.__ge__}
CONCLUDE_KEYS = ("finding", "localisation", "nerve", "segment", "nature", "block", "severity",
                 "chronicity", "grade", "category", "caveat", "priority")


class CriteriaError(SourceError):
    """A criteria file that cannot be used, located at file:line:column."""


@dataclass(frozen=True)
class Rule:
    id: str
    title: str
    set_id: str
    citation: str
    scope: str  # run | muscle
    when: Any
    conclude: dict[str, Any]
    unconfirmed: bool = False
    note: str = ""
    exclude_tags: tuple[str, ...] = ()
    mark: Mark | None = None


@dataclass(frozen=True)
class RuleSet:
    id: str
    version: str
    title: str
    sha256: str
    rules: tuple[Rule, ...]


@dataclass(frozen=True)
class Fired:
    """A rule that fired, with the values that made it fire."""

    rule_id: str
    title: str
    set_id: str
    citation: str
    evidence: tuple[str, ...]
    conclude: dict[str, Any]
    unconfirmed: bool = False  # the rule itself is unconfirmed: shown, never concluded from
    muscle: str = ""
    limits_unconfirmed: bool = False  # fired on a limit marked unconfirmed: concluded, marked

    def as_dict(self) -> dict[str, Any]:
        return {"rule": self.rule_id, "title": self.title, "set": self.set_id,
                "citation": self.citation, "evidence": list(self.evidence),
                "conclude": self.conclude, "unconfirmed": self.unconfirmed,
                "limits_unconfirmed": self.limits_unconfirmed, "muscle": self.muscle}


# ---- loading --------------------------------------------------------------------------
def criteria_dir() -> Path:
    return data_dir() / "criteria"


def load_rule_sets(directory: Path | None = None) -> tuple[RuleSet, ...]:
    folder = directory or criteria_dir()
    return tuple(load_rule_set(path) for path in sorted(folder.glob("*.yaml")))


def load_rule_set(path: Path) -> RuleSet:
    try:
        document = load_yaml_file(path)
        return _parse(document, path)
    except CriteriaError:
        raise
    except SourceError as exc:
        raise CriteriaError(exc.mark, exc.message) from None


def _parse(document: object, path: Path) -> RuleSet:
    top = FieldReader(document, "criteria", Mark(str(path), 1, 1))
    top.integer("schema", required=True, minimum=1, maximum=1)
    set_id = str(top.identifier("id", required=True))
    version = str(top.raw("version", required=True))
    title = str(top.text("title", ""))
    sources = top.sub("sources", "sources", required=True)
    assert sources is not None
    citations: dict[str, str] = {}
    for key in list(sources.mapping):
        src = sources.sub(key, f"source '{key}'")
        assert src is not None
        citations[key] = " ".join(str(src.text("citation", required=True)).split())
        src.choice("grade", ("primary", "secondary", "unconfirmed"), required=True)
        src.finish()
    rules: list[Rule] = []
    items = top.items("rules", required=True)
    for index, item in enumerate(items):
        r = FieldReader(item, "rule", items.mark_of(index))
        rule_id = str(r.identifier("id", required=True))
        r.what = f"rule '{rule_id}'"
        source = str(r.text("source", required=True))
        if source not in citations:
            raise r.error("source", f"names unknown source {source!r}")
        when = r.raw("when", required=True)
        _check_condition(when, r.mark, r.what)
        conclude = r.raw("conclude", {}) or {}
        if not isinstance(conclude, dict) or set(conclude) - set(CONCLUDE_KEYS):
            raise r.error("conclude", f"accepts only {', '.join(CONCLUDE_KEYS)}")
        rules.append(Rule(
            id=rule_id, title=str(r.text("title", required=True)), set_id=set_id,
            citation=citations[source], scope=str(r.choice("scope", ("run", "muscle"), "run")),
            when=when, conclude=dict(conclude), unconfirmed=r.boolean("unconfirmed", False),
            note=" ".join(str(r.text("note", "")).split()),
            exclude_tags=tuple(str(t) for t in r.items("exclude_tags")), mark=r.mark))
        r.finish()
    top.finish()
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    return RuleSet(set_id, version, title, digest, tuple(rules))


def _check_condition(cond: Any, mark: Mark, what: str) -> None:
    """Reject unknown condition words at load time, not halfway through a report."""
    where = getattr(cond, "mark", mark)
    if not isinstance(cond, dict) or (len(cond) != 1 and not (
            "measure" in cond or "muscles" in cond or "some" in cond or "context" in cond)):
        raise CriteriaError(where, f"{what}: a condition is a mapping with one of "
                                   f"{', '.join(CONDITION_KEYS)}")
    head = next((k for k in CONDITION_KEYS if k in cond), None)
    if head is None:
        raise CriteriaError(where, f"{what}: unknown condition {sorted(cond)}; expected one "
                                   f"of {', '.join(CONDITION_KEYS)}")
    if head in ("all", "any", "some"):
        for sub in cond[head]:
            _check_condition(sub, where, what)
    elif head == "not":
        _check_condition(cond["not"], where, what)
    elif head == "measure":
        extra = set(cond["measure"]) - set(SELECTOR_KEYS)
        if extra:
            raise CriteriaError(where, f"{what}: selector keys {sorted(extra)} unknown; "
                                       f"use {', '.join(SELECTOR_KEYS)}")
        test = cond.get("test", {})
        if test and "absent" not in test and test.get("op") not in OPS:
            raise CriteriaError(where, f"{what}: test op must be one of {', '.join(OPS)}")


# ---- evaluation -----------------------------------------------------------------------
@dataclass
class Context:
    observations: list[Observation]
    anatomy: Anatomy
    rules: dict[str, Rule]
    muscle_findings: dict[str, set[str]] = field(default_factory=dict)
    fired: dict[str, Fired | None] = field(default_factory=dict)
    muscle: str = ""  # set while a muscle-scope rule is applied
    facts: dict[str, Any] = field(default_factory=dict)  # age, limb temperature, ...


@dataclass
class Result:
    ok: bool
    evidence: list[str] = field(default_factory=list)
    bind: dict[str, str] = field(default_factory=dict)
    unconfirmed: bool = False


def evaluate(rule_sets: Iterable[RuleSet], observations: list[Observation],
             anatomy: Anatomy, facts: dict[str, Any] | None = None
             ) -> tuple[list[Fired], dict[str, set[str]]]:
    """All rules over one run: muscle-scope first, then run-scope in file order."""
    rules = [rule for rs in rule_sets for rule in rs.rules]
    ctx = Context(observations, anatomy, {r.id: r for r in rules if r.scope == "run"},
                  facts=dict(facts or {}))
    fired: list[Fired] = []
    muscles = sorted({o.recording for o in observations if o.kind == "needle"})
    for rule in (r for r in rules if r.scope == "muscle"):
        for muscle in muscles:
            info = anatomy.muscle(muscle)
            if info is not None and set(info.tags) & set(rule.exclude_tags):
                continue
            ctx.muscle = muscle
            result = _cond(rule.when, ctx)
            if result.ok:
                finding = str(rule.conclude.get("finding", rule.id))
                ctx.muscle_findings.setdefault(muscle, set()).add(finding)
                fired.append(Fired(rule.id, rule.title, rule.set_id, rule.citation,
                                   tuple(result.evidence), dict(rule.conclude),
                                   rule.unconfirmed, muscle, result.unconfirmed))
    ctx.muscle = ""
    for rule in ctx.rules.values():
        hit = _fire(rule.id, ctx)
        if hit is not None:
            fired.append(hit)
    return fired, ctx.muscle_findings


def _fire(rule_id: str, ctx: Context) -> Fired | None:
    if rule_id in ctx.fired:
        return ctx.fired[rule_id]
    ctx.fired[rule_id] = None  # a rule that refers to itself does not fire
    rule = ctx.rules[rule_id]
    result = _cond(rule.when, ctx)
    hit = None
    if result.ok:
        conclude = {k: (v.format(**result.bind) if isinstance(v, str) else v)
                    for k, v in rule.conclude.items()}
        hit = Fired(rule.id, rule.title, rule.set_id, rule.citation, tuple(result.evidence),
                    conclude, rule.unconfirmed, limits_unconfirmed=result.unconfirmed)
    ctx.fired[rule_id] = hit
    return hit


def _cond(cond: dict[str, Any], ctx: Context) -> Result:
    if "all" in cond:
        out = Result(True)
        for sub in cond["all"]:
            r = _cond(sub, ctx)
            if not r.ok:
                return Result(False)
            out.evidence += r.evidence
            out.bind.update(r.bind)
            out.unconfirmed |= r.unconfirmed
        return out
    if "any" in cond:
        out = Result(False)
        for sub in cond["any"]:
            r = _cond(sub, ctx)
            if r.ok:
                out.ok = True
                out.evidence += r.evidence
                out.bind = {**r.bind, **out.bind}
                out.unconfirmed |= r.unconfirmed
        return out
    if "some" in cond:  # at least `min` of the listed conditions
        parts = [r for r in (_cond(sub, ctx) for sub in cond["some"]) if r.ok]
        if len(parts) < int(cond.get("min", 1)):
            return Result(False)
        return Result(True, [e for r in parts for e in r.evidence], {},
                      any(r.unconfirmed for r in parts))
    if "not" in cond:
        return Result(not _cond(cond["not"], ctx).ok)
    if "fired" in cond:
        target = str(cond["fired"])
        if target not in ctx.rules:
            return Result(False)
        hit = _fire(target, ctx)
        return Result(hit is not None, [f"{target} fired"] if hit else [], {},
                      bool(hit and hit.limits_unconfirmed))
    if "measure" in cond:
        return _measure(cond, ctx)
    if "muscles" in cond:
        return _muscles(cond, ctx)
    if "context" in cond:
        key = str(cond["context"])
        value = ctx.facts.get(key)
        test = dict(cond.get("test") or {})
        if value is None or not test:
            return Result(False)
        threshold = float(test["value"])
        ok = OPS[str(test["op"])](float(value), threshold)
        return Result(ok, [f"{key} = {float(value):g} ({test['op']} {threshold:g})"] if ok else [])
    return _myotome(cond["myotome"], ctx)


def _matches(o: Observation, selector: dict[str, Any], ctx: Context) -> bool:
    if ctx.muscle and (o.kind != "needle" or o.recording != ctx.muscle):
        return False
    for key in SELECTOR_KEYS:
        wanted = selector.get(key)
        if wanted is None:
            continue
        options = wanted if isinstance(wanted, list) else [wanted]
        if str(getattr(o, key)) not in [str(w) for w in options]:
            return False
    return True


def _passes(o: Observation, test: dict[str, Any]) -> tuple[bool, str, bool]:
    """(passes, evidence text, rests on an unconfirmed limit)."""
    unit = f" {o.unit}" if o.unit else ""
    if test.get("absent"):  # with `limit`: only where a positive limit says absence matters
        limit = o.lower if test.get("limit") == "lower" else o.upper
        ok = o.value is None and ("limit" not in test or (limit is not None and limit > 0))
        note = " [limit unconfirmed]" if "limit" in test and o.unconfirmed_limit else ""
        return ok, f"{o.label}: absent (no response above noise){note}", bool(note)
    if o.value is None:
        return False, "", False
    value = float(o.value)
    op = OPS[str(test["op"])]
    if "limit" in test:
        limit = o.upper if test["limit"] == "upper" else o.lower
        if limit is None:
            return False, "", False
        factor = float(test.get("factor", 1.0))
        threshold = float(limit) * factor
        ok = op(value, threshold)
        how = f"{factor:g} × {test['limit']} limit {float(limit):g}" if factor != 1 else \
            f"{test['limit']} limit {float(limit):g}"
        text = f"{o.label} = {value:g}{unit} ({test['op']} {how}{unit})"
        if o.unconfirmed_limit:
            text += " [limit unconfirmed]"
        return ok, text, o.unconfirmed_limit
    threshold = float(test["value"])
    return op(value, threshold), f"{o.label} = {value:g}{unit} ({test['op']} {threshold:g})", False


def _measure(cond: dict[str, Any], ctx: Context) -> Result:
    selector = dict(cond["measure"])
    test = dict(cond.get("test") or {})
    chosen = [o for o in ctx.observations if _matches(o, selector, ctx)]
    if not test:  # "was this measured at all"
        return Result(bool(chosen), [f"{chosen[0].label} measured"] if chosen else [])
    passing: list[tuple[Observation, str, bool]] = []
    for o in chosen:
        ok, text, unconfirmed = _passes(o, test)
        if ok:
            passing.append((o, text, unconfirmed))
    if cond.get("every"):
        judged = [o for o in chosen if o.value is not None or test.get("absent")]
        if not judged or len(passing) != len(judged):
            return Result(False)
    distinct = cond.get("distinct")
    count = len({getattr(o, distinct) for o, _, _ in passing}) if distinct else len(passing)
    if count < int(cond.get("min", 1)):
        return Result(False)
    return Result(True, [t for _, t, _ in passing], {},
                  any(u for _, _, u in passing))


def _muscles(cond: dict[str, Any], ctx: Context) -> Result:
    finding = str(cond["muscles"])
    hits = []
    for muscle, findings in sorted(ctx.muscle_findings.items()):
        info = ctx.anatomy.muscle(muscle)
        if finding not in findings or info is None:
            continue
        if "limb" in cond and info.limb != cond["limb"]:
            continue
        if "paraspinal" in cond and info.paraspinal != bool(cond["paraspinal"]):
            continue
        if "nerve" in cond and info.nerve.split(" ")[0] != cond["nerve"]:
            continue
        hits.append(info)
    nerves = {m.nerve.split(" ")[0] for m in hits}
    if len(hits) < int(cond.get("min", 1)) or len(nerves) < int(cond.get("nerves", 1)):
        return Result(False)
    return Result(True, [f"{finding}: {', '.join(m.id for m in hits)}"])


def _myotome(spec: dict[str, Any], ctx: Context) -> Result:
    """A root (or plexus element) shared by every limb muscle with the finding, reached
    through enough different nerves, with the SNAPs of its territory as the rule asks."""
    by = str(spec.get("by", "root"))
    finding = str(spec.get("finding", "denervation"))
    abnormal = [m for m, f in ctx.muscle_findings.items() if finding in f
                and (info := ctx.anatomy.muscle(m)) is not None and not info.paraspinal]
    if len(abnormal) < int(spec.get("min", 2)):
        return Result(False)
    nerves = {ctx.anatomy.muscles[m].nerve.split(" ")[0] for m in abnormal}
    if len(nerves) < int(spec.get("nerves", 2)):
        return Result(False)
    candidates = ctx.anatomy.explaining(abnormal, by)
    examined = {o.recording for o in ctx.observations if o.kind == "needle"}
    spared = [m for m in examined if m not in abnormal and (i := ctx.anatomy.muscle(m))
              and not i.paraspinal]
    # prefer the element that the fewest normal muscles share (C6 over C5 if biceps is spared)
    candidates.sort(key=lambda c: sum(c in _elements(ctx.anatomy, m, by) for m in spared))
    snaps_wanted = str(spec.get("snaps", "any"))
    for candidate in candidates:
        snap_state, snap_text, unconfirmed = _territory_snaps(ctx, candidate, by)
        if snaps_wanted == "normal" and snap_state == "abnormal":
            continue
        if snaps_wanted == "abnormal" and snap_state != "abnormal":
            continue
        evidence = [f"{finding} in {', '.join(sorted(abnormal))} "
                    f"({len(nerves)} nerves), all sharing {candidate}"]
        if spared:
            evidence.append(f"spared: {', '.join(sorted(spared))}")
        evidence += snap_text or [f"no SNAP of the {candidate} territory was measured"]
        return Result(True, evidence, {by: candidate}, unconfirmed)
    return Result(False)


def _elements(anatomy: Anatomy, muscle: str, by: str) -> tuple[str, ...]:
    info = anatomy.muscle(muscle)
    if info is None:
        return ()
    return info.roots if by == "root" else info.plexus


def _territory_snaps(ctx: Context, element: str, by: str) -> tuple[str, list[str], bool]:
    """'abnormal' if a SNAP of this territory is absent or below its limit, 'normal' if
    those measured are within limits, 'none' if none was measured."""
    state, texts, unconfirmed = "none", [], False
    for o in ctx.observations:
        if o.kind != "sensory" or o.name != "amplitude":
            continue
        territory = ctx.anatomy.snap(o.nerve, o.recording)
        if territory is None or element not in (
                territory.roots if by == "root" else territory.plexus):
            continue
        if o.value is not None and o.lower is None:
            continue  # no limit for this technique: neither normal nor low
        low = o.value is None or float(o.value) < float(o.lower)  # type: ignore[arg-type]
        note = " [limit unconfirmed]" if o.unconfirmed_limit else ""
        value = "absent" if o.value is None else f"{float(o.value):g} µV"
        limit = f" (lower limit {float(o.lower):g}){note}" if o.lower is not None else ""
        if low:
            state = "abnormal"
            texts.append(f"SNAP {o.nerve} {o.recording} {value}{limit}: low")
            unconfirmed |= bool(note)
        elif state == "none":
            state = "normal"
            texts.append(f"SNAP {o.nerve} {o.recording} {value}{limit}: normal")
    return state, texts, unconfirmed
