"""The Markdown report: readable as plain text, renders as tables in any viewer.

User-typed text (subject ids, protocol titles, notices) is escaped: Markdown renderers
pass raw HTML through, so an id like `<script>` must not reach them as markup.
"""

from __future__ import annotations

import re

from edxbench.reports import sections
from edxbench.reports.model import RunData
from edxbench.reports.tables import Table, build_tables, flag, format_limits, format_value, label
from edxbench.reports.traceplot import render_braille

# Never at a line start here (cells, list items), so `.`, `-` and `+` need no escape.
_SPECIAL = re.compile(r"([\\`*_\[\]#!|~])")


def md_escape(text: object) -> str:
    """Plain text that stays plain: HTML characters as entities, Markdown ones escaped."""
    value = " ".join(str(text).split())
    value = value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _SPECIAL.sub(r"\\\1", value)


def render_markdown(data: RunData) -> bytes:
    out: list[str] = [f"# {md_escape(data.run['protocol_title'])}", ""]
    out += _pairs(sections.header_fields(data))
    out += _interpretation(data)  # the reader's summary first, its evidence below
    for table in build_tables(data):
        out += _table(table)
    out += ["", "## Notices", ""]
    notes = [f"- {md_escape(n.level)}: {md_escape(n.text)}" for n in data.notices]
    notes += [f"- warning: {md_escape(w)}" for w in sections.clipping_warnings(data)]
    out += notes or ["None."]
    out += _traces(data)
    out += ["", "## Provenance", ""]
    out += _pairs(sections.provenance_fields(data))
    cited = sections.citations(data)
    if cited:
        out += ["", "### References", ""]
        out += [f"- {md_escape(ref)}: {md_escape(text)}" for ref, text in cited]
    return ("\n".join(out) + "\n").encode("utf-8")


def _pairs(rows: list[tuple[str, str]]) -> list[str]:
    lines = ["| | |", "|---|---|"]
    lines += [f"| {md_escape(key)} | {md_escape(value)} |" for key, value in rows]
    return lines


def _table(table: Table) -> list[str]:
    out = ["", f"## {md_escape(table.title)}", "", md_escape(sections.FLAG_NOTE)]
    if table.sites:
        heads = ["Site"] + [f"{label(name)} ({unit})" for name, unit in table.columns]
        out += ["", "| " + " | ".join(md_escape(h) for h in heads) + " |",
                "|" + "---|" * len(heads)]
        for site, cells in table.sites:
            row = [md_escape(site)]
            for name, _ in table.columns:
                m = cells.get(name)
                row.append(_cell(m) if m else "")
            out.append("| " + " | ".join(row) + " |")
    if table.segments:
        out += ["", "| Segment | Measurement | Value | Unit | Limit | Flag |",
                "|---|---|---|---|---|---|"]
        for m in table.segments:
            out.append("| " + " | ".join([
                md_escape(m["site"] or m["step_id"]), md_escape(label(m["name"])),
                md_escape(format_value(m["value"])), md_escape(m["unit"]),
                md_escape(format_limits(m["lower"], m["upper"])), _flag(m["outcome"]),
            ]) + " |")
    return out


def _cell(m: dict[str, object]) -> str:
    text = md_escape(format_value(m["value"]))  # type: ignore[arg-type]
    limits = format_limits(m["lower"], m["upper"])  # type: ignore[arg-type]
    if limits:
        text += f" ({md_escape(limits)})"
    marker = _flag(str(m["outcome"]))
    return f"{text} {marker}".strip()


def _flag(outcome: str) -> str:
    word = flag(outcome)
    return f"**{word}**" if word == "ABNORMAL" else word


def _traces(data: RunData) -> list[str]:
    finals = data.final_traces()
    if not finals:
        return []
    out = ["", "## Traces", "", "Final sweeps, negative up; the HTML report draws them in full."]
    for trace in finals:
        out += ["", f"**{md_escape(sections.trace_title(data, trace))}** — "
                    f"{md_escape(sections.trace_caption(trace))}", "", "```text"]
        out += render_braille(trace)
        out.append("```")
    return out


def _interpretation(data: RunData) -> list[str]:
    out = ["", "## Impression", "", f"> {md_escape(sections.impression(data))}"]
    fields = sections.finding_fields(data)
    if fields:
        out += ["", "### Findings", "", *_pairs(fields)]
    rows = sections.criteria_rows(data)
    if rows:
        out += ["", "### Criteria met", "", md_escape(sections.CRITERIA_NOTE), "",
                "| Rule | Criterion | Evidence | Source |", "|---|---|---|---|"]
        out += ["| " + " | ".join([md_escape(rule), md_escape(title),
                                   "<br>".join(md_escape(x) for x in evidence),
                                   md_escape(source)]) + " |"
                for rule, title, evidence, source in rows]
    muscles = sections.muscle_findings(data)
    if muscles:
        out += ["", "### Needle EMG findings", "", "| Muscle | Finding |", "|---|---|"]
        out += [f"| {md_escape(m)} | {md_escape(f)} |" for m, f in muscles.items()]
    return out

