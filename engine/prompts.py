"""Typed operator prompts and the prompters that answer them.

The engine asks; a prompter answers. Headless runs answer from an answers file or the
prompt's default; the terminal app answers through a `ChannelPrompter`, which blocks the
engine thread until the UI calls `answer()`. Every answer is validated here, once, so
garbage typed at any face is refused with the same message.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

PromptKind = Literal["confirm", "number", "choice", "text", "review"]


def _nothing() -> None:
    """Default announcement: nobody to tell."""

REVIEW_CHOICES = ("accept", "repeat")


class PromptCancelled(Exception):
    """The run was stopped or aborted while a prompt was waiting."""


class AnswerError(ValueError):
    """An answer that does not fit its prompt; the message says what would."""


@dataclass(frozen=True)
class Prompt:
    id: str
    kind: PromptKind
    text: str
    unit: str = ""
    minimum: float | None = None
    maximum: float | None = None
    default: Any = None
    choices: tuple[str, ...] = field(default_factory=tuple)

    def validate(self, value: Any) -> Any:
        """Coerce and check an answer; raise AnswerError with a one-line reason."""
        if self.kind == "number":
            try:
                number = float(str(value).strip().removesuffix(self.unit).strip())
            except (TypeError, ValueError):
                raise AnswerError(f"{self.text}: expected a number in {self.unit or 'units'}, "
                                  f"got {value!r}") from None
            if not math.isfinite(number):
                raise AnswerError(f"{self.text}: expected a finite number, got {value!r}")
            if self.minimum is not None and number < self.minimum:
                raise AnswerError(f"{self.text}: {number:g} {self.unit} is below the minimum "
                                  f"{self.minimum:g} {self.unit}")
            if self.maximum is not None and number > self.maximum:
                raise AnswerError(f"{self.text}: {number:g} {self.unit} is above the maximum "
                                  f"{self.maximum:g} {self.unit}")
            return number
        if self.kind == "confirm":
            if isinstance(value, bool):
                return value
            text = str(value).strip().lower()
            if text in {"y", "yes", "true", "1", "ok", "done"}:
                return True
            if text in {"n", "no", "false", "0"}:
                return False
            raise AnswerError(f"{self.text}: answer yes or no, got {value!r}")
        if self.kind in ("choice", "review"):
            choices = self.choices or (REVIEW_CHOICES if self.kind == "review" else ())
            text = str(value).strip().lower()
            for choice in choices:
                if text == choice.lower():
                    return choice
            raise AnswerError(f"{self.text}: choose one of {', '.join(choices)}; got {value!r}")
        text = str(value)
        if len(text) > 2000:
            raise AnswerError(f"{self.text}: answer longer than 2000 characters")
        return text


class Prompter(Protocol):
    """Answers prompts for the engine; `source` names the face for the audit log.

    `announce` is called once the prompt can be answered, so a face that hears about the
    prompt from the announcement can never answer too early."""

    source: str

    def ask(self, prompt: Prompt, announce: Callable[[], None] = _nothing) -> Any: ...

    def cancel(self) -> None: ...


class HeadlessPrompter:
    """Answers from a mapping (prompt id → value), else from the prompt's default."""

    def __init__(self, answers: dict[str, Any] | None = None) -> None:
        self.answers = dict(answers or {})
        self.source = "headless"

    def ask(self, prompt: Prompt, announce: Callable[[], None] = _nothing) -> Any:
        announce()
        if prompt.id in self.answers:
            self.source = "answers-file"
            return prompt.validate(self.answers[prompt.id])
        if prompt.default is None:
            raise AnswerError(f"no answer for prompt '{prompt.id}' ({prompt.text}) and it has "
                              "no default; add it to the answers file")
        self.source = "headless-default"
        return prompt.validate(prompt.default)

    def cancel(self) -> None:
        """Nothing waits in a headless run."""


class ChannelPrompter:
    """Blocks the engine thread until another thread (the UI) answers or cancels."""

    def __init__(self, source: str = "tui") -> None:
        self.source = source
        self._lock = threading.Lock()
        self._ready = threading.Event()
        self._pending: Prompt | None = None
        self._value: Any = None
        self._cancelled = False

    @property
    def pending(self) -> Prompt | None:
        return self._pending

    def ask(self, prompt: Prompt, announce: Callable[[], None] = _nothing) -> Any:
        with self._lock:
            if self._cancelled:
                raise PromptCancelled(prompt.id)
            self._pending = prompt
            self._ready.clear()
        announce()
        self._ready.wait()
        with self._lock:
            self._pending = None
            if self._cancelled:
                raise PromptCancelled(prompt.id)
            return self._value

    def answer(self, prompt_id: str, value: Any) -> Any:
        """Validate and deliver an answer; raises AnswerError so the UI can say why."""
        with self._lock:
            prompt = self._pending
            if prompt is None or prompt.id != prompt_id:
                raise AnswerError(f"no prompt '{prompt_id}' is waiting")
            self._value = prompt.validate(value)
            self._ready.set()
            return self._value

    def cancel(self) -> None:
        with self._lock:
            self._cancelled = True
            self._ready.set()
