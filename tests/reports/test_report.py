"""Markdown and HTML reports of real runs: tables, flags, traces, escaping, provenance."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

from edxbench.reports import export_run, render
from storage.database import open_database
from storage.queries import get_run
from tests.reports.conftest import HOSTILE_SUBJECT, HOSTILE_TITLE, StoredRun


class Elements(HTMLParser):
    """Every start tag with its attributes, and the visible text."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parse(html: str) -> Elements:
    parser = Elements()
    parser.feed(html)
    return parser


def final_trace_ids(run: StoredRun) -> list[int]:
    stored = get_run(open_database(run.db_path), run.run_id)
    assert stored is not None
    return [t["id"] for t in stored["traces"] if t["role"] == "final"]


def test_html_report_sections_tables_and_one_svg_per_final_trace(normal_run: StoredRun,
                                                                  tmp_path: Path) -> None:
    path = export_run(open_database(normal_run.db_path), normal_run.run_id, "html",
                      tmp_path / "r.html")
    html = path.read_text("utf-8")
    doc = parse(html)
    text = " ".join(doc.text)
    for heading in ("Motor nerve conduction", "Notices", "Traces", "Impression", "Provenance"):
        assert f"<h2>{heading}</h2>" in html
    assert "Sensory nerve conduction" not in html and "F-waves" not in html  # no such data
    assert "normal-adult" in text and "Median motor NCS (APB)" in text and "completed" in text
    # the engine interpreted the run as it ended: a normal median study localises nothing
    assert "No abnormality meeting the criteria" in text
    assert "Requires confirmation by the reader." in text
    assert "Localisation" in text and "none" in text
    svgs = [attrs for tag, attrs in doc.tags if tag == "svg"]
    assert [int(a["data-trace-id"] or 0) for a in svgs] == final_trace_ids(normal_run)
    polylines = [a for tag, a in doc.tags if tag == "polyline"]
    # 2000 samples drawn as a min/max pair per pixel column of the 572 px plot.
    assert len(polylines) == 2 and all(len((a["points"] or "").split()) == 2 * 572
                                       for a in polylines)
    markers = [a["data-marker"] for tag, a in doc.tags if tag == "line" and "data-marker" in a]
    assert markers.count("onset") == 2 and markers.count("negative peak") == 2
    # Self-contained: no scripts, nothing fetched, a CSP that forbids both.
    assert not any(tag in {"script", "link", "img", "iframe", "object"} for tag, _ in doc.tags)
    assert not any(k in {"src", "href"} for _, attrs in doc.tags for k in attrs)
    csp = next(a for tag, a in doc.tags if tag == "meta"
               and a.get("http-equiv") == "Content-Security-Policy")
    assert (csp["content"] or "").startswith("default-src 'none';")
    for identity in ("33522B", "DSO-X 3024T", "motor-nerve-conduction", "2026.11.1"):
        assert identity in text
    assert "3.64" in text or "3.6" in text


def test_html_negative_is_plotted_upward(normal_run: StoredRun) -> None:
    html = render(open_database(normal_run.db_path), normal_run.run_id, "html").decode()
    polyline = next(a for tag, a in parse(html).tags if tag == "polyline")
    points = [tuple(map(float, p.split(","))) for p in (polyline["points"] or "").split()]
    top_x, top_y = min(points, key=lambda p: p[1])  # smallest screen y: top of the picture
    assert top_y < points[0][1]  # the CMAP's negative peak rises above the baseline
    left, width, t_lo, t_hi = 56, 572, -2.0, 17.99  # plot box and the sweep's time span
    t_top_ms = t_lo + (top_x - left) / width * (t_hi - t_lo)
    assert 3.6 < t_top_ms < 6.5  # the (clipped) negative peak, after the 3.64 ms onset


def test_hostile_subject_and_title_stay_text(hostile_run: StoredRun) -> None:
    db = open_database(hostile_run.db_path)
    html = render(db, hostile_run.run_id, "html").decode()
    doc = parse(html)
    assert "<script" not in html and "<img" not in html
    assert [tag for tag, _ in doc.tags if tag in {"script", "img"}] == []
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;amp;" in html
    assert HOSTILE_SUBJECT in " ".join(doc.text)  # shown to the reader exactly as stored
    assert HOSTILE_TITLE in " ".join(doc.text)
    markdown = render(db, hostile_run.run_id, "md").decode()
    assert "<script" not in markdown and "<img" not in markdown
    assert "&lt;script&gt;" in markdown and r"\|\`\*\_" in markdown


def test_markdown_report(normal_run: StoredRun) -> None:
    md = render(open_database(normal_run.db_path), normal_run.run_id, "md").decode()
    lines = md.splitlines()
    assert lines[0] == "# Median motor NCS (APB)"
    for heading in ("## Motor nerve conduction", "## Notices", "## Traces", "## Impression",
                    "## Provenance"):
        assert heading in lines
    wrist = next(line for line in lines if line.startswith("| wrist |"))
    assert "(≤ 4.4) normal" in wrist and "(≥ 4) normal" in wrist
    assert any(line.startswith("| forearm | Conduction velocity |") and "≥ 49" in line
               for line in lines)
    braille = [line for line in lines if line and all(0x2800 <= ord(c) <= 0x28FF
                                                      for c in line)]
    assert len(braille) == 2 * 4  # two final traces, four rows each
    assert "| Subject (pseudonym) | normal-adult |" in lines


def test_abnormal_values_are_flagged(abnormal_run: StoredRun) -> None:
    db = open_database(abnormal_run.db_path)
    stored = get_run(db, abnormal_run.run_id)
    assert stored is not None and stored["abnormal_count"] >= 1
    abnormal = [m for m in stored["measurements"] if m["outcome"] == "abnormal"]
    md = render(db, abnormal_run.run_id, "md").decode()
    html = render(db, abnormal_run.run_id, "html").decode()
    assert md.count("**ABNORMAL**") == len(abnormal)
    assert html.count('<span class="abnormal">ABNORMAL</span>') == len(abnormal)
    distal = next(m for m in abnormal if m["name"] == "onset_latency")
    assert f"{distal['value']:.2f} (≤ 4.4) **ABNORMAL**" in md
