"""Typed prompts refuse garbage with a reason; the channel prompter hands answers across threads."""

from __future__ import annotations

import contextlib
import threading

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.prompts import (
    AnswerError,
    ChannelPrompter,
    HeadlessPrompter,
    Prompt,
    PromptCancelled,
)

DISTANCE = Prompt(id="d", kind="number", text="Forearm distance", unit="mm", minimum=100,
                  maximum=400, default=230)


def test_number_prompt_accepts_units_and_refuses_out_of_range() -> None:
    assert DISTANCE.validate("235 mm") == 235.0
    assert DISTANCE.validate(300) == 300.0
    with pytest.raises(AnswerError, match="above the maximum 400 mm"):
        DISTANCE.validate("401")
    with pytest.raises(AnswerError, match="expected a number in mm"):
        DISTANCE.validate("twenty")
    with pytest.raises(AnswerError, match="finite"):
        DISTANCE.validate("nan")


@given(st.one_of(st.text(max_size=50), st.integers(), st.floats(), st.none(), st.booleans()))
def test_garbage_answers_never_escape_as_other_errors(value: object) -> None:
    for prompt in (DISTANCE, Prompt("c", "confirm", "ok?"), Prompt("r", "review", "accept?"),
                   Prompt("x", "choice", "pick", choices=("retry", "skip", "abort"))):
        with contextlib.suppress(AnswerError):
            prompt.validate(value)


def test_headless_prompter_uses_answers_then_defaults() -> None:
    prompter = HeadlessPrompter({"d": "250"})
    assert prompter.ask(DISTANCE) == 250.0 and prompter.source == "answers-file"
    assert HeadlessPrompter().ask(DISTANCE) == 230.0
    with pytest.raises(AnswerError, match="no answer for prompt 'q'"):
        HeadlessPrompter().ask(Prompt("q", "text", "Operator note"))


def test_channel_prompter_blocks_until_answered_and_can_be_cancelled() -> None:
    prompter = ChannelPrompter()
    answers: list[object] = []
    thread = threading.Thread(target=lambda: answers.append(prompter.ask(DISTANCE)))
    thread.start()
    for _ in range(200):
        if prompter.pending is not None:
            break
        threading.Event().wait(0.005)
    with pytest.raises(AnswerError):
        prompter.answer("d", "9999")
    assert prompter.pending is not None  # still waiting after a refused answer
    prompter.answer("d", "240")
    thread.join(2)
    assert answers == [240.0]
    prompter.cancel()
    with pytest.raises(PromptCancelled):
        prompter.ask(DISTANCE)
