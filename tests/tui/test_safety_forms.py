"""The safety checklist as one grouped form, and the red panel over gate overrides."""

from __future__ import annotations

from pathlib import Path

from tests.tui.fakes import FakeFactory, FakeSource
from tests.tui.helpers import screen_text, wait_for, waiting_for
from tests.tui.test_screens import start_fake_run
from tui.app import EdxApp
from tui.widgets.checklist_panel import ChecklistPanel, answer_text, load_items
from tui.widgets.override_warning import OverrideWarning, verdict
from tui.widgets.trace_plot import TracePlot


def test_checklist_items_come_from_the_safety_data() -> None:
    ids = [pid for pid, _ in load_items()]
    assert ids[:3] == ["checklist.side", "checklist.anticoagulation",
                       "checklist.pacemaker_or_icd"]
    assert answer_text(True) == "yes" and answer_text("") == "none" and answer_text(36.5) == "36.5"


def test_override_verdict_follows_the_engine() -> None:
    assert verdict("") == (False, "")
    assert verdict("OVERRIDE") == (False, "")
    assert verdict("override: lead-free side confirmed by cardiology") == (
        True, "lead-free side confirmed by cardiology")


async def test_checklist_form_then_override_warning(tmp_path: Path) -> None:
    factory = FakeFactory(safety=True)
    app = EdxApp(tmp_path / "runs.db", fast=True, source=FakeSource(), session_factory=factory)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await start_fake_run(pilot)
        await wait_for(pilot, lambda: waiting_for(app, "checklist.side"), what="first item")
        panel = screen.query_one(ChecklistPanel)
        assert panel.display and "item 1 of" in str(panel.border_title)
        assert not screen.query_one(TracePlot).display  # room for the form
        text = screen_text(app)
        assert "Which side is studied?" in text and "anticoagulant" in text  # the whole list
        await pilot.press("enter")  # the subject record's default: right
        await wait_for(pilot, lambda: waiting_for(app, "checklist.anticoagulation"))
        await pilot.press("enter")  # No is focused (default False)
        await wait_for(pilot, lambda: waiting_for(app, "checklist.pacemaker_or_icd"))
        assert "item 3 of" in str(panel.border_title)
        assert panel.answers == {"checklist.side": "right", "checklist.anticoagulation": False}
        assert "✓" in screen_text(app)
        await pilot.press("enter")

        await wait_for(pilot, lambda: waiting_for(app, "erb.override"), what="override prompt")
        warning = screen.query_one(OverrideWarning)
        assert warning.display and not panel.display
        assert screen.query_one(TracePlot).display
        assert "Enter will skip the step" in str(warning.render())
        await pilot.press(*"OVERRIDE")
        assert "needs a reason" in str(warning.render())
        await pilot.press(*" lead on the other side")
        assert "Enter will RUN the step" in str(warning.render())
        assert "audit log" in str(warning.render())
        await pilot.press("enter")
        await wait_for(pilot, lambda: waiting_for(app, "electrodes"))
        assert not warning.display
        run = factory.sessions[0].run
        assert run.answers[:4] == [("checklist.side", "right"),
                                   ("checklist.anticoagulation", False),
                                   ("checklist.pacemaker_or_icd", True),
                                   ("erb.override", "OVERRIDE lead on the other side")]
        await pilot.press("ctrl+x", "y")
        await wait_for(pilot, lambda: not screen.active)
