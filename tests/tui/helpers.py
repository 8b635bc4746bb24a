"""Waiting on conditions instead of sleeping."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from textual.pilot import Pilot


async def wait_for(pilot: Pilot[Any], condition: Callable[[], Any], timeout: float = 10.0,
                   what: str = "condition") -> Any:
    """Poll the app (letting it process messages) until condition() is truthy."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await pilot.pause(0.02)


def prompt_of(app: Any) -> Any:
    """The prompt the run screen's form is showing, if any."""
    from tui.widgets.prompt_form import PromptForm

    try:
        form = app.screen.query_one(PromptForm)
    except Exception:
        return None
    return form.prompt if form.display and not form.busy else None


def waiting_for(app: Any, prompt_id: str) -> bool:
    prompt = prompt_of(app)
    return prompt is not None and prompt.id == prompt_id


async def screen_of(pilot: Pilot[Any], cls: type, timeout: float = 10.0) -> Any:
    """Wait until a screen of this class is current and has composed its widgets."""
    app = pilot.app
    screen = await wait_for(pilot, lambda: isinstance(app.screen, cls) and app.screen,
                            timeout, what=cls.__name__)
    await wait_for(pilot, lambda: screen.is_mounted and len(screen.children) > 0,
                   timeout, what=f"{cls.__name__} composed")
    await pilot.pause()
    return screen


def screen_text(app: Any) -> str:
    """What the terminal shows, as plain text (for reviewing layouts and asserting on them)."""
    strips = app.screen._compositor.render_strips()
    return "\n".join("".join(seg.text for seg in strip) for strip in strips)
