"""The run lives apart from the terminal: an engine host process, its clients, the wire.

The factories below give the terminal app `open_session`'s shape while the study runs in
an engine host; they import the host machinery only when a study starts, so the app's
first screen does not wait for NumPy.
"""

from __future__ import annotations

from typing import Any


def live_session_factory(*args: Any, **kwargs: Any) -> Any:
    from edxbench.live.spawn import live_session_factory as factory

    return factory(*args, **kwargs)


def live_resume_factory(*args: Any, **kwargs: Any) -> Any:
    from edxbench.live.spawn import live_resume_factory as factory

    return factory(*args, **kwargs)


def app_factories() -> dict[str, Any]:
    """`EdxApp` keyword arguments that put every study the app starts in an engine host."""
    return {"session_factory": live_session_factory, "resume_factory": live_resume_factory}
