"""Messages that carry engine activity from the worker thread to the screens.

The engine's subscribers run on its thread and may only `post_message`; wrapping each
frozen engine event in a Message keeps every state change on Textual's own thread.
"""

from __future__ import annotations

from typing import Any

from textual.message import Message


class EngineEvent(Message):
    """One engine event (`engine.events.*`), delivered on the UI thread."""

    def __init__(self, event: Any) -> None:
        super().__init__()
        self.event = event


class SessionOpened(Message):
    """The bench, database and run are ready; the screen may now stop or abort it."""

    def __init__(self, session: Any) -> None:
        super().__init__()
        self.session = session


class EngineFailed(Message):
    """The worker failed outside the engine's own reporting (bench, database, a bug)."""

    def __init__(self, title: str, detail: str) -> None:
        super().__init__()
        self.title = title
        self.detail = detail


class EngineStopped(Message):
    """The worker thread has returned and the session is closed."""
