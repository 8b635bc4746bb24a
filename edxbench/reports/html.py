"""The HTML report: one self-contained file (inline CSS and SVG, no scripts, no links out).

Every piece of stored text goes through `html.escape`, and a Content-Security-Policy meta
tag forbids scripts and remote loads, so a hostile subject id or protocol text stays text.
"""

from __future__ import annotations

from html import escape
from typing import Any

from edxbench.reports import sections
from edxbench.reports.model import RunData
from edxbench.reports.tables import Table, build_tables, flag, format_limits, format_value, label
from edxbench.reports.traceplot import render_svg

CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
STYLE = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 24px auto; max-width: 960px; color: #222; }
h1 { font-size: 22px; margin-bottom: 4px; } h2 { font-size: 17px; margin-top: 28px;
  border-bottom: 1px solid #ccc; padding-bottom: 2px; }
table { border-collapse: collapse; margin: 8px 0; }
th, td { border: 1px solid #ccc; padding: 3px 8px; text-align: left; vertical-align: top; }
th { background: #f3f3f3; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
table.fields th { width: 190px; } .abnormal { color: #b00; font-weight: 700; }
.normal { color: #2a7d2a; } .limit { color: #666; font-size: 12px; }
.note { color: #555; font-size: 12px; } figure { margin: 12px 0; }
figcaption { font-size: 12px; color: #444; } .impression { border: 1px solid #e0b000;
  background: #fff8e0; padding: 8px 12px; }
.notice-warning, .notice-error { color: #b00; }
ul.evidence { margin: 0; padding-left: 16px; } td.source { font-size: 12px; color: #555; }
table.criteria td.evidence { min-width: 340px; }
table.wide { font-size: 12px; } table.wide th, table.wide td { padding: 2px 4px; }
table.criteria td.title { width: 170px; }
.unconfirmed { color: #8a5a00; }
"""


def e(value: Any) -> str:
    return escape(str(value), quote=True)


def render_html(data: RunData) -> bytes:
    title = f"{data.run['protocol_title']} — {data.run['subject_id']}"
    out = ["<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
           f'<meta http-equiv="Content-Security-Policy" content="{e(CSP)}">',
           '<meta name="viewport" content="width=device-width, initial-scale=1">',
           f"<title>{e(title)}</title>", f"<style>{STYLE}</style>", "</head>", "<body>",
           f"<h1>{e(data.run['protocol_title'])}</h1>", _fields(sections.header_fields(data)),
           _interpretation(data)]  # the reader's summary first, its evidence below
    for table in build_tables(data):
        out.append(_table(table))
    out.append("<h2>Notices</h2>")
    notes = [(n.level, n.text) for n in data.notices]
    notes += [("warning", w) for w in sections.clipping_warnings(data)]
    if notes:
        out.append("<ul>" + "".join(
            f'<li class="notice-{e(level)}">{e(level)}: {e(text)}</li>'
            for level, text in notes) + "</ul>")
    else:
        out.append("<p>None.</p>")
    out.append(_traces(data))
    out += ["<h2>Provenance</h2>", _fields(sections.provenance_fields(data))]
    cited = sections.citations(data)
    if cited:
        out.append("<h3>References</h3><ul>" + "".join(
            f"<li><b>{e(ref)}</b>: {e(text)}</li>" for ref, text in cited) + "</ul>")
    out += ["</body>", "</html>", ""]
    return "\n".join(out).encode("utf-8")


def _fields(rows: list[tuple[str, str]]) -> str:
    body = "".join(f"<tr><th>{e(k)}</th><td>{e(v)}</td></tr>" for k, v in rows)
    return f'<table class="fields">{body}</table>'


def _table(table: Table) -> str:
    out = [f'<section class="study" data-section="{e(table.key)}">',
           f"<h2>{e(table.title)}</h2>", f'<p class="note">{e(sections.FLAG_NOTE)}</p>']
    if table.sites:
        heads = "".join(f"<th>{e(label(name))} ({e(unit)})</th>" for name, unit in table.columns)
        wide = ' class="wide"' if len(table.columns) > 7 else ""  # needle EMG: ten columns
        out.append(f"<table{wide}><tr><th>Site</th>{heads}</tr>")
        for site, cells in table.sites:
            tds = "".join(_cell(cells.get(name)) for name, _ in table.columns)
            out.append(f"<tr><th>{e(site)}</th>{tds}</tr>")
        out.append("</table>")
    if table.segments:
        out.append("<table><tr><th>Segment</th><th>Measurement</th><th>Value</th>"
                   "<th>Limit</th><th>Flag</th></tr>")
        for m in table.segments:
            out.append(
                f"<tr><th>{e(m['site'] or m['step_id'])}</th><td>{e(label(m['name']))}</td>"
                f'<td class="num">{e(format_value(m["value"]))} {e(m["unit"])}</td>'
                f'<td class="limit">{e(format_limits(m["lower"], m["upper"]))}</td>'
                f"<td>{_flag(m['outcome'])}</td></tr>")
        out.append("</table>")
    out.append("</section>")
    return "\n".join(out)


def _cell(m: dict[str, Any] | None) -> str:
    if m is None:
        return "<td></td>"
    limits = format_limits(m["lower"], m["upper"])
    limit_html = f' <span class="limit">({e(limits)})</span>' if limits else ""
    marker = _flag(m["outcome"])
    return (f'<td class="num">{e(format_value(m["value"]))}{limit_html}'
            f"{' ' + marker if marker else ''}</td>")


def _flag(outcome: str) -> str:
    word = flag(outcome)
    return f'<span class="{e(outcome)}">{e(word)}</span>' if word else ""


def _traces(data: RunData) -> str:
    finals = data.final_traces()
    if not finals:
        return ""
    out = ["<h2>Traces</h2>",
           '<p class="note">Final sweeps as recorded; negative is plotted upward; dashed lines '
           "mark the stimulus, the onset and the negative peak (ms).</p>"]
    for trace in finals:
        title = sections.trace_title(data, trace)
        out.append(f"<figure>{render_svg(trace, title)}<figcaption><b>{e(title)}</b> — "
                   f"{e(sections.trace_caption(trace))}</figcaption></figure>")
    return "\n".join(out)


def _interpretation(data: RunData) -> str:
    out = ['<section class="interpretation">', "<h2>Impression</h2>",
           f'<p class="impression">{e(sections.impression(data))}</p>']
    fields = sections.finding_fields(data)
    if fields:
        out.append(_fields(fields))
    rows = sections.criteria_rows(data)
    if rows:
        out += ["<h3>Criteria met</h3>", f'<p class="note">{e(sections.CRITERIA_NOTE)}</p>',
                '<table class="criteria"><tr><th>Rule</th><th>Criterion</th><th>Evidence</th>'
                "<th>Source</th></tr>"]
        for rule, title, evidence, source in rows:
            css = ' class="unconfirmed"' if "[unconfirmed]" in title else ""
            items = "".join(f"<li>{e(x)}</li>" for x in evidence)
            out.append(f'<tr{css}><th>{e(rule)}</th><td class="title">{e(title)}</td>'
                       f'<td class="evidence"><ul class="evidence">{items}</ul></td>'
                       f'<td class="source">{e(source)}</td></tr>')
        out.append("</table>")
    muscles = sections.muscle_findings(data)
    if muscles:
        out.append("<h3>Needle EMG findings</h3><table><tr><th>Muscle</th><th>Finding</th></tr>"
                   + "".join(f"<tr><th>{e(m)}</th><td>{e(f)}</td></tr>"
                             for m, f in muscles.items()) + "</table>")
    out.append("</section>")
    return "\n".join(out)

